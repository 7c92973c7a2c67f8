/*
 * band.h - the band of an account and the guards that keep it from flapping
 * (SPEC §2): bands are decided on the score in tenths; going down waits for
 * `confirm` (to leave healthy) and `confirm_at_risk` (to enter at_risk);
 * going up needs the bound plus `hysteresis`; onboarding shows unknown, and
 * unknown counts as healthy for the waits once onboarding ends.
 *
 * Pure value types and functions; nothing is allocated.
 */
#ifndef RENEWALD_CORE_BAND_H
#define RENEWALD_CORE_BAND_H

#include "renewald/config.h"
#include "renewald/core/common.h"

/* The [score] section in the form the state machine uses: bounds in tenths. */
struct rw_band_conf {
    int healthy, watch;       /* lowest tenths of each band */
    int healthy_up, watch_up; /* lowest tenths to move up into it (bound + hysteresis) */
    int64_t confirm_ms, confirm_at_risk_ms, min_history_ms;
};
void rw_band_conf_init(struct rw_band_conf *bc, const struct rw_config *cfg);

/* What the state machine keeps per account (persisted with it). */
struct rw_band_state {
    uint8_t band;             /* enum rw_band */
    int64_t below_healthy_ms; /* start of the wait to leave healthy, RW_NO_TIME when none */
    int64_t below_watch_ms;   /* start of the wait to enter at_risk, RW_NO_TIME when none */
};
void rw_band_state_init(struct rw_band_state *st);

/* The band of a score by the bounds alone: healthy, watch or at_risk. */
enum rw_band rw_band_of_tenths(const struct rw_band_conf *bc, int tenths);

/* True while an account is onboarding: no event yet (FIRST_SEEN_MS == RW_NO_TIME)
 * or its first event younger than min_history at NOW_MS. */
bool rw_band_onboarding(const struct rw_band_conf *bc, int64_t first_seen_ms, int64_t now_ms);

/*
 * One evaluation at NOW_MS with the score in TENTHS (HAS_SCORE false: no
 * signal present).  Updates *ST; returns true when it changed.
 */
bool rw_band_step(const struct rw_band_conf *bc, struct rw_band_state *st, bool onboarding,
                  bool has_score, int tenths, int64_t now_ms);

/*
 * The thresholds (in tenths) whose crossing would change *ST's state at the
 * next evaluation, for a score that stays inside [LO, HI]: returns true when
 * no score in that range changes anything but the passage of time (a wait
 * ending, onboarding ending: see rw_band_next_time).
 */
bool rw_band_stable_range(const struct rw_band_conf *bc, const struct rw_band_state *st, int lo,
                          int hi);
/* The first time after which a wait in progress ends (INT64_MAX when none). */
int64_t rw_band_next_time(const struct rw_band_conf *bc, const struct rw_band_state *st);

#endif
