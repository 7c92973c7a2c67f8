/* test_summary.c - GET /v1/summary (SPEC §7): totals by band from the store, renewals by
 * calendar month within N days (soonest first, only months with a renewal), a walk sliced
 * by a budget that gives the same answer, exact cents, and the query. */
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
#include "renewald/core/summary.h"
#include "renewald/core/timeutil.h"

#define T0  INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */
#define NOW (T0 + 12 * 3600000)

static int32_t day_of(const char *date)
{
    int32_t d;
    assert_true(rw_parse_date(date, strlen(date), &d));
    return d;
}

static void add(struct rw_store *st, const char *id, enum rw_band band, double arr,
                const char *renewal)
{
    struct rw_account *a = rw_store_upsert(st, id, strlen(id), NULL);
    assert_non_null(a);
    rw_store_set_band(st, a, (uint8_t)band);
    rw_store_set_arr(st, a, arr);
    a->renewal_day = renewal ? day_of(renewal) : RW_NO_DAY;
}

static char *render(struct rw_store *st, int within, size_t budget)
{
    struct rw_summary *s = rw_summary_begin(within, NOW);
    int steps = 0;
    while (!rw_summary_step(s, st, budget))
        steps++;
    struct rw_jsonw w;
    rw_jsonw_init(&w);
    rw_summary_render(s, st, &w);
    rw_summary_free(s);
    size_t len;
    return rw_jsonw_take(&w, &len);
}

static void test_months_and_bands(void **state)
{
    (void)state;
    struct rw_store *st = rw_store_new(1);
    add(st, "today", RW_BAND_AT_RISK, 1000.25, "2026-01-01");
    add(st, "jan", RW_BAND_WATCH, 2000, "2026-01-31");
    add(st, "past", RW_BAND_AT_RISK, 5, "2025-12-31"); /* not ahead: no month */
    add(st, "feb", RW_BAND_AT_RISK, 300, "2026-02-01");
    add(st, "feb2", RW_BAND_HEALTHY, NAN, "2026-02-28"); /* unknown ARR: counted, adds 0 */
    add(st, "far", RW_BAND_HEALTHY, 7, "2027-01-02");    /* 366 days: beyond the default */
    add(st, "none", RW_BAND_UNKNOWN, 9, NULL);
    char *j = render(st, 365, 1000);
    assert_string_equal(
        j,
        "{\"as_of\":\"2026-01-01T12:00:00.000Z\",\"within_days\":365,"
        "\"accounts\":{\"unknown\":1,\"healthy\":2,\"watch\":1,\"at_risk\":3},"
        "\"arr\":{\"unknown\":9,\"healthy\":7,\"watch\":2000,\"at_risk\":1305.25},"
        "\"renewals\":["
        "{\"month\":\"2026-01\",\"accounts\":{\"unknown\":0,\"healthy\":0,\"watch\":1,"
        "\"at_risk\":1},\"arr\":{\"unknown\":0,\"healthy\":0,\"watch\":2000,\"at_risk\":1000.25}},"
        "{\"month\":\"2026-02\",\"accounts\":{\"unknown\":0,\"healthy\":1,\"watch\":0,"
        "\"at_risk\":1},\"arr\":{\"unknown\":0,\"healthy\":0,\"watch\":0,\"at_risk\":300}}]}");
    /* Sliced one account per step: the same answer. */
    char *k = render(st, 365, 1);
    assert_string_equal(j, k);
    free(k);
    free(j);
    /* within_days = 0: today's renewals only; 366: the one a year and a day ahead too. */
    j = render(st, 0, 1000);
    assert_non_null(strstr(j, "\"renewals\":[{\"month\":\"2026-01\",\"accounts\":{\"unknown\":0,"
                              "\"healthy\":0,\"watch\":0,\"at_risk\":1}"));
    free(j);
    j = render(st, 366, 1000);
    assert_non_null(strstr(j, "{\"month\":\"2027-01\",\"accounts\":{\"unknown\":0,\"healthy\":1"));
    free(j);
    rw_store_free(st);
}

static void test_ten_years(void **state)
{
    (void)state;
    struct rw_store *st = rw_store_new(1);
    add(st, "a", RW_BAND_WATCH, 1, "2036-01-08"); /* 3659 days ahead */
    add(st, "b", RW_BAND_WATCH, 1, "2035-12-31");
    char *j = render(st, RW_SUMMARY_MAX_DAYS, 7);
    assert_non_null(strstr(j, "\"month\":\"2035-12\""));
    assert_non_null(strstr(j, "\"month\":\"2036-01\""));
    free(j);
    rw_store_free(st);
}

static void test_cents(void **state)
{
    (void)state;
    char b[RW_CENTS_MAX];
    rw_format_cents(0, b);
    assert_string_equal(b, "0");
    rw_format_cents(7, b);
    assert_string_equal(b, "0.07");
    rw_format_cents(-7, b);
    assert_string_equal(b, "-0.07");
    rw_format_cents(150, b);
    assert_string_equal(b, "1.5");
    rw_format_cents(123456789, b);
    assert_string_equal(b, "1234567.89");
    rw_format_cents(-100, b);
    assert_string_equal(b, "-1");
    __int128 big = (__int128)INT64_MAX * 1000;
    rw_format_cents(big, b);
    assert_string_equal(b, "92233720368547758070");
    assert_int_equal(rw_arr_cents(NAN), 0);
    assert_int_equal(rw_arr_cents(0.125), 13);
    assert_int_equal(rw_arr_cents(1e300), INT64_C(100000000000000));
}

static void test_parse(void **state)
{
    (void)state;
    int d = -1;
    char err[128];
    assert_true(rw_summary_parse(NULL, &d, err, sizeof err));
    assert_int_equal(d, 365);
    assert_true(rw_summary_parse("within_days=30", &d, err, sizeof err));
    assert_int_equal(d, 30);
    assert_true(rw_summary_parse("within_days=%33%30&", &d, err, sizeof err));
    assert_int_equal(d, 30);
    assert_false(rw_summary_parse("within_days=-1", &d, err, sizeof err));
    assert_false(rw_summary_parse("within_days=3661", &d, err, sizeof err));
    assert_false(rw_summary_parse("within_days=1x", &d, err, sizeof err));
    assert_false(rw_summary_parse("band=watch", &d, err, sizeof err));
    assert_non_null(strstr(err, "unknown parameter"));
    assert_false(rw_summary_parse("within_days=%zz", &d, err, sizeof err));
    assert_int_equal(d, 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_months_and_bands),
        cmocka_unit_test(test_ten_years),
        cmocka_unit_test(test_cents),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
