/* test_worklist.c - GET /v1/accounts (SPEC §7): query parsing, filters, sorts and their
 * ties, paging, totals, and a scan sliced by a budget that gives the same answer. */
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
#include "renewald/core/history.h"
#include "renewald/core/worklist.h"
#include "scorer_test.h"

#define DAY  RW_MS_PER_DAY
#define T0   INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */
#define DAY0 20454                  /* its day number */
#define NOW  (T0 + 12 * 3600000)    /* midday */

static struct rw_store *st;
static struct rw_history *hist;

static struct rw_account *acct(const char *id, double score, enum rw_band band, double arr,
                               int32_t rday)
{
    struct rw_account *a = rw_store_upsert(st, id, strlen(id), NULL);
    assert_non_null(a);
    a->score = (float)score;
    a->band = (uint8_t)band;
    a->arr = arr;
    a->renewal_day = rday;
    return a;
}

/* rw_store_set_snooze reads RW_SNOOZE_TEXT_MAX bytes of each string whatever its
 * length (rw_xstrndup copies N bytes, it does not stop at the NUL: reported as a bug),
 * so shorter strings are handed over in buffers that long. */
static void snooze(struct rw_account *a, int64_t until, const char *reason, const char *by)
{
    char r[RW_SNOOZE_TEXT_MAX + 1] = {0}, b[RW_SNOOZE_TEXT_MAX + 1] = {0};
    if (reason)
        strncpy(r, reason, RW_SNOOZE_TEXT_MAX);
    if (by)
        strncpy(b, by, RW_SNOOZE_TEXT_MAX);
    rw_store_set_snooze(st, a, until, reason ? r : NULL, by ? b : NULL);
}

/* Today's and 7 days ago's history entries of A (tenths, -1 = none recorded). */
static void history(const struct rw_account *a, int today, int week_ago)
{
    if (week_ago >= 0)
        rw_history_set(hist, DAY0 - 7, a->ordinal, rw_history_entry(a->band, true, week_ago));
    if (today >= 0)
        rw_history_set(hist, DAY0, a->ordinal, rw_history_entry(a->band, true, today));
}

/*
 * The book: ids, score, band, ARR, renewal (days from DAY0).
 *   low   5.0 watch    1000  +61      r     20.0 at_risk  500   -1
 *   r1   20.0 at_risk  3000  +60      r2   20.04 at_risk  3000   0   (ties r1 at 200)
 *   r10  20.0 at_risk  NAN   none     w1   50.0 watch    9000  +10
 *   h1   90.0 healthy  200   +100     u1    null unknown  NAN   none
 *   u2    null unknown 50    +5
 */
static int setup(void **state)
{
    (void)state;
    st = rw_store_new(0);
    hist = rw_history_new();
    rw_history_begin_day(hist, DAY0 - 7);
    rw_history_begin_day(hist, DAY0);
    struct rw_account *a;
    a = acct("h1", 90, RW_BAND_HEALTHY, 200, DAY0 + 100);
    history(a, 900, 950); /* -5.0 */
    a = acct("w1", 50, RW_BAND_WATCH, 9000, DAY0 + 10);
    history(a, 500, 800); /* -30.0 */
    a->owner = rw_store_intern(st, "jane@example.com", 16);
    a->tier = rw_store_intern(st, "big co", 6);
    a = acct("r2", 20.04, RW_BAND_AT_RISK, 3000, DAY0);
    history(a, 200, 200); /* 0 */
    a->owner = rw_store_intern(st, "jane@example.com", 16);
    a = acct("r1", 20, RW_BAND_AT_RISK, 3000, DAY0 + 60);
    history(a, 200, 100); /* +10.0 */
    a->tier = rw_store_intern(st, "big co", 6);
    snooze(a, NOW + DAY, "holiday", NULL);
    a = acct("r10", 20, RW_BAND_AT_RISK, NAN, RW_NO_DAY);
    history(a, 200, -1); /* unknown */
    a = acct("r", 20, RW_BAND_AT_RISK, 500, DAY0 - 1);
    history(a, 200, 500);          /* -30.0: ties w1 */
    snooze(a, NOW, "ended", NULL); /* until <= now: not snoozed */
    acct("u2", NAN, RW_BAND_UNKNOWN, 50, DAY0 + 5);
    acct("u1", NAN, RW_BAND_UNKNOWN, NAN, RW_NO_DAY);
    a = acct("low", 5, RW_BAND_WATCH, 1000, DAY0 + 61);
    history(a, 50, 400); /* -35.0 */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rw_store_free(st);
    rw_history_free(hist);
    return 0;
}

static struct rw_worklist_query parse_ok(const char *q)
{
    struct rw_worklist_query wq;
    char err[128] = "";
    if (!rw_worklist_parse(q, &wq, err, sizeof(err)))
        fail_msg("'%s' refused: %s", q ? q : "(null)", err);
    return wq;
}

static void parse_bad(const char *q, const char *want)
{
    struct rw_worklist_query wq;
    char err[128] = "";
    if (rw_worklist_parse(q, &wq, err, sizeof(err)))
        fail_msg("'%s' accepted", q);
    if (!strstr(err, want))
        fail_msg("'%s': error '%s' does not mention '%s'", q, err, want);
}

static void test_parse(void **state)
{
    (void)state;
    struct rw_worklist_query q = parse_ok(NULL);
    assert_int_equal(q.bands, 0);
    assert_int_equal(q.within_days, -1);
    assert_int_equal(q.limit, 100);
    assert_int_equal(q.offset, 0);
    assert_null(q.owner);
    assert_null(q.tier);
    assert_false(q.has_min_arr);
    assert_int_equal(q.snoozed, -1);
    assert_int_equal(q.sort, RW_SORT_SCORE);
    q = parse_ok("");
    assert_int_equal(q.limit, 100);

    q = parse_ok("band=at_risk,watch&within_days=90&limit=25&offset=50&owner=jane%40example.com"
                 "&tier=big+co&min_arr=1000.5&snoozed=true&sort=delta_7d");
    assert_int_equal(q.bands, (1u << RW_BAND_AT_RISK) | (1u << RW_BAND_WATCH));
    assert_int_equal(q.within_days, 90);
    assert_int_equal(q.limit, 25);
    assert_int_equal(q.offset, 50);
    assert_string_equal(q.owner, "jane@example.com");
    assert_string_equal(q.tier, "big co");
    assert_true(q.has_min_arr && q.min_arr == 1000.5);
    assert_int_equal(q.snoozed, 1);
    assert_int_equal(q.sort, RW_SORT_DELTA_7D);
    rw_worklist_query_free(&q);
    assert_null(q.owner);

    /* Percent-encoded keys and commas, repeated keys, empty pieces. */
    q = parse_ok("b%61nd=unknown%2Chealthy&&band=watch&owner=a&owner=b%20c&snoozed=false&");
    assert_int_equal(q.bands,
                     (1u << RW_BAND_UNKNOWN) | (1u << RW_BAND_HEALTHY) | (1u << RW_BAND_WATCH));
    assert_string_equal(q.owner, "b c"); /* the last one wins (and the first is freed) */
    assert_int_equal(q.snoozed, 0);
    rw_worklist_query_free(&q);
    static const char *const sorts[] = {"score", "days_to_renewal", "arr", "delta_7d"};
    for (int i = 0; i < 4; i++) {
        char buf[64];
        snprintf(buf, sizeof(buf), "sort=%s", sorts[i]);
        q = parse_ok(buf);
        assert_int_equal(q.sort, i);
    }
    q = parse_ok("limit=10000&within_days=0&offset=0&min_arr=0");
    assert_int_equal(q.limit, RW_WORKLIST_MAX);
    assert_int_equal(q.within_days, 0);

    parse_bad("band=worst", "band");
    parse_bad("band=", "band");
    parse_bad("band=watch,,at_risk", "band");
    parse_bad("within_days=-1", "within_days");
    parse_bad("within_days=36501", "within_days");
    parse_bad("within_days=1x", "within_days");
    parse_bad("limit=0", "limit");
    parse_bad("limit=10001", "limit");
    parse_bad("offset=-1", "offset");
    parse_bad("min_arr=-1", "min_arr");
    parse_bad("min_arr=nan", "min_arr");
    parse_bad("min_arr=inf", "min_arr");
    parse_bad("snoozed=yes", "snoozed");
    parse_bad("sort=name", "sort");
    parse_bad("colour=red", "unknown parameter");
    parse_bad("limit", "limit"); /* no value */
    parse_bad("owner=%zz", "malformed");
    parse_bad("owner=%4", "malformed");
    parse_bad("owner=a%00b", "malformed"); /* a NUL would cut the string */
    /* The strings of a refused query are freed (ASan would tell). */
    parse_bad("owner=x&tier=y&limit=0", "limit");
}

/* Runs QUERY to completion at NOW with BUDGET per step; checks the page's ids. */
static struct rw_worklist *run(const char *query, size_t budget, const char *const *want,
                               size_t nwant)
{
    struct rw_worklist_query q = parse_ok(query);
    struct rw_worklist *w = rw_worklist_begin(&q, NOW);
    assert_null(q.owner); /* taken over */
    int steps = 0;
    while (!rw_worklist_step(w, st, hist, budget))
        steps++;
    assert_true(budget >= rw_store_ordinal_end(st) || steps > 0);
    assert_true(rw_worklist_step(w, st, hist, budget)); /* done stays done */
    size_t n;
    struct rw_account *const *page = rw_worklist_page(w, &n);
    if (n != nwant) {
        for (size_t i = 0; i < n; i++)
            print_message("  got %s\n", page[i]->id);
        fail_msg("'%s': %zu rows, want %zu", query, n, nwant);
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(page[i]->id, want[i]) != 0)
            fail_msg("'%s': row %zu is %s, want %s", query, i, page[i]->id, want[i]);
    assert_true(rw_worklist_now(w) == NOW);
    return w;
}

#define IDS(...)           ((const char *const[]){__VA_ARGS__})
#define N(...)             (sizeof(IDS(__VA_ARGS__)) / sizeof(const char *))
#define EXPECT(query, ...) rw_worklist_free(run(query, 1000, IDS(__VA_ARGS__), N(__VA_ARGS__)))

static void test_sort_score(void **state)
{
    (void)state;
    /* Lowest first; ties (r, r1, r10, r2 all at 20.0) by higher ARR, then id; nulls last. */
    struct rw_worklist *w =
        run("", 1000, IDS("low", "r1", "r2", "r", "r10", "w1", "h1", "u2", "u1"), 9);
    assert_int_equal(rw_worklist_total(w), 9);
    assert_true(rw_worklist_arr_total(w) == 200 + 9000 + 3000 + 3000 + 500 + 50 + 1000);
    rw_worklist_free(w);
}

static void test_sort_others(void **state)
{
    (void)state;
    /* Soonest first (a past renewal is soonest), none last; ties: lower score ... */
    EXPECT("sort=days_to_renewal", "r", "r2", "u2", "w1", "r1", "low", "h1", "r10", "u1");
    /* Largest first, unknown last; the 3000 tie by score (r1 and r2 both 20.0), then id. */
    EXPECT("sort=arr", "w1", "r1", "r2", "low", "r", "h1", "u2", "r10", "u1");
    /* Biggest drop first; -30 ties (r at 20.0 before w1 at 50.0); unknown last by score. */
    EXPECT("sort=delta_7d", "low", "r", "w1", "h1", "r2", "r1", "r10", "u2", "u1");
}

static void test_filters(void **state)
{
    (void)state;
    EXPECT("band=at_risk", "r1", "r2", "r", "r10");
    EXPECT("band=watch,unknown", "low", "w1", "u2", "u1");
    /* 0 <= days_to_renewal <= N: past renewals and none excluded. */
    EXPECT("within_days=60", "r1", "r2", "w1", "u2");
    EXPECT("within_days=0", "r2");
    EXPECT("owner=jane%40example.com", "r2", "w1");
    EXPECT("tier=big%20co", "r1", "w1");
    rw_worklist_free(run("tier=big", 1000, NULL, 0)); /* no partial match */
    EXPECT("min_arr=3000", "r1", "r2", "w1");
    EXPECT("min_arr=0", "low", "r1", "r2", "r", "w1", "h1", "u2"); /* unknown ARR never matches */
    EXPECT("snoozed=true", "r1");
    EXPECT("snoozed=false", "low", "r2", "r", "r10", "w1", "h1", "u2", "u1");
    EXPECT("band=at_risk&within_days=60&snoozed=false", "r2");
}

static void test_paging_and_totals(void **state)
{
    (void)state;
    static const char *const all[] = {"low", "r1", "r2", "r", "r10", "w1", "h1", "u2", "u1"};
    for (size_t limit = 1; limit <= 4; limit++) {
        for (size_t off = 0; off <= 10; off++) {
            char q[64];
            snprintf(q, sizeof(q), "limit=%zu&offset=%zu", limit, off);
            size_t from = off < 9 ? off : 9, n = 9 - from < limit ? 9 - from : limit;
            struct rw_worklist *w = run(q, 1000, all + from, n);
            assert_int_equal(rw_worklist_total(w), 9); /* before limit and offset */
            rw_worklist_free(w);
        }
    }
    struct rw_worklist *w = run("band=at_risk&limit=1", 1000, IDS("r1"), 1);
    assert_int_equal(rw_worklist_total(w), 4);
    assert_true(rw_worklist_arr_total(w) == 3000 + 3000 + 500); /* r10's ARR is unknown */
    rw_worklist_free(w);
    w = run("band=healthy&owner=nobody", 1000, NULL, 0);
    assert_int_equal(rw_worklist_total(w), 0);
    assert_true(rw_worklist_arr_total(w) == 0);
    rw_worklist_free(w);
}

/* A scan a slice at a time gives the page of one big step, over a bigger book with holes. */
static void test_budget(void **state)
{
    (void)state;
    uint64_t s = 99;
    char id[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(id, sizeof(id), "x%04d", i);
        double score = xs_next(&s) % 9 == 0 ? NAN : (double)(xs_next(&s) % 1000) / 10.0;
        struct rw_account *a =
            acct(id, score, (enum rw_band)(xs_next(&s) % 4), (double)(xs_next(&s) % 5) * 1000.0,
                 DAY0 + (int32_t)(xs_next(&s) % 100));
        if (xs_next(&s) % 3)
            history(a, (int)(xs_next(&s) % 1001), (int)(xs_next(&s) % 1001));
    }
    /* A hole in the ordinals (a restored record moved away). */
    assert_true(rw_store_set_ordinal(st, rw_store_find(st, "x0007", 5), 5000));
    static const char *const queries[] = {"limit=50&offset=20", "sort=arr&limit=200",
                                          "sort=delta_7d&band=watch,at_risk&limit=30",
                                          "sort=days_to_renewal&within_days=30&offset=7"};
    for (size_t k = 0; k < sizeof(queries) / sizeof(queries[0]); k++) {
        struct rw_worklist_query q1 = parse_ok(queries[k]), q2 = parse_ok(queries[k]);
        struct rw_worklist *big = rw_worklist_begin(&q1, NOW);
        struct rw_worklist *small = rw_worklist_begin(&q2, NOW);
        assert_true(rw_worklist_step(big, st, hist, SIZE_MAX));
        size_t steps = 0;
        while (!rw_worklist_step(small, st, hist, 1))
            steps++;
        assert_true(steps >= rw_store_count(st) - 1);
        size_t n1, n2;
        struct rw_account *const *p1 = rw_worklist_page(big, &n1);
        struct rw_account *const *p2 = rw_worklist_page(small, &n2);
        assert_true(n1 > 0);
        assert_int_equal(n1, n2);
        assert_memory_equal(p1, p2, n1 * sizeof(*p1));
        assert_int_equal(rw_worklist_total(big), rw_worklist_total(small));
        assert_true(rw_worklist_arr_total(big) == rw_worklist_arr_total(small));
        rw_worklist_free(big);
        rw_worklist_free(small);
    }
}

static void test_delta(void **state)
{
    (void)state;
    int d = 12345;
    const struct rw_account *w1 = rw_store_find(st, "w1", 2);
    assert_true(rw_worklist_delta(hist, w1, NOW, 7, &d));
    assert_int_equal(d, -300);
    assert_false(rw_worklist_delta(hist, w1, NOW, 30, &d));      /* not in the ring */
    assert_false(rw_worklist_delta(hist, w1, NOW + DAY, 7, &d)); /* tomorrow: none yet */
    assert_false(rw_worklist_delta(hist, rw_store_find(st, "r10", 3), NOW, 7, &d));
    assert_false(rw_worklist_delta(NULL, w1, NOW, 7, &d));
    /* A null score recorded is no score. */
    const struct rw_account *u1 = rw_store_find(st, "u1", 2);
    rw_history_set(hist, DAY0, u1->ordinal, rw_history_entry(RW_BAND_UNKNOWN, false, 0));
    rw_history_set(hist, DAY0 - 7, u1->ordinal, rw_history_entry(RW_BAND_UNKNOWN, true, 10));
    assert_false(rw_worklist_delta(hist, u1, NOW, 7, &d));
    assert_int_equal(d, -300); /* untouched */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test_setup_teardown(test_sort_score, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sort_others, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paging_and_totals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delta, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
