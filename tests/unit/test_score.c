/* test_score.c - aggregates, signal and account scores, the band state machine. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "renewald/core/account_store.h"
#include "renewald/config.h"
#include "renewald/core/score.h"

#define DAY RW_MS_PER_DAY
#define T0  INT64_C(1767225600000) /* 2026-01-01 */

static struct rw_config *new_config(void)
{
    struct rw_config *cfg = rw_xcalloc(1, sizeof(*cfg));
    cfg->healthy = 70;
    cfg->watch = 40;
    cfg->hysteresis = 3;
    cfg->confirm_ms = 2 * DAY;
    cfg->min_history_ms = 14 * DAY;
    return cfg;
}

/* Adds a signal; TYPES is a comma-separated list. */
static struct rw_signal_conf *add_signal(struct rw_config *cfg, const char *name, const char *types,
                                         enum rw_aggregate agg, double hl_days,
                                         double baseline_days, double low, double high)
{
    struct rw_signal_conf *c = &cfg->signals[cfg->nsignals++];
    snprintf(c->name, sizeof(c->name), "%s", name);
    const char *p = types;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        memcpy(c->types[c->ntypes], p, n);
        c->types[c->ntypes++][n] = '\0';
        p += n + (e ? 1 : 0);
    }
    c->aggregate = agg;
    c->half_life_ms = (int64_t)(hl_days * DAY);
    c->baseline_ms = (int64_t)(baseline_days * DAY);
    c->low = low;
    c->high = high;
    c->weight = 1;
    return c;
}

/* A scorer and one account's state. */
struct acct {
    struct rw_scorer *sc;
    double agg[2 * RW_MAX_SIGNALS];
    int64_t ref;
};

static void acct_init(struct acct *a, const struct rw_config *cfg)
{
    a->sc = rw_scorer_new(cfg);
    assert_non_null(a->sc);
    rw_scorer_reset(a->sc, a->agg);
    a->ref = RW_NO_TIME;
}

static bool ev(struct acct *a, const char *type, int64_t ts, double v)
{
    return rw_scorer_apply(a->sc, a->agg, &a->ref, type, strlen(type), ts, v);
}

static void eval(struct acct *a, double seats, int64_t now, struct rw_score_eval *out)
{
    memset(out, 0xa5, sizeof(*out));
    rw_scorer_eval(a->sc, a->agg, a->ref, seats, now, out);
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
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
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
    for (int i = 0; i < N; i++) {
        evs[i].type = (int)(rng() % 4);
        evs[i].ts = T0 + (int64_t)(rng() % (uint64_t)(90 * DAY));
        evs[i].v = 0.5 + (double)(rng() % 1000) / 100.0;
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
    double want_rate = M_LN2 / 7.0 * rate;
    double want_mean = msum / wsum;
    double want_trend = (M_LN2 / 7.0 * th) / (M_LN2 / 60.0 * tb);
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
    assert_false(ev(&a, "logi", T0, 1));
    assert_false(ev(&a, "login2", T0, 1));
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
    assert_true(out.sig[0].absent && out.sig[1].absent);
    assert_false(isnan(out.score));

    assert_true(ev(&a, "csat", T0, 8));
    eval(&a, NAN, T0, &out);
    assert_true(out.has_score);
    assert_false(out.sig[0].absent);
    assert_true(out.sig[1].absent);
    assert_rel(out.score, 80, 1e-12); /* the absent trend does not count */

    /* A trend whose long rate is 0 is absent. */
    assert_true(ev(&a, "api_call", T0, 2));
    assert_true(ev(&a, "api_call", T0, -2));
    eval(&a, NAN, T0, &out);
    assert_true(out.sig[1].absent);
    /* A lone event: rate(H)/rate(B) = B/H at its time, decaying after. */
    struct acct b;
    acct_init(&b, cfg);
    assert_true(ev(&b, "api_call", T0, 1));
    eval(&b, NAN, T0, &out);
    assert_rel(out.sig[1].x, 60.0 / 7.0, 1e-12);
    eval(&b, NAN, T0 + 3000 * DAY, &out); /* both sums long underflowed: still finite */
    assert_false(out.sig[1].absent);
    assert_true(out.sig[1].x >= 0 && out.sig[1].x < 1e-9);
    assert_true(out.sig[1].score == 0.0);
    rw_scorer_free(a.sc);
    rw_scorer_free(b.sc);
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
    add_signal(cfg, "m", "a", RW_AGG_MEAN, 7, 0, 1, 0);
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
        int64_t now = T0 + (int64_t)(rng() % (uint64_t)(2000 * DAY));
        struct rw_score_eval out;
        eval(&a, odd[rng() % NODD], now, &out);
        assert_false(isnan(out.score));
        assert_true(out.score >= 0 && out.score <= 100);
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
    assert_int_equal(rw_scorer_fingerprint(s1), rw_scorer_fingerprint(s2));
    cfg->signals[0].low = 5; /* scoring only: same layout */
    cfg->signals[0].weight = 9;
    struct rw_scorer *s3 = rw_scorer_new(cfg);
    assert_int_equal(rw_scorer_fingerprint(s1), rw_scorer_fingerprint(s3));
    cfg->signals[1].baseline_ms = 61 * DAY;
    struct rw_scorer *s4 = rw_scorer_new(cfg);
    assert_int_not_equal(rw_scorer_fingerprint(s1), rw_scorer_fingerprint(s4));
    snprintf(cfg->signals[0].types[0], RW_TYPE_MAX + 1, "logins");
    struct rw_scorer *s5 = rw_scorer_new(cfg);
    assert_int_not_equal(rw_scorer_fingerprint(s4), rw_scorer_fingerprint(s5));
    assert_string_equal(rw_scorer_signal(s5, 1)->name, "t");
    assert_null(rw_scorer_signal(s5, 2));
    assert_int_equal(rw_scorer_nsignals(s5), 2);
    rw_scorer_free(s1);
    rw_scorer_free(s2);
    rw_scorer_free(s3);
    rw_scorer_free(s4);
    rw_scorer_free(s5);
    free(cfg);
}

static void test_band_of_score(void **state)
{
    (void)state;
    struct rw_config *cfg = new_config();
    assert_int_equal(rw_band_of_score(cfg, 100), RW_BAND_HEALTHY);
    assert_int_equal(rw_band_of_score(cfg, 70), RW_BAND_HEALTHY);
    assert_int_equal(rw_band_of_score(cfg, 69.99), RW_BAND_WATCH);
    assert_int_equal(rw_band_of_score(cfg, 40), RW_BAND_WATCH);
    assert_int_equal(rw_band_of_score(cfg, 39.99), RW_BAND_AT_RISK);
    assert_int_equal(rw_band_of_score(cfg, 0), RW_BAND_AT_RISK);
    free(cfg);
}

static enum rw_band step(const struct rw_config *cfg, enum rw_band b, int64_t *since, double s,
                         int64_t now)
{
    return rw_band_step(cfg, b, since, false, true, s, now);
}

static void test_confirm(void **state)
{
    (void)state;
    struct rw_config *cfg = new_config(); /* confirm 2d */
    int64_t since = RW_NO_TIME;
    enum rw_band b = RW_BAND_HEALTHY;
    /* A dip shorter than confirm changes nothing. */
    b = step(cfg, b, &since, 50, T0);
    assert_int_equal(b, RW_BAND_HEALTHY);
    assert_true(since == T0);
    b = step(cfg, b, &since, 20, T0 + DAY);
    assert_int_equal(b, RW_BAND_HEALTHY);
    assert_true(since == T0);
    b = step(cfg, b, &since, 70, T0 + 2 * DAY - 1); /* recovers just in time */
    assert_int_equal(b, RW_BAND_HEALTHY);
    assert_true(since == RW_NO_TIME);
    /* The wait restarts; a longer dip moves two bands at once. */
    b = step(cfg, b, &since, 50, T0 + 3 * DAY);
    assert_int_equal(b, RW_BAND_HEALTHY);
    b = step(cfg, b, &since, 30, T0 + 5 * DAY - 1);
    assert_int_equal(b, RW_BAND_HEALTHY);
    b = step(cfg, b, &since, 30, T0 + 5 * DAY);
    assert_int_equal(b, RW_BAND_AT_RISK);
    assert_true(since == RW_NO_TIME);
    /* At risk has no lower bound. */
    b = step(cfg, b, &since, 0, T0 + 9 * DAY);
    assert_int_equal(b, RW_BAND_AT_RISK);
    assert_true(since == RW_NO_TIME);
    /* A longer dip that ends in watch takes watch. */
    b = RW_BAND_HEALTHY;
    b = step(cfg, b, &since, 10, T0 + 10 * DAY);
    b = step(cfg, b, &since, 55, T0 + 12 * DAY);
    assert_int_equal(b, RW_BAND_WATCH);
    /* Watch waits below 40 too. */
    b = step(cfg, b, &since, 39, T0 + 13 * DAY);
    assert_int_equal(b, RW_BAND_WATCH);
    b = step(cfg, b, &since, 39, T0 + 15 * DAY);
    assert_int_equal(b, RW_BAND_AT_RISK);
    /* confirm = 0: at once. */
    cfg->confirm_ms = 0;
    b = step(cfg, RW_BAND_HEALTHY, &since, 10, T0);
    assert_int_equal(b, RW_BAND_AT_RISK);
    assert_true(since == RW_NO_TIME);
    free(cfg);
}

static void test_hysteresis(void **state)
{
    (void)state;
    struct rw_config *cfg = new_config(); /* healthy 70, watch 40, h 3 */
    int64_t since = RW_NO_TIME;
    assert_int_equal(step(cfg, RW_BAND_WATCH, &since, 70, T0), RW_BAND_WATCH);
    assert_int_equal(step(cfg, RW_BAND_WATCH, &since, 72.99, T0), RW_BAND_WATCH);
    assert_int_equal(step(cfg, RW_BAND_WATCH, &since, 73, T0), RW_BAND_HEALTHY);
    assert_int_equal(step(cfg, RW_BAND_AT_RISK, &since, 40, T0), RW_BAND_AT_RISK);
    assert_int_equal(step(cfg, RW_BAND_AT_RISK, &since, 42.9, T0), RW_BAND_AT_RISK);
    assert_int_equal(step(cfg, RW_BAND_AT_RISK, &since, 43, T0), RW_BAND_WATCH);
    assert_int_equal(step(cfg, RW_BAND_AT_RISK, &since, 72, T0), RW_BAND_WATCH);
    assert_int_equal(step(cfg, RW_BAND_AT_RISK, &since, 73, T0), RW_BAND_HEALTHY);
    /* Within the band's range: the wait is cleared. */
    since = T0 - DAY;
    assert_int_equal(step(cfg, RW_BAND_WATCH, &since, 50, T0), RW_BAND_WATCH);
    assert_true(since == RW_NO_TIME);
    free(cfg);
}

static void test_unknown(void **state)
{
    (void)state;
    struct rw_config *cfg = new_config();
    int64_t since = T0;
    /* Onboarding or no score: unknown, whatever the score. */
    assert_int_equal(rw_band_step(cfg, RW_BAND_HEALTHY, &since, true, true, 90, T0),
                     RW_BAND_UNKNOWN);
    assert_true(since == RW_NO_TIME);
    since = T0;
    assert_int_equal(rw_band_step(cfg, RW_BAND_WATCH, &since, false, false, 0, T0),
                     RW_BAND_UNKNOWN);
    assert_true(since == RW_NO_TIME);
    /* min_history: onboarding until the first event is that old. */
    assert_true(rw_score_onboarding(cfg, RW_NO_TIME, T0));
    assert_true(rw_score_onboarding(cfg, T0, T0));
    assert_true(rw_score_onboarding(cfg, T0, T0 + 14 * DAY - 1));
    assert_false(rw_score_onboarding(cfg, T0, T0 + 14 * DAY));
    assert_true(rw_score_onboarding(cfg, T0, T0 - DAY));
    assert_false(rw_score_onboarding(cfg, INT64_MIN + 1, INT64_MAX)); /* no overflow */
    /* A wait restored from a corrupt record: no overflow either. */
    since = INT64_MIN + 1;
    assert_int_equal(step(cfg, RW_BAND_HEALTHY, &since, 10, INT64_MAX), RW_BAND_AT_RISK);
    /* Leaving unknown takes the score's band at once: no confirm, no hysteresis. */
    assert_int_equal(step(cfg, RW_BAND_UNKNOWN, &since, 10, T0), RW_BAND_AT_RISK);
    assert_int_equal(step(cfg, RW_BAND_UNKNOWN, &since, 40, T0), RW_BAND_WATCH);
    assert_int_equal(step(cfg, RW_BAND_UNKNOWN, &since, 70, T0), RW_BAND_HEALTHY);
    assert_true(since == RW_NO_TIME);
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
        cmocka_unit_test(test_weights_and_critical),
        cmocka_unit_test(test_no_nan_escapes),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_band_of_score),
        cmocka_unit_test(test_confirm),
        cmocka_unit_test(test_hysteresis),
        cmocka_unit_test(test_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
