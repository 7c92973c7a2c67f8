/* band.c - bands from scores in tenths, with confirm waits and hysteresis (SPEC §2). */
#include "renewald/core/band.h"

#include "renewald/core/account_store.h"
#include "renewald/core/score.h"

void rw_band_conf_init(struct rw_band_conf *bc, const struct rw_config *cfg)
{
    bc->healthy = rw_score_bound_tenths(cfg->healthy);
    bc->watch = rw_score_bound_tenths(cfg->watch);
    bc->healthy_up = rw_score_bound_tenths(cfg->healthy + cfg->hysteresis);
    bc->watch_up = rw_score_bound_tenths(cfg->watch + cfg->hysteresis);
    bc->confirm_ms = cfg->confirm_ms;
    bc->confirm_at_risk_ms = cfg->confirm_at_risk_ms;
    bc->min_history_ms = cfg->min_history_ms;
}

void rw_band_state_init(struct rw_band_state *st)
{
    st->band = RW_BAND_UNKNOWN;
    st->below_healthy_ms = RW_NO_TIME;
    st->below_watch_ms = RW_NO_TIME;
}

enum rw_band rw_band_of_tenths(const struct rw_band_conf *bc, int tenths)
{
    if (tenths >= bc->healthy)
        return RW_BAND_HEALTHY;
    if (tenths >= bc->watch)
        return RW_BAND_WATCH;
    return RW_BAND_AT_RISK;
}

/* TO − FROM, 0 when TO is earlier; no overflow whatever a restored record holds. */
static uint64_t elapsed_ms(int64_t from, int64_t to)
{
    return to > from ? (uint64_t)to - (uint64_t)from : 0;
}

bool rw_band_onboarding(const struct rw_band_conf *bc, int64_t first_seen_ms, int64_t now_ms)
{
    if (first_seen_ms == RW_NO_TIME || now_ms < first_seen_ms)
        return true;
    return bc->min_history_ms > 0 &&
           elapsed_ms(first_seen_ms, now_ms) < (uint64_t)bc->min_history_ms;
}

static bool wait_met(int64_t since, int64_t wait_ms, int64_t now_ms)
{
    return since != RW_NO_TIME && elapsed_ms(since, now_ms) >= (uint64_t)wait_ms;
}

/* Starts a wait at NOW when the score is below, keeps one in progress, clears it otherwise. */
static void track(int64_t *since, bool below, int64_t now_ms)
{
    if (!below)
        *since = RW_NO_TIME;
    else if (*since == RW_NO_TIME)
        *since = now_ms;
}

static void step(const struct rw_band_conf *bc, struct rw_band_state *st, int tenths,
                 int64_t now_ms)
{
    if (st->band == RW_BAND_UNKNOWN) /* onboarding just ended: unknown counts as healthy */
        st->band = RW_BAND_HEALTHY;
    if (st->band == RW_BAND_HEALTHY)
        track(&st->below_healthy_ms, tenths < bc->healthy, now_ms);
    else
        st->below_healthy_ms = RW_NO_TIME;
    if (st->band != RW_BAND_AT_RISK)
        track(&st->below_watch_ms, tenths < bc->watch, now_ms);
    else
        st->below_watch_ms = RW_NO_TIME;

    bool leave_healthy = wait_met(st->below_healthy_ms, bc->confirm_ms, now_ms);
    bool enter_at_risk = wait_met(st->below_watch_ms, bc->confirm_at_risk_ms, now_ms);
    if (st->band == RW_BAND_HEALTHY && leave_healthy) {
        st->below_healthy_ms = RW_NO_TIME;
        st->band = enter_at_risk ? RW_BAND_AT_RISK : RW_BAND_WATCH;
    } else if (st->band == RW_BAND_WATCH && enter_at_risk) {
        st->band = RW_BAND_AT_RISK;
    }
    if (st->band == RW_BAND_AT_RISK)
        st->below_watch_ms = RW_NO_TIME;

    /* Up without waiting, once the score clears the bound plus hysteresis. */
    if (st->band != RW_BAND_HEALTHY && tenths >= bc->healthy_up) {
        st->band = RW_BAND_HEALTHY;
        st->below_healthy_ms = st->below_watch_ms = RW_NO_TIME;
    } else if (st->band == RW_BAND_AT_RISK && tenths >= bc->watch_up) {
        st->band = RW_BAND_WATCH;
        st->below_watch_ms = RW_NO_TIME;
    }
}

bool rw_band_step(const struct rw_band_conf *bc, struct rw_band_state *st, bool onboarding,
                  bool has_score, int tenths, int64_t now_ms)
{
    struct rw_band_state old = *st;
    if (onboarding || !has_score) {
        rw_band_state_init(st);
    } else {
        step(bc, st, tenths, now_ms);
    }
    return st->band != old.band || st->below_healthy_ms != old.below_healthy_ms ||
           st->below_watch_ms != old.below_watch_ms;
}

/* The range [LO, HI] lies on one side of THRESHOLD. */
static bool one_side(int lo, int hi, int threshold)
{
    return hi < threshold || lo >= threshold;
}

bool rw_band_stable_range(const struct rw_band_conf *bc, const struct rw_band_state *st, int lo,
                          int hi)
{
    switch (st->band) {
    case RW_BAND_UNKNOWN:
        /* Onboarding (ends at a time the caller knows) or no signal present
         * (only an event brings one back): the score does not matter. */
        return true;
    case RW_BAND_HEALTHY:
        return one_side(lo, hi, bc->healthy) && one_side(lo, hi, bc->watch);
    case RW_BAND_WATCH:
        return one_side(lo, hi, bc->watch) && one_side(lo, hi, bc->healthy_up);
    case RW_BAND_AT_RISK:
        return one_side(lo, hi, bc->watch_up) && one_side(lo, hi, bc->healthy_up);
    }
    return false;
}

int64_t rw_band_next_time(const struct rw_band_conf *bc, const struct rw_band_state *st)
{
    /* Only the wait that can move the band counts: leaving healthy (which may go
     * straight to at_risk, decided then), or entering at_risk from watch. */
    int64_t since = RW_NO_TIME, wait = 0;
    if (st->band == RW_BAND_HEALTHY) {
        since = st->below_healthy_ms;
        wait = bc->confirm_ms;
    } else if (st->band == RW_BAND_WATCH) {
        since = st->below_watch_ms;
        wait = bc->confirm_at_risk_ms;
    }
    if (since == RW_NO_TIME || since >= INT64_MAX - wait)
        return INT64_MAX;
    return since + wait;
}
