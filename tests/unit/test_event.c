/* test_event.c - the `event` field to struct rw_event, and every dead-letter reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "renewald/core/event.h"

/* Entry id 1795168800000-0 is 2026-11-20T10:00:00Z; "now" is the same instant. */
#define ID_MS  INT64_C(1795168800000)
#define NOW    ID_MS
#define DAY_MS INT64_C(86400000)

static const struct rw_entry_id entry_id = {UINT64_C(1795168800000), 0};

/* Parses the C string S (without its NUL) with the clock = event defaults. */
static const char *parse_ex(const char *s, size_t len, bool reject_future, struct rw_event *ev)
{
    return rw_event_parse(entry_id, s, len, NOW, reject_future, ev);
}

static const char *parse(const char *s, struct rw_event *ev)
{
    return parse_ex(s, strlen(s), false, ev);
}

#define assert_ok(s, ev)                                                                           \
    do {                                                                                           \
        const char *r_ = parse((s), (ev));                                                         \
        if (r_ != NULL)                                                                            \
            fail_msg("%s: unexpected %s", (s), r_);                                                \
    } while (0)

#define assert_reason(s, want)                                                                     \
    do {                                                                                           \
        struct rw_event ev_;                                                                       \
        const char *r_ = parse((s), &ev_);                                                         \
        if (r_ == NULL || strcmp(r_, (want)) != 0)                                                 \
            fail_msg("%s: got %s want %s", (s), r_ ? r_ : "ok", (want));                           \
    } while (0)

/* A heap string of "{"account":"<A>","type":"<T>"}" with A and T N bytes of C. */
static char *event_with(const char *key, size_t n, char c, const char *type)
{
    char *val = malloc(n + 1);
    assert_non_null(val);
    memset(val, c, n);
    val[n] = '\0';
    const size_t size = n + 256;
    char *s = malloc(size);
    assert_non_null(s);
    if (strcmp(key, "account") == 0)
        snprintf(s, size, "{\"account\":\"%s\",\"type\":\"%s\"}", val, type);
    else
        snprintf(s, size, "{\"account\":\"a\",\"type\":\"%s\"}", val);
    free(val);
    return s;
}

static void test_minimal(void **state)
{
    (void)state;
    struct rw_event ev;
    assert_ok("{\"account\":\"acme\",\"type\":\"login\"}", &ev);
    assert_string_equal(ev.account, "acme");
    assert_int_equal(ev.account_len, 4);
    assert_string_equal(ev.type, "login");
    assert_int_equal(ev.type_len, 5);
    assert_int_equal(ev.ts_ms, ID_MS); /* default: the entry id */
    assert_true(ev.value == 1.0);
    assert_false(ev.is_account);
    assert_int_equal(ev.meta_set, 0);
    assert_int_equal(ev.meta_null, 0);

    /* Whitespace around and inside, and unknown keys, are fine. */
    assert_ok(" \n\t{ \"type\" : \"login\" , \"x\": [1,{\"y\":null}], \"account\":\"b\" }\r\n",
              &ev);
    assert_string_equal(ev.account, "b");
}

static void test_invalid_json(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", " ", "{", "}", "{\"account\":\"a\",\"type\":\"t\"",
        "{\"account\":\"a\",\"type\":\"t\",}", "{\"account\":\"a\" \"type\":\"t\"}",
        "{'account':'a','type':'t'}", "{account:\"a\",type:\"t\"}",
        "{\"account\":\"a\",\"type\":\"t\"}x", "{\"account\":\"a\",\"type\":\"t\"}{}",
        "{\"account\":\"a\",\"type\":\"t\"} 1", "{\"account\":\"a\",\"type\":\"t\",\"value\":NaN}",
        "{\"account\":\"a\",\"type\":\"t\",\"value\":Infinity}",
        "{\"account\":\"a\",\"type\":\"t\",\"value\":1e999}",
        "{\"account\":\"a\",\"type\":\"t\",\"value\":01}",
        "{\"account\":\"a\",\"type\":\"t\",\"value\":+1}",
        "{\"account\":\"a\",\"type\":\"t\",\"value\":.5}",
        "{\"account\":\"a\",\"type\":\"t\",\"ts\":99999999999999999999}",
        /* Duplicate keys, at the top and nested. */
        "{\"account\":\"a\",\"type\":\"t\",\"account\":\"b\"}",
        "{\"account\":\"a\",\"type\":\"t\",\"x\":{\"k\":1,\"k\":2}}",
        /* \u0000, lone surrogates, bad escapes. */
        "{\"account\":\"a\\u0000b\",\"type\":\"t\"}", "{\"account\":\"\\ud800\",\"type\":\"t\"}",
        "{\"account\":\"\\udc00x\",\"type\":\"t\"}", "{\"account\":\"\\x41\",\"type\":\"t\"}",
        /* A raw control character in a string. */
        "{\"account\":\"a\tb\",\"type\":\"t\"}", "{\"account\":\"a\nb\",\"type\":\"t\"}",
        /* Invalid UTF-8: lone continuation, overlong, truncated, surrogate, > U+10FFFF. */
        "{\"account\":\"\x80\",\"type\":\"t\"}", "{\"account\":\"\xc0\xaf\",\"type\":\"t\"}",
        "{\"account\":\"\xe2\x82\",\"type\":\"t\"}",
        "{\"account\":\"\xed\xa0\x80\",\"type\":\"t\"}",
        "{\"account\":\"\xf4\x90\x80\x80\",\"type\":\"t\"}",
        "{\"account\":\"\xff\",\"type\":\"t\"}",
        "\xef\xbb\xbf{\"account\":\"a\",\"type\":\"t\"}", /* a BOM */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_reason(bad[i], "invalid_json");

    struct rw_event ev;
    assert_string_equal(rw_event_parse(entry_id, NULL, 0, NOW, false, &ev), "invalid_json");
    assert_string_equal(rw_event_parse(entry_id, "", 0, NOW, false, &ev), "invalid_json");
}

static void test_nul_bytes(void **state)
{
    (void)state;
    struct rw_event ev;
    static const char ok[] = "{\"account\":\"a\",\"type\":\"t\"}";
    /* Only LEN bytes count: what follows is never read. */
    assert_null(parse_ex("{\"account\":\"a\",\"type\":\"t\"}garbage", sizeof ok - 1, false, &ev));

    static const char trailing[] = "{\"account\":\"a\",\"type\":\"t\"}\0";
    assert_string_equal(parse_ex(trailing, sizeof trailing - 1, false, &ev), "invalid_json");
    static const char leading[] = "\0{\"account\":\"a\",\"type\":\"t\"}";
    assert_string_equal(parse_ex(leading, sizeof leading - 1, false, &ev), "invalid_json");
    static const char in_string[] = "{\"account\":\"a\0b\",\"type\":\"t\"}";
    assert_string_equal(parse_ex(in_string, sizeof in_string - 1, false, &ev), "invalid_json");
    static const char in_ws[] = "{\"account\":\"a\",\0\"type\":\"t\"}";
    assert_string_equal(parse_ex(in_ws, sizeof in_ws - 1, false, &ev), "invalid_json");
    static const char only_nul[] = "\0";
    assert_string_equal(parse_ex(only_nul, 1, false, &ev), "invalid_json");
}

static void test_not_object(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "[]",   "[{\"account\":\"a\",\"type\":\"t\"}]", "null", "true", "false", "0",
        "-1.5", "\"{\\\"account\\\":\\\"a\\\"}\"",      " 42 ",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_reason(bad[i], "not_object");
}

static void test_deep_nesting(void **state)
{
    (void)state;
    const size_t n = 100000;
    struct rw_event ev;
    char *s = malloc(2 * n + 64);
    assert_non_null(s);

    memset(s, '[', n);
    assert_string_equal(parse_ex(s, n, false, &ev), "invalid_json");
    memset(s + n, ']', n);
    assert_string_equal(parse_ex(s, 2 * n, false, &ev), "invalid_json");

    /* {"a":{"a":{...}}} as the value of an ignored key. */
    size_t len = (size_t)sprintf(s, "{\"account\":\"a\",\"type\":\"t\",\"x\":");
    for (size_t i = 0; i < n / 8; i++)
        len += (size_t)sprintf(s + len, "{\"a\":");
    assert_string_equal(parse_ex(s, len, false, &ev), "invalid_json");

    /* Moderate nesting in an ignored key is fine. */
    len = (size_t)sprintf(s, "{\"account\":\"a\",\"type\":\"t\",\"x\":");
    memset(s + len, '[', 100);
    memset(s + len + 100, ']', 100);
    len += 200;
    s[len++] = '}';
    assert_null(parse_ex(s, len, false, &ev));
    free(s);
}

static void test_big_payload(void **state)
{
    (void)state;
    const size_t pad = 1024 * 1024;
    struct rw_event ev;
    char *s = malloc(pad + 256);
    assert_non_null(s);
    size_t len = (size_t)sprintf(s, "{\"account\":\"big\",\"type\":\"blob\",\"pad\":\"");
    memset(s + len, 'x', pad);
    len += pad;
    len += (size_t)sprintf(s + len, "\",\"value\":7}");
    assert_null(parse_ex(s, len, false, &ev));
    assert_string_equal(ev.account, "big");
    assert_true(ev.value == 7.0);

    /* Cut short: invalid. */
    assert_string_equal(parse_ex(s, len - 1, false, &ev), "invalid_json");
    /* A bad byte deep inside. */
    s[len - 100] = '\x01';
    assert_string_equal(parse_ex(s, len, false, &ev), "invalid_json");
    s[len - 100] = 'x';
    /* Valid JSON but a bad field after 1 MiB. */
    len -= strlen("7}");
    len += (size_t)sprintf(s + len, "\"7\"}");
    assert_string_equal(parse_ex(s, len, false, &ev), "bad_value");

    /* A 1 MiB account id. */
    char *acc = event_with("account", pad, 'a', "t");
    assert_reason(acc, "bad_account");
    free(acc);
    free(s);
}

static void test_account(void **state)
{
    (void)state;
    struct rw_event ev;
    assert_reason("{\"type\":\"t\"}", "missing_account");
    assert_reason("{}", "missing_account");
    assert_reason("{\"Account\":\"a\",\"type\":\"t\"}", "missing_account");
    assert_reason("{\"account\":null,\"type\":\"t\"}", "bad_account");
    assert_reason("{\"account\":1,\"type\":\"t\"}", "bad_account");
    assert_reason("{\"account\":true,\"type\":\"t\"}", "bad_account");
    assert_reason("{\"account\":[\"a\"],\"type\":\"t\"}", "bad_account");
    assert_reason("{\"account\":{},\"type\":\"t\"}", "bad_account");
    assert_reason("{\"account\":\"\",\"type\":\"t\"}", "bad_account");
    /* Control characters: C0 escaped, DEL raw and escaped, C1 escaped and raw UTF-8. */
    assert_reason("{\"account\":\"a\\tb\",\"type\":\"t\"}", "bad_account");
    assert_reason("{\"account\":\"a\\n\",\"type\":\"t\"}", "bad_account");
    assert_reason("{\"account\":\"\\u001f\",\"type\":\"t\"}", "bad_account");
    assert_reason("{\"account\":\"\\u0001x\",\"type\":\"t\"}", "bad_account");
    assert_reason("{\"account\":\"a\x7f\",\"type\":\"t\"}", "bad_account");
    assert_reason("{\"account\":\"a\\u007f\",\"type\":\"t\"}", "bad_account");
    assert_reason("{\"account\":\"a\\u0080\",\"type\":\"t\"}", "bad_account");
    assert_reason("{\"account\":\"a\\u009f\",\"type\":\"t\"}", "bad_account");
    assert_reason("{\"account\":\"a\xc2\x85\",\"type\":\"t\"}", "bad_account");
    assert_reason("{\"account\":\"\xc2\x80\",\"type\":\"t\"}", "bad_account");
    /* Just outside the control ranges. */
    assert_ok("{\"account\":\" \",\"type\":\"t\"}", &ev);
    assert_ok("{\"account\":\"~\",\"type\":\"t\"}", &ev);
    assert_ok("{\"account\":\"\\u00a0\",\"type\":\"t\"}", &ev);
    assert_string_equal(ev.account, "\xc2\xa0");
    assert_ok("{\"account\":\"\xc3\x85\",\"type\":\"t\"}", &ev); /* Å: 0x85 as continuation */
    assert_ok("{\"account\":\"\xe2\x80\x85\",\"type\":\"t\"}", &ev);
    /* Escapes are decoded before the checks and the copy. */
    assert_ok("{\"account\":\"a\\/b\\\"c\\\\\",\"type\":\"t\"}", &ev);
    assert_string_equal(ev.account, "a/b\"c\\");
    assert_int_equal(ev.account_len, 6);
    /* Account checked before type. */
    assert_reason("{\"account\":\"\"}", "bad_account");
    assert_reason("{\"account\":\"\",\"type\":\"\"}", "bad_account");
}

static void test_account_length(void **state)
{
    (void)state;
    struct rw_event ev;
    char *s = event_with("account", 128, 'a', "t");
    assert_ok(s, &ev);
    assert_int_equal(ev.account_len, 128);
    assert_int_equal(strlen(ev.account), 128);
    free(s);
    s = event_with("account", 129, 'a', "t");
    assert_reason(s, "bad_account");
    free(s);
    s = event_with("account", 1, 'a', "t");
    assert_ok(s, &ev);
    free(s);

    /* Multi-byte UTF-8 counts in bytes: 64 x "é" (2 bytes) = 128 bytes ok, 65 not. */
    char buf[512], val[300];
    for (int i = 0; i < 64; i++)
        memcpy(val + 2 * i, "\xc3\xa9", 2);
    val[128] = '\0';
    snprintf(buf, sizeof buf, "{\"account\":\"%s\",\"type\":\"t\"}", val);
    assert_ok(buf, &ev);
    assert_int_equal(ev.account_len, 128);
    assert_memory_equal(ev.account, val, 129);
    memcpy(val + 128, "\xc3\xa9", 3);
    snprintf(buf, sizeof buf, "{\"account\":\"%s\",\"type\":\"t\"}", val);
    assert_reason(buf, "bad_account");
    /* 42 x "€" (3 bytes) = 126, + "é" = 128 ok; + "€" = 129 bad. */
    for (int i = 0; i < 42; i++)
        memcpy(val + 3 * i, "\xe2\x82\xac", 3);
    memcpy(val + 126, "\xc3\xa9", 3);
    snprintf(buf, sizeof buf, "{\"account\":\"%s\",\"type\":\"t\"}", val);
    assert_ok(buf, &ev);
    assert_int_equal(ev.account_len, 128);
    memcpy(val + 126, "\xe2\x82\xac", 4);
    snprintf(buf, sizeof buf, "{\"account\":\"%s\",\"type\":\"t\"}", val);
    assert_reason(buf, "bad_account");
    /* Escaped as \u00e9 in the JSON: still counted as decoded bytes. */
    size_t len = (size_t)sprintf(buf, "{\"account\":\"");
    for (int i = 0; i < 64; i++)
        len += (size_t)sprintf(buf + len, "\\u00e9");
    sprintf(buf + len, "\",\"type\":\"t\"}");
    assert_ok(buf, &ev);
    assert_int_equal(ev.account_len, 128);
    /* A 4-byte character from a surrogate pair. */
    assert_ok("{\"account\":\"\\ud83d\\ude00\",\"type\":\"t\"}", &ev);
    assert_string_equal(ev.account, "\xf0\x9f\x98\x80");
    assert_int_equal(ev.account_len, 4);
}

static void test_type(void **state)
{
    (void)state;
    struct rw_event ev;
    assert_reason("{\"account\":\"a\"}", "missing_type");
    assert_reason("{\"account\":\"a\",\"Type\":\"t\"}", "missing_type");
    assert_reason("{\"account\":\"a\",\"type\":null}", "bad_type");
    assert_reason("{\"account\":\"a\",\"type\":7}", "bad_type");
    assert_reason("{\"account\":\"a\",\"type\":false}", "bad_type");
    assert_reason("{\"account\":\"a\",\"type\":[]}", "bad_type");
    assert_reason("{\"account\":\"a\",\"type\":\"\"}", "bad_type");
    assert_reason("{\"account\":\"a\",\"type\":\"lo\\rgin\"}", "bad_type");
    assert_reason("{\"account\":\"a\",\"type\":\"\x7f\"}", "bad_type");
    assert_reason("{\"account\":\"a\",\"type\":\"\\u0090\"}", "bad_type");

    char *s = event_with("type", 64, 'y', NULL);
    assert_ok(s, &ev);
    assert_int_equal(ev.type_len, 64);
    assert_int_equal(strlen(ev.type), 64);
    free(s);
    s = event_with("type", 65, 'y', NULL);
    assert_reason(s, "bad_type");
    free(s);

    /* 32 x "é" = 64 bytes ok; 33 = 66 bad. */
    char buf[256], val[80];
    for (int i = 0; i < 33; i++)
        memcpy(val + 2 * i, "\xc3\xa9", 2);
    val[64] = '\0';
    snprintf(buf, sizeof buf, "{\"account\":\"a\",\"type\":\"%s\"}", val);
    assert_ok(buf, &ev);
    assert_int_equal(ev.type_len, 64);
    val[66] = '\0';
    memcpy(val + 64, "\xc3\xa9", 2);
    snprintf(buf, sizeof buf, "{\"account\":\"a\",\"type\":\"%s\"}", val);
    assert_reason(buf, "bad_type");
}

static void test_ts(void **state)
{
    (void)state;
    struct rw_event ev;
    assert_ok("{\"account\":\"a\",\"type\":\"t\",\"ts\":0}", &ev);
    assert_int_equal(ev.ts_ms, 0);
    assert_ok("{\"account\":\"a\",\"type\":\"t\",\"ts\":1795168800123}", &ev);
    assert_int_equal(ev.ts_ms, INT64_C(1795168800123));
    assert_ok("{\"account\":\"a\",\"type\":\"t\",\"ts\":253402300799999}", &ev);
    assert_int_equal(ev.ts_ms, INT64_C(253402300799999));
    assert_ok("{\"account\":\"a\",\"type\":\"t\",\"ts\":\"2026-11-20T10:00:00.123Z\"}", &ev);
    assert_int_equal(ev.ts_ms, ID_MS + 123);
    assert_ok("{\"account\":\"a\",\"type\":\"t\",\"ts\":\"2026-11-20T12:00:00+02:00\"}", &ev);
    assert_int_equal(ev.ts_ms, ID_MS);
    assert_ok("{\"account\":\"a\",\"type\":\"t\",\"ts\":\"2026-11-20T05:00:00.5-05:00\"}", &ev);
    assert_int_equal(ev.ts_ms, ID_MS + 500);
    assert_ok("{\"account\":\"a\",\"type\":\"t\",\"ts\":\"1970-01-01T00:00:00Z\"}", &ev);
    assert_int_equal(ev.ts_ms, 0);
    assert_ok("{\"account\":\"a\",\"type\":\"t\",\"ts\":\"2024-02-29T00:00:00Z\"}", &ev);
    assert_ok("{\"account\":\"a\",\"type\":\"t\",\"ts\":\"9999-12-31T23:59:59.999Z\"}", &ev);
    assert_int_equal(ev.ts_ms, INT64_C(253402300799999));

    static const char *const bad[] = {
        "-1",
        "-1795168800000",
        "253402300800000",
        "9223372036854775807",
        "-9223372036854775808",
        "1795168800000.0",
        "1.7951688e12",
        "1e3",
        "0.5",
        "true",
        "false",
        "null",
        "{}",
        "[]",
        "[1795168800000]",
        "\"\"",
        "\"1795168800000\"",
        "\"now\"",
        "\"2026-11-20\"",
        "\"2026-11-20T10:00:00\"",
        "\"2026-11-20T10:00:00Z \"",
        "\"2023-02-29T00:00:00Z\"",
        "\"1900-02-29T00:00:00Z\"",
        "\"2026-11-31T00:00:00Z\"",
        "\"2026-11-20T24:00:00Z\"",
        "\"1969-12-31T23:59:59.999Z\"",
        "\"1970-01-01T00:30:00+01:00\"",
        "\"0000-01-01T00:00:00Z\"",
        "\"9999-12-31T23:59:59-00:01\"",
    };
    char buf[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(buf, sizeof buf, "{\"account\":\"a\",\"type\":\"t\",\"ts\":%s}", bad[i]);
        assert_reason(buf, "bad_ts");
    }
    /* ts is checked after account and type, before value. */
    assert_reason("{\"account\":\"\",\"type\":\"t\",\"ts\":true}", "bad_account");
    assert_reason("{\"account\":\"a\",\"ts\":true}", "missing_type");
    assert_reason("{\"account\":\"a\",\"type\":\"t\",\"ts\":true,\"value\":\"x\"}", "bad_ts");
}

static void test_ts_default(void **state)
{
    (void)state;
    static const char s[] = "{\"account\":\"a\",\"type\":\"t\"}";
    struct rw_event ev;
    struct rw_entry_id id = {12345, 99};
    assert_null(rw_event_parse(id, s, sizeof s - 1, 0, false, &ev));
    assert_int_equal(ev.ts_ms, 12345);
    id.ms = 0;
    assert_null(rw_event_parse(id, s, sizeof s - 1, 0, false, &ev));
    assert_int_equal(ev.ts_ms, 0);
    id.ms = UINT64_C(253402300799999);
    assert_null(rw_event_parse(id, s, sizeof s - 1, 0, false, &ev));
    assert_int_equal(ev.ts_ms, INT64_C(253402300799999));
    /* An entry id beyond year 9999 (XADD with an explicit id) has no usable time. */
    id.ms = UINT64_C(253402300800000);
    assert_string_equal(rw_event_parse(id, s, sizeof s - 1, 0, false, &ev), "bad_ts");
    id.ms = UINT64_MAX;
    assert_string_equal(rw_event_parse(id, s, sizeof s - 1, 0, false, &ev), "bad_ts");
    /* An explicit ts wins over the entry id. */
    static const char s2[] = "{\"account\":\"a\",\"type\":\"t\",\"ts\":5}";
    assert_null(rw_event_parse(id, s2, sizeof s2 - 1, 0, false, &ev));
    assert_int_equal(ev.ts_ms, 5);
}

static void test_future_ts(void **state)
{
    (void)state;
    struct rw_event ev;
    char buf[256];
    const int64_t cases[][2] = {
        /* ts offset from now, expected: 1 = future_ts */
        {0, 0}, {DAY_MS - 1, 0}, {DAY_MS, 0}, {DAY_MS + 1, 1}, {30 * DAY_MS, 1}, {-365 * DAY_MS, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int len = snprintf(buf, sizeof buf, "{\"account\":\"a\",\"type\":\"t\",\"ts\":%lld}",
                                 (long long)(NOW + cases[i][0]));
        const char *r = parse_ex(buf, (size_t)len, true, &ev);
        if (cases[i][1])
            assert_string_equal(r, "future_ts");
        else
            assert_null(r);
        /* Never under clock = event. */
        assert_null(parse_ex(buf, (size_t)len, false, &ev));
    }
    /* The RFC 3339 form too. */
    static const char rfc[] =
        "{\"account\":\"a\",\"type\":\"t\",\"ts\":\"2026-11-21T10:00:00.001Z\"}";
    assert_string_equal(parse_ex(rfc, sizeof rfc - 1, true, &ev), "future_ts");
    static const char rfc_ok[] =
        "{\"account\":\"a\",\"type\":\"t\",\"ts\":\"2026-11-21T12:00:00+02:00\"}";
    assert_null(parse_ex(rfc_ok, sizeof rfc_ok - 1, true, &ev));
    /* And the default from the entry id. */
    static const char plain[] = "{\"account\":\"a\",\"type\":\"t\"}";
    const struct rw_entry_id ahead = {(uint64_t)(NOW + 2 * DAY_MS), 0};
    assert_string_equal(rw_event_parse(ahead, plain, sizeof plain - 1, NOW, true, &ev),
                        "future_ts");
    assert_null(rw_event_parse(ahead, plain, sizeof plain - 1, NOW, false, &ev));
    /* Extreme clocks do not overflow. */
    static const char far[] = "{\"account\":\"a\",\"type\":\"t\",\"ts\":253402300799999}";
    assert_null(rw_event_parse(entry_id, far, sizeof far - 1, INT64_MAX, true, &ev));
    assert_null(rw_event_parse(entry_id, far, sizeof far - 1, INT64_MAX - DAY_MS, true, &ev));
    assert_string_equal(rw_event_parse(entry_id, far, sizeof far - 1, INT64_MIN, true, &ev),
                        "future_ts");
    /* bad_ts comes before future_ts; future_ts before bad_value. */
    static const char both[] =
        "{\"account\":\"a\",\"type\":\"t\",\"ts\":9999999999999999,\"value\":null}";
    assert_string_equal(parse_ex(both, sizeof both - 1, true, &ev), "bad_ts");
    static const char fv[] =
        "{\"account\":\"a\",\"type\":\"t\",\"ts\":1999999999999,\"value\":null}";
    assert_string_equal(parse_ex(fv, sizeof fv - 1, true, &ev), "future_ts");
}

static void test_value(void **state)
{
    (void)state;
    struct rw_event ev;
    assert_ok("{\"account\":\"a\",\"type\":\"t\"}", &ev);
    assert_true(ev.value == 1.0);
    assert_ok("{\"account\":\"a\",\"type\":\"t\",\"value\":0}", &ev);
    assert_true(ev.value == 0.0);
    assert_ok("{\"account\":\"a\",\"type\":\"t\",\"value\":42}", &ev);
    assert_true(ev.value == 42.0);
    assert_ok("{\"account\":\"a\",\"type\":\"t\",\"value\":-3}", &ev);
    assert_true(ev.value == -3.0);
    assert_ok("{\"account\":\"a\",\"type\":\"t\",\"value\":4.5}", &ev);
    assert_true(ev.value == 4.5);
    assert_ok("{\"account\":\"a\",\"type\":\"t\",\"value\":-0.25e2}", &ev);
    assert_true(ev.value == -25.0);
    assert_ok("{\"account\":\"a\",\"type\":\"t\",\"value\":1E300}", &ev);
    assert_true(ev.value == 1e300);
    assert_ok("{\"account\":\"a\",\"type\":\"t\",\"value\":9223372036854775807}", &ev);
    assert_true(ev.value == 9223372036854775807.0);

    static const char *const bad[] = {
        "null", "true", "false", "\"1\"", "\"\"", "[]", "[1]", "{}", "{\"v\":1}",
    };
    char buf[128];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(buf, sizeof buf, "{\"account\":\"a\",\"type\":\"t\",\"value\":%s}", bad[i]);
        assert_reason(buf, "bad_value");
    }
    /* value is checked for account events too, before the metadata. */
    assert_reason("{\"account\":\"a\",\"type\":\"account\",\"value\":null,\"name\":1}",
                  "bad_value");
}

static void test_account_meta_set(void **state)
{
    (void)state;
    struct rw_event ev;
    assert_ok("{\"account\":\"acme\",\"type\":\"account\",\"name\":\"Acme Corp\","
              "\"owner\":\"jo@acme.example\",\"tier\":\"enterprise\",\"arr\":120000.5,"
              "\"seats\":250,\"renewal_date\":\"2027-03-31\",\"extra\":{\"x\":1}}",
              &ev);
    assert_true(ev.is_account);
    assert_int_equal(ev.meta_set, RW_META_NAME | RW_META_OWNER | RW_META_TIER | RW_META_ARR |
                                      RW_META_SEATS | RW_META_RENEWAL_DATE);
    assert_int_equal(ev.meta_null, 0);
    assert_string_equal(ev.name, "Acme Corp");
    assert_string_equal(ev.owner, "jo@acme.example");
    assert_string_equal(ev.tier, "enterprise");
    assert_true(ev.arr == 120000.5);
    assert_true(ev.seats == 250.0);
    char date[RW_DATE_MAX];
    rw_format_date(ev.renewal_day, date);
    assert_string_equal(date, "2027-03-31");
    assert_true(ev.value == 1.0);

    /* An account event with no metadata at all. */
    assert_ok("{\"account\":\"acme\",\"type\":\"account\"}", &ev);
    assert_true(ev.is_account);
    assert_int_equal(ev.meta_set, 0);
    assert_int_equal(ev.meta_null, 0);

    /* Only the keys present. */
    assert_ok("{\"account\":\"acme\",\"type\":\"account\",\"seats\":0,\"arr\":0}", &ev);
    assert_int_equal(ev.meta_set, RW_META_ARR | RW_META_SEATS);
    assert_true(ev.arr == 0.0 && ev.seats == 0.0);
    assert_ok("{\"account\":\"acme\",\"type\":\"account\",\"arr\":-0.0}", &ev);
    assert_true(ev.arr == 0.0);
    assert_false(signbit(ev.arr));

    /* Metadata is ignored on other types, even when it is wrong. */
    assert_ok("{\"account\":\"acme\",\"type\":\"login\",\"name\":1,\"owner\":\"x\","
              "\"tier\":[],\"arr\":-1,\"seats\":\"many\",\"renewal_date\":\"2023-02-29\"}",
              &ev);
    assert_false(ev.is_account);
    assert_int_equal(ev.meta_set, 0);
    assert_int_equal(ev.meta_null, 0);
    /* Exact, case-sensitive type. */
    assert_ok("{\"account\":\"a\",\"type\":\"Account\",\"name\":1}", &ev);
    assert_false(ev.is_account);
    assert_ok("{\"account\":\"a\",\"type\":\"account \",\"name\":1}", &ev);
    assert_false(ev.is_account);
    assert_ok("{\"account\":\"a\",\"type\":\"accounts\",\"name\":1}", &ev);
    assert_false(ev.is_account);
    assert_ok("{\"account\":\"a\",\"type\":\"accoun\",\"name\":1}", &ev);
    assert_false(ev.is_account);
}

static void test_account_meta_null(void **state)
{
    (void)state;
    struct rw_event ev;
    assert_ok("{\"account\":\"acme\",\"type\":\"account\",\"name\":null,\"owner\":null,"
              "\"tier\":null,\"arr\":null,\"seats\":null,\"renewal_date\":null}",
              &ev);
    assert_int_equal(ev.meta_set, 0);
    assert_int_equal(ev.meta_null, RW_META_NAME | RW_META_OWNER | RW_META_TIER | RW_META_ARR |
                                       RW_META_SEATS | RW_META_RENEWAL_DATE);
    assert_ok("{\"account\":\"acme\",\"type\":\"account\",\"owner\":null,\"tier\":\"gold\"}", &ev);
    assert_int_equal(ev.meta_set, RW_META_TIER);
    assert_int_equal(ev.meta_null, RW_META_OWNER);
    assert_string_equal(ev.tier, "gold");
}

/* {"account":"a","type":"account","KEY":VALUE} must fail with WANT (NULL: succeed). */
static void check_meta(const char *key, const char *value, const char *want)
{
    char *buf = malloc(strlen(value) + 128);
    assert_non_null(buf);
    sprintf(buf, "{\"account\":\"a\",\"type\":\"account\",\"%s\":%s}", key, value);
    struct rw_event ev;
    const char *r = parse(buf, &ev);
    if (want == NULL && r != NULL)
        fail_msg("%s: unexpected %s", buf, r);
    if (want != NULL && (r == NULL || strcmp(r, want) != 0))
        fail_msg("%s: got %s want %s", buf, r ? r : "ok", want);
    free(buf);
}

static char *quoted(size_t n, char c)
{
    char *s = malloc(n + 3);
    assert_non_null(s);
    s[0] = '"';
    memset(s + 1, c, n);
    s[n + 1] = '"';
    s[n + 2] = '\0';
    return s;
}

static void test_meta_name_tier(void **state)
{
    (void)state;
    static const char *const bad_common[] = {
        "1", "true", "false", "[]", "{}", "\"\"", "\"a\\tb\"", "\"\\u0085\"", "\"a\x7f\"",
    };
    for (size_t i = 0; i < sizeof bad_common / sizeof bad_common[0]; i++) {
        check_meta("name", bad_common[i], "bad_name");
        check_meta("tier", bad_common[i], "bad_tier");
    }
    check_meta("name", "\"Ünïcödé GmbH & Co. KG\"", NULL);
    check_meta("tier", "\"gold\"", NULL);

    char *s = quoted(256, 'n');
    check_meta("name", s, NULL);
    free(s);
    s = quoted(257, 'n');
    check_meta("name", s, "bad_name");
    free(s);
    s = quoted(64, 't');
    check_meta("tier", s, NULL);
    free(s);
    s = quoted(65, 't');
    check_meta("tier", s, "bad_tier");
    free(s);

    struct rw_event ev;
    char buf[600];
    memset(buf, 0, sizeof buf);
    int len = sprintf(buf, "{\"account\":\"a\",\"type\":\"account\",\"name\":\"");
    memset(buf + len, 'n', 256);
    sprintf(buf + len + 256, "\"}");
    assert_ok(buf, &ev);
    assert_int_equal(strlen(ev.name), 256);
}

static void test_meta_owner(void **state)
{
    (void)state;
    static const char *const good[] = {
        "\"jo@acme.example\"",     "\"a@b\"",         "\"first.last+tag@sub.acme.example\"",
        "\"jörg@bücher.example\"", "\"x@localhost\"",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        check_meta("owner", good[i], NULL);
    static const char *const bad[] = {
        "1",
        "true",
        "[]",
        "{}",
        "\"\"",
        "\"a@\"",
        "\"@b\"",
        "\"@bc\"",
        "\"@acme.example\"",
        "\"ab@\"",
        "\"jo.acme.example@\"",
        "\"@\"",
        "\"ab\"",
        "\"jo.acme.example\"",
        "\"jo@@acme.example\"",
        "\"jo@acme@example\"",
        "\"jo @acme.example\"",
        "\"jo@acme example\"",
        "\" jo@acme.example\"",
        "\"jo@acme.example \"",
        "\"Jo <jo@acme.example>\"",
        "\"<jo@acme.example>\"",
        "\"jo@acme.example,bo@acme.example\"",
        "\"jo@acme.example;bo@acme.example\"",
        "\"\\\"jo\\\"@acme.example\"",
        "\"jo@acme.example\\r\\nBcc: x@y\"",
        "\"jo@acme.example\\n\"",
        "\"jo\\t@acme.example\"",
        "\"jo@acme\\u0085.example\"",
        "\"jo@acme\x7f.example\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check_meta("owner", bad[i], "bad_owner");

    /* 254 bytes ok, 255 not. */
    char *s = quoted(254, 'o');
    s[1 + 100] = '@';
    check_meta("owner", s, NULL);
    free(s);
    s = quoted(255, 'o');
    s[1 + 100] = '@';
    check_meta("owner", s, "bad_owner");
    free(s);

    struct rw_event ev;
    assert_ok("{\"account\":\"a\",\"type\":\"account\",\"owner\":\"a@b\"}", &ev);
    assert_string_equal(ev.owner, "a@b");
    assert_int_equal(ev.meta_set, RW_META_OWNER);
}

static void test_meta_numbers(void **state)
{
    (void)state;
    static const char *const good[] = {"0", "0.0", "1", "1.5", "1e9", "120000", "-0"};
    static const char *const bad[] = {"-1", "-0.001", "-1e9", "\"1\"", "true", "[]", "{}", "\"\""};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        check_meta("arr", good[i], NULL);
        check_meta("seats", good[i], NULL);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        check_meta("arr", bad[i], "bad_arr");
        check_meta("seats", bad[i], "bad_seats");
    }
}

static void test_meta_renewal_date(void **state)
{
    (void)state;
    static const char *const good[] = {"\"2024-02-29\"", "\"2000-02-29\"", "\"2027-12-31\"",
                                       "\"1970-01-01\"", "\"0001-01-01\"", "\"9999-12-31\""};
    static const char *const bad[] = {
        "\"2023-02-29\"",
        "\"1900-02-29\"",
        "\"2026-02-30\"",
        "\"2026-04-31\"",
        "\"2026-13-01\"",
        "\"2026-00-10\"",
        "\"2026-01-00\"",
        "\"2026-1-1\"",
        "\"2026/01/01\"",
        "\"20260101\"",
        "\"2026-01-01T00:00:00Z\"",
        "\"2026-01-01 \"",
        "\"\"",
        "\"0000-01-01\"",
        "20260101",
        "true",
        "[]",
        "{}",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        check_meta("renewal_date", good[i], NULL);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check_meta("renewal_date", bad[i], "bad_renewal_date");

    struct rw_event ev;
    assert_ok("{\"account\":\"a\",\"type\":\"account\",\"renewal_date\":\"2024-02-29\"}", &ev);
    assert_int_equal(ev.renewal_day, 19782);
    assert_int_equal(ev.meta_set, RW_META_RENEWAL_DATE);
}

static void test_meta_order(void **state)
{
    (void)state;
    /* name, owner, tier, arr, seats, renewal_date: the first bad one in that order wins. */
    static const char all[] = "{\"account\":\"a\",\"type\":\"account\",\"renewal_date\":1,"
                              "\"seats\":-1,\"arr\":-1,\"tier\":1,\"owner\":1,\"name\":1}";
    assert_reason(all, "bad_name");
    assert_reason("{\"account\":\"a\",\"type\":\"account\",\"renewal_date\":1,"
                  "\"seats\":-1,\"arr\":-1,\"tier\":1,\"owner\":1,\"name\":\"n\"}",
                  "bad_owner");
    assert_reason("{\"account\":\"a\",\"type\":\"account\",\"renewal_date\":1,"
                  "\"seats\":-1,\"arr\":-1,\"tier\":1,\"owner\":null}",
                  "bad_tier");
    assert_reason("{\"account\":\"a\",\"type\":\"account\",\"renewal_date\":1,"
                  "\"seats\":-1,\"arr\":-1}",
                  "bad_arr");
    assert_reason("{\"account\":\"a\",\"type\":\"account\",\"renewal_date\":1,\"seats\":-1}",
                  "bad_seats");
    assert_reason("{\"account\":\"a\",\"type\":\"account\",\"renewal_date\":1}",
                  "bad_renewal_date");
    /* Whole-event order: json, object, account, type, ts, value, metadata. */
    assert_reason("{\"type\":1,\"ts\":-1,\"value\":null,\"name\":1}", "missing_account");
    assert_reason("{\"account\":\"a\",\"type\":1,\"ts\":-1,\"value\":null}", "bad_type");
    assert_reason("{\"account\":\"a\",\"type\":\"account\",\"ts\":-1,\"value\":null,\"name\":1}",
                  "bad_ts");
    assert_reason("{\"account\":\"a\",\"type\":\"account\",\"value\":null,\"name\":1}",
                  "bad_value");
}

static void test_reasons(void **state)
{
    (void)state;
    static const char *const want[] = {
        "missing_event", "bad_entry_id",     "invalid_json", "not_object", "missing_account",
        "bad_account",   "missing_type",     "bad_type",     "bad_ts",     "future_ts",
        "bad_value",     "bad_name",         "bad_owner",    "bad_tier",   "bad_arr",
        "bad_seats",     "bad_renewal_date",
    };
    size_t n = 0;
    while (rw_event_reasons[n] != NULL)
        n++;
    assert_int_equal(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t j = 0; j < n; j++)
            found |= strcmp(rw_event_reasons[j], want[i]) == 0;
        if (!found)
            fail_msg("reason %s missing", want[i]);
        for (const char *p = rw_event_reasons[i]; *p; p++)
            assert_true((*p >= 'a' && *p <= 'z') || *p == '_');
    }
}

/* Every reason rw_event_parse returns is one of rw_event_reasons (same pointer text). */
static void test_reasons_listed(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "x",
        "[]",
        "{}",
        "{\"account\":1}",
        "{\"account\":\"a\"}",
        "{\"account\":\"a\",\"type\":1}",
        "{\"account\":\"a\",\"type\":\"t\",\"ts\":-1}",
        "{\"account\":\"a\",\"type\":\"t\",\"ts\":1999999999999}",
        "{\"account\":\"a\",\"type\":\"t\",\"value\":\"1\"}",
        "{\"account\":\"a\",\"type\":\"account\",\"name\":1}",
        "{\"account\":\"a\",\"type\":\"account\",\"owner\":1}",
        "{\"account\":\"a\",\"type\":\"account\",\"tier\":1}",
        "{\"account\":\"a\",\"type\":\"account\",\"arr\":-1}",
        "{\"account\":\"a\",\"type\":\"account\",\"seats\":-1}",
        "{\"account\":\"a\",\"type\":\"account\",\"renewal_date\":1}",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        struct rw_event ev;
        const char *r = parse_ex(inputs[i], strlen(inputs[i]), true, &ev);
        assert_non_null(r);
        bool found = false;
        for (size_t j = 0; rw_event_reasons[j] != NULL; j++)
            found |= strcmp(rw_event_reasons[j], r) == 0;
        if (!found)
            fail_msg("%s: reason %s not listed", inputs[i], r);
    }
}

/* A cheap fuzz pass: mutated events never crash and always give a listed reason or succeed. */
static void test_mutations(void **state)
{
    (void)state;
    static const char seed[] =
        "{\"account\":\"acme\",\"type\":\"account\",\"ts\":\"2026-11-20T10:00:00.123+02:00\","
        "\"value\":2.5,\"name\":\"Acme\",\"owner\":\"jo@acme.example\",\"tier\":\"gold\","
        "\"arr\":100,\"seats\":5,\"renewal_date\":\"2027-01-31\"}";
    char buf[sizeof seed];
    uint32_t x = 2463534242u;
    for (int round = 0; round < 20000; round++) {
        memcpy(buf, seed, sizeof seed);
        const int flips = 1 + round % 4;
        for (int k = 0; k < flips; k++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            buf[x % (sizeof seed - 1)] = (char)(x >> 8);
        }
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        const size_t len = x % sizeof seed;
        struct rw_event ev;
        const char *r = parse_ex(buf, len, round & 1, &ev);
        if (r == NULL) {
            assert_true(ev.account_len >= 1 && ev.account_len <= RW_ACCOUNT_MAX);
            assert_int_equal(strlen(ev.account), ev.account_len);
            assert_true(ev.type_len >= 1 && ev.type_len <= RW_TYPE_MAX);
            continue;
        }
        bool found = false;
        for (size_t j = 0; rw_event_reasons[j] != NULL; j++)
            found |= strcmp(rw_event_reasons[j], r) == 0;
        assert_true(found);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal),
        cmocka_unit_test(test_invalid_json),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_not_object),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_big_payload),
        cmocka_unit_test(test_account),
        cmocka_unit_test(test_account_length),
        cmocka_unit_test(test_type),
        cmocka_unit_test(test_ts),
        cmocka_unit_test(test_ts_default),
        cmocka_unit_test(test_future_ts),
        cmocka_unit_test(test_value),
        cmocka_unit_test(test_account_meta_set),
        cmocka_unit_test(test_account_meta_null),
        cmocka_unit_test(test_meta_name_tier),
        cmocka_unit_test(test_meta_owner),
        cmocka_unit_test(test_meta_numbers),
        cmocka_unit_test(test_meta_renewal_date),
        cmocka_unit_test(test_meta_order),
        cmocka_unit_test(test_reasons),
        cmocka_unit_test(test_reasons_listed),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
