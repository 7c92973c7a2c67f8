/* test_digest.c - digest windows (epoch-aligned, shifted, boundaries, before 1970),
 * stable ids, the digest object's order, and the sink keys digest, digest_offset and
 * catch_up_digest with their FILE:LINE errors. */
#include "config_test.h"

#include "renewald/core/digest.h"

#define DAY  INT64_C(86400000)
#define HOUR INT64_C(3600000)
#define T0   INT64_C(1795132800000) /* 2026-11-20T00:00:00Z */

static void test_windows(void **state)
{
    (void)state;
    assert_true(rw_digest_window_start(T0, DAY, 0) == T0); /* a boundary is its window's start */
    assert_true(rw_digest_window_start(T0 - 1, DAY, 0) == T0 - DAY);
    assert_true(rw_digest_window_start(T0 + DAY - 1, DAY, 0) == T0);
    assert_true(rw_digest_window_start(T0 + 5 * HOUR, DAY, 6 * HOUR) == T0 - 18 * HOUR);
    assert_true(rw_digest_window_start(T0 + 6 * HOUR, DAY, 6 * HOUR) == T0 + 6 * HOUR);
    assert_true(rw_digest_window_start(-1, HOUR, 0) == -HOUR);
    assert_true(rw_digest_window_start(-HOUR, HOUR, 0) == -HOUR);
    assert_true(rw_digest_window_start(7 * HOUR + 5, 4 * HOUR, HOUR) == 5 * HOUR);
    /* over once now reaches the end; a catch-up window [T, T] once now is past T */
    assert_false(rw_digest_window_over(T0, T0 + DAY, T0 + DAY - 1));
    assert_true(rw_digest_window_over(T0, T0 + DAY, T0 + DAY));
    assert_false(rw_digest_window_over(T0, T0, T0));
    assert_true(rw_digest_window_over(T0, T0, T0 + 1));
}

static void test_ids(void **state)
{
    (void)state;
    char a[RW_ALERT_ID_LEN + 1], b[RW_ALERT_ID_LEN + 1];
    rw_digest_id("hook", T0, T0 + DAY, "", a);
    rw_digest_id("hook", T0, T0 + DAY, "", b);
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), RW_ALERT_ID_LEN);
    /* sha256("digest\0hook\0" "1795132800000\0" "1795219200000\0")[:16], as the tests compute */
    assert_string_equal(a, "45a70bed653359828d130fc2a2eaa228");
    rw_digest_id("hook", T0, T0 + DAY, "a@b.c", b);
    assert_string_not_equal(a, b);
    rw_digest_id("hoo", T0, T0 + DAY, "ka@b.c", a);
    assert_string_not_equal(a, b);
    rw_digest_id("hook", T0 + DAY, T0 + 2 * DAY, "", b);
    rw_digest_id("hook", T0, T0 + DAY, "", a);
    assert_string_not_equal(a, b);
}

static json_t *alert(const char *id, const char *band, int days, const char *ts)
{
    json_t *a =
        json_pack("{s:s, s:s, s:s, s:s}", "id", id, "kind", "band_change", "band", band, "ts", ts);
    json_object_set_new(a, "days_to_renewal", days < 0 ? json_null() : json_integer(days));
    return a;
}

static void test_build_orders_most_urgent_first(void **state)
{
    (void)state;
    json_t *list = json_array();
    json_array_append_new(list, alert("w-near", "watch", 3, "2026-11-20T01:00:00.000Z"));
    json_array_append_new(list, alert("h", "healthy", 1, "2026-11-20T01:00:00.000Z"));
    json_array_append_new(list, alert("r-none", "at_risk", -1, "2026-11-20T01:00:00.000Z"));
    json_array_append_new(list, alert("r-far", "at_risk", 90, "2026-11-20T02:00:00.000Z"));
    json_array_append_new(list, alert("r-near-late", "at_risk", 10, "2026-11-20T05:00:00.000Z"));
    json_array_append_new(list, alert("r-near", "at_risk", 10, "2026-11-20T03:00:00.000Z"));
    json_t *d = rw_digest_build("hook", T0, T0 + DAY, NULL, list);
    static const char *const want[] = {"r-near", "r-near-late", "r-far", "r-none", "w-near", "h"};
    const json_t *got = json_object_get(d, "alerts");
    assert_int_equal(json_array_size(got), 6);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(rw_alert_str(json_array_get(got, i), "id"), want[i]);
    assert_string_equal(rw_alert_str(d, "kind"), "digest");
    assert_true(rw_digest_is(d));
    assert_false(rw_digest_is(json_array_get(got, 0)));
    assert_string_equal(rw_alert_str(d, "window_start"), "2026-11-20T00:00:00.000Z");
    assert_string_equal(rw_alert_str(d, "window_end"), "2026-11-21T00:00:00.000Z");
    assert_null(json_object_get(d, "owner"));
    char id[RW_ALERT_ID_LEN + 1];
    rw_digest_id("hook", T0, T0 + DAY, "", id);
    assert_string_equal(rw_alert_str(d, "id"), id);
    json_decref(d);
    d = rw_digest_build("mail", T0, T0 + DAY, "pat@x.example", list);
    assert_string_equal(rw_alert_str(d, "owner"), "pat@x.example");
    rw_digest_id("mail", T0, T0 + DAY, "pat@x.example", id);
    assert_string_equal(rw_alert_str(d, "id"), id);
    json_decref(d);
    json_decref(list);
}

static void test_config_keys(void **state)
{
    (void)state;
    struct rw_config *cfg =
        load_ok(BASE WEB MAIL "[sink \"s\"]\ntype = slack\nurl = https://hooks.slack.com/x\n"
                              "digest = 1d\ndigest_offset = 6h\ncatch_up_digest = false\n"
                              "[sink \"l\"]\ntype = log\ncatch_up_digest = true\n");
    const struct rw_sink_conf *w = &cfg->sinks[0], *m = &cfg->sinks[1], *s = &cfg->sinks[2],
                              *l = &cfg->sinks[3];
    assert_true(w->digest_ms == 0 && w->digest_offset_ms == 0);
    assert_false(w->catch_up_digest); /* webhook: off by default */
    assert_true(m->catch_up_digest);  /* email: on */
    assert_true(s->digest_ms == DAY && s->digest_offset_ms == 6 * HOUR);
    assert_false(s->catch_up_digest); /* slack: on unless told */
    assert_true(l->catch_up_digest);
    rw_config_free(cfg);
    cfg = load_ok(BASE "[sink \"s\"]\ntype = slack\nurl = https://hooks.slack.com/x\n");
    assert_true(cfg->sinks[0].catch_up_digest);
    rw_config_free(cfg);
    expect_error(BASE WEB "digest = 30s\n", 6, "digest must be 0 (none) or at least 1m");
    expect_error(BASE WEB "digest = 1h\ndigest_offset = 1h\n", 7,
                 "digest_offset must be shorter than digest in [sink \"w\"]");
    expect_error(BASE WEB "digest_offset = 1m\n", 6, "digest_offset must be shorter than digest");
    expect_error(BASE WEB "digest = 32d\n", 6, "digest");
    expect_error(BASE WEB "digest = soon\n", 6, "digest");
    expect_error(BASE WEB "catch_up_digest = maybe\n", 6, "catch_up_digest");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_windows),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_build_orders_most_urgent_first),
        cmocka_unit_test_setup_teardown(test_config_keys, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
