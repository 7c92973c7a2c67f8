/* test_timeutil.c - RFC 3339 times, dates and stream entry ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "renewald/core/timeutil.h"

/* 2026-11-20T10:00:00.000Z */
#define T2026 INT64_C(1795168800000)
#define HOUR  INT64_C(3600000)

static bool parse(const char *s, int64_t *ms)
{
    return rw_parse_rfc3339(s, strlen(s), ms);
}

static void assert_time(const char *s, int64_t want)
{
    int64_t ms = INT64_MIN;
    if (!parse(s, &ms))
        fail_msg("rejected: \"%s\"", s);
    if (ms != want)
        fail_msg("\"%s\": got %lld want %lld", s, (long long)ms, (long long)want);
}

static void assert_bad_time(const char *s)
{
    int64_t ms = 42;
    if (parse(s, &ms))
        fail_msg("accepted: \"%s\"", s);
    assert_int_equal(ms, 42); /* untouched */
}

static void test_rfc3339_basic(void **state)
{
    (void)state;
    assert_time("1970-01-01T00:00:00Z", 0);
    assert_time("1970-01-01T00:00:00.001Z", 1);
    assert_time("2026-11-20T10:00:00Z", T2026);
    assert_time("2026-11-20T10:00:00.123Z", T2026 + 123);
    assert_time("2026-11-20t10:00:00.123z", T2026 + 123);
    assert_time("2026-11-20 10:00:00.123Z", T2026 + 123);
    assert_time("1969-12-31T23:59:59.999Z", -1);
    assert_time("0001-01-01T00:00:00Z", INT64_C(-62135596800000));
    assert_time("0000-01-01T00:00:00Z", INT64_C(-719528) * 86400000);
    assert_time("9999-12-31T23:59:59.999Z", INT64_C(253402300799999));
    assert_time("2016-12-31T23:59:59.999Z", INT64_C(1483228799999));
}

static void test_rfc3339_fraction(void **state)
{
    (void)state;
    assert_time("2026-11-20T10:00:00.1Z", T2026 + 100);
    assert_time("2026-11-20T10:00:00.12Z", T2026 + 120);
    assert_time("2026-11-20T10:00:00.1234Z", T2026 + 123);
    assert_time("2026-11-20T10:00:00.9999Z", T2026 + 999); /* truncated, not rounded */
    assert_time("2026-11-20T10:00:00.999999999Z", T2026 + 999);
    assert_time("2026-11-20T10:00:00.000000001Z", T2026);
    assert_bad_time("2026-11-20T10:00:00.1234567890Z"); /* 10 digits */
    assert_bad_time("2026-11-20T10:00:00.Z");
    assert_bad_time("2026-11-20T10:00:00,5Z");
    assert_bad_time("2026-11-20T10:00:00.5");
    assert_bad_time("2026-11-20T10:00:00.5x");
}

static void test_rfc3339_offsets(void **state)
{
    (void)state;
    assert_time("2026-11-20T10:00:00+00:00", T2026);
    assert_time("2026-11-20T10:00:00-00:00", T2026);
    assert_time("2026-11-20T10:00:00+02:00", T2026 - 2 * HOUR);
    assert_time("2026-11-20T10:00:00.123+02:00", T2026 - 2 * HOUR + 123);
    assert_time("2026-11-20T10:00:00-05:30", T2026 + 5 * HOUR + 30 * 60000);
    assert_time("2026-11-20T10:00:00+23:59", T2026 - 23 * HOUR - 59 * 60000);
    /* Crossing a day, a month and a year boundary. */
    assert_time("2027-01-01T01:00:00+02:00", INT64_C(1798761600000) - HOUR);
    assert_time("1970-01-01T00:00:00+01:00", -HOUR);
    assert_bad_time("2026-11-20T10:00:00+24:00");
    assert_bad_time("2026-11-20T10:00:00+02:60");
    assert_bad_time("2026-11-20T10:00:00+0200");
    assert_bad_time("2026-11-20T10:00:00+02");
    assert_bad_time("2026-11-20T10:00:00+2:00");
    assert_bad_time("2026-11-20T10:00:00+02:00Z");
    assert_bad_time("2026-11-20T10:00:00 +02:00");
    assert_bad_time("2026-11-20T10:00:00UTC");
}

static void test_rfc3339_leap(void **state)
{
    (void)state;
    int64_t a, b;
    assert_true(parse("2024-02-29T12:00:00Z", &a));
    assert_true(parse("2024-03-01T12:00:00Z", &b));
    assert_int_equal(b - a, 86400000);
    assert_true(parse("2000-02-29T00:00:00Z", &a));
    assert_bad_time("2023-02-29T00:00:00Z");
    assert_bad_time("1900-02-29T00:00:00Z");
    assert_bad_time("2100-02-29T00:00:00Z");
    assert_true(parse("2400-02-29T00:00:00Z", &a));
    /* Leap second: the last instant of the minute. */
    assert_time("2016-12-31T23:59:60Z", INT64_C(1483228799999));
    assert_time("2016-12-31T23:59:60.5Z", INT64_C(1483228799999));
    assert_bad_time("2016-12-31T23:59:61Z");
}

static void test_rfc3339_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "2026",
        "2026-11-20",
        "2026-11-20T10:00",
        "2026-11-20T10:00Z",
        "2026-11-20T10:00:00",
        "2026-11-20X10:00:00Z",
        "2026-11-20T10:00:00Z ",
        " 2026-11-20T10:00:00Z",
        "2026-11-20T10:00:00ZZ",
        "2026-11-20T10:00:00Zjunk",
        "2026-13-20T10:00:00Z",
        "2026-00-20T10:00:00Z",
        "2026-11-00T10:00:00Z",
        "2026-11-31T10:00:00Z",
        "2026-04-31T10:00:00Z",
        "2026-11-20T24:00:00Z",
        "2026-11-20T10:60:00Z",
        "2026-11-20T-1:00:00Z",
        "2026-11-20T1:00:00Z",
        "+2026-11-20T10:00:00Z",
        "-2026-11-20T10:00:00Z",
        "12026-11-20T10:00:00Z",
        "2026/11/20T10:00:00Z",
        "2026-11-20T10.00.00Z",
        "2O26-11-20T10:00:00Z",
        "1795168800000",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_bad_time(bad[i]);

    /* Length is exact: a NUL or more bytes past LEN do not count. */
    int64_t ms;
    static const char with_nul[] = "2026-11-20T10:00:00Z\0junk";
    assert_true(rw_parse_rfc3339(with_nul, 20, &ms));
    assert_false(rw_parse_rfc3339(with_nul, 21, &ms));
    assert_false(rw_parse_rfc3339(with_nul, 19, &ms));
    assert_true(rw_parse_rfc3339("2026-11-20T10:00:00Zjunk", 20, &ms));
    assert_int_equal(ms, T2026);
}

static void assert_format(int64_t ms, const char *want)
{
    char buf[RW_RFC3339_MAX];
    rw_format_rfc3339(ms, buf);
    assert_string_equal(buf, want);
}

static void test_rfc3339_format(void **state)
{
    (void)state;
    assert_format(0, "1970-01-01T00:00:00.000Z");
    assert_format(T2026 + 123, "2026-11-20T10:00:00.123Z");
    assert_format(-1, "1969-12-31T23:59:59.999Z");
    assert_format(INT64_C(253402300799999), "9999-12-31T23:59:59.999Z");
    assert_format(INT64_C(-62135596800000), "0001-01-01T00:00:00.000Z");
    /* Clamped to what fits the fixed width. */
    assert_format(INT64_MAX, "9999-12-31T23:59:59.999Z");
    assert_format(INT64_MIN, "0000-01-01T00:00:00.000Z");
}

static void test_rfc3339_roundtrip(void **state)
{
    (void)state;
    /* Every ~day and odd offsets over 0000..9999, with odd ms-of-day. */
    const int64_t lo = INT64_C(-719528) * 86400000, hi = INT64_C(253402300799999);
    for (int64_t ms = lo; ms <= hi; ms += INT64_C(86399999) * 7 + 12345) {
        char buf[RW_RFC3339_MAX];
        int64_t back;
        rw_format_rfc3339(ms, buf);
        assert_int_equal(strlen(buf), 24);
        if (!parse(buf, &back) || back != ms)
            fail_msg("round trip of %lld via %s", (long long)ms, buf);
    }
}

static void assert_date(const char *s, int32_t want)
{
    int32_t day = 12345;
    if (!rw_parse_date(s, strlen(s), &day))
        fail_msg("rejected date \"%s\"", s);
    assert_int_equal(day, want);
    char buf[RW_DATE_MAX];
    rw_format_date(day, buf);
    assert_string_equal(buf, s);
}

static void assert_bad_date(const char *s)
{
    int32_t day = 12345;
    if (rw_parse_date(s, strlen(s), &day))
        fail_msg("accepted date \"%s\"", s);
    assert_int_equal(day, 12345);
}

static void test_date(void **state)
{
    (void)state;
    assert_date("1970-01-01", 0);
    assert_date("1969-12-31", -1);
    assert_date("2024-02-29", 19782);
    assert_date("2000-02-29", 11016);
    assert_date("0001-01-01", -719162);
    assert_date("9999-12-31", 2932896);
    assert_bad_date("2023-02-29");
    assert_bad_date("1900-02-29");
    assert_bad_date("2026-02-30");
    assert_bad_date("2026-06-31");
    assert_bad_date("2026-13-01");
    assert_bad_date("2026-00-01");
    assert_bad_date("2026-01-00");
    assert_bad_date("2026-01-32");
    assert_bad_date("0000-01-01"); /* years 1..9999 */
    assert_bad_date("");
    assert_bad_date("2026-1-01");
    assert_bad_date("2026-01-1");
    assert_bad_date("2026-01-011");
    assert_bad_date("2026-01-01 ");
    assert_bad_date(" 2026-01-01");
    assert_bad_date("2026/01/01");
    assert_bad_date("20260101");
    assert_bad_date("2026-01-01T00:00:00Z");
    assert_bad_date("+026-01-01");
    assert_bad_date("-026-01-01");
    int32_t day;
    assert_true(rw_parse_date("2026-01-01junk", 10, &day));
    assert_false(rw_parse_date("2026-01-01", 9, &day));

    char buf[RW_DATE_MAX];
    rw_format_date(INT32_MAX, buf);
    assert_string_equal(buf, "9999-12-31");
    rw_format_date(INT32_MIN, buf);
    assert_string_equal(buf, "0000-01-01");
}

static void test_date_roundtrip(void **state)
{
    (void)state;
    /* Every day of years 1..9999 agrees with rw_parse_rfc3339 and with its neighbours. */
    int32_t prev = INT32_MIN;
    for (int32_t day = -719162; day <= 2932896; day++) {
        char buf[RW_DATE_MAX], ts[RW_RFC3339_MAX];
        int32_t back;
        rw_format_date(day, buf);
        if (!rw_parse_date(buf, 10, &back) || back != day)
            fail_msg("date round trip of %d via %s", (int)day, buf);
        rw_format_rfc3339((int64_t)day * 86400000, ts);
        assert_memory_equal(ts, buf, 10);
        if (prev != INT32_MIN)
            assert_int_equal(day, prev + 1);
        prev = back;
    }
}

static void test_day_of_ms(void **state)
{
    (void)state;
    assert_int_equal(rw_day_of_ms(0), 0);
    assert_int_equal(rw_day_of_ms(86399999), 0);
    assert_int_equal(rw_day_of_ms(86400000), 1);
    assert_int_equal(rw_day_of_ms(-1), -1);
    assert_int_equal(rw_day_of_ms(-86400000), -1);
    assert_int_equal(rw_day_of_ms(-86400001), -2);
    assert_int_equal(rw_day_of_ms(T2026 + 123), 20777);
    assert_int_equal(rw_day_of_ms(INT64_MAX), INT32_MAX);
    assert_int_equal(rw_day_of_ms(INT64_MIN), INT32_MIN);
}

static void assert_id(const char *s, uint64_t ms, uint64_t seq)
{
    struct rw_entry_id id = {7, 7};
    if (!rw_parse_entry_id(s, strlen(s), &id))
        fail_msg("rejected id \"%s\"", s);
    assert_true(id.ms == ms);
    assert_true(id.seq == seq);
}

static void assert_bad_id(const char *s)
{
    struct rw_entry_id id = {7, 7};
    if (rw_parse_entry_id(s, strlen(s), &id))
        fail_msg("accepted id \"%s\"", s);
    assert_true(id.ms == 7 && id.seq == 7);
}

static void test_entry_id(void **state)
{
    (void)state;
    assert_id("0-0", 0, 0);
    assert_id("0-1", 0, 1);
    assert_id("1795168800123-0", UINT64_C(1795168800123), 0);
    assert_id("1795168800123-42", UINT64_C(1795168800123), 42);
    assert_id("18446744073709551615-18446744073709551615", UINT64_MAX, UINT64_MAX);
    assert_id("007-01", 7, 1);
    static const char *const bad[] = {
        "",
        "-",
        "1",
        "1795168800123",
        "1795168800123-",
        "-0",
        "1-2-3",
        "1--2",
        "+1-2",
        "1-+2",
        "1-(-2)",
        " 1-2",
        "1-2 ",
        "1 -2",
        "0x10-0",
        "1.5-0",
        "a-b",
        "*",
        "$",
        "18446744073709551616-0",
        "0-18446744073709551616",
        "99999999999999999999-0",
        "184467440737095516150-0",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_bad_id(bad[i]);

    struct rw_entry_id id;
    assert_true(rw_parse_entry_id("5-6junk", 3, &id));
    assert_true(id.ms == 5 && id.seq == 6);
    assert_false(rw_parse_entry_id("5-6\0", 4, &id));
}

static void test_entry_id_format_cmp(void **state)
{
    (void)state;
    char buf[RW_ENTRY_ID_MAX];
    struct rw_entry_id id = {UINT64_MAX, UINT64_MAX}, back;
    rw_format_entry_id(id, buf);
    assert_string_equal(buf, "18446744073709551615-18446744073709551615");
    assert_true(rw_parse_entry_id(buf, strlen(buf), &back));
    assert_int_equal(rw_entry_id_cmp(id, back), 0);

    id = (struct rw_entry_id){1795168800123, 3};
    rw_format_entry_id(id, buf);
    assert_string_equal(buf, "1795168800123-3");

    const struct rw_entry_id a = {1, 5}, b = {1, 6}, c = {2, 0};
    assert_int_equal(rw_entry_id_cmp(a, b), -1);
    assert_int_equal(rw_entry_id_cmp(b, a), 1);
    assert_int_equal(rw_entry_id_cmp(b, c), -1);
    assert_int_equal(rw_entry_id_cmp(c, a), 1);
    assert_int_equal(rw_entry_id_cmp(a, a), 0);
    const struct rw_entry_id big = {UINT64_MAX, 0}, small = {0, UINT64_MAX};
    assert_int_equal(rw_entry_id_cmp(small, big), -1);
    assert_int_equal(rw_entry_id_cmp(big, small), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339_basic),     cmocka_unit_test(test_rfc3339_fraction),
        cmocka_unit_test(test_rfc3339_offsets),   cmocka_unit_test(test_rfc3339_leap),
        cmocka_unit_test(test_rfc3339_rejects),   cmocka_unit_test(test_rfc3339_format),
        cmocka_unit_test(test_rfc3339_roundtrip), cmocka_unit_test(test_date),
        cmocka_unit_test(test_date_roundtrip),    cmocka_unit_test(test_day_of_ms),
        cmocka_unit_test(test_entry_id),          cmocka_unit_test(test_entry_id_format_cmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
