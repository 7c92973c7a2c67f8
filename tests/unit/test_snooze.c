/* test_snooze.c - the snooze request body checked against now, and a snooze applied
 * through the engine: dirty, counted, alerting once when removed. */
#include "config_test.h"

#include "renewald/core/snooze.h"

#define DAY  INT64_C(86400000)
#define HOUR INT64_C(3600000)
#define T0   INT64_C(1795132800000) /* 2026-11-20T00:00:00Z */

#define SIMPLE                                                                                     \
    BASE "[daemon]\nsweep_interval = 1h\n[signal \"logins\"]\ntypes = login\naggregate = "         \
         "rate\nhalf_life = 2d\nlow = 0.5\n"                                                       \
         "high = 3\n[score]\nhealthy = 70\nwatch = 40\nhysteresis = 3\nconfirm = 0\n"              \
         "min_history = 0\nhistory = 0s\n"

static bool parse(const char *body, int64_t now, struct rw_snooze_req *r, char *err)
{
    return rw_snooze_parse(body, strlen(body), now, r, err, 160);
}

static void test_parse_accepts(void **state)
{
    (void)state;
    struct rw_snooze_req r;
    char err[160];
    assert_true(parse("{\"until\": \"2026-12-01\"}", T0, &r, err));
    assert_true(r.until_ms == T0 + 11 * DAY);
    assert_string_equal(r.reason, "");
    assert_string_equal(r.by, "");
    assert_true(parse("{\"until\": \"2026-11-20T00:00:00.001Z\", \"reason\": \"call\", "
                      "\"by\": null}",
                      T0, &r, err));
    assert_true(r.until_ms == T0 + 1);
    assert_string_equal(r.reason, "call");
    /* exactly 365 days ahead, and 256-byte texts */
    char body[700];
    char text[257];
    memset(text, 'x', 256);
    text[256] = '\0';
    snprintf(body, sizeof body, "{\"until\": \"2027-11-20T00:00:00Z\", \"by\": \"%s\"}", text);
    assert_true(parse(body, T0, &r, err));
    assert_true(r.until_ms == T0 + 365 * DAY);
    assert_string_equal(r.by, text);
}

static void test_parse_refuses(void **state)
{
    (void)state;
    static const struct {
        const char *body, *word;
    } bad[] = {
        {"", "JSON"},
        {"{", "JSON"},
        {"[]", "object"},
        {"\"2026-12-01\"", "object"},
        {"{}", "required"},
        {"{\"until\": null}", "required"},
        {"{\"until\": 5}", "until must"},
        {"{\"until\": \"2026-13-01\"}", "until must"},
        {"{\"until\": \"2026-12-01x\"}", "until must"},
        {"{\"until\": \"2026-11-20\"}", "after now"},
        {"{\"until\": \"2026-11-19T23:59:59Z\"}", "after now"},
        {"{\"until\": \"2027-11-20T00:00:00.001Z\"}", "365"},
        {"{\"until\": \"2026-12-01\", \"reason\": 1}", "reason must"},
        {"{\"until\": \"2026-12-01\", \"by\": {}}", "by must"},
        {"{\"until\": \"2026-12-01\", \"note\": \"x\"}", "unknown key"},
        {"{\"until\": \"2026-12-01\", \"until\": \"2026-12-02\"}", "JSON"},
        {"{\"until\": \"2026-12-01\", \"by\": \"a\\u0000b\"}", "JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct rw_snooze_req r;
        char err[160] = "";
        if (parse(bad[i].body, T0, &r, err))
            fail_msg("accepted %s", bad[i].body);
        if (!strstr(err, bad[i].word))
            fail_msg("%s: '%s' does not say %s", bad[i].body, err, bad[i].word);
    }
    char body[700], text[258];
    memset(text, 'x', 257);
    text[257] = '\0';
    snprintf(body, sizeof body, "{\"until\": \"2026-12-01\", \"reason\": \"%s\"}", text);
    struct rw_snooze_req r;
    char err[160];
    assert_false(parse(body, T0, &r, err));
    assert_non_null(strstr(err, "longer than 256"));
    /* a body that is not NUL-terminated is read to its length only */
    assert_true(rw_snooze_parse("{\"until\": \"2026-12-01\"}xyz", 23, T0, &r, err, sizeof err));
}

/* ---- applied through the engine ---- */

static size_t nalerts; /* of account s */
static char last_alert[4096];

static void on_alert(void *arg, const struct rw_alert *al)
{
    (void)arg;
    if (strcmp(al->account->id, "s") != 0)
        return; /* the other account, without logins, is at_risk at once */
    nalerts++;
    snprintf(last_alert, sizeof last_alert, "%s", al->json);
}

static void event(struct rw_engine *e, const char *acct, const char *type, int64_t ts, double value)
{
    struct rw_event ev;
    memset(&ev, 0, sizeof ev);
    snprintf(ev.account, sizeof ev.account, "%s", acct);
    ev.account_len = strlen(ev.account);
    snprintf(ev.type, sizeof ev.type, "%s", type);
    ev.type_len = strlen(ev.type);
    ev.ts_ms = ts;
    ev.has_ts = true;
    ev.value = value;
    rw_engine_advance(e, ts);
    rw_engine_work(e, SIZE_MAX);
    rw_engine_apply(e, &ev, ts);
}

static void test_apply_and_remove(void **state)
{
    (void)state;
    struct rw_config *cfg = load_ok(SIMPLE);
    struct rw_scorer *sc = rw_scorer_new(cfg);
    struct rw_store *st = rw_store_new(rw_scorer_nslots(sc));
    struct rw_engine_hooks h = {.alert = on_alert};
    struct rw_engine *e = rw_engine_new(cfg, sc, st, &h, NULL);
    nalerts = 0;
    for (int64_t t = T0; t < T0 + 3 * DAY; t += 6 * HOUR)
        event(e, "s", "login", t, 2);
    size_t before = nalerts;
    struct rw_snooze_req req = {.until_ms = T0 + 30 * DAY};
    snprintf(req.reason, sizeof req.reason, "on it");
    assert_int_equal(rw_snooze_apply(e, st, "nobody", 6, &req), RW_SNOOZE_UNKNOWN);
    rw_store_clear_dirty(st);
    assert_int_equal(rw_snooze_apply(e, st, "s", 1, &req), RW_SNOOZE_DONE);
    struct rw_account *a = rw_store_find(st, "s", 1);
    size_t ndirty;
    rw_store_dirty(st, &ndirty);
    assert_int_equal(ndirty, 1);
    assert_true(rw_store_snoozed_until(st, a) == T0 + 30 * DAY);
    assert_string_equal(rw_store_ext(st, a)->snooze_reason, "on it");
    assert_null(rw_store_ext(st, a)->snoozed_by);
    assert_int_equal(rw_store_snoozed(st), 1);
    /* silence for days: at_risk while snoozed, nothing told */
    event(e, "other", "noise", T0 + 10 * DAY, 1); /* not a signal */
    assert_int_equal(a->band, RW_BAND_AT_RISK);
    if (nalerts != before)
        fail_msg("told while snoozed: %s", last_alert);
    /* a sweep in progress: not now */
    rw_engine_advance(e, T0 + 10 * DAY + 2 * HOUR);
    if (rw_engine_busy(e)) {
        assert_int_equal(rw_snooze_apply(e, st, "s", 1, NULL), RW_SNOOZE_BUSY);
        rw_engine_work(e, SIZE_MAX);
    }
    assert_int_equal(rw_snooze_apply(e, st, "s", 1, NULL), RW_SNOOZE_DONE);
    assert_int_equal(nalerts, before + 1);
    assert_non_null(strstr(last_alert, "\"band\":\"at_risk\""));
    assert_true(rw_store_snoozed_until(st, a) == RW_NO_TIME);
    assert_int_equal(rw_store_snoozed(st), 0);
    /* removing again tells nothing more */
    assert_int_equal(rw_snooze_apply(e, st, "s", 1, NULL), RW_SNOOZE_DONE);
    assert_int_equal(nalerts, before + 1);
    rw_engine_free(e);
    rw_store_free(st);
    rw_scorer_free(sc);
    rw_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts),
        cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test_setup_teardown(test_apply_and_remove, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
