/* test_sink_digest.c - a digest as Slack (Block Kit within its limits: a count and a
 * link beyond them), e-mail (one message, subject and list) and a webhook (the digest
 * JSON as the body, its id as the alert id) render it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "renewald/core/digest.h"
#include "renewald/core/readable.h"
#include "renewald/sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0  INT64_C(1795132800000) /* 2026-11-20T00:00:00Z */
#define DAY INT64_C(86400000)

/* A band_change alert of account acct-K (a name with mrkdwn in it, a link). */
static json_t *alert(int k, const char *band)
{
    char id[40], acct[32], name[64], url[80];
    snprintf(id, sizeof id, "%032d", k);
    snprintf(acct, sizeof acct, "acct-%d", k);
    snprintf(name, sizeof name, "<!channel> *Acme* %d", k);
    snprintf(url, sizeof url, "https://crm.example.com/a/%d", k);
    json_t *a = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:i, s:s, s:s}", "id", id,
                          "kind", "band_change", "ts", "2026-11-20T10:00:00.000Z", "account", acct,
                          "name", name, "band", band, "previous_band", "healthy", "score", 31.4,
                          "days_to_renewal", 30 + k, "renewal_date", "2027-01-15", "url", url);
    assert_non_null(a);
    return a;
}

static json_t *digest_of(int n, const char *recipient)
{
    json_t *list = json_array();
    for (int k = 0; k < n; k++)
        json_array_append_new(list, alert(k, k % 3 == 0 ? "watch" : "at_risk"));
    json_t *d = rw_digest_build("s", T0, T0 + DAY, recipient, list);
    json_decref(list);
    return d;
}

static void check_slack(int n, bool more)
{
    json_t *d = digest_of(n, NULL);
    json_t *p = rw_sink_slack_payload(d);
    assert_non_null(p);
    json_t *blocks = json_object_get(p, "blocks");
    size_t nb = json_array_size(blocks);
    assert_true(nb <= 50);
    size_t listed = 0;
    size_t i;
    json_t *b;
    json_array_foreach(blocks, i, b)
    {
        const char *type = json_string_value(json_object_get(b, "type"));
        const json_t *t = json_object_get(b, "text");
        if (strcmp(type, "header") == 0) {
            assert_true(rw_utf8_chars(json_string_value(json_object_get(t, "text"))) <= 150);
            continue;
        }
        if (strcmp(type, "section") != 0)
            continue;
        const char *s = json_string_value(json_object_get(t, "text"));
        assert_true(rw_utf8_chars(s) <= 3000);
        assert_null(strstr(s, "<!channel>")); /* names cannot ping */
        if (strstr(s, "more* in this digest")) {
            assert_true(more);
            char want[64];
            snprintf(want, sizeof want, "and *%d more*", n - 20);
            assert_non_null(strstr(s, want));
            assert_non_null(strstr(s, "<https://crm.example.com/a/"));
        } else {
            listed++;
        }
    }
    assert_int_equal(listed, n < 20 ? n : 20);
    char want[64];
    snprintf(want, sizeof want, "renewald digest: %d alert", n);
    assert_non_null(strstr(json_string_value(json_object_get(p, "text")), want));
    json_decref(p);
    json_decref(d);
}

static void test_slack_within_limits(void **state)
{
    (void)state;
    check_slack(1, false);
    check_slack(20, false);
    check_slack(21, true);
    check_slack(1000, true);
}

static void test_email_one_message(void **state)
{
    (void)state;
    json_t *d = digest_of(5, "pat@acme.example");
    struct rw_sink_conf sink = {.name = "s", .type = RW_SINK_EMAIL, .to_owner = true};
    sink.from = "renewald@example.com";
    sink.fallback_to = "cs@example.com";
    const char *rcpt[RW_MAX_RECIPIENTS];
    assert_int_equal(rw_sink_email_recipients(&sink, d, rcpt), 1);
    assert_string_equal(rcpt[0], "pat@acme.example");
    char *m = rw_sink_email_message(&sink, d, rcpt, 1, T0 + DAY);
    assert_non_null(strstr(m, "\r\nSubject: [renewald] digest: 5 alerts (3 at risk, 2 watch)"));
    assert_non_null(strstr(m, "\r\nTo: pat@acme.example\r\n"));
    assert_non_null(strstr(m, rw_alert_str(d, "id")));
    /* at risk first: account 1 (at risk) before account 0 (watch) */
    const char *a1 = strstr(m, "(acct-1)"), *a0 = strstr(m, "(acct-0)");
    assert_non_null(a1);
    assert_non_null(a0);
    assert_true(a1 < a0);
    free(m);
    json_decref(d);
    /* without an owner: the fallback */
    d = digest_of(2, NULL);
    assert_int_equal(rw_sink_email_recipients(&sink, d, rcpt), 1);
    assert_string_equal(rcpt[0], "cs@example.com");
    json_decref(d);
}

static void test_webhook_body_is_the_digest(void **state)
{
    (void)state;
    json_t *d = digest_of(3, NULL);
    char *body = rw_alert_dumps(d);
    struct rw_sink_conf sink = {.name = "s", .type = RW_SINK_WEBHOOK, .timeout_ms = 1000};
    sink.url = "http://127.0.0.1:9/h";
    struct rw_http_request req;
    char err[RW_SINK_ERROR_MAX];
    assert_int_equal(rw_sink_prepare(&sink, d, body, T0, &req, err), RW_SINK_TRANSFER);
    assert_string_equal(req.body, body);
    bool found = false;
    char want[80];
    snprintf(want, sizeof want, "X-Renewald-Alert-Id: %s", rw_alert_str(d, "id"));
    for (const struct curl_slist *h = req.headers; h; h = h->next)
        found |= strcmp(h->data, want) == 0;
    assert_true(found);
    rw_http_request_release(&req);
    free(body);
    json_decref(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slack_within_limits),
        cmocka_unit_test(test_email_one_message),
        cmocka_unit_test(test_webhook_body_is_the_digest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
