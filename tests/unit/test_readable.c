/* test_readable.c - values for people (SPEC §4): numbers without exponents, signal values
 * with units, short money, score changes, names cut with "…" keeping the id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "renewald/core/readable.h"

#include <math.h>
#include <string.h>

static void num(double x, const char *want)
{
    char b[RW_READABLE_MAX];
    rw_readable_number(x, b, sizeof b);
    assert_string_equal(b, want);
}

static void test_number(void **state)
{
    (void)state;
    num(0, "0");
    num(4.958e-05, "0.00005");
    num(0.02, "0.02");
    num(0.0234, "0.023");
    num(0.31, "0.31");
    num(1, "1");
    num(3.14159, "3.1");
    num(12.44, "12");
    num(1234.6, "1235");
    num(-0.5, "-0.5");
    num(1e-9, "0");
    num(NAN, "n/a");
    num(INFINITY, "n/a");
}

static void sig(enum rw_aggregate agg, bool seats, bool present, double x, const char *want)
{
    struct rw_signal_conf c = {.aggregate = agg,
                               .normalize_seats = seats,
                               .half_life_ms = 7 * RW_MS_PER_DAY,
                               .baseline_ms = agg == RW_AGG_TREND ? 60 * RW_MS_PER_DAY : 0};
    char b[RW_READABLE_MAX];
    rw_readable_signal(&c, present, x, b, sizeof b);
    assert_string_equal(b, want);
}

static void test_signal(void **state)
{
    (void)state;
    sig(RW_AGG_RATE, true, true, 0.0213, "0.021 per seat/day");
    sig(RW_AGG_RATE, false, true, 1.4, "1.4 per day");
    sig(RW_AGG_MEAN, false, true, 3.94, "3.9 avg");
    sig(RW_AGG_TREND, false, true, 0.62, "0.62\xc3\x97 its 60-day rate");
    sig(RW_AGG_RECENCY, false, true, 12.2, "12 days ago");
    sig(RW_AGG_RECENCY, false, true, 1, "1 day ago");
    sig(RW_AGG_RECENCY, false, true, INFINITY, "never");
    sig(RW_AGG_MEAN, false, false, 3, "");
}

static void money(double x, const char *want)
{
    char b[RW_READABLE_MAX];
    rw_readable_money(x, b, sizeof b);
    assert_string_equal(b, want);
}

static void test_money(void **state)
{
    (void)state;
    money(0, "0");
    money(999.6, "1,000");
    money(6200, "6,200");
    money(14500, "14.5k");
    money(145000, "145k");
    money(1500000, "1.5M");
    money(2.1e9, "2.1B");
    money(-6200, "-6,200");
    money(NAN, "n/a");
}

static void test_change_and_bands(void **state)
{
    (void)state;
    char b[32];
    rw_readable_change(314, 440, b, sizeof b);
    assert_string_equal(b, "\xe2\x96\xbc 12.6");
    rw_readable_change(440, 314, b, sizeof b);
    assert_string_equal(b, "\xe2\x96\xb2 12.6");
    rw_readable_change(5, 5, b, sizeof b);
    assert_string_equal(b, "\xc2\xb1 0.0");
    assert_string_equal(rw_readable_band("at_risk"), "at risk");
    assert_string_equal(rw_readable_band(NULL), "unknown");
    assert_string_equal(rw_readable_band_emoji("at_risk"), "\xf0\x9f\x94\xb4");
    assert_string_equal(rw_readable_band_emoji("bogus"), "\xe2\x9a\xaa");
}

static void test_who(void **state)
{
    (void)state;
    char b[4 * 40 + 1];
    rw_readable_who("Acme", "a-1", 40, b, sizeof b);
    assert_string_equal(b, "Acme (a-1)");
    rw_readable_who(NULL, "a-1", 40, b, sizeof b);
    assert_string_equal(b, "a-1");
    rw_readable_who("", "a-1", 40, b, sizeof b);
    assert_string_equal(b, "a-1");
    /* 20 characters: "(a-1)" and a space take 6, the name 14 with its ellipsis. */
    rw_readable_who("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
                    "a-1", 20, b, sizeof b);
    assert_int_equal(rw_utf8_chars(b), 20);
    assert_string_equal(b, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                           "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xe2\x80\xa6 (a-1)");
    /* A name that fits exactly is not cut. */
    rw_readable_who("12345678901234", "a-1", 20, b, sizeof b);
    assert_string_equal(b, "12345678901234 (a-1)");
    /* An id too long for a name beside it: the id alone, cut. */
    rw_readable_who("Acme", "0123456789012345678901234", 20, b, sizeof b);
    assert_string_equal(b, "01234567890123456789");
    char s[] = "\xc3\xa9t\xc3\xa9";
    rw_utf8_cut(s, 2);
    assert_string_equal(s, "\xc3\xa9t");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_number), cmocka_unit_test(test_signal),
        cmocka_unit_test(test_money),  cmocka_unit_test(test_change_and_bands),
        cmocka_unit_test(test_who),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
