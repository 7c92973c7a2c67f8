/* test_engine.c - the order of evaluation (SPEC §6), cheap sweeps that equal full
 * sweeps, exact ties, restarts that change nothing, catch-up, snooze and horizon. */
#include "config_test.h"

#include <math.h>

#include "renewald/core/engine.h"

#define DAY  INT64_C(86400000)
#define HOUR INT64_C(3600000)
#define T0   INT64_C(1795132800000) /* 2026-11-20T00:00:00Z */

/* ---- a recorder of alerts ---- */

struct rec {
    char **json;
    size_t n, cap;
    int64_t first_ts;
};

static void on_alert(void *arg, const struct rw_alert *al)
{
    struct rec *r = arg;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->json = realloc(r->json, r->cap * sizeof(*r->json));
        assert_non_null(r->json);
    }
    r->json[r->n++] = strdup(al->json);
    if (r->n == 1)
        r->first_ts = al->ts_ms;
}

static void rec_free(struct rec *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->json[i]);
    free(r->json);
    memset(r, 0, sizeof(*r));
}

struct world {
    struct rw_config *cfg;
    struct rw_scorer *sc;
    struct rw_store *st;
    struct rw_engine *e;
    struct rec *alerts_; /* on the heap: the engine keeps a pointer to it */
};
#define alerts alerts_[0]

static void world_open(struct world *w, struct rw_config *cfg)
{
    memset(w, 0, sizeof(*w));
    w->cfg = cfg;
    w->sc = rw_scorer_new(cfg);
    assert_non_null(w->sc);
    w->st = rw_store_new(rw_scorer_nslots(w->sc));
    w->alerts_ = calloc(1, sizeof(struct rec));
    assert_non_null(w->alerts_);
    struct rw_engine_hooks h = {.alert = on_alert};
    w->e = rw_engine_new(cfg, w->sc, w->st, &h, w->alerts_);
}

static void world_close(struct world *w, bool free_cfg)
{
    rw_engine_free(w->e);
    rw_store_free(w->st);
    rw_scorer_free(w->sc);
    if (free_cfg)
        rw_config_free(w->cfg);
    rec_free(w->alerts_);
    free(w->alerts_);
}

static struct rw_event ev_of(const char *acct, const char *type, int64_t ts, double value)
{
    struct rw_event ev;
    memset(&ev, 0, sizeof(ev));
    snprintf(ev.account, sizeof ev.account, "%s", acct);
    ev.account_len = strlen(ev.account);
    snprintf(ev.type, sizeof ev.type, "%s", type);
    ev.type_len = strlen(ev.type);
    ev.ts_ms = ts;
    ev.has_ts = true;
    ev.value = value;
    return ev;
}

/* Feeds one event the way the shells do: advance, finish the sweep, apply. */
static void feed(struct world *w, const struct rw_event *ev)
{
    rw_engine_advance(w->e, ev->ts_ms);
    rw_engine_work(w->e, SIZE_MAX);
    rw_engine_apply(w->e, ev, ev->ts_ms);
}

/* The I-th alert of account ACCT (in creation order), or NULL. */
static const char *alert_of(const struct rec *r, const char *acct, size_t i)
{
    char key[64];
    snprintf(key, sizeof key, "\"account\":\"%s\"", acct);
    for (size_t k = 0; k < r->n; k++)
        if (strstr(r->json[k], key) && i-- == 0)
            return r->json[k];
    return NULL;
}

/* ALERT (not NULL) contains SUB. */
static void expect_in(const char *alert, const char *sub)
{
    if (!alert)
        fail_msg("no alert where one containing %s was expected", sub);
    if (!strstr(alert, sub))
        fail_msg("%s not in %s", sub, alert);
}

static const char *band_of(struct world *w, const char *acct)
{
    struct rw_account *a = rw_store_find(w->st, acct, strlen(acct));
    assert_non_null(a);
    return rw_band_name((enum rw_band)a->band);
}

/* ---- the grid ---- */

#define ONE_RATE                                                                                   \
    BASE "[daemon]\nclock = event\nsweep_interval = 1h\n"                                          \
         "[signal \"logins\"]\ntypes = login\naggregate = rate\nhalf_life = 1d\nlow = 0\n"         \
         "high = 10\n[score]\nhealthy = 70\nwatch = 40\nhysteresis = 0\nconfirm = 0\n"             \
         "min_history = 0\nhistory = 0s\n"

static void test_grid_and_one_sweep_per_jump(void **state)
{
    (void)state;
    struct world w;
    world_open(&w, load_ok(ONE_RATE));
    /* 20 logins at 10:30: x = ln2·20 ≈ 13.9/day -> 100.  It decays by half a day:
     * the score crosses 70 when x = 7, i.e. 2^(-t/1d) = 7/13.86 -> t ≈ 0.986 d. */
    struct rw_event e1 = ev_of("a", "login", T0 + 10 * HOUR + 30 * 60000, 20);
    feed(&w, &e1);
    assert_string_equal(band_of(&w, "a"), "healthy");
    /* The next event is 4 days later: one sweep at the last grid time passed. */
    struct rw_engine_stats s0, s1;
    rw_engine_stats(w.e, &s0);
    uint64_t steps0 = rw_engine_sweep_steps(w.e);
    rw_engine_work(w.e, SIZE_MAX); /* nothing to sweep: no step */
    assert_int_equal(rw_engine_sweep_steps(w.e), steps0);
    struct rw_event e2 = ev_of("b", "tick", T0 + 4 * DAY + 13 * HOUR + 15 * 60000, 1);
    feed(&w, &e2);
    rw_engine_stats(w.e, &s1);
    assert_int_equal(s1.sweeps - s0.sweeps, 1);
    /* The sweep began and ended in one call: that call counts as a step. */
    assert_int_equal(rw_engine_sweep_steps(w.e), steps0 + 1);
    assert_int_equal(rw_engine_sweep_steps(NULL), 0);
    /* That sweep, at 4d 13:00, took a straight to at_risk (confirm 0): one alert, at
     * that grid time, not at the event's time.  (b, with no login at all, has a
     * login rate of 0: at_risk too, at its event.) */
    const char *al = alert_of(&w.alerts, "a", 0);
    assert_non_null(al);
    expect_in(al, "\"ts\":\"2026-11-24T13:00:00.000Z\"");
    expect_in(al, "\"band\":\"at_risk\"");
    assert_null(alert_of(&w.alerts, "a", 1));
    assert_string_equal(band_of(&w, "a"), "at_risk");
    world_close(&w, true);
}

static void test_sweeps_on_every_grid_time(void **state)
{
    (void)state;
    struct world w;
    world_open(&w, load_ok(ONE_RATE));
    struct rw_event e1 = ev_of("a", "login", T0 + 10 * HOUR + 30 * 60000, 20);
    feed(&w, &e1);
    /* An event every hour on another account: every grid time is swept, and a
     * watch-band alert comes at the first grid time the score is below 70. */
    for (int h = 11; h < 11 + 48; h++) {
        struct rw_event e = ev_of("b", "tick", T0 + h * HOUR + 5 * 60000, 1);
        feed(&w, &e);
    }
    /* x(t) = 20·ln2·2^(-t/1d) < 7 first at t > 0.986 d after 10:30, i.e. after 10:10 the next
     * day: the 11:00 sweep of day 1 (confirm 0, watch = 40: 70 > s >= 40 -> watch); then
     * below 40 (x < 4) at t > 1.793 d, after 05:32 of day 2: the 06:00 sweep. */
    const char *al = alert_of(&w.alerts, "a", 0);
    assert_non_null(al);
    expect_in(al, "\"ts\":\"2026-11-21T11:00:00.000Z\"");
    expect_in(al, "\"band\":\"watch\"");
    al = alert_of(&w.alerts, "a", 1);
    assert_non_null(al);
    expect_in(al, "\"ts\":\"2026-11-22T06:00:00.000Z\"");
    expect_in(al, "\"band\":\"at_risk\"");
    world_close(&w, true);
}

/* ---- ties ---- */

#define CSAT_TIE                                                                                   \
    BASE "[signal \"csat\"]\ntypes = csat\naggregate = mean\nhalf_life = 30d\nlow = 2\n"           \
         "high = 4.5\ncritical = true\n[signal \"logins\"]\ntypes = login\naggregate = rate\n"     \
         "half_life = 7d\nlow = 0\nhigh = 0.5\n[score]\nhealthy = 70\nwatch = 40\n"                \
         "hysteresis = 0\nconfirm = 0\nmin_history = 0\nhistory = 0s\n"

static void test_score_exactly_on_bound_takes_better_band(void **state)
{
    (void)state;
    struct world w;
    world_open(&w, load_ok(CSAT_TIE));
    /* CSAT answers all exactly 3: mean 3 -> critical score exactly 40 = watch.
     * Decayed sums of many answers at odd times drift by an ulp either side. */
    int64_t t = T0;
    for (int i = 0; i < 48; i++) { /* logins first: the usage signal is at 100 */
        t += HOUR;
        struct rw_event l = ev_of("acct", "login", t, 1);
        feed(&w, &l);
    }
    size_t before = w.alerts.n;
    for (int i = 0; i < 400; i++) {
        t += 3 * HOUR + (i * 7919 % 3600000);
        struct rw_event c = ev_of("acct", "csat", t, 3);
        feed(&w, &c);
        struct rw_event l = ev_of("acct", "login", t + 1000, 1);
        feed(&w, &l);
        assert_string_equal(band_of(&w, "acct"), "watch");
    }
    for (size_t i = before; i < w.alerts.n; i++)
        assert_null(strstr(w.alerts.json[i], "\"band\":\"at_risk\""));
    world_close(&w, true);
}

/* ---- a random book, for the equivalences ---- */

static uint64_t rng;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static double unit(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

#define BOOK_CFG                                                                                   \
    BASE "[daemon]\nclock = event\nsweep_interval = 1h\n"                                          \
         "[signal \"logins\"]\ntypes = login\naggregate = rate\nhalf_life = 7d\nlow = 0.05\n"      \
         "high = 0.4\nweight = 3\nnormalize = seats\n"                                             \
         "[signal \"usage_trend\"]\ntypes = api_call\naggregate = trend\nhalf_life = 7d\n"         \
         "baseline = 60d\nlow = 0.5\nhigh = 1.0\nweight = 2\n"                                     \
         "[signal \"tickets\"]\ntypes = ticket_opened\naggregate = rate\nhalf_life = 14d\n"        \
         "low = 1\nhigh = 0\ncritical = true\n"                                                    \
         "[signal \"csat\"]\ntypes = csat\naggregate = mean\nhalf_life = 30d\nlow = 2\n"           \
         "high = 4.5\ncritical = true\nmin_samples = 0.8\n"                                        \
         "[signal \"seen\"]\ntypes = login, api_call\naggregate = recency\nhalf_life = 1d\n"       \
         "low = 10\nhigh = 1\nweight = 0.5\n"                                                      \
         "[score]\nhealthy = 70\nwatch = 40\nhysteresis = 3\nconfirm = 2d\n"                       \
         "confirm_at_risk = 5d\nmin_history = 7d\nhistory = 90d\n"                                 \
         "[alerts]\nrenewal_windows = 90, 60, 30\nband_change_within = 200\n"

struct book {
    struct rw_event *ev;
    size_t n, cap;
};

static void book_add(struct book *b, struct rw_event e)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 4096;
        b->ev = realloc(b->ev, b->cap * sizeof(*b->ev));
        assert_non_null(b->ev);
    }
    b->ev[b->n++] = e;
}

/* NACCT accounts over DAYS days, in time order (a few late events), with
 * patterns that cross every band: steady, fading, silent, ticket storms. */
static void make_book(struct book *b, int nacct, int days, uint64_t seed)
{
    rng = seed;
    memset(b, 0, sizeof(*b));
    int64_t end = T0 + (int64_t)days * DAY;
    for (int64_t t = T0; t < end; t += 20 * 60000) {
        for (int k = 0; k < 3; k++) {
            int a = (int)(rnd() % (uint64_t)nacct);
            char id[16];
            snprintf(id, sizeof id, "a%03d", a);
            double day = (double)(t - T0) / (double)DAY;
            int pattern = a % 5;
            double activity = pattern == 1                       ? fmax(0, 1 - day / days)
                              : pattern == 2 && day > days / 2.0 ? 0.02
                                                                 : 1;
            int64_t ts = t + (int64_t)(rnd() % 1200000);
            if (rnd() % 50 == 0)
                ts -= (int64_t)(rnd() % (3 * DAY)); /* late */
            double u = unit();
            struct rw_event e;
            if (u < 0.45 * activity)
                e = ev_of(id, "login", ts, 1);
            else if (u < 0.8 * activity)
                e = ev_of(id, "api_call", ts, 1 + (double)(rnd() % 3));
            else if (u < 0.83 + (pattern == 3 ? 0.12 : 0))
                e = ev_of(id, "ticket_opened", ts, 1);
            else if (u < 0.9)
                e = ev_of(id, "csat", ts, (double)(1 + rnd() % 5));
            else if (u < 0.905) {
                e = ev_of(id, "account", ts, 1);
                e.is_account = true;
                e.meta_set = RW_META_SEATS | RW_META_RENEWAL_DATE | RW_META_ARR;
                e.seats = (double)(1 + rnd() % 20);
                e.arr = 1000.0 * (double)(rnd() % 500);
                e.renewal_day = (int32_t)(T0 / DAY) + 20 + (int32_t)(rnd() % 200);
            } else {
                continue;
            }
            book_add(b, e);
        }
    }
}

/* Every account's record, in ordinal order, after bringing stored scores to now. */
static char *snapshot(struct world *w, size_t *len)
{
    rw_engine_refresh(w->e, SIZE_MAX, true);
    size_t cap = 1 << 20, n = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    size_t cursor = 0;
    struct rw_account *a;
    uint8_t rec[RW_ACCOUNT_RECORD_MAX];
    while ((a = rw_store_next(w->st, &cursor)) != NULL) {
        size_t l = rw_account_encode(w->sc, w->st, a, rec, sizeof rec);
        assert_true(l <= sizeof rec);
        while (n + l + a->id_len + 16 > cap) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        memcpy(out + n, a->id, a->id_len);
        n += a->id_len;
        memcpy(out + n, rec, l);
        n += l;
    }
    *len = n;
    return out;
}

static void assert_same_alerts(const struct rec *a, const struct rec *b)
{
    size_t n = a->n < b->n ? a->n : b->n;
    for (size_t i = 0; i < n; i++)
        if (strcmp(a->json[i], b->json[i]) != 0)
            fail_msg("alert %zu differs:\n%s\n%s", i, a->json[i], b->json[i]);
    assert_int_equal(a->n, b->n);
}

static void assert_same_state(struct world *x, struct world *y)
{
    size_t lx, ly;
    char *sx = snapshot(x, &lx), *sy = snapshot(y, &ly);
    assert_int_equal(lx, ly);
    assert_memory_equal(sx, sy, lx);
    free(sx);
    free(sy);
}

/* A book of 80 accounts over 120 days (SEED), and two worlds on BOOK_CFG to feed
 * it to; returns the config (the caller frees it with the second world). */
static struct rw_config *two_worlds(struct book *b, uint64_t seed, struct world *x, struct world *y)
{
    make_book(b, 80, 120, seed);
    struct rw_config *cfg = load_ok(BOOK_CFG);
    world_open(x, cfg);
    world_open(y, cfg);
    return cfg;
}

static void test_due_sweeps_equal_full_sweeps(void **state)
{
    (void)state;
    struct book b;
    struct world full, due;
    two_worlds(&b, 0x5eed1234abcdULL, &full, &due);
    rw_engine_set_full_sweeps(full.e, true);
    for (size_t i = 0; i < b.n; i++) {
        feed(&full, &b.ev[i]);
        feed(&due, &b.ev[i]);
    }
    assert_true(full.alerts.n > 50); /* the book does cross bands and windows */
    assert_same_alerts(&full.alerts, &due.alerts);
    assert_same_state(&full, &due);
    struct rw_engine_stats sf, sd;
    rw_engine_stats(full.e, &sf);
    rw_engine_stats(due.e, &sd);
    print_message("sweep evaluations: full %llu, due %llu\n",
                  (unsigned long long)sf.sweep_evaluations,
                  (unsigned long long)sd.sweep_evaluations);
    assert_true(sd.sweep_evaluations * 2 < sf.sweep_evaluations);
    /* With the daily history on, only the accounts due before the next day's
     * full pass are filed in the heap. */
    print_message("due heap: %llu of %zu accounts\n", (unsigned long long)sd.due_filed,
                  rw_store_count(due.st));
    assert_true(sd.due_filed < rw_store_count(due.st));
    world_close(&full, false);
    world_close(&due, true);
    free(b.ev);
}

/* Live, the way the daemon's ingest feeds: an event waits for the sweep only
 * when the engine cannot take it between the sweep's slices. */
static size_t feed_live(struct world *w, const struct rw_event *ev, size_t slice)
{
    rw_engine_advance(w->e, ev->ts_ms);
    if (rw_engine_busy(w->e) && !rw_engine_interleaves(w->e))
        rw_engine_work(w->e, SIZE_MAX);
    if (rw_engine_busy(w->e))
        rw_engine_work(w->e, slice);
    bool mid = rw_engine_busy(w->e);
    int64_t now = rw_engine_event_now(w->e);
    rw_engine_apply(w->e, ev, ev->ts_ms < now ? ev->ts_ms : now);
    return mid;
}

/* Every account's alerts, in order, are the same in both records. */
static void assert_same_alerts_per_account(const struct rec *x, const struct rec *y, int nacct)
{
    assert_int_equal(x->n, y->n);
    for (int k = 0; k < nacct; k++) {
        char id[16];
        snprintf(id, sizeof id, "a%03d", k);
        for (size_t i = 0;; i++) {
            const char *ax = alert_of(x, id, i), *ay = alert_of(y, id, i);
            if (!ax || !ay) {
                assert_true(!ax && !ay);
                break;
            }
            if (strcmp(ax, ay) != 0)
                fail_msg("alert %zu of %s differs:\n%s\n%s", i, id, ax, ay);
        }
    }
}

/* Live, events applied between the slices of a sweep (each account looked at
 * at the sweep's time first, out of turn) give every account the alerts and
 * the state of the sweep finished first. */
static void test_live_events_between_sweep_slices(void **state)
{
    (void)state;
    struct book b;
    struct world seq, mix;
    two_worlds(&b, 0x11fe5eedULL, &seq, &mix);
    struct world *both[] = {&seq, &mix};
    for (int i = 0; i < 2; i++) {
        rw_engine_set_replay(both[i]->e, false);
        rw_engine_set_alerting(both[i]->e, true);
    }
    size_t mid = 0;
    rng = 0xabcdef12345ULL;
    for (size_t i = 0; i < b.n; i++) {
        assert_false(feed_live(&seq, &b.ev[i], SIZE_MAX));
        mid += feed_live(&mix, &b.ev[i], (size_t)(rnd() % 4));
    }
    rw_engine_work(mix.e, SIZE_MAX);
    print_message("events applied in the middle of a sweep: %zu of %zu\n", mid, b.n);
    assert_true(mid > b.n / 10);
    assert_true(seq.alerts.n > 50);
    assert_same_alerts_per_account(&seq.alerts, &mix.alerts, 80);
    assert_same_state(&seq, &mix);
    /* Replaying, the engine never takes an event in the middle of a sweep. */
    rw_engine_set_replay(mix.e, true);
    rw_engine_advance(mix.e, rw_engine_now(mix.e) + 2 * HOUR);
    assert_true(rw_engine_busy(mix.e));
    assert_false(rw_engine_interleaves(mix.e));
    world_close(&seq, false);
    world_close(&mix, true);
    free(b.ev);
}

/* Copies the persisted part of X into a fresh world: records, clock, history. */
static void restart(struct world *x, struct world *y)
{
    world_open(y, x->cfg);
    size_t cursor = 0;
    struct rw_account *a;
    uint8_t rec[RW_ACCOUNT_RECORD_MAX];
    while ((a = rw_store_next(x->st, &cursor)) != NULL) {
        size_t l = rw_account_encode(x->sc, x->st, a, rec, sizeof rec);
        int reset = 0;
        assert_non_null(rw_account_decode(y->st, y->sc, a->id, a->id_len, rec, l, &reset));
        assert_int_equal(reset, 0);
    }
    struct rw_engine_clock c;
    rw_engine_get_clock(x->e, &c);
    int32_t today = rw_day_of_ms(c.now_ms);
    /* As the loader does: every day of the ring, 16-bit entries as Redis holds
     * them (an older day is packed in memory: its scores alone are carried). */
    uint32_t nord = rw_store_ordinal_end(x->st);
    unsigned char *bytes = malloc(2 * (size_t)nord + 1);
    assert_non_null(bytes);
    for (int32_t d = today - RW_HISTORY_RING + 1; d <= today; d++) {
        uint32_t n;
        const uint16_t *v = rw_history_day(rw_engine_history(x->e), d, &n);
        for (uint32_t i = 0; i < nord; i++) {
            int t = rw_history_tenths_at(rw_engine_history(x->e), d, i);
            uint16_t e = v && i < n ? v[i] : t < 0 ? 0 : rw_history_entry(0, true, t);
            bytes[2 * i] = (unsigned char)(e & 0xff);
            bytes[2 * i + 1] = (unsigned char)(e >> 8);
        }
        rw_history_load_day(rw_engine_history(y->e), d, bytes, 2 * (size_t)nord);
    }
    free(bytes);
    rw_engine_restore(y->e, &c);
    /* The alerts so far were durable: they stay in the record of the run. */
    for (size_t i = 0; i < x->alerts.n; i++) {
        on_alert(&y->alerts, &(struct rw_alert){.json = x->alerts.json[i]});
    }
}

static void test_restarts_change_nothing(void **state)
{
    (void)state;
    struct book b;
    make_book(&b, 60, 100, 0x0dd5eedULL);
    struct rw_config *cfg = load_ok(BOOK_CFG);
    struct world ref, run;
    world_open(&ref, cfg);
    for (size_t i = 0; i < b.n; i++)
        feed(&ref, &b.ev[i]);

    /* The same book, "killed" a dozen times, some of them in the middle of a
     * sweep (work is done 5 accounts at a time), and restarted from what was
     * persisted. */
    world_open(&run, cfg);
    size_t next_kill = 997, kills = 0, mid_sweep = 0;
    for (size_t i = 0; i < b.n;) {
        rw_engine_advance(run.e, b.ev[i].ts_ms);
        if (rw_engine_busy(run.e)) {
            rw_engine_work(run.e, 5);
        } else {
            rw_engine_apply(run.e, &b.ev[i], b.ev[i].ts_ms);
            i++;
        }
        /* Every other kill waits for a sweep in progress. */
        if (i >= next_kill && kills < 12 && (kills % 2 == 0 || rw_engine_busy(run.e))) {
            mid_sweep += rw_engine_busy(run.e);
            struct world fresh;
            restart(&run, &fresh);
            world_close(&run, false);
            run = fresh;
            kills++;
            next_kill += 1000 + (i % 777);
        }
    }
    rw_engine_work(run.e, SIZE_MAX);
    assert_true(kills >= 5);
    print_message("restarts: %zu, in the middle of a sweep: %zu\n", kills, mid_sweep);
    assert_same_alerts(&ref.alerts, &run.alerts);
    assert_same_state(&ref, &run);
    world_close(&ref, false);
    world_close(&run, true);
    free(b.ev);
}

/* ---- catch-up, snooze, horizon ---- */

#define SIMPLE                                                                                     \
    BASE "[daemon]\nsweep_interval = 1h\n[signal \"logins\"]\ntypes = login\naggregate = "         \
         "rate\nhalf_life = 2d\nlow = 0.5\n"                                                       \
         "high = 3\n[score]\nhealthy = 70\nwatch = 40\nhysteresis = 3\nconfirm = 0\n"              \
         "min_history = 0\nhistory = 0s\n"

static void test_catch_up_ends_with_one_alert_per_account(void **state)
{
    (void)state;
    struct world w;
    world_open(&w, load_ok(SIMPLE));
    rw_engine_set_alerting(w.e, false);
    rw_engine_set_grid(w.e, HOUR);
    /* Three accounts busy for 10 days; one fades, one stops; nothing is told. */
    for (int64_t t = T0; t < T0 + 10 * DAY; t += HOUR) {
        for (int k = 0; k < 3; k++) {
            char id[8];
            snprintf(id, sizeof id, "c%d", k);
            if ((k == 1 && t > T0 + 1 * DAY) || (k == 2 && t > T0 + 91 * DAY / 24))
                continue;
            struct rw_event e = ev_of(id, "login", t, 1);
            feed(&w, &e);
        }
    }
    assert_int_equal(w.alerts.n, 0);
    rw_engine_end_catch_up(w.e, T0 + 10 * DAY + 30 * 60000);
    assert_true(rw_engine_busy(w.e));
    while (!rw_engine_work(w.e, 1))
        ;
    /* c1 (9 days silent) is at_risk, c2 (6.2 days) watch: one alert each, in ordinal
     * order, at the wall time; none for c0. */
    assert_int_equal(w.alerts.n, 2);
    expect_in(w.alerts.json[0], "\"account\":\"c1\"");
    expect_in(w.alerts.json[0], "\"band\":\"at_risk\"");
    expect_in(w.alerts.json[1], "\"account\":\"c2\"");
    expect_in(w.alerts.json[1], "\"band\":\"watch\"");
    expect_in(w.alerts.json[1], "\"ts\":\"2026-11-30T00:30:00.000Z\"");
    world_close(&w, true);
}

static size_t count_of(const struct rec *r, const char *acct)
{
    size_t n = 0;
    while (alert_of(r, acct, n))
        n++;
    return n;
}

static void test_snooze_holds_then_tells_once(void **state)
{
    (void)state;
    struct world w;
    world_open(&w, load_ok(SIMPLE));
    for (int64_t t = T0; t < T0 + 3 * DAY; t += 6 * HOUR) {
        struct rw_event e = ev_of("s", "login", t, 1);
        feed(&w, &e);
    }
    assert_string_equal(band_of(&w, "s"), "healthy");
    size_t before = count_of(&w.alerts, "s"); /* while its usage built up */
    struct rw_account *a = rw_store_find(w.st, "s", 1);
    rw_store_set_snooze(w.st, a, T0 + 10 * DAY, "working on it", "jane");
    rw_engine_touch(w.e, a);
    /* Silence: the account falls to at_risk while snoozed; nothing is told. */
    struct rw_event tick = ev_of("other", "noise", T0 + 9 * DAY, 1);
    feed(&w, &tick);
    assert_string_equal(band_of(&w, "s"), "at_risk");
    assert_int_equal(count_of(&w.alerts, "s"), before);
    /* The snooze ends: one alert, at the first sweep after it ends (a tick every
     * hour makes every grid time a sweep). */
    for (int64_t t = T0 + 9 * DAY; t < T0 + 12 * DAY; t += HOUR) {
        struct rw_event later = ev_of("other", "noise", t + 60000, 1);
        feed(&w, &later);
    }
    assert_int_equal(count_of(&w.alerts, "s"), before + 1);
    const char *al = alert_of(&w.alerts, "s", before);
    expect_in(al, "\"band\":\"at_risk\"");
    expect_in(al, "\"ts\":\"2026-11-30T00:00:00.000Z\"");
    assert_int_equal(rw_store_snoozed_until(w.st, a), RW_NO_TIME);
    world_close(&w, true);
}

static void test_horizon_alerts_once_on_entry(void **state)
{
    (void)state;
    struct world w;
    world_open(&w, load_ok(SIMPLE "[alerts]\nrenewal_windows =\nband_change_within = 30\n"));
    struct rw_event meta = ev_of("h", "account", T0, 1);
    meta.is_account = true;
    meta.meta_set = RW_META_RENEWAL_DATE;
    meta.renewal_day = (int32_t)(T0 / DAY) + 60;
    feed(&w, &meta);
    for (int64_t t = T0; t < T0 + 2 * DAY; t += HOUR) {
        struct rw_event e = ev_of("h", "login", t, 1);
        feed(&w, &e);
    }
    struct rw_event tick = ev_of("other", "noise", T0 + 20 * DAY, 1);
    feed(&w, &tick);
    assert_string_equal(band_of(&w, "h"), "at_risk");
    assert_int_equal(count_of(&w.alerts, "h"), 0); /* 40 days out: beyond the horizon */
    for (int64_t t = T0 + 29 * DAY; t < T0 + 31 * DAY; t += HOUR) {
        struct rw_event tick2 = ev_of("other", "noise", t + 60000, 1);
        feed(&w, &tick2);
    }
    assert_int_equal(count_of(&w.alerts, "h"), 1); /* entered the horizon at day 30 */
    const char *al = alert_of(&w.alerts, "h", 0);
    expect_in(al, "\"ts\":\"2026-12-20T00:00:00.000Z\"");
    expect_in(al, "\"previous_band\":\"unknown\"");
    world_close(&w, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_grid_and_one_sweep_per_jump, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweeps_on_every_grid_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_score_exactly_on_bound_takes_better_band, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_due_sweeps_equal_full_sweeps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_events_between_sweep_slices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restarts_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catch_up_ends_with_one_alert_per_account, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_snooze_holds_then_tells_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_horizon_alerts_once_on_entry, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
