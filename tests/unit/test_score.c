/* test_score.c - aggregates, signal and account scores, tenths, determinism.
 * The bounds sweeps rely on are in test_score_bounds.c. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "renewald/config.h"
#include "renewald/core/account_store.h"
#include "renewald/core/score.h"
#include "scorer_test.h"

#define DAY  RW_MS_PER_DAY
#define HOUR INT64_C(3600000)
#define T0   INT64_C(1767225600000) /* 2026-01-01 */

/* A scorer and one account's state, kept the way the engine keeps it. */
struct acct {
    struct rw_scorer *sc;
    double agg[2 * RW_MAX_SIGNALS];
    int64_t ref, first_seen;
};

static void acct_init(struct acct *a, const struct rw_config *cfg)
{
    a->sc = rw_scorer_new(cfg);
    assert_non_null(a->sc);
    rw_scorer_reset(a->sc, a->agg);
    a->ref = RW_NO_TIME;
    a->first_seen = RW_NO_TIME;
}

/* first_seen is the earliest event of any type, fed to a signal or not (SPEC §6). */
static bool ev(struct acct *a, const char *type, int64_t ts, double v)
{
    if (a->first_seen == RW_NO_TIME || ts < a->first_seen)
        a->first_seen = ts;
    return rw_scorer_apply(a->sc, a->agg, &a->ref, type, strlen(type), ts, v);
}

static struct rw_score_input input(const struct acct *a, double seats)
{
    struct rw_score_input in = {a->agg, a->ref, a->first_seen, seats};
    return in;
}

static void eval(struct acct *a, double seats, int64_t now, struct rw_score_eval *out)
{
    memset(out, 0xa5, sizeof(*out));
    struct rw_score_input in = input(a, seats);
    rw_scorer_eval(a->sc, &in, now, out);
}

static void assert_rel(double got, double want, double rel)
{
    double tol = rel * fmax(fabs(got), fabs(want));
    if (!(fabs(got - want) <= tol))
        fail_msg("got %.17g, want %.17g", got, want);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    return xs_next(&rng_state);
}

/* 1 − 2^(−a/h): the share of a decayed window a history of A days covers. */
static double cover(double a, double h)
{
    return 1.0 - exp2(-a / h);
}

struct event {
    int type; /* 0 login, 1 csat, 2 api_call, 3 other */
    int64_t ts;
    double v;
};

static const char *const type_names[] = {"login", "csat", "api_call", "other"};

/* Every aggregate against a direct Σ, in order and shuffled. */
static void test_aggregates_direct(void **state)
{
    (void)state;
    struct rw_config *cfg = new_config();
    add_signal(cfg, "logins", "login", RW_AGG_RATE, 7, 0, 0, 10);
    add_signal(cfg, "csat", "csat", RW_AGG_MEAN, 30, 0, 2, 4.5);
    add_signal(cfg, "usage", "api_call", RW_AGG_TREND, 7, 60, 0.5, 1);
    add_signal(cfg, "last_login", "login", RW_AGG_RECENCY, 1, 0, 30, 0);
    enum { N = 2000 };
    struct event *evs = rw_xcalloc(N, sizeof(*evs));
    int64_t first = INT64_MAX;
    for (int i = 0; i < N; i++) {
        evs[i].type = (int)(rng() % 4);
        evs[i].ts = T0 + (int64_t)(rng() % (uint64_t)(90 * DAY));
        evs[i].v = 0.5 + (double)(rng() % 1000) / 100.0;
        if (evs[i].ts < first)
            first = evs[i].ts;
    }
    int64_t now = T0 + 95 * DAY;
    const double hl[3] = {7.0, 30.0, 7.0}, base = 60.0;
    double rate = 0, msum = 0, wsum = 0, th = 0, tb = 0, newest = -INFINITY;
    for (int i = 0; i < N; i++) {
        double d = (double)(now - evs[i].ts) / DAY;
        switch (evs[i].type) {
        case 0:
            rate += evs[i].v * exp2(-d / hl[0]);
            newest = fmax(newest, (double)evs[i].ts);
            break;
        case 1:
            msum += evs[i].v * exp2(-d / hl[1]);
            wsum += exp2(-d / hl[1]);
            break;
        case 2:
            th += evs[i].v * exp2(-d / hl[2]);
            tb += evs[i].v * exp2(-d / base);
            break;
        default:
            break;
        }
    }
    double age = (double)(now - first) / DAY; /* first_seen counts every type */
    double want_rate = M_LN2 / 7.0 * rate;
    double want_mean = msum / wsum;
    double want_trend =
        (M_LN2 / 7.0 * th / cover(age, 7.0)) / (M_LN2 / 60.0 * tb / cover(age, 60.0));
    double want_rec = (double)(now - (int64_t)newest) / DAY;

    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) { /* shuffle: out of order must give the same result */
            for (int i = N - 1; i > 0; i--) {
                int j = (int)(rng() % (uint64_t)(i + 1));
                struct event t = evs[i];
                evs[i] = evs[j];
                evs[j] = t;
            }
        } else { /* in order */
            for (int i = 1; i < N; i++)
                for (int j = i; j > 0 && evs[j - 1].ts > evs[j].ts; j--) {
                    struct event t = evs[j];
                    evs[j] = evs[j - 1];
                    evs[j - 1] = t;
                }
        }
        struct acct a;
        acct_init(&a, cfg);
        int64_t maxts = RW_NO_TIME;
        for (int i = 0; i < N; i++) {
            bool fed = ev(&a, type_names[evs[i].type], evs[i].ts, evs[i].v);
            assert_int_equal(fed, evs[i].type != 3);
            if (fed && evs[i].ts > maxts)
                maxts = evs[i].ts;
        }
        assert_int_equal(a.ref, maxts);
        struct rw_score_eval out;
        eval(&a, NAN, now, &out);
        assert_int_equal(out.nsignals, 4);
        for (int i = 0; i < 4; i++)
            assert_false(out.sig[i].absent);
        assert_rel(out.sig[0].x, want_rate, 1e-9);
        assert_rel(out.sig[1].x, want_mean, 1e-9);
        assert_rel(out.sig[2].x, want_trend, 1e-9);
        assert_rel(out.sig[3].x, want_rec, 1e-9);
        assert_true(out.has_score);
        assert_int_equal(out.tenths, rw_score_tenths(out.score));
        rw_scorer_free(a.sc);
    }
    free(evs);
    free(cfg);
}

/* Unknown types change nothing, ref included; a type may feed several signals. */
static void test_apply_types(void **state)
{
    (void)state;
    struct rw_config *cfg = new_config();
    add_signal(cfg, "a", "login,login,sso", RW_AGG_RATE, 1, 0, 0, 10);
    add_signal(cfg, "b", "login", RW_AGG_RATE, 2, 0, 0, 10);
    struct acct a;
    acct_init(&a, cfg);
    assert_int_equal(rw_scorer_nslots(a.sc), 2);
    assert_false(rw_scorer_apply(a.sc, a.agg, &a.ref, "logi", 4, T0, 1));
    assert_false(rw_scorer_apply(a.sc, a.agg, &a.ref, "login2", 6, T0, 1));
    assert_false(rw_scorer_apply(a.sc, a.agg, &a.ref, "login", 0, T0, 1));
    assert_true(a.ref == RW_NO_TIME);
    assert_true(a.agg[0] == 0.0 && a.agg[1] == 0.0);
    assert_true(ev(&a, "login", T0, 2));
    assert_true(a.ref == T0);
    assert_true(a.agg[0] == 2.0 && a.agg[1] == 2.0); /* listed twice, counted once */
    assert_false(ev(&a, "other", T0 + DAY, 1));
    assert_true(a.ref == T0);
    /* A later event rebases every decayed slot, including signals it does not feed. */
    assert_true(ev(&a, "sso", T0 + 2 * DAY, 1));
    assert_true(a.ref == T0 + 2 * DAY);
    assert_rel(a.agg[0], 2.0 * 0.25 + 1.0, 1e-12);
    assert_rel(a.agg[1], 2.0 * 0.5, 1e-12);
    rw_scorer_free(a.sc);
    free(cfg);
}

static void test_rate_no_event_and_seats(void **state)
{
    (void)state;
    struct rw_config *cfg = new_config();
    struct rw_signal_conf *c = add_signal(cfg, "logins", "login", RW_AGG_RATE, 1, 0, 0, 4);
    c->normalize_seats = true;
    struct acct a;
    acct_init(&a, cfg);
    struct rw_score_eval out;
    eval(&a, 10, T0, &out);
    assert_true(out.has_score);
    assert_false(out.sig[0].absent);
    assert_true(out.sig[0].x == 0.0);
    assert_true(out.score == 0.0);

    for (int i = 0; i < 10; i++)
        assert_true(ev(&a, "login", T0, 1));
    double raw = M_LN2 * 10; /* H = 1 day, evaluated at T0 */
    eval(&a, NAN, T0, &out);
    assert_rel(out.sig[0].x, raw, 1e-12);
    eval(&a, 0.5, T0, &out);
    assert_rel(out.sig[0].x, raw, 1e-12);
    eval(&a, 5, T0, &out);
    assert_rel(out.sig[0].x, raw / 5, 1e-12);
    assert_rel(out.sig[0].score, 100 * raw / 5 / 4, 1e-12);
    /* one half-life later; a now before ref counts as ref */
    eval(&a, 5, T0 + DAY, &out);
    assert_rel(out.sig[0].x, raw / 10, 1e-12);
    eval(&a, 5, T0 - DAY, &out);
    assert_rel(out.sig[0].x, raw / 5, 1e-12);
    rw_scorer_free(a.sc);
    free(cfg);
}

/* Both directions of low/high, with a mean so that x is the value itself. */
static void test_clamp_directions(void **state)
{
    (void)state;
    struct rw_config *cfg = new_config();
    add_signal(cfg, "up", "m", RW_AGG_MEAN, 30, 0, 2, 4);
    add_signal(cfg, "down", "m", RW_AGG_MEAN, 30, 0, 4, 2);
    static const double xs[] = {-5, 1, 2, 2.5, 3, 4, 5, 1e300};
    static const double up[] = {0, 0, 0, 25, 50, 100, 100, 100};
    for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
        struct acct a;
        acct_init(&a, cfg);
        assert_true(ev(&a, "m", T0, xs[i]));
        struct rw_score_eval out;
        eval(&a, NAN, T0 + DAY, &out);
        assert_rel(out.sig[0].x, xs[i], 1e-12);
        assert_rel(out.sig[0].score, up[i], 1e-12);
        assert_rel(out.sig[1].score, 100 - up[i], 1e-12);
        assert_true(out.sig[0].score >= 0 && out.sig[0].score <= 100);
        rw_scorer_free(a.sc);
    }
    free(cfg);
}

static void test_recency(void **state)
{
    (void)state;
    struct rw_config *cfg = new_config();
    add_signal(cfg, "lower_better", "login", RW_AGG_RECENCY, 1, 0, 30, 0);
    add_signal(cfg, "higher_better", "login", RW_AGG_RECENCY, 1, 0, 0, 30);
    struct acct a;
    acct_init(&a, cfg);
    assert_true(a.agg[0] == -INFINITY); /* reset: no event yet */
    struct rw_score_eval out;
    eval(&a, NAN, T0, &out);
    assert_false(out.sig[0].absent);
    assert_true(isinf(out.sig[0].x) && out.sig[0].x > 0);
    assert_true(out.sig[0].score == 0.0);
    assert_true(out.sig[1].score == 100.0);
    assert_true(out.has_score);
    assert_true(out.score == 50.0);

    assert_true(ev(&a, "login", T0 - 3 * DAY, 1));
    assert_true(ev(&a, "login", T0 - 9 * DAY, 1)); /* older: not the newest */
    eval(&a, NAN, T0, &out);
    assert_rel(out.sig[0].x, 3, 1e-12);
    assert_rel(out.sig[0].score, 90, 1e-12);
    eval(&a, NAN, T0 - 5 * DAY, &out); /* now before the event: Δ = 0 */
    assert_true(out.sig[0].x == 0.0);
    rw_scorer_free(a.sc);
    free(cfg);
}

static void test_absent(void **state)
{
    (void)state;
    struct rw_config *cfg = new_config();
    add_signal(cfg, "csat", "csat", RW_AGG_MEAN, 30, 0, 0, 10);
    add_signal(cfg, "trend", "api_call", RW_AGG_TREND, 7, 60, 0.5, 1);
    struct acct a;
    acct_init(&a, cfg);
    struct rw_score_eval out;
    eval(&a, NAN, T0, &out);
    assert_false(out.has_score);
    assert_int_equal(out.tenths, 0);
    assert_true(out.sig[0].absent && out.sig[1].absent);
    assert_true(out.score == 0.0);

    assert_true(ev(&a, "csat", T0, 8));
    eval(&a, NAN, T0, &out);
    assert_true(out.has_score);
    assert_false(out.sig[0].absent);
    assert_true(out.sig[1].absent);
    assert_rel(out.score, 80, 1e-12); /* the absent trend does not count */
    assert_int_equal(out.tenths, 800);

    /* A trend whose long rate is 0 is absent. */
    assert_true(ev(&a, "api_call", T0, 2));
    assert_true(ev(&a, "api_call", T0, -2));
    eval(&a, NAN, T0 + DAY, &out);
    assert_true(out.sig[1].absent);

    /* A lone event: short over long rate, each corrected for the account's age. */
    struct acct b;
    acct_init(&b, cfg);
    assert_true(ev(&b, "api_call", T0, 1));
    eval(&b, NAN, T0, &out); /* no history yet: a = 0 */
    assert_true(out.sig[1].absent);
    eval(&b, NAN, T0 - DAY, &out);
    assert_true(out.sig[1].absent);
    for (int d = 1; d <= 30; d += 29) {
        eval(&b, NAN, T0 + d * DAY, &out);
        double want = (60.0 / 7.0) * exp2(-d * (1.0 / 7 - 1.0 / 60)) * cover(d, 60) / cover(d, 7);
        assert_false(out.sig[1].absent);
        assert_rel(out.sig[1].x, want, 1e-9);
    }
    eval(&b, NAN, T0 + 3000 * DAY, &out); /* both sums long underflowed: still finite */
    assert_false(out.sig[1].absent);
    assert_true(out.sig[1].x >= 0 && out.sig[1].x < 1e-9);
    assert_true(out.sig[1].score == 0.0);
    rw_scorer_free(a.sc);
    rw_scorer_free(b.sc);
    free(cfg);
}

/* A steady account reads as flat (x ≈ 1) however young it is: the point of the correction. */
static void test_trend_short_history(void **state)
{
    (void)state;
    struct rw_config *cfg = new_config();
    add_signal(cfg, "usage", "api_call", RW_AGG_TREND, 7, 60, 0.5, 1);
    struct acct a;
    acct_init(&a, cfg);
    for (int64_t t = T0; t < T0 + 5 * DAY; t += HOUR)
        assert_true(ev(&a, "api_call", t, 1));
    struct rw_score_eval out;
    eval(&a, NAN, T0 + 5 * DAY, &out);
    assert_false(out.sig[0].absent);
    print_message("steady 5-day trend x = %.6f\n", out.sig[0].x);
    assert_true(fabs(out.sig[0].x - 1.0) <= 0.02);
    /* Uncorrected, the same account would show a rise of about 60/7 ÷ 5-day coverage. */
    assert_true(fabs(out.sig[0].x * cover(5, 7) / cover(5, 60) - 1.0) > 0.5);
    /* No history at all at or before first_seen. */
    eval(&a, NAN, T0, &out);
    assert_true(out.sig[0].absent);
    assert_false(out.has_score);
    eval(&a, NAN, T0 + 1, &out);
    assert_false(out.sig[0].absent);
    /* first_seen earlier than the trend's own events (another type): an older account. */
    struct rw_score_input in = input(&a, NAN);
    in.first_seen_ms = T0 - 365 * DAY;
    rw_scorer_eval(a.sc, &in, T0 + 5 * DAY, &out);
    assert_true(out.sig[0].x > 2.0); /* now a real rise: usage began 5 days ago */
    rw_scorer_free(a.sc);
    free(cfg);
}

/* min_samples: a mean is absent while Σw is below it, and again once it decays below. */
static void test_mean_min_samples(void **state)
{
    (void)state;
    struct rw_config *cfg = new_config();
    add_signal(cfg, "csat", "csat", RW_AGG_MEAN, 30, 0, 0, 10)->min_samples = 2;
    add_signal(cfg, "any", "csat", RW_AGG_MEAN, 30, 0, 0, 10); /* min_samples 0 */
    struct acct a;
    acct_init(&a, cfg);
    struct rw_score_eval out;
    assert_true(ev(&a, "csat", T0, 9));
    eval(&a, NAN, T0, &out);
    assert_true(out.sig[0].absent); /* Σw = 1 < 2 */
    assert_false(out.sig[1].absent);
    assert_true(ev(&a, "csat", T0, 7));
    eval(&a, NAN, T0, &out);
    assert_false(out.sig[0].absent); /* Σw = 2: not below */
    assert_rel(out.sig[0].x, 8, 1e-12);
    assert_true(ev(&a, "csat", T0, 8));
    /* Σw = 3·2^(−Δ/30d) falls to 2 after 30·log2(1.5) days. */
    int64_t cross = T0 + (int64_t)(30.0 * log2(1.5) * (double)DAY);
    eval(&a, NAN, cross - HOUR, &out);
    assert_false(out.sig[0].absent);
    eval(&a, NAN, cross + HOUR, &out);
    assert_true(out.sig[0].absent);
    assert_false(out.sig[1].absent); /* the plain mean never goes away */
    eval(&a, NAN, T0 + 400 * DAY, &out);
    assert_true(out.sig[0].absent);
    rw_scorer_free(a.sc);
    free(cfg);
}

static void test_weights_and_critical(void **state)
{
    (void)state;
    struct rw_config *cfg = new_config();
    add_signal(cfg, "a", "a", RW_AGG_MEAN, 30, 0, 0, 100)->weight = 3;
    add_signal(cfg, "b", "b", RW_AGG_MEAN, 30, 0, 0, 100)->weight = 1;
    struct rw_signal_conf *crit = add_signal(cfg, "c", "c", RW_AGG_MEAN, 30, 0, 0, 100);
    crit->weight = 0;
    crit->critical = true;
    struct acct a;
    acct_init(&a, cfg);
    assert_true(ev(&a, "a", T0, 80));
    assert_true(ev(&a, "b", T0, 40));
    struct rw_score_eval out;
    eval(&a, NAN, T0, &out);
    assert_rel(out.score, (3 * 80 + 40) / 4.0, 1e-12); /* critical absent: no effect */
    assert_true(ev(&a, "c", T0, 90));
    eval(&a, NAN, T0, &out);
    assert_rel(out.score, 70, 1e-12); /* critical above S: no effect, weight 0 */
    assert_true(ev(&a, "c", T0, 0));
    eval(&a, NAN, T0, &out);
    assert_rel(out.sig[2].x, 45, 1e-12);
    assert_rel(out.score, 45, 1e-12); /* one red flag caps the account */
    rw_scorer_free(a.sc);

    /* Every present weight 0: the plain mean. */
    cfg->signals[0].weight = 0;
    cfg->signals[1].weight = 0;
    crit->critical = false;
    acct_init(&a, cfg);
    assert_true(ev(&a, "a", T0, 80));
    assert_true(ev(&a, "b", T0, 40));
    eval(&a, NAN, T0, &out);
    assert_rel(out.score, 60, 1e-12);
    rw_scorer_free(a.sc);
    free(cfg);
}

/* Slots restored from a record may hold anything: no NAN may come out. */
static void test_no_nan_escapes(void **state)
{
    (void)state;
    struct rw_config *cfg = new_config();
    add_signal(cfg, "r", "a", RW_AGG_RATE, 7, 0, 0, 1)->normalize_seats = true;
    add_signal(cfg, "m", "a", RW_AGG_MEAN, 7, 0, 1, 0)->min_samples = 0.5;
    add_signal(cfg, "t", "a", RW_AGG_TREND, 7, 60, 0.5, 1);
    add_signal(cfg, "c", "a", RW_AGG_RECENCY, 7, 0, 30, 0)->critical = true;
    static const double odd[] = {0.0,    -0.0,   1.0,      -1.0,      1e308,
                                 -1e308, 5e-324, INFINITY, -INFINITY, NAN};
    enum { NODD = sizeof(odd) / sizeof(odd[0]) };
    struct acct a;
    acct_init(&a, cfg);
    for (int iter = 0; iter < 20000; iter++) {
        for (size_t i = 0; i < rw_scorer_nslots(a.sc); i++)
            a.agg[i] = odd[rng() % NODD];
        a.ref = (rng() % 4 == 0) ? RW_NO_TIME : T0 + (int64_t)(rng() % (uint64_t)(1000 * DAY));
        a.first_seen = (rng() % 4 == 0) ? RW_NO_TIME : T0 - (int64_t)(rng() % (uint64_t)(9 * DAY));
        int64_t now = T0 + (int64_t)(rng() % (uint64_t)(2000 * DAY));
        struct rw_score_eval out;
        eval(&a, odd[rng() % NODD], now, &out);
        assert_false(isnan(out.score));
        assert_true(out.score >= 0 && out.score <= 100);
        assert_true(out.tenths >= 0 && out.tenths <= 1000);
        for (int i = 0; i < out.nsignals; i++) {
            assert_false(isnan(out.sig[i].score));
            assert_false(isnan(out.sig[i].x));
            assert_true(out.sig[i].score >= 0 && out.sig[i].score <= 100);
        }
        /* and applying on top of such slots never traps */
        (void)ev(&a, "a", now - (int64_t)(rng() % (uint64_t)(5 * DAY)), odd[rng() % NODD]);
    }
    rw_scorer_free(a.sc);
    free(cfg);
}

static void test_fingerprint(void **state)
{
    (void)state;
    struct rw_config *cfg = new_config();
    add_signal(cfg, "a", "login", RW_AGG_RATE, 7, 0, 0, 1);
    add_signal(cfg, "t", "api", RW_AGG_TREND, 7, 60, 0, 1);
    struct rw_scorer *s1 = rw_scorer_new(cfg);
    struct rw_scorer *s2 = rw_scorer_new(cfg);
    assert_int_equal(rw_scorer_nslots(s1), 3);
    assert_int_equal(rw_scorer_slot_offset(s1, 1), 1);
    assert_int_equal(rw_scorer_slot_count(s1, 1), 2);
    assert_int_equal(rw_scorer_fingerprint(s1), rw_scorer_fingerprint(s2));
    cfg->signals[0].low = 5; /* scoring only: same layout */
    cfg->signals[0].weight = 9;
    struct rw_scorer *s3 = rw_scorer_new(cfg);
    assert_int_equal(rw_scorer_fingerprint(s1), rw_scorer_fingerprint(s3));
    assert_int_equal(rw_scorer_signal_fingerprint(s1, 0), rw_scorer_signal_fingerprint(s3, 0));
    cfg->signals[1].baseline_ms = 61 * DAY;
    struct rw_scorer *s4 = rw_scorer_new(cfg);
    assert_int_not_equal(rw_scorer_fingerprint(s1), rw_scorer_fingerprint(s4));
    /* Only the changed signal's own fingerprint moves. */
    assert_int_equal(rw_scorer_signal_fingerprint(s1, 0), rw_scorer_signal_fingerprint(s4, 0));
    assert_int_not_equal(rw_scorer_signal_fingerprint(s1, 1), rw_scorer_signal_fingerprint(s4, 1));
    snprintf(cfg->signals[0].types[0], RW_TYPE_MAX + 1, "logins");
    struct rw_scorer *s5 = rw_scorer_new(cfg);
    assert_int_not_equal(rw_scorer_fingerprint(s4), rw_scorer_fingerprint(s5));
    assert_string_equal(rw_scorer_signal(s5, 1)->name, "t");
    assert_null(rw_scorer_signal(s5, 2));
    assert_int_equal(rw_scorer_nsignals(s5), 2);
    /* Outside the loader's limits: no scorer. */
    cfg->signals[1].baseline_ms = 0;
    assert_null(rw_scorer_new(cfg));
    rw_scorer_free(s1);
    rw_scorer_free(s2);
    rw_scorer_free(s3);
    rw_scorer_free(s4);
    rw_scorer_free(s5);
    free(cfg);
}

/* The one rounding everything shows and bands compare (SPEC §2). */
static void test_tenths(void **state)
{
    (void)state;
    assert_int_equal(rw_score_tenths(31.45), 315); /* half away from zero */
    assert_int_equal(rw_score_tenths(39.95), 400);
    assert_int_equal(rw_score_tenths(39.94), 399);
    assert_int_equal(rw_score_tenths(0.05), 1);
    assert_int_equal(rw_score_tenths(0.049), 0);
    assert_int_equal(rw_score_tenths(0), 0);
    assert_int_equal(rw_score_tenths(-0.0), 0);
    assert_int_equal(rw_score_tenths(100), 1000);
    assert_int_equal(rw_score_tenths(99.96), 1000);
    assert_int_equal(rw_score_tenths(NAN), 0);
    assert_int_equal(rw_score_bound_tenths(40), 400);
    assert_int_equal(rw_score_bound_tenths(40.05), 401); /* the smallest tenths at or above */
    assert_int_equal(rw_score_bound_tenths(70.25), 703);
    assert_int_equal(rw_score_bound_tenths(40.5), 405);
    assert_int_equal(rw_score_bound_tenths(0.1 + 0.2), 3); /* binary noise is no bound */
    assert_int_equal(rw_score_bound_tenths(0), 0);
    assert_int_equal(rw_score_bound_tenths(100), 1000);
}

/* The same events in the same order give the same doubles, bit for bit. */
static void test_deterministic(void **state)
{
    (void)state;
    struct rw_config *cfg = new_config();
    add_signal(cfg, "r", "a,b", RW_AGG_RATE, 7, 0, 0, 1);
    add_signal(cfg, "m", "b", RW_AGG_MEAN, 3, 0, 0, 1);
    add_signal(cfg, "t", "a", RW_AGG_TREND, 7, 60, 0, 1);
    add_signal(cfg, "c", "c", RW_AGG_RECENCY, 1, 0, 30, 0);
    struct acct x, y;
    acct_init(&x, cfg);
    acct_init(&y, cfg);
    memset(y.agg, 0x5a, sizeof(y.agg)); /* whatever was there before the reset */
    rw_scorer_reset(y.sc, y.agg);
    uint64_t s = 7;
    for (int i = 0; i < 5000; i++) {
        const char *type = (const char *[]){"a", "b", "c", "z"}[xs_next(&s) % 4];
        int64_t ts = T0 + (int64_t)(xs_next(&s) % (uint64_t)(200 * DAY));
        double v = (double)(xs_next(&s) % 100000) / 97.0;
        assert_int_equal(ev(&x, type, ts, v), ev(&y, type, ts, v));
    }
    size_t n = rw_scorer_nslots(x.sc) * sizeof(double);
    assert_memory_equal(x.agg, y.agg, n);
    assert_true(x.ref == y.ref);
    struct rw_score_eval ex, ey;
    eval(&x, 3, T0 + 300 * DAY, &ex);
    eval(&y, 3, T0 + 300 * DAY, &ey);
    assert_memory_equal(&ex.score, &ey.score, sizeof(double));
    for (int i = 0; i < ex.nsignals; i++)
        assert_memory_equal(&ex.sig[i].x, &ey.sig[i].x, sizeof(double));
    rw_scorer_free(x.sc);
    rw_scorer_free(y.sc);
    free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aggregates_direct),
        cmocka_unit_test(test_apply_types),
        cmocka_unit_test(test_rate_no_event_and_seats),
        cmocka_unit_test(test_clamp_directions),
        cmocka_unit_test(test_recency),
        cmocka_unit_test(test_absent),
        cmocka_unit_test(test_trend_short_history),
        cmocka_unit_test(test_mean_min_samples),
        cmocka_unit_test(test_weights_and_critical),
        cmocka_unit_test(test_no_nan_escapes),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_tenths),
        cmocka_unit_test(test_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
