/* test_retry.c - Retry-After, backoff with full jitter, classification, token bucket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "renewald/retry.h"

#include <string.h>

#define NOW INT64_C(1700000000000) /* 2023-11-14T22:13:20Z */

static bool ra(const char *s, int64_t now, int64_t *out)
{
    *out = -42;
    return rw_retry_after_parse(s, strlen(s), now, out);
}

static void test_retry_after_seconds(void **state)
{
    (void)state;
    int64_t v;
    assert_true(ra("120", NOW, &v));
    assert_int_equal(v, 120000);
    assert_true(ra("0", NOW, &v));
    assert_int_equal(v, 0);
    assert_true(ra("  7\t", NOW, &v));
    assert_int_equal(v, 7000);
    /* Huge values are capped, never overflow. */
    assert_true(ra("99999999999999999999999999999999", NOW, &v));
    assert_int_equal(v, RW_RETRY_AFTER_CAP_MS);
    assert_true(ra("86401", NOW, &v));
    assert_int_equal(v, RW_RETRY_AFTER_CAP_MS);
    assert_true(ra("86400", NOW, &v));
    assert_int_equal(v, RW_RETRY_AFTER_CAP_MS);
}

static void test_retry_after_dates(void **state)
{
    (void)state;
    int64_t v;
    assert_true(ra("Tue, 14 Nov 2023 22:13:30 GMT", NOW, &v));
    assert_int_equal(v, 10000);
    assert_true(ra("Tuesday, 14-Nov-23 22:13:30 GMT", NOW, &v));
    assert_int_equal(v, 10000);
    assert_true(ra("Tue Nov 14 22:13:30 2023", NOW, &v));
    assert_int_equal(v, 10000);
    /* asctime pads a one-digit day with a space. */
    assert_true(ra("Sun Nov  6 08:49:37 1994", INT64_C(784111777000) - 2000, &v));
    assert_int_equal(v, 2000);
    assert_true(ra("Sun, 06 Nov 1994 08:49:37 GMT", INT64_C(784111777000) - 1, &v));
    assert_int_equal(v, 1);
    /* RFC 850's two-digit year: 94 seen from 2023 is 1994 (in the past -> 0). */
    assert_true(ra("Sunday, 06-Nov-94 08:49:37 GMT", NOW, &v));
    assert_int_equal(v, 0);
    /* Past dates give 0; far future dates are capped. */
    assert_true(ra("Thu, 01 Jan 1970 00:00:00 GMT", NOW, &v));
    assert_int_equal(v, 0);
    assert_true(ra("Fri, 31 Dec 9999 23:59:59 GMT", NOW, &v));
    assert_int_equal(v, RW_RETRY_AFTER_CAP_MS);
    /* Leap years and a leap second. */
    assert_true(ra("Thu, 29 Feb 2024 00:00:00 GMT", NOW, &v));
    assert_true(ra("Tue, 14 Nov 2023 22:13:60 GMT", NOW, &v));
    assert_int_equal(v, 39000);
}

static void test_retry_after_garbage(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "   ",
        "-5",
        "+5",
        "1.5",
        "12abc",
        "abc",
        "1 2",
        "Tue, 14 Nov 2023 22:13:30 UTC",
        "Tue, 14 Nov 2023 22:13:30 GMT junk",
        "Tue, 14 Nov 2023 22:13:30",
        "Xyz, 14 Nov 2023 22:13:30 GMT",
        "Tue, 31 Nov 2023 22:13:30 GMT",
        "Tue, 29 Feb 2023 22:13:30 GMT",
        "Tue, 14 Foo 2023 22:13:30 GMT",
        "Tue, 14 Nov 2023 24:00:00 GMT",
        "Tue, 14 Nov 2023 22:60:00 GMT",
        "Tue, 14 Nov 2023 22:13:61 GMT",
        "Tue, 00 Nov 2023 22:13:30 GMT",
        "Tue, 4 Nov 2023 22:13:30 GMT",
        "Tue,14 Nov 2023 22:13:30 GMT",
        "Tuesday, 14-Nov-2023 22:13:30 GMT",
        "Tue, 14-Nov-23 22:13:30 GMT",
        "Tue Nov 14 22:13:30 23",
        "Tue Nov  14 22:13:30 2023",
        "Tue Nov 14 22:13:30 2023 GMT",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v;
        if (ra(bad[i], NOW, &v))
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(v, -42); /* untouched */
    }
    int64_t v = -42;
    assert_false(rw_retry_after_parse(NULL, 0, NOW, &v));
    /* Bounded: a prefix of a valid value (length-limited, not NUL-limited) is rejected. */
    const char *s = "Tue, 14 Nov 2023 22:13:30 GMT";
    for (size_t n = 1; n < strlen(s); n++)
        assert_false(rw_retry_after_parse(s, n, NOW, &v));
    /* Embedded NUL. */
    assert_false(rw_retry_after_parse("12\0"
                                      "3",
                                      4, NOW, &v));
}

/* A bounded in-test fuzz: arbitrary bytes never crash (ASan run) nor exceed the cap. */
static void test_retry_after_random_bytes(void **state)
{
    (void)state;
    static const char alphabet[] = "0123456789 ,:-SunMonTueNovGMT\t\0\xff";
    uint64_t x = 88172645463325252u;
    char buf[40];
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t len = x % sizeof buf;
        for (size_t k = 0; k < len; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[k] = (i & 1) ? (char)(x & 0xff) : alphabet[x % (sizeof alphabet - 1)];
        }
        int64_t v = -1;
        if (rw_retry_after_parse(buf, len, (int64_t)(x % INT64_C(4102444800000)), &v))
            assert_in_range(v, 0, RW_RETRY_AFTER_CAP_MS);
    }
    /* Extreme clocks: no overflow (UBSan run); a result, if any, stays in range. */
    static const int64_t clocks[] = {INT64_MIN, INT64_MIN / 4, -1, 0, INT64_MAX / 4, INT64_MAX};
    for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        int64_t v = -1;
        if (rw_retry_after_parse("Sunday, 06-Nov-94 08:49:37 GMT", 30, clocks[i], &v))
            assert_in_range(v, 0, RW_RETRY_AFTER_CAP_MS);
        if (rw_retry_after_parse("Fri, 31 Dec 9999 23:59:59 GMT", 29, clocks[i], &v))
            assert_in_range(v, 0, RW_RETRY_AFTER_CAP_MS);
    }
}

static uint64_t fixed_rnd(void *arg)
{
    return *(uint64_t *)arg;
}

static void test_backoff(void **state)
{
    (void)state;
    uint64_t r = UINT64_MAX; /* the top of each range */
    /* cap(attempt) = min(max, initial * 2^(attempt-1)); r % (cap+1) with r = 2^64-1. */
    for (int attempt = 1; attempt <= 80; attempt++) {
        int64_t cap = 1000;
        for (int i = 1; i < attempt && cap < 300000; i++)
            cap *= 2;
        if (cap > 300000)
            cap = 300000;
        int64_t d = rw_backoff_ms(1000, 300000, attempt, fixed_rnd, &r);
        assert_in_range(d, 0, cap);
        assert_int_equal(d, (int64_t)(UINT64_MAX % (uint64_t)(cap + 1)));
    }
    r = 0;
    assert_int_equal(rw_backoff_ms(1000, 300000, 5, fixed_rnd, &r), 0);
    r = 16000;
    assert_int_equal(rw_backoff_ms(1000, 300000, 5, fixed_rnd, &r), 16000); /* cap is 16 s */
    r = 16001;
    assert_int_equal(rw_backoff_ms(1000, 300000, 5, fixed_rnd, &r), 0);
    r = 299999;
    assert_int_equal(rw_backoff_ms(1000, 300000, 1000000, fixed_rnd, &r), 299999);
    /* Degenerate inputs. */
    assert_int_equal(rw_backoff_ms(0, 300000, 3, fixed_rnd, &r), 0);
    assert_int_equal(rw_backoff_ms(-5, -5, -5, fixed_rnd, &r), 0);
    r = 7;
    assert_int_equal(rw_backoff_ms(INT64_MAX / 2, INT64_MAX, 70, fixed_rnd, &r), 7);
    /* The default source stays in range. */
    for (int i = 0; i < 1000; i++)
        assert_in_range(rw_backoff_ms(100, 1000, 3, NULL, NULL), 0, 400);
    /* Retry-After wins when longer. */
    r = 10;
    assert_int_equal(rw_retry_delay_ms(1000, 300000, 1, 2000, fixed_rnd, &r), 2000);
    r = 900;
    assert_int_equal(rw_retry_delay_ms(1000, 300000, 1, 500, fixed_rnd, &r), 900);
    assert_int_equal(rw_retry_delay_ms(1000, 300000, 1, -1, fixed_rnd, &r), 900);
}

static void test_classify(void **state)
{
    (void)state;
    static const struct {
        CURLcode code;
        long status;
        enum rw_retry_class want;
    } http[] = {
        {CURLE_OK, 200, RW_RETRY_SUCCESS},
        {CURLE_OK, 204, RW_RETRY_SUCCESS},
        {CURLE_OK, 299, RW_RETRY_SUCCESS},
        {CURLE_OK, 408, RW_RETRY_RETRYABLE},
        {CURLE_OK, 429, RW_RETRY_RETRYABLE},
        {CURLE_OK, 500, RW_RETRY_RETRYABLE},
        {CURLE_OK, 502, RW_RETRY_RETRYABLE},
        {CURLE_OK, 503, RW_RETRY_RETRYABLE},
        {CURLE_OK, 599, RW_RETRY_RETRYABLE},
        {CURLE_OK, 400, RW_RETRY_PERMANENT},
        {CURLE_OK, 401, RW_RETRY_PERMANENT},
        {CURLE_OK, 403, RW_RETRY_PERMANENT},
        {CURLE_OK, 404, RW_RETRY_PERMANENT},
        {CURLE_OK, 410, RW_RETRY_PERMANENT},
        {CURLE_OK, 301, RW_RETRY_PERMANENT},
        {CURLE_OK, 0, RW_RETRY_PERMANENT},
        {CURLE_OPERATION_TIMEDOUT, 0, RW_RETRY_RETRYABLE},
        {CURLE_COULDNT_CONNECT, 0, RW_RETRY_RETRYABLE},
        {CURLE_COULDNT_RESOLVE_HOST, 0, RW_RETRY_RETRYABLE},
        {CURLE_GOT_NOTHING, 0, RW_RETRY_RETRYABLE},
        {CURLE_RECV_ERROR, 0, RW_RETRY_RETRYABLE},
        {CURLE_SEND_ERROR, 0, RW_RETRY_RETRYABLE},
        {CURLE_SSL_CONNECT_ERROR, 0, RW_RETRY_RETRYABLE},
        {CURLE_OPERATION_TIMEDOUT, 200, RW_RETRY_RETRYABLE}, /* transport wins */
        {CURLE_URL_MALFORMAT, 0, RW_RETRY_PERMANENT},
        {CURLE_UNSUPPORTED_PROTOCOL, 0, RW_RETRY_PERMANENT},
        {CURLE_PEER_FAILED_VERIFICATION, 0, RW_RETRY_PERMANENT},
    };
    for (size_t i = 0; i < sizeof http / sizeof http[0]; i++) {
        if (rw_retry_classify_http(http[i].code, http[i].status) != http[i].want)
            fail_msg("http case %zu: code %d status %ld", i, (int)http[i].code, http[i].status);
    }
    assert_int_equal(rw_retry_classify_smtp(CURLE_OK, 250), RW_RETRY_SUCCESS);
    assert_int_equal(rw_retry_classify_smtp(CURLE_SEND_ERROR, 451), RW_RETRY_RETRYABLE);
    assert_int_equal(rw_retry_classify_smtp(CURLE_SEND_ERROR, 550), RW_RETRY_PERMANENT);
    assert_int_equal(rw_retry_classify_smtp(CURLE_LOGIN_DENIED, 0), RW_RETRY_PERMANENT);
    assert_int_equal(rw_retry_classify_smtp(CURLE_USE_SSL_FAILED, 0), RW_RETRY_PERMANENT);
    assert_int_equal(rw_retry_classify_smtp(CURLE_COULDNT_CONNECT, 0), RW_RETRY_RETRYABLE);
    assert_int_equal(rw_retry_classify_smtp(CURLE_OPERATION_TIMEDOUT, 0), RW_RETRY_RETRYABLE);
}

static void test_rate(void **state)
{
    (void)state;
    struct rw_rate r;
    rw_rate_init(&r, 1.0);
    assert_int_equal(rw_rate_next_ms(&r, 5000), 5000);
    assert_int_equal(rw_rate_take(&r, 5000), 0);    /* burst 1 */
    assert_int_equal(rw_rate_take(&r, 5000), 1000); /* then one per second */
    assert_int_equal(rw_rate_next_ms(&r, 5200), 6000);
    assert_int_equal(rw_rate_take(&r, 5999), 1);
    assert_int_equal(rw_rate_take(&r, 6000), 0);
    /* Idle time does not accumulate: still burst 1 after a long pause. */
    assert_int_equal(rw_rate_take(&r, 60000), 0);
    assert_int_equal(rw_rate_take(&r, 60001), 999);

    /* 3/s: evenly spaced, no drift over many sends. */
    rw_rate_init(&r, 3.0);
    int64_t t = 0;
    int sent = 0;
    while (t < 10000) {
        int64_t w = rw_rate_take(&r, t);
        if (w == 0)
            sent++;
        else
            t += w;
    }
    assert_in_range(sent, 30, 31);

    /* 0 = unlimited. */
    rw_rate_init(&r, 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(rw_rate_take(&r, 1), 0);
    assert_int_equal(rw_rate_next_ms(&r, 1), 1);

    /* A fractional rate. */
    rw_rate_init(&r, 0.5);
    assert_int_equal(rw_rate_take(&r, 0), 0);
    assert_int_equal(rw_rate_take(&r, 1), 1999);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_after_seconds),
        cmocka_unit_test(test_retry_after_dates),
        cmocka_unit_test(test_retry_after_garbage),
        cmocka_unit_test(test_retry_after_random_bytes),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
