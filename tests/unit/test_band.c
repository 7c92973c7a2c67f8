/* test_band.c - bands from tenths, the confirm waits, hysteresis, onboarding (SPEC §2),
 * and the stability answers that let a sweep skip an account. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "renewald/core/account_store.h"
#include "renewald/core/band.h"
#include "scorer_test.h"

#define DAY  RW_MS_PER_DAY
#define HOUR INT64_C(3600000)
#define T0   INT64_C(1767225600000) /* 2026-01-01 */

/* [score] of CFG in the state machine's form; CFG is freed. */
static struct rw_band_conf conf_of(struct rw_config *cfg)
{
    struct rw_band_conf bc;
    rw_band_conf_init(&bc, cfg);
    free(cfg);
    return bc;
}

/* healthy 70, watch 40, hysteresis 3, confirm C, confirm_at_risk CR. */
static struct rw_band_conf conf(int64_t c, int64_t cr)
{
    struct rw_config *cfg = new_config();
    cfg->confirm_ms = c;
    cfg->confirm_at_risk_ms = cr;
    return conf_of(cfg);
}

static struct rw_band_state state(enum rw_band b)
{
    struct rw_band_state st;
    rw_band_state_init(&st);
    st.band = (uint8_t)b;
    return st;
}

/* One evaluation of a settled account with a score. */
static enum rw_band step(const struct rw_band_conf *bc, struct rw_band_state *st, int tenths,
                         int64_t now)
{
    (void)rw_band_step(bc, st, false, true, tenths, now);
    return (enum rw_band)st->band;
}

static void test_conf_and_ties(void **state_)
{
    (void)state_;
    struct rw_band_conf bc = conf(2 * DAY, 7 * DAY);
    assert_int_equal(bc.healthy, 700);
    assert_int_equal(bc.watch, 400);
    assert_int_equal(bc.healthy_up, 730);
    assert_int_equal(bc.watch_up, 430);
    assert_true(bc.confirm_ms == 2 * DAY && bc.confirm_at_risk_ms == 7 * DAY);
    /* A score exactly on a bound takes the better band. */
    assert_int_equal(rw_band_of_tenths(&bc, 1000), RW_BAND_HEALTHY);
    assert_int_equal(rw_band_of_tenths(&bc, 700), RW_BAND_HEALTHY);
    assert_int_equal(rw_band_of_tenths(&bc, 699), RW_BAND_WATCH);
    assert_int_equal(rw_band_of_tenths(&bc, 400), RW_BAND_WATCH);
    assert_int_equal(rw_band_of_tenths(&bc, 399), RW_BAND_AT_RISK);
    assert_int_equal(rw_band_of_tenths(&bc, 0), RW_BAND_AT_RISK);
    /* A healthy account exactly on the bound starts no wait. */
    struct rw_band_state st = state(RW_BAND_HEALTHY);
    assert_false(rw_band_step(&bc, &st, false, true, 700, T0));
    assert_true(st.below_healthy_ms == RW_NO_TIME);
    /* Bounds that are not whole tenths: 40.05 shown as 40.0 or 40.1. */
    struct rw_config *cfg = new_config();
    cfg->watch = 40.05;
    cfg->hysteresis = 0.05;
    bc = conf_of(cfg);
    assert_int_equal(bc.watch, 401);
    assert_int_equal(bc.watch_up, 401); /* 40.1 exactly: no binary noise */
    assert_int_equal(rw_band_of_tenths(&bc, 400), RW_BAND_AT_RISK);
    assert_int_equal(rw_band_of_tenths(&bc, 401), RW_BAND_WATCH);
}

/* A crash below watch: watch after confirm, at_risk after confirm_at_risk (SPEC §2). */
static void test_confirm_waits(void **state_)
{
    (void)state_;
    struct rw_band_conf bc = conf(2 * DAY, 7 * DAY);
    struct rw_band_state st = state(RW_BAND_HEALTHY);
    assert_true(rw_band_step(&bc, &st, false, true, 100, T0)); /* both waits start */
    assert_int_equal(st.band, RW_BAND_HEALTHY);
    assert_true(st.below_healthy_ms == T0 && st.below_watch_ms == T0);
    assert_true(rw_band_next_time(&bc, &st) == T0 + 2 * DAY);
    assert_int_equal(step(&bc, &st, 100, T0 + 2 * DAY - 1), RW_BAND_HEALTHY);
    assert_int_equal(step(&bc, &st, 100, T0 + 2 * DAY), RW_BAND_WATCH);
    assert_true(st.below_healthy_ms == RW_NO_TIME);
    assert_true(st.below_watch_ms == T0); /* the at_risk wait runs on */
    assert_true(rw_band_next_time(&bc, &st) == T0 + 7 * DAY);
    assert_int_equal(step(&bc, &st, 100, T0 + 7 * DAY - 1), RW_BAND_WATCH);
    assert_int_equal(step(&bc, &st, 100, T0 + 7 * DAY), RW_BAND_AT_RISK);
    assert_true(st.below_watch_ms == RW_NO_TIME);
    assert_true(rw_band_next_time(&bc, &st) == INT64_MAX);
    /* At risk has no lower bound. */
    assert_false(rw_band_step(&bc, &st, false, true, 0, T0 + 9 * DAY));

    /* Both waits equal: at_risk directly when they end together. */
    bc = conf(2 * DAY, 2 * DAY);
    st = state(RW_BAND_HEALTHY);
    assert_int_equal(step(&bc, &st, 100, T0), RW_BAND_HEALTHY);
    assert_int_equal(step(&bc, &st, 100, T0 + 2 * DAY - 1), RW_BAND_HEALTHY);
    assert_int_equal(step(&bc, &st, 100, T0 + 2 * DAY), RW_BAND_AT_RISK);
    /* confirm = 0: at once. */
    bc = conf(0, 0);
    st = state(RW_BAND_HEALTHY);
    assert_int_equal(step(&bc, &st, 100, T0), RW_BAND_AT_RISK);
    st = state(RW_BAND_HEALTHY);
    assert_int_equal(step(&bc, &st, 500, T0), RW_BAND_WATCH);
}

/* A score that recovers before its wait ends resets that wait, and only that one. */
static void test_recovery_resets(void **state_)
{
    (void)state_;
    struct rw_band_conf bc = conf(2 * DAY, 7 * DAY);
    struct rw_band_state st = state(RW_BAND_HEALTHY);
    step(&bc, &st, 100, T0);
    assert_int_equal(step(&bc, &st, 750, T0 + DAY), RW_BAND_HEALTHY); /* recovered */
    assert_true(st.below_healthy_ms == RW_NO_TIME && st.below_watch_ms == RW_NO_TIME);
    step(&bc, &st, 100, T0 + DAY + DAY / 2); /* down again: the waits start over */
    assert_int_equal(step(&bc, &st, 100, T0 + 3 * DAY), RW_BAND_HEALTHY);
    assert_int_equal(step(&bc, &st, 100, T0 + 3 * DAY + DAY / 2), RW_BAND_WATCH);
    /* Back above watch but below healthy: the at_risk wait resets, watch stays. */
    assert_int_equal(step(&bc, &st, 500, T0 + 4 * DAY), RW_BAND_WATCH);
    assert_true(st.below_watch_ms == RW_NO_TIME);
    assert_int_equal(step(&bc, &st, 100, T0 + 5 * DAY), RW_BAND_WATCH);
    assert_true(st.below_watch_ms == T0 + 5 * DAY);
    assert_int_equal(step(&bc, &st, 100, T0 + 12 * DAY - 1), RW_BAND_WATCH);
    assert_int_equal(step(&bc, &st, 100, T0 + 12 * DAY), RW_BAND_AT_RISK);
    /* A dip into watch only: healthy -> watch after confirm, never at_risk. */
    st = state(RW_BAND_HEALTHY);
    step(&bc, &st, 500, T0);
    assert_true(st.below_watch_ms == RW_NO_TIME);
    assert_int_equal(step(&bc, &st, 500, T0 + 30 * DAY), RW_BAND_WATCH);
    assert_int_equal(step(&bc, &st, 500, T0 + 60 * DAY), RW_BAND_WATCH);
}

/* Up without waiting, but only at the band's bound plus hysteresis. */
static void test_hysteresis(void **state_)
{
    (void)state_;
    struct rw_band_conf bc = conf(2 * DAY, 2 * DAY);
    struct rw_band_state st = state(RW_BAND_WATCH);
    assert_int_equal(step(&bc, &st, 700, T0), RW_BAND_WATCH);
    assert_int_equal(step(&bc, &st, 729, T0), RW_BAND_WATCH);
    assert_int_equal(step(&bc, &st, 730, T0), RW_BAND_HEALTHY);
    st = state(RW_BAND_AT_RISK);
    assert_int_equal(step(&bc, &st, 400, T0), RW_BAND_AT_RISK);
    assert_int_equal(step(&bc, &st, 429, T0), RW_BAND_AT_RISK);
    assert_int_equal(step(&bc, &st, 430, T0), RW_BAND_WATCH);
    st = state(RW_BAND_AT_RISK);
    assert_int_equal(step(&bc, &st, 729, T0), RW_BAND_WATCH);
    st = state(RW_BAND_AT_RISK);
    assert_int_equal(step(&bc, &st, 730, T0), RW_BAND_HEALTHY); /* two bands at once */
    assert_true(st.below_healthy_ms == RW_NO_TIME && st.below_watch_ms == RW_NO_TIME);
}

static void test_onboarding_and_no_score(void **state_)
{
    (void)state_;
    struct rw_band_conf bc = conf(2 * DAY, 7 * DAY); /* min_history 14d */
    assert_true(rw_band_onboarding(&bc, RW_NO_TIME, T0));
    assert_true(rw_band_onboarding(&bc, T0, T0));
    assert_true(rw_band_onboarding(&bc, T0, T0 + 14 * DAY - 1));
    assert_false(rw_band_onboarding(&bc, T0, T0 + 14 * DAY));
    assert_true(rw_band_onboarding(&bc, T0, T0 - DAY)); /* a now before the first event */
    assert_false(rw_band_onboarding(&bc, INT64_MIN + 1, INT64_MAX)); /* no overflow */
    /* Onboarding or no score: unknown, whatever the score, and the waits are gone. */
    struct rw_band_state st = state(RW_BAND_HEALTHY);
    st.below_healthy_ms = T0 - DAY;
    assert_true(rw_band_step(&bc, &st, true, true, 900, T0));
    assert_int_equal(st.band, RW_BAND_UNKNOWN);
    assert_true(st.below_healthy_ms == RW_NO_TIME && st.below_watch_ms == RW_NO_TIME);
    assert_false(rw_band_step(&bc, &st, true, true, 100, T0 + DAY)); /* nothing to change */
    st = state(RW_BAND_AT_RISK);
    assert_true(rw_band_step(&bc, &st, false, false, 0, T0));
    assert_int_equal(st.band, RW_BAND_UNKNOWN);
    /* A wait restored from a corrupt record: no overflow either. */
    st = state(RW_BAND_HEALTHY);
    st.below_healthy_ms = st.below_watch_ms = INT64_MIN + 1;
    assert_int_equal(step(&bc, &st, 100, INT64_MAX), RW_BAND_AT_RISK);
}

/* When onboarding ends, unknown counts as healthy for the waits (SPEC §2, §6). */
static void test_after_onboarding(void **state_)
{
    (void)state_;
    struct rw_band_conf bc = conf(2 * DAY, 7 * DAY);
    int64_t end = T0 + 14 * DAY; /* first event at T0 */
    struct rw_band_state st;
    rw_band_state_init(&st);
    assert_false(rw_band_step(&bc, &st, rw_band_onboarding(&bc, T0, end - 1), true, 100, end - 1));
    assert_int_equal(st.band, RW_BAND_UNKNOWN);
    /* Already at_risk by score when onboarding ends: shows healthy while the waits run. */
    assert_true(rw_band_step(&bc, &st, rw_band_onboarding(&bc, T0, end), true, 100, end));
    assert_int_equal(st.band, RW_BAND_HEALTHY);
    assert_true(st.below_healthy_ms == end && st.below_watch_ms == end);
    assert_int_equal(step(&bc, &st, 100, end + 2 * DAY - 1), RW_BAND_HEALTHY);
    assert_int_equal(step(&bc, &st, 100, end + 2 * DAY), RW_BAND_WATCH);
    assert_int_equal(step(&bc, &st, 100, end + 7 * DAY), RW_BAND_AT_RISK);
    /* A healthy score when onboarding ends: healthy, no wait. */
    rw_band_state_init(&st);
    assert_int_equal(step(&bc, &st, 800, end), RW_BAND_HEALTHY);
    assert_true(st.below_healthy_ms == RW_NO_TIME);
    /* unknown is never left upwards by hysteresis rules: 710 is healthy at once. */
    rw_band_state_init(&st);
    assert_int_equal(step(&bc, &st, 710, end), RW_BAND_HEALTHY);
}

/* ---- stable_range and next_time agree with step ---- */

static int rand_tenths(uint64_t *s)
{
    /* Mostly near the bounds, where it matters. */
    static const int near[] = {398, 399, 400, 401, 429, 430, 431, 699, 700, 701, 729, 730, 731};
    if (xs_next(s) % 2)
        return near[xs_next(s) % (sizeof(near) / sizeof(near[0]))];
    return (int)(xs_next(s) % 1001);
}

static void test_stable_range_property(void **state_)
{
    (void)state_;
    static const int64_t waits[] = {0, HOUR, 2 * DAY, 7 * DAY};
    uint64_t s = 0xb0a7;
    long stable_cases = 0, steps = 0;
    for (int iter = 0; iter < 20000; iter++) {
        struct rw_config *cfg = new_config();
        cfg->confirm_ms = waits[xs_next(&s) % 4];
        cfg->confirm_at_risk_ms = waits[xs_next(&s) % 4];
        cfg->hysteresis = (double)(xs_next(&s) % 4); /* 0 .. 3 */
        struct rw_band_conf bc = conf_of(cfg);
        /* A state as an evaluation leaves it: a random past, then one step in [lo, hi]. */
        struct rw_band_state st;
        rw_band_state_init(&st);
        st.band = (uint8_t)(xs_next(&s) % RW_BAND_COUNT);
        if (xs_next(&s) % 2)
            st.below_healthy_ms = T0 - (int64_t)(xs_next(&s) % (uint64_t)(8 * DAY));
        if (xs_next(&s) % 2)
            st.below_watch_ms = T0 - (int64_t)(xs_next(&s) % (uint64_t)(8 * DAY));
        int lo = rand_tenths(&s), hi = rand_tenths(&s);
        if (lo > hi) {
            int t = lo;
            lo = hi;
            hi = t;
        }
        bool onboarding = xs_next(&s) % 8 == 0, has_score = xs_next(&s) % 8 != 0;
        (void)rw_band_step(&bc, &st, onboarding, has_score,
                           lo + (int)(xs_next(&s) % (uint64_t)(hi - lo + 1)), T0);
        if (!rw_band_stable_range(&bc, &st, lo, hi))
            continue;
        stable_cases++;
        int64_t next = rw_band_next_time(&bc, &st);
        /* confirm_at_risk < confirm: a healthy account's at_risk wait may be over already
         * (it acts once the other one ends); no time is "before" it then. */
        if (next <= T0)
            continue;
        for (int k = 0; k < 20; k++) {
            int64_t horizon = next == INT64_MAX ? 30 * DAY : next - T0;
            int64_t t = T0 + (int64_t)(xs_next(&s) % (uint64_t)horizon);
            if (k == 0 && next != INT64_MAX)
                t = next - 1; /* the last instant before a wait ends */
            int tenths = k == 1   ? lo
                         : k == 2 ? hi
                                  : lo + (int)(xs_next(&s) % (uint64_t)(hi - lo + 1));
            struct rw_band_state copy = st;
            if (rw_band_step(&bc, &copy, onboarding, has_score, tenths, t) ||
                copy.band != st.band || copy.below_healthy_ms != st.below_healthy_ms ||
                copy.below_watch_ms != st.below_watch_ms)
                fail_msg("iter %d: band %d waits %lld/%lld stable on [%d, %d] until %lld, "
                         "yet %d at T0+%lld moved it to band %d",
                         iter, st.band, (long long)st.below_healthy_ms,
                         (long long)st.below_watch_ms, lo, hi, (long long)next, tenths,
                         (long long)(t - T0), copy.band);
            steps++;
        }
    }
    print_message("stable states %ld, steps checked %ld\n", stable_cases, steps);
    assert_true(stable_cases > 2000);
}

/* stable_range says no when a threshold lies inside the range. */
static void test_stable_range_examples(void **state_)
{
    (void)state_;
    struct rw_band_conf bc = conf(2 * DAY, 7 * DAY);
    struct rw_band_state st = state(RW_BAND_HEALTHY);
    assert_true(rw_band_stable_range(&bc, &st, 700, 1000));
    assert_false(rw_band_stable_range(&bc, &st, 699, 700)); /* would start a wait */
    assert_false(rw_band_stable_range(&bc, &st, 399, 500));
    st = state(RW_BAND_WATCH);
    assert_true(rw_band_stable_range(&bc, &st, 400, 729));
    assert_false(rw_band_stable_range(&bc, &st, 400, 730)); /* would go up */
    assert_false(rw_band_stable_range(&bc, &st, 399, 600));
    st = state(RW_BAND_AT_RISK);
    assert_true(rw_band_stable_range(&bc, &st, 0, 429));
    assert_false(rw_band_stable_range(&bc, &st, 0, 430));
    assert_true(rw_band_stable_range(&bc, &st, 430, 729));
    st = state(RW_BAND_HEALTHY);
    assert_true(rw_band_next_time(&bc, &st) == INT64_MAX);
    st.below_healthy_ms = T0;
    st.below_watch_ms = T0 - 6 * DAY; /* ends first, but the band waits for leaving healthy */
    assert_true(rw_band_next_time(&bc, &st) == T0 + 2 * DAY);
    st = state(RW_BAND_WATCH);
    st.below_watch_ms = T0;
    assert_true(rw_band_next_time(&bc, &st) == T0 + 7 * DAY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf_and_ties),
        cmocka_unit_test(test_confirm_waits),
        cmocka_unit_test(test_recovery_resets),
        cmocka_unit_test(test_hysteresis),
        cmocka_unit_test(test_onboarding_and_no_score),
        cmocka_unit_test(test_after_onboarding),
        cmocka_unit_test(test_stable_range_property),
        cmocka_unit_test(test_stable_range_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
