/* test_alert.c - the alert object of SPEC §3 and its id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "renewald/alert.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 2026-11-20T10:00:00.123Z */
#define EXPECTED_ID "6c5e61c311964b1b525c86a7c0644a14"
#define TS          INT64_C(1795168800123)

static const struct rw_alert_signal sigs[] = {
    {.name = "logins", .present = true, .x = 0.0312, .score = 12.345, .weight = 3},
    {.name = "csat", .present = false, .x = 1, .score = 50, .weight = 1},
    {.name = "last_seen", .present = true, .x = INFINITY, .score = 0, .weight = 1},
};

static json_t *band_change(void)
{
    struct rw_alert_input in = {
        .id = "0123456789abcdef0123456789abcdef",
        .kind = RW_ALERT_BAND_CHANGE,
        .ts_ms = TS,
        .account = "acct-1",
        .name = "Acme Corp",
        .owner = "jane@example.com",
        .tier = "enterprise",
        .arr = 120000,
        .has_score = true,
        .score = 31.44,
        .band = RW_BAND_AT_RISK,
        .previous_band = RW_BAND_WATCH,
        .signals = sigs,
        .nsignals = 3,
        .has_renewal = true,
        .renewal_day = 20833, /* 2027-01-15 */
        .has_days_to_renewal = true,
        .days_to_renewal = 56,
        .window = 30, /* ignored for band_change */
    };
    return rw_alert_build(&in);
}

static void assert_json_equal(json_t *got, const char *want_text)
{
    json_error_t e;
    json_t *want = json_loads(want_text, 0, &e);
    if (!want)
        fail_msg("bad expected JSON: %s", e.text);
    if (!json_equal(got, want)) {
        char *g = rw_alert_dumps(got);
        fail_msg("got %s\nwant %s", g, want_text);
    }
    json_decref(want);
}

static void test_band_change(void **state)
{
    (void)state;
    json_t *a = band_change();
    assert_json_equal(a, "{\"id\":\"0123456789abcdef0123456789abcdef\",\"kind\":\"band_change\","
                         "\"ts\":\"2026-11-20T10:00:00.123Z\",\"account\":\"acct-1\","
                         "\"name\":\"Acme Corp\",\"owner\":\"jane@example.com\","
                         "\"tier\":\"enterprise\",\"arr\":120000.0,\"score\":31.4,"
                         "\"band\":\"at_risk\",\"previous_band\":\"watch\","
                         "\"signals\":{\"logins\":{\"x\":0.0312,\"score\":12.3,\"weight\":3.0},"
                         "\"csat\":{\"x\":null,\"score\":null,\"weight\":1.0},"
                         "\"last_seen\":{\"x\":null,\"score\":0.0,\"weight\":1.0}},"
                         "\"renewal_date\":\"2027-01-15\",\"days_to_renewal\":56}");
    /* Key order is the documented one, and reals print short. */
    char *s = rw_alert_dumps(a);
    assert_non_null(strstr(s, "\"score\":31.4,"));
    assert_true(strncmp(s, "{\"id\":", 6) == 0);
    assert_true(strstr(s, "\"kind\"") < strstr(s, "\"ts\""));
    assert_true(strstr(s, "\"band\"") < strstr(s, "\"previous_band\""));
    assert_null(strstr(s, "\"window\""));
    assert_null(strchr(s, '\n'));
    free(s);
    json_decref(a);
}

static void test_renewal_window(void **state)
{
    (void)state;
    struct rw_alert_input in = {
        .id = "ffffffffffffffffffffffffffffffff",
        .kind = RW_ALERT_RENEWAL_WINDOW,
        .ts_ms = 0,
        .account = "acct-2",
        .arr = NAN,
        .has_score = false,
        .band = RW_BAND_UNKNOWN,
        .previous_band = RW_BAND_AT_RISK, /* ignored for renewal_window */
        .has_renewal = true,
        .renewal_day = 0,
        .has_days_to_renewal = true,
        .days_to_renewal = 30,
        .window = 30,
    };
    json_t *a = rw_alert_build(&in);
    assert_json_equal(a, "{\"id\":\"ffffffffffffffffffffffffffffffff\",\"kind\":\"renewal_window\","
                         "\"ts\":\"1970-01-01T00:00:00.000Z\",\"account\":\"acct-2\","
                         "\"name\":null,\"owner\":null,\"tier\":null,\"arr\":null,\"score\":null,"
                         "\"band\":\"unknown\",\"signals\":{},\"renewal_date\":\"1970-01-01\","
                         "\"days_to_renewal\":30,\"window\":30}");
    assert_null(json_object_get(a, "previous_band"));
    json_decref(a);
}

static void test_nulls(void **state)
{
    (void)state;
    struct rw_alert_signal s = {.name = "x", .present = true, .x = NAN, .score = NAN, .weight = 2};
    struct rw_alert_input in = {
        .id = "id",
        .kind = RW_ALERT_BAND_CHANGE,
        .account = "a",
        .arr = INFINITY,
        .has_score = true,
        .score = NAN,
        .band = RW_BAND_WATCH,
        .previous_band = RW_BAND_HEALTHY,
        .signals = &s,
        .nsignals = 1,
    };
    json_t *a = rw_alert_build(&in);
    assert_true(json_is_null(json_object_get(a, "arr")));
    assert_true(json_is_null(json_object_get(a, "score")));
    assert_true(json_is_null(json_object_get(a, "renewal_date")));
    assert_true(json_is_null(json_object_get(a, "days_to_renewal")));
    json_t *sx = json_object_get(json_object_get(a, "signals"), "x");
    assert_true(json_is_null(json_object_get(sx, "x")));
    assert_true(json_is_null(json_object_get(sx, "score")));
    assert_true(isnan(rw_alert_num(a, "arr")));
    assert_null(rw_alert_str(a, "name"));
    assert_string_equal(rw_alert_str(a, "band"), "watch");
    json_decref(a);

    /* Rounding to one decimal, half away from zero; negatives are not special. */
    json_t *v = rw_alert_score_json(31.45);
    assert_true(fabs(json_real_value(v) - 31.5) < 1e-9);
    json_decref(v);
    v = rw_alert_score_json(99.96);
    assert_true(fabs(json_real_value(v) - 100.0) < 1e-9);
    json_decref(v);

    /* Invalid UTF-8 in a name does not lose the key. */
    in.name = "Caf\xe9";
    a = rw_alert_build(&in);
    assert_string_equal(rw_alert_str(a, "name"), "Caf?");
    json_decref(a);
}

static bool is_lower_hex(const char *s)
{
    for (; *s; s++) {
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    }
    return true;
}

static void test_id(void **state)
{
    (void)state;
    char a[RW_ALERT_ID_LEN + 1], b[RW_ALERT_ID_LEN + 1];
    rw_alert_id("acct-1", RW_ALERT_BAND_CHANGE, "7", a);
    rw_alert_id("acct-1", RW_ALERT_BAND_CHANGE, "7", b);
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), 32);
    assert_true(is_lower_hex(a));
    /* SHA-256("acct-1\0band_change\0" "7"), first 16 bytes:
     * python3: hashlib.sha256(b"acct-1\x00band_change\x007").hexdigest()[:32] */
    assert_string_equal(a, EXPECTED_ID);
    rw_alert_id("acct-1", RW_ALERT_RENEWAL_WINDOW, "7", b);
    assert_string_not_equal(a, b);
    rw_alert_id("acct-1", RW_ALERT_BAND_CHANGE, "8", b);
    assert_string_not_equal(a, b);
    /* The separator keeps ("acct-1", "7") and ("acct-", "17") apart. */
    rw_alert_id("acct-", RW_ALERT_BAND_CHANGE, "17", b);
    assert_string_not_equal(a, b);
    rw_alert_id("", RW_ALERT_BAND_CHANGE, "", b);
    assert_int_equal(strlen(b), 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_band_change),
        cmocka_unit_test(test_renewal_window),
        cmocka_unit_test(test_nulls),
        cmocka_unit_test(test_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
