/* test_alert.c - the alert of SPEC §3 rendered once as JSON text, its drivers, url and id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "renewald/core/account_store.h"
#include "renewald/core/alert.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 2026-11-20T10:00:00.123Z */
#define EXPECTED_ID "6c5e61c311964b1b525c86a7c0644a14"
#define TS          INT64_C(1795168800123)

static const struct rw_alert_signal sigs[] = {
    {.name = "logins",
     .present = true,
     .x = 0.0312,
     .score = 12.345,
     .weight = 3,
     .text = "0.031 per seat/day"},
    {.name = "csat", .present = false, .x = 1, .score = 50, .weight = 1, .text = "4.5 avg"},
    {.name = "last_seen", .present = true, .x = INFINITY, .score = 0, .weight = 1, .text = "never"},
};

static struct rw_store *st;

static struct rw_account *account(const char *id)
{
    struct rw_account *a = rw_store_upsert(st, id, strlen(id), NULL);
    assert_non_null(a);
    return a;
}

/* Renders AL and parses it back. */
static json_t *render(const struct rw_alert *al, const char *url, char **text)
{
    struct rw_jsonw w;
    rw_jsonw_init(&w);
    rw_alert_render(&w, al, url);
    json_error_t e;
    json_t *j = json_loads(w.buf, 0, &e);
    if (!j)
        fail_msg("not JSON (%s): %s", e.text, w.buf);
    if (text)
        *text = rw_jsonw_take(&w, NULL);
    rw_jsonw_free(&w);
    return j;
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
    struct rw_account *a = account("acct-1");
    rw_store_set_name(st, a, "Acme Corp", 9);
    a->owner = rw_store_intern(st, "jane@example.com", 16);
    a->tier = rw_store_intern(st, "enterprise", 10);
    a->arr = 120000;
    a->renewal_day = 20833; /* 2027-01-15 */
    struct rw_alert al = {.id = "0123456789abcdef0123456789abcdef",
                          .kind = RW_ALERT_BAND_CHANGE,
                          .band = RW_BAND_AT_RISK,
                          .previous_band = RW_BAND_WATCH,
                          .window = 30, /* ignored for band_change */
                          .ts_ms = TS,
                          .account = a,
                          .days_to_renewal = 56,
                          .score = 314,
                          .score_7d = 455,
                          .score_30d = RW_NO_TENTHS,
                          .signals = sigs,
                          .nsignals = 3};
    char *s;
    json_t *j = render(&al, "https://crm.example.com/a/{account}?x=1", &s);
    assert_json_equal(j, "{\"id\":\"0123456789abcdef0123456789abcdef\",\"kind\":\"band_change\","
                         "\"ts\":\"2026-11-20T10:00:00.123Z\",\"account\":\"acct-1\","
                         "\"name\":\"Acme Corp\",\"owner\":\"jane@example.com\","
                         "\"tier\":\"enterprise\",\"arr\":120000.0,\"score\":31.4,"
                         "\"band\":\"at_risk\",\"previous_band\":\"watch\","
                         "\"signals\":{\"logins\":{\"x\":0.0312,\"score\":12.3,\"weight\":3.0,"
                         "\"text\":\"0.031 per seat/day\"},"
                         "\"csat\":{\"x\":null,\"score\":null,\"weight\":1.0,\"text\":null},"
                         "\"last_seen\":{\"x\":null,\"score\":0.0,\"weight\":1.0,"
                         "\"text\":\"never\"}},"
                         "\"renewal_date\":\"2027-01-15\",\"days_to_renewal\":56,"
                         "\"score_7d\":45.5,\"score_30d\":null,"
                         "\"drivers\":[\"logins\",\"last_seen\"],"
                         "\"url\":\"https://crm.example.com/a/acct-1?x=1\"}");
    /* Key order is the documented one, and reals print short. */
    assert_non_null(strstr(s, "\"score\":31.4,"));
    assert_true(strncmp(s, "{\"id\":", 6) == 0);
    assert_true(strstr(s, "\"kind\"") < strstr(s, "\"ts\""));
    assert_true(strstr(s, "\"band\"") < strstr(s, "\"previous_band\""));
    assert_true(strstr(s, "\"drivers\"") < strstr(s, "\"url\""));
    assert_null(strstr(s, "\"window\""));
    assert_null(strchr(s, '\n'));
    free(s);
    json_decref(j);
}

static void test_renewal_window(void **state)
{
    (void)state;
    struct rw_account *a = account("acct-2");
    a->renewal_day = 0;
    struct rw_alert al = {.id = "ffffffffffffffffffffffffffffffff",
                          .kind = RW_ALERT_RENEWAL_WINDOW,
                          .band = RW_BAND_UNKNOWN,
                          .previous_band = RW_BAND_AT_RISK, /* ignored for renewal_window */
                          .window = 30,
                          .ts_ms = 0,
                          .account = a,
                          .days_to_renewal = 30,
                          .score = RW_NO_TENTHS,
                          .score_7d = RW_NO_TENTHS,
                          .score_30d = RW_NO_TENTHS};
    json_t *j = render(&al, NULL, NULL);
    assert_json_equal(j, "{\"id\":\"ffffffffffffffffffffffffffffffff\",\"kind\":\"renewal_window\","
                         "\"ts\":\"1970-01-01T00:00:00.000Z\",\"account\":\"acct-2\","
                         "\"name\":null,\"owner\":null,\"tier\":null,\"arr\":null,\"score\":null,"
                         "\"band\":\"unknown\",\"signals\":{},\"renewal_date\":\"1970-01-01\","
                         "\"days_to_renewal\":30,\"window\":30,\"score_7d\":null,"
                         "\"score_30d\":null,\"drivers\":[],\"url\":null}");
    assert_null(json_object_get(j, "previous_band"));
    json_decref(j);
}

static void test_nulls_and_escaping(void **state)
{
    (void)state;
    struct rw_alert_signal s = {.name = "x", .present = true, .x = NAN, .score = 0, .weight = 2};
    struct rw_account *a = account("a \"b\"/\xc3\xa9\n");
    a->arr = INFINITY;
    rw_store_set_name(st, a, "Caf\xe9 <@here>", 12); /* a stray Latin-1 byte */
    struct rw_alert al = {.id = "id",
                          .kind = RW_ALERT_BAND_CHANGE,
                          .band = RW_BAND_WATCH,
                          .previous_band = RW_BAND_HEALTHY,
                          .account = a,
                          .days_to_renewal = INT32_MIN,
                          .score = RW_NO_TENTHS,
                          .score_7d = RW_NO_TENTHS,
                          .score_30d = RW_NO_TENTHS,
                          .signals = &s,
                          .nsignals = 1};
    json_t *j = render(&al, "http://x/{account}", NULL);
    assert_true(json_is_null(json_object_get(j, "arr")));
    assert_true(json_is_null(json_object_get(j, "score")));
    assert_true(json_is_null(json_object_get(j, "renewal_date")));
    assert_true(json_is_null(json_object_get(j, "days_to_renewal")));
    json_t *sx = json_object_get(json_object_get(j, "signals"), "x");
    assert_true(json_is_null(json_object_get(sx, "x")));
    assert_true(isnan(rw_alert_num(j, "arr")));
    assert_string_equal(rw_alert_str(j, "account"), "a \"b\"/\xc3\xa9\n");
    assert_string_equal(rw_alert_str(j, "name"), "Caf\xef\xbf\xbd <@here>");
    assert_string_equal(rw_alert_str(j, "url"), "http://x/a%20%22b%22%2F%C3%A9%0A");
    json_decref(j);
}

static void test_drivers(void **state)
{
    (void)state;
    struct rw_alert_signal s[5] = {
        {.name = "a", .present = true, .score = 100, .weight = 5}, /* pulls nothing */
        {.name = "b", .present = true, .score = 50, .weight = 1},  /* 50 */
        {.name = "c", .present = false, .score = 0, .weight = 9},  /* absent */
        {.name = "d", .present = true, .score = 90, .weight = 5},  /* 50: tie, after b */
        {.name = "e", .present = true, .score = 0, .weight = 1},   /* 100 */
    };
    int out[RW_ALERT_DRIVERS];
    int n = rw_alert_drivers(s, 5, out);
    assert_int_equal(n, 3);
    assert_int_equal(out[0], 4);
    assert_int_equal(out[1], 1);
    assert_int_equal(out[2], 3);
    s[4].present = false;
    s[1].present = false;
    n = rw_alert_drivers(s, 5, out);
    assert_int_equal(n, 1);
    assert_int_equal(out[0], 3);
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

static int setup(void **state)
{
    (void)state;
    st = rw_store_new(1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rw_store_free(st);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_band_change),
        cmocka_unit_test(test_renewal_window),
        cmocka_unit_test(test_nulls_and_escaping),
        cmocka_unit_test(test_drivers),
        cmocka_unit_test(test_id),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
