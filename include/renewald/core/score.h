/*
 * score.h - signals and the account score (SPEC §2), and bounds on how a score
 * can move while no event arrives (what makes a sweep cost only the accounts
 * that can change).
 *
 * A scorer is built from a config and is immutable; it owns the layout of the
 * per-account aggregate slots (an array of doubles the account store keeps) and
 * an index from event type to the signals it feeds.
 *
 * Aggregates are decayed sums kept incrementally: every decayed slot of an
 * account is referenced to one time REF_MS (the newest event time applied), so
 * an event costs O(1) per signal it feeds, in or out of order:
 *   rate:    1 slot  Σ v·2^(−(ref−t)/H)
 *   mean:    2 slots Σ v·w, Σ w
 *   trend:   2 slots Σ v·w at H and at the baseline
 *   recency: 1 slot  the newest matching event time (ms, as a double), −∞ if none
 * Evaluation at NOW multiplies by 2^(−(now−ref)/H); a NOW before REF_MS counts
 * as REF_MS (Δ = max(0, now − t)).  The same slots and the same calls give the
 * same doubles bit for bit: nothing here depends on when it is called.
 */
#ifndef RENEWALD_CORE_SCORE_H
#define RENEWALD_CORE_SCORE_H

#include "renewald/config.h"
#include "renewald/core/common.h"

struct rw_scorer;

/* NULL only for a config outside the loader's limits (half_life <= 0, a trend
 * without baseline, too many signals or types). */
struct rw_scorer *rw_scorer_new(const struct rw_config *cfg) RW_NODISCARD;
void rw_scorer_free(struct rw_scorer *sc);

/* Number of doubles of aggregate state per account. */
size_t rw_scorer_nslots(const struct rw_scorer *sc);
/* Changes whenever the slot layout or the meaning of a slot changes. */
uint32_t rw_scorer_fingerprint(const struct rw_scorer *sc);
/* Sets AGG (nslots doubles) to "no events". */
void rw_scorer_reset(const struct rw_scorer *sc, double *agg);

/*
 * Per-signal layout, so that a record written under another configuration
 * keeps the aggregates of the signals that did not change: signal I's slots
 * start at rw_scorer_slot_offset(I) and its definition hashes to
 * rw_scorer_signal_fingerprint(I) (name, types, aggregate, half-lives).
 */
size_t rw_scorer_slot_offset(const struct rw_scorer *sc, int i);
size_t rw_scorer_slot_count(const struct rw_scorer *sc, int i);
uint32_t rw_scorer_signal_fingerprint(const struct rw_scorer *sc, int i);

/*
 * Folds one event into AGG / *REF_MS.  Returns true when TYPE feeds at least
 * one signal.  TS_MS may be older than *REF_MS (out of order).
 */
bool rw_scorer_apply(const struct rw_scorer *sc, double *agg, int64_t *ref_ms, const char *type,
                     size_t type_len, int64_t ts_ms, double value);

struct rw_signal_eval {
    bool absent; /* no value: x and score are meaningless (set to 0) */
    double x;    /* may be +INFINITY for recency */
    double score;
};

struct rw_score_eval {
    bool has_score; /* false: no signal present */
    double score;   /* 0..100; 0 when !has_score (never NAN) */
    int tenths;     /* the score rounded to one decimal, in tenths (0..1000); 0 when none */
    int nsignals;
    struct rw_signal_eval sig[RW_MAX_SIGNALS]; /* in config order */
};

/* What an account contributes to its evaluation besides its slots. */
struct rw_score_input {
    const double *agg;
    int64_t ref_ms;        /* RW_NO_TIME before any event */
    int64_t first_seen_ms; /* earliest event of any type (trend's history correction) */
    double seats;          /* NAN when unknown */
};

/* Evaluates every signal and the account score at NOW_MS. */
void rw_scorer_eval(const struct rw_scorer *sc, const struct rw_score_input *in, int64_t now_ms,
                    struct rw_score_eval *out);

/*
 * Bounds of the account score over [T0_MS, T1_MS] (T0 <= T1, both >= the
 * account's ref time) when no event arrives: every score the account can have
 * at any time of the interval is within [*LO_TENTHS, *HI_TENTHS] (rounded like
 * rw_score_eval.tenths; a margin covers floating-point noise).  The set of
 * present signals must not change inside the interval: *STABLE_UNTIL_MS
 * receives the first time after T0 at which it may (INT64_MAX when never), and
 * the bounds hold only up to it.  Returns false when the account has no score
 * at T0 (nothing to bound).
 */
bool rw_scorer_bounds(const struct rw_scorer *sc, const struct rw_score_input *in, int64_t t0_ms,
                      int64_t t1_ms, int *lo_tenths, int *hi_tenths, int64_t *stable_until_ms);

/* The signal configs the scorer was built from (names, weights, for rendering). */
const struct rw_signal_conf *rw_scorer_signal(const struct rw_scorer *sc, int i);
int rw_scorer_nsignals(const struct rw_scorer *sc);

/* A score rounded half away from zero to one decimal, in tenths. */
int rw_score_tenths(double score);
/*
 * The smallest score in tenths that is at or above BOUND (a configured bound,
 * exactly as written: 40 -> 400, 40.05 -> 401).  Bands compare tenths with
 * these, so a score shown as 40.0 is never below a bound of 40.
 */
int rw_score_bound_tenths(double bound);

#endif
