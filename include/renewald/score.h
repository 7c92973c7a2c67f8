/*
 * score.h - signals, the account score and bands (SPEC §2).
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
 * as REF_MS (Δ = max(0, now − t)).
 */
#ifndef RENEWALD_SCORE_H
#define RENEWALD_SCORE_H

#include "renewald/common.h"
#include "renewald/config.h"

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
    int nsignals;
    struct rw_signal_eval sig[RW_MAX_SIGNALS]; /* in config order */
};

/* Evaluates every signal and the account score at NOW_MS.  SEATS may be NAN. */
void rw_scorer_eval(const struct rw_scorer *sc, const double *agg, int64_t ref_ms, double seats,
                    int64_t now_ms, struct rw_score_eval *out);

/* The signal configs the scorer was built from (names, weights, for rendering). */
const struct rw_signal_conf *rw_scorer_signal(const struct rw_scorer *sc, int i);
int rw_scorer_nsignals(const struct rw_scorer *sc);

/* True while an account is onboarding: no event yet (FIRST_SEEN_MS == INT64_MIN)
 * or its first event younger than [score] min_history at NOW_MS. */
bool rw_score_onboarding(const struct rw_config *cfg, int64_t first_seen_ms, int64_t now_ms);

/* Band of a score by the [score] bounds alone: healthy, watch or at_risk. */
enum rw_band rw_band_of_score(const struct rw_config *cfg, double score);

/*
 * One step of the band state machine at NOW_MS (SPEC §2: confirm going down,
 * hysteresis going up).  CURRENT is the account's band, *BELOW_SINCE_MS the
 * start of its confirm wait (INT64_MIN when none).  ONBOARDING (first event
 * younger than min_history) or !HAS_SCORE give unknown.  Leaving unknown takes
 * the score's band at once.  Returns the new band and updates *BELOW_SINCE_MS.
 */
enum rw_band rw_band_step(const struct rw_config *cfg, enum rw_band current,
                          int64_t *below_since_ms, bool onboarding, bool has_score, double score,
                          int64_t now_ms);

#endif
