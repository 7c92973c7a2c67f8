/* test_sink.c - rendering of slack, webhook and email deliveries; outcome classification. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "renewald/core/alert.h"
#include "renewald/core/readable.h"
#include "renewald/sink.h"
#include "../../daemon/sink_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NOW INT64_C(1700000000123) /* 2023-11-14T22:13:20.123Z, a Tuesday */

static const struct rw_alert_signal sigs[] = {
    {.name = "logins", .present = true, .x = 0.0312, .score = 12.3, .weight = 3},
    {.name = "csat", .present = false, .weight = 1},
    {.name = "tickets", .present = true, .x = 2.5, .score = 40, .weight = 1},
    {.name = "usage", .present = true, .x = 1.2, .score = 90, .weight = 2},
    {.name = "recency", .present = true, .x = INFINITY, .score = 0, .weight = 1},
};

/* An alert as the core renders it (only what the sinks read matters here). */
static json_t *signals_json(void)
{
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        const struct rw_alert_signal *g = &sigs[i];
        json_t *x = g->present && isfinite(g->x) ? json_real(g->x) : json_null();
        json_t *sc = g->present ? json_real(round(g->score * 10) / 10) : json_null();
        json_object_set_new(o, g->name,
                            json_pack("{s:o, s:o, s:f}", "x", x, "score", sc, "weight", g->weight));
    }
    return o;
}

static json_t *alert_bc(const char *name, const char *owner)
{
    json_t *a = json_pack("{s:s, s:s, s:s, s:s}", "id", "0123456789abcdef0123456789abcdef", "kind",
                          "band_change", "ts", "2023-11-14T22:13:20.123Z", "account", "acct-1");
    json_object_set_new(a, "name", name ? json_string(name) : json_null());
    json_object_set_new(a, "owner", owner ? json_string(owner) : json_null());
    json_object_set_new(a, "tier", json_string("enterprise"));
    json_object_set_new(a, "arr", json_real(120000));
    json_object_set_new(a, "score", json_real(31.4));
    json_object_set_new(a, "band", json_string("at_risk"));
    json_object_set_new(a, "previous_band", json_string("watch"));
    json_object_set_new(a, "signals", signals_json());
    json_object_set_new(a, "renewal_date", json_string("2027-01-15"));
    json_object_set_new(a, "days_to_renewal", json_integer(428));
    return a;
}

static json_t *alert_rw(void)
{
    json_t *a = json_pack("{s:s, s:s, s:s, s:s}", "id", "ffffffffffffffffffffffffffffffff", "kind",
                          "renewal_window", "ts", "2023-11-14T22:13:20.123Z", "account", "acct-2");
    json_object_set_new(a, "name", json_null());
    json_object_set_new(a, "owner", json_null());
    json_object_set_new(a, "tier", json_null());
    json_object_set_new(a, "arr", json_null());
    json_object_set_new(a, "score", json_real(55));
    json_object_set_new(a, "band", json_string("watch"));
    json_object_set_new(a, "signals", json_object());
    json_object_set_new(a, "renewal_date", json_string("2023-12-14"));
    json_object_set_new(a, "days_to_renewal", json_integer(30));
    json_object_set_new(a, "window", json_integer(30));
    return a;
}

/* Every text object of a Block Kit payload within Slack's limits; returns how many. */
static int check_limits(json_t *p)
{
    json_t *blocks = json_object_get(p, "blocks");
    assert_true(json_array_size(blocks) <= 50);
    int texts = 0;
    size_t i;
    json_t *b;
    json_array_foreach(blocks, i, b)
    {
        const char *type = json_string_value(json_object_get(b, "type"));
        json_t *t = json_object_get(b, "text");
        if (strcmp(type, "header") == 0) {
            assert_string_equal(json_string_value(json_object_get(t, "type")), "plain_text");
            assert_true(rw_utf8_chars(json_string_value(json_object_get(t, "text"))) <= 150);
            texts++;
            continue;
        }
        json_t *fields = json_object_get(b, "fields");
        assert_true(json_array_size(fields) <= 10);
        json_t *all[16];
        size_t n = 0;
        if (t)
            all[n++] = t;
        size_t k;
        json_t *f;
        json_array_foreach(fields, k, f) all[n++] = f;
        json_array_foreach(json_object_get(b, "elements"), k, f) all[n++] = f;
        for (size_t j = 0; j < n; j++) {
            assert_string_equal(json_string_value(json_object_get(all[j], "type")), "mrkdwn");
            assert_true(json_is_true(json_object_get(all[j], "verbatim")));
            assert_true(rw_utf8_chars(json_string_value(json_object_get(all[j], "text"))) <= 3000);
            texts++;
        }
    }
    return texts;
}

static void test_slack(void **state)
{
    (void)state;
    json_t *a = alert_bc("Acme Corp", "jane@example.com");
    json_object_set_new(a, "score_7d", json_real(44.0));
    json_object_set_new(a, "drivers", json_pack("[s,s]", "logins", "recency"));
    json_t *sj = json_object_get(a, "signals");
    json_object_set_new(json_object_get(sj, "logins"), "text", json_string("0.031 per seat/day"));
    json_object_set_new(json_object_get(sj, "recency"), "text", json_string("never"));
    json_object_set_new(a, "url", json_string("https://crm.example.com/a/acct-1?x=1&y=|2"));
    char *text = rw_sink_slack_text(a);
    assert_string_equal(text, "\xf0\x9f\x94\xb4 Acme Corp (acct-1) is now at risk (was watch) "
                              "\xe2\x80\x94 score 31.4 \xe2\x96\xbc 12.6 in 7 days \xe2\x80\x94 "
                              "renews 2027-01-15 (in 428 days)");
    free(text);

    json_t *p = rw_sink_slack_payload(a);
    assert_non_null(p);
    assert_true(json_is_string(json_object_get(p, "text")));
    assert_int_equal(check_limits(p), 9);
    json_t *blocks = json_object_get(p, "blocks");
    assert_int_equal(json_array_size(blocks), 6);
    json_t *hdr = json_array_get(blocks, 0);
    assert_string_equal(json_string_value(json_object_get(hdr, "type")), "header");
    assert_string_equal(json_string_value(json_object_get(json_object_get(hdr, "text"), "text")),
                        "\xf0\x9f\x94\xb4 Acme Corp (acct-1)");
    char *s = rw_alert_dumps(json_array_get(blocks, 1));
    assert_non_null(strstr(s, "Now *at risk* (was watch)"));
    assert_non_null(strstr(s, "score *31.4* \xe2\x96\xbc 12.6 in 7 days"));
    free(s);
    s = rw_alert_dumps(json_array_get(blocks, 2));
    assert_non_null(strstr(s, "2027-01-15 (in 428 days)"));
    assert_non_null(strstr(s, "*Owner*\\njane@example.com"));
    assert_non_null(strstr(s, "120k"));
    assert_non_null(strstr(s, "enterprise"));
    free(s);
    /* Drivers in the alert's order, with their readable values. */
    s = rw_alert_dumps(json_array_get(blocks, 3));
    assert_non_null(strstr(s, "\xe2\x80\xa2 *logins* 0.031 per seat/day\\n"
                              "\xe2\x80\xa2 *recency* never"));
    assert_null(strstr(s, "tickets"));
    free(s);
    /* The link, its & as an entity and its | encoded. */
    s = rw_alert_dumps(json_array_get(blocks, 4));
    assert_non_null(strstr(s, "<https://crm.example.com/a/acct-1?x=1&amp;y=%7C2|Open the account"));
    free(s);
    json_decref(p);
    json_decref(a);

    /* A new account, a rise, no name: the id alone. */
    a = alert_bc(NULL, NULL);
    json_object_set_new(a, "previous_band", json_string("unknown"));
    json_object_set_new(a, "score_7d", json_real(30.0));
    text = rw_sink_slack_text(a);
    assert_true(strstr(text, " acct-1 is now at risk (new account) \xe2\x80\x94 score 31.4 "
                             "\xe2\x96\xb2 1.4 in 7 days"));
    free(text);
    json_decref(a);

    /* Markup in a name: no mention, no link, no styling, in any mrkdwn text. */
    a = alert_bc("<!channel> *Big* _co_ & `x` ~y~ <@U1|z> :fire:", "*o*@example.com");
    p = rw_sink_slack_payload(a);
    check_limits(p);
    s = rw_alert_dumps(p);
    /* Raw markup only in the plain-text header, never in a mrkdwn text. */
    const char *mk = strstr(s, "\"blocks\"");
    assert_non_null(mk);
    assert_non_null(strstr(mk, "\"plain_text\",\"text\":\"\xf0\x9f\x94\xb4 <!channel>"));
    assert_null(strstr(strstr(mk, "\"section\""), "<!"));
    assert_null(strstr(strstr(mk, "\"section\""), "<@"));
    text = rw_sink_slack_text(a);
    assert_non_null(strstr(text, "&lt;!channel&gt; \xe2\x80\x8b*\xe2\x80\x8b"
                                 "Big"));
    assert_non_null(strstr(text, "&amp;"));
    assert_null(strstr(text, "<!"));
    assert_null(strstr(text, "<@"));
    for (const char *c = text; *c; c++) {
        if (strchr("*_~`:", *c)) { /* every one set apart by zero-width spaces */
            assert_memory_equal(c - 3, "\xe2\x80\x8b", 3);
            assert_memory_equal(c + 1, "\xe2\x80\x8b", 3);
        }
    }
    free(text);
    free(s);
    json_decref(p);
    json_decref(a);

    /* A long name is cut with an ellipsis; the id stays whole. */
    char longname[400];
    memset(longname, 'N', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    a = alert_bc(longname, NULL);
    p = rw_sink_slack_payload(a);
    check_limits(p);
    const char *h = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(p, "blocks"), 0), "text"), "text"));
    assert_int_equal(rw_utf8_chars(h), 150);
    assert_non_null(strstr(h, "NN\xe2\x80\xa6 (acct-1)"));
    json_decref(p);
    json_decref(a);

    a = alert_rw();
    text = rw_sink_slack_text(a);
    assert_string_equal(text,
                        "\xf0\x9f\x9f\xa0 acct-2 entered the 30-day renewal window, band watch "
                        "\xe2\x80\x94 score 55.0 (no score 7 days ago) \xe2\x80\x94 renews "
                        "2023-12-14 (in 30 days)");
    free(text);
    p = rw_sink_slack_payload(a);
    s = rw_alert_dumps(p);
    assert_non_null(strstr(s, "*30-day renewal window* \xc2\xb7 band *watch*"));
    assert_null(strstr(s, "Pulling")); /* no drivers, no section */
    free(s);
    json_decref(p);

    struct rw_sink_conf sink = {.name = "cs-slack", .type = RW_SINK_SLACK, .timeout_ms = 1000};
    char url[] = "https://hooks.slack.com/services/T000/B000/XXXXSECRET";
    sink.url = url;
    struct rw_http_request req;
    char err[RW_SINK_ERROR_MAX];
    assert_int_equal(rw_sink_prepare(&sink, a, NULL, NOW, &req, err), RW_SINK_TRANSFER);
    assert_non_null(req.easy);
    assert_false(req.upload);
    json_error_t je;
    json_t *body = json_loads(req.body, 0, &je);
    assert_non_null(body);
    assert_non_null(strstr(json_string_value(json_object_get(body, "text")), "30-day"));
    json_decref(body);
    rw_http_request_release(&req);
    assert_null(req.easy);
    json_decref(a);
}

static bool has_header(const struct curl_slist *h, const char *line)
{
    for (; h; h = h->next) {
        if (strcmp(h->data, line) == 0)
            return true;
    }
    return false;
}

static void test_webhook(void **state)
{
    (void)state;
    char sig[65];
    /* printf '%s' '1700000000.{"id":"abc","kind":"band_change"}' |
     *     openssl dgst -sha256 -hmac secret */
    const char *body = "{\"id\":\"abc\",\"kind\":\"band_change\"}";
    rw_sink_webhook_signature("secret", 1700000000, body, strlen(body), sig);
    assert_string_equal(sig, "414bea339eb5ba51501c2095225e81b5e83369886c6fc82d87488980cd9aa898");
    /* printf '%s' '1700000000.' | openssl dgst -sha256 -hmac 'key with spaces' */
    rw_sink_webhook_signature("key with spaces", 1700000000, "", 0, sig);
    assert_string_equal(sig, "3ca6526d0806e845c60598f8a333a720b5f2e8d2101350fd6dd5640c7ad55cb1");

    json_t *a = json_pack("{s:s, s:s}", "id", "abc", "kind", "band_change");
    char url[] = "https://crm.example.com/hook", secret[] = "secret";
    struct rw_sink_conf sink = {
        .name = "crm", .type = RW_SINK_WEBHOOK, .url = url, .secret = secret, .timeout_ms = 1000};
    struct rw_http_request req;
    char err[RW_SINK_ERROR_MAX];
    assert_int_equal(rw_sink_prepare(&sink, a, body, 1700000000999, &req, err), RW_SINK_TRANSFER);
    assert_string_equal(req.body, body);
    assert_int_equal(req.body_len, strlen(body));
    assert_true(has_header(req.headers, "Content-Type: application/json"));
    assert_true(has_header(req.headers, "X-Renewald-Alert-Id: abc"));
    assert_true(has_header(req.headers, "X-Renewald-Timestamp: 1700000000"));
    assert_true(has_header(
        req.headers, "X-Renewald-Signature: "
                     "sha256=414bea339eb5ba51501c2095225e81b5e83369886c6fc82d87488980cd9aa898"));
    rw_http_request_release(&req);

    /* Without a secret: no signature; a header value cannot inject another header. */
    sink.secret = NULL;
    json_object_set_new(a, "id", json_string("x\r\nX-Evil: 1"));
    assert_int_equal(rw_sink_prepare(&sink, a, NULL, 0, &req, err), RW_SINK_TRANSFER);
    assert_true(has_header(req.headers, "X-Renewald-Alert-Id: x  X-Evil: 1"));
    for (const struct curl_slist *h = req.headers; h; h = h->next)
        assert_null(strstr(h->data, "Signature"));
    rw_http_request_release(&req);
    json_decref(a);
}

static void test_email_recipients(void **state)
{
    (void)state;
    char from[] = "renewald@example.com", fb[] = "cs-team@example.com", t1[] = "a@example.com",
         t2[] = "b@example.com";
    struct rw_sink_conf sink = {
        .name = "owners", .type = RW_SINK_EMAIL, .from = from, .to_owner = true, .fallback_to = fb};
    const char *rc[RW_MAX_RECIPIENTS];
    json_t *a = alert_bc("Acme Corp", "jane@example.com");
    assert_int_equal(rw_sink_email_recipients(&sink, a, rc), 1);
    assert_string_equal(rc[0], "jane@example.com");
    json_decref(a);
    a = alert_bc("Acme Corp", NULL); /* no owner: fallback */
    assert_int_equal(rw_sink_email_recipients(&sink, a, rc), 1);
    assert_string_equal(rc[0], "cs-team@example.com");
    json_decref(a);
    a = alert_bc("Acme Corp", "evil@example.com\r\nBcc: x@y"); /* not an address: fallback */
    assert_int_equal(rw_sink_email_recipients(&sink, a, rc), 1);
    assert_string_equal(rc[0], "cs-team@example.com");
    sink.fallback_to = NULL;
    assert_int_equal(rw_sink_email_recipients(&sink, a, rc), 0);
    struct rw_http_request req;
    char err[RW_SINK_ERROR_MAX];
    char smtp[] = "smtp://mail.example.com:587";
    sink.smtp_url = smtp;
    assert_int_equal(rw_sink_prepare(&sink, a, NULL, NOW, &req, err), RW_SINK_FAILED);
    assert_string_equal(err, "no recipient");
    assert_null(req.easy);
    json_decref(a);

    sink.to_owner = false;
    sink.to[0] = t1;
    sink.to[1] = t2;
    sink.nto = 2;
    a = alert_bc("Acme Corp", "jane@example.com");
    assert_int_equal(rw_sink_email_recipients(&sink, a, rc), 2);
    assert_string_equal(rc[1], "b@example.com");
    assert_int_equal(rw_sink_prepare(&sink, a, NULL, NOW, &req, err), RW_SINK_TRANSFER);
    assert_true(req.upload);
    assert_true(has_header(req.recipients, "<a@example.com>"));
    assert_true(has_header(req.recipients, "<b@example.com>"));
    assert_non_null(strstr(req.body, "\r\nTo: a@example.com, b@example.com\r\n"));
    rw_http_request_release(&req);
    json_decref(a);
}

static void test_email_message(void **state)
{
    (void)state;
    char from[] = "Renewald <renewald@mail.example.com>";
    struct rw_sink_conf sink = {.name = "owners", .type = RW_SINK_EMAIL, .from = from};
    json_t *a = alert_bc("Acme\r\nBcc: victim@example.com", "jane@example.com");
    const char *rc[] = {"jane@example.com"};
    char *m = rw_sink_email_message(&sink, a, rc, 1, NOW);
    const char *split = strstr(m, "\r\n\r\n");
    assert_non_null(split);
    char *hdrs = strndup(m, (size_t)(split - m) + 2);
    /* Every header present, each on one line. */
    assert_true(strncmp(hdrs, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n", 39) == 0);
    assert_non_null(strstr(hdrs, "\r\nFrom: Renewald <renewald@mail.example.com>\r\n"));
    assert_non_null(strstr(hdrs, "\r\nTo: jane@example.com\r\n"));
    assert_non_null(strstr(hdrs, "\r\nSubject: [renewald] Acme  Bcc: victim@example.com (acct-1): "
                                 "at risk (was watch), score 31.4\r\n"));
    assert_non_null(strstr(
        hdrs, "\r\nMessage-ID: <0123456789abcdef0123456789abcdef.owners@mail.example.com>\r\n"));
    assert_non_null(strstr(hdrs, "\r\nMIME-Version: 1.0\r\n"));
    assert_non_null(strstr(hdrs, "\r\nContent-Type: text/plain; charset=utf-8\r\n"));
    assert_non_null(strstr(hdrs, "\r\nContent-Transfer-Encoding: 8bit\r\n"));
    assert_null(strstr(hdrs, "\r\nBcc"));
    /* No bare CR or LF anywhere. */
    for (const char *p = m; *p; p++) {
        if (*p == '\n')
            assert_true(p > m && p[-1] == '\r');
        if (*p == '\r')
            assert_true(p[1] == '\n');
    }
    free(hdrs);
    /* A readable body. */
    assert_non_null(strstr(split, "\r\n\r\nAcme  Bcc: victim@example.com (acct-1) is now at risk "
                                  "(was watch).\r\n"));
    assert_non_null(strstr(split, "Score:     31.4\r\n"));
    assert_non_null(strstr(split, "Renewal:   2027-01-15, in 428 days\r\n"));
    assert_non_null(strstr(split, "Owner:     jane@example.com\r\n"));
    assert_non_null(strstr(split, "ARR:       120,000\r\n"));
    assert_non_null(strstr(split, "Tier:      enterprise\r\n"));
    assert_non_null(strstr(split, "  logins: 0.031, score 12.3, weight 3\r\n"));
    assert_non_null(strstr(split, "  csat: no data, weight 1\r\n"));
    assert_non_null(strstr(split, "  recency: none, score 0.0, weight 1\r\n"));
    /* Old alerts without drivers: the worst signals stand in. */
    assert_non_null(strstr(split, "What pulls the score down:\r\n  - recency (signal score 0.0 of "
                                  "100)\r\n  - logins 0.031 (signal score 12.3 of 100)\r\n"
                                  "  - tickets 2.5 (signal score 40.0 of 100)\r\n"));
    assert_null(strstr(split, "Open the account"));
    free(m);
    json_decref(a);

    /* The 7- and 30-day scores, the drivers' texts and the link. */
    a = alert_bc("Acme", "jane@example.com");
    json_object_set_new(a, "score_7d", json_real(44.0));
    json_object_set_new(a, "score_30d", json_real(60.5));
    json_object_set_new(a, "drivers", json_pack("[s]", "logins"));
    json_object_set_new(json_object_get(json_object_get(a, "signals"), "logins"), "text",
                        json_string("0.031 per seat/day"));
    json_object_set_new(a, "url", json_string("https://crm.example.com/a/acct-1"));
    m = rw_sink_email_message(&sink, a, rc, 1, NOW);
    assert_non_null(strstr(m, "Score:     31.4, \xe2\x96\xbc 12.6 in 7 days (was 44.0); 60.5 30 "
                              "days ago\r\n"));
    assert_non_null(strstr(m, "  - logins 0.031 per seat/day (signal score 12.3 of 100)\r\n\r\n"
                              "Open the account: https://crm.example.com/a/acct-1\r\n"));
    /* The subject carries the change: encoded (not ASCII). */
    assert_non_null(strstr(m, "\r\nSubject: =?UTF-8?B?"));
    free(m);
    json_decref(a);

    /* Renewal window subject; a non-ASCII name is RFC 2047 encoded. */
    a = alert_rw();
    json_object_set_new(a, "name", json_string("Caf\xc3\xa9 Ltd"));
    m = rw_sink_email_message(&sink, a, rc, 1, NOW);
    /* 39 bytes per encoded-word: "[renewald] Café Ltd (acct-2): renews in", ... */
    assert_non_null(strstr(
        m, "\r\nSubject: =?UTF-8?B?W3JlbmV3YWxkXSBDYWbDqSBMdGQgKGFjY3QtMik6IHJlbmV3cyBp?=\r\n "
           "=?UTF-8?B?"));
    free(m);
    /* A long one is folded into several encoded-words, none splitting a character. */
    json_object_set_new(
        a, "name",
        json_string("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"));
    m = rw_sink_email_message(&sink, a, rc, 1, NOW);
    const char *subj = strstr(m, "\r\nSubject: =?UTF-8?B?");
    assert_non_null(subj);
    assert_non_null(strstr(subj, "?=\r\n =?UTF-8?B?"));
    const char *end_of_headers = strstr(m, "\r\n\r\n");
    for (const char *p = m, *nl; (nl = strstr(p, "\r\n")); p = nl + 2)
        assert_true(nl - p <= (nl < end_of_headers ? 78 : 998)); /* RFC 5322 2.1.1 */
    free(m);
    json_object_set_new(a, "name", json_string("Globex"));
    m = rw_sink_email_message(&sink, a, rc, 1, NOW);
    assert_non_null(strstr(m, "\r\nSubject: [renewald] Globex (acct-2): renews in 30 days (band "
                              "watch), score 55.0\r\n"));
    free(m);
    json_decref(a);
}

static void test_classify(void **state)
{
    (void)state;
    char url[] = "https://hooks.slack.com/services/T000/B000/XXXXSECRET";
    struct rw_sink_conf sink = {.name = "s", .type = RW_SINK_SLACK, .url = url};
    struct rw_delivery_result d;
    struct rw_http_result r = {.status = 200, .code = CURLE_OK, .error = "", .retry_after_ms = -1};
    rw_sink_classify(&sink, &r, &d);
    assert_int_equal(d.outcome, RW_DELIVERY_SUCCESS);
    assert_string_equal(d.error, "");

    r.status = 429;
    r.retry_after_ms = 2000;
    r.body = "slow down";
    r.body_len = 9;
    rw_sink_classify(&sink, &r, &d);
    assert_int_equal(d.outcome, RW_DELIVERY_RETRY);
    assert_int_equal(d.retry_after_ms, 2000);
    assert_string_equal(d.error, "http status 429: slow down");

    r.status = 404;
    r.body = "no_service for /services/T000/B000/XXXXSECRET\n";
    r.body_len = strlen(r.body);
    rw_sink_classify(&sink, &r, &d);
    assert_int_equal(d.outcome, RW_DELIVERY_PERMANENT);
    assert_int_equal(d.retry_after_ms, -1);
    assert_null(strstr(d.error, "SECRET"));
    assert_string_equal(d.error, "http status 404: no_service for [redacted] ");

    r.status = 0;
    r.code = CURLE_COULDNT_CONNECT;
    r.error = "Failed to connect to https://hooks.slack.com/services/T000/B000/XXXXSECRET";
    rw_sink_classify(&sink, &r, &d);
    assert_int_equal(d.outcome, RW_DELIVERY_RETRY);
    assert_null(strstr(d.error, "SECRET"));

    r.cancelled = true;
    rw_sink_classify(&sink, &r, &d);
    assert_int_equal(d.outcome, RW_DELIVERY_RETRY);

    /* Email follows SMTP's reply codes and never shows the password. */
    char pw[] = "hunter22", smtp[] = "smtp://mail.example.com";
    struct rw_sink_conf mail = {
        .name = "m", .type = RW_SINK_EMAIL, .smtp_url = smtp, .password = pw};
    struct rw_http_result s = {.status = 451, .code = CURLE_SEND_ERROR, .error = "hunter22?"};
    rw_sink_classify(&mail, &s, &d);
    assert_int_equal(d.outcome, RW_DELIVERY_RETRY);
    assert_null(strstr(d.error, "hunter22"));
    s.status = 550;
    rw_sink_classify(&mail, &s, &d);
    assert_int_equal(d.outcome, RW_DELIVERY_PERMANENT);
    s.status = 250;
    s.code = CURLE_OK;
    rw_sink_classify(&mail, &s, &d);
    assert_int_equal(d.outcome, RW_DELIVERY_SUCCESS);
}

static void test_arr_format(void **state)
{
    (void)state;
    char buf[48];
    struct {
        double v;
        const char *want;
    } cases[] = {{0, "0"},           {999, "999"},
                 {1000, "1,000"},    {1234.5, "1,234.50"},
                 {999.999, "1,000"}, {-1234567, "-1,234,567"},
                 {NAN, "n/a"},       {INFINITY, "n/a"},
                 {0.004, "0"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rw_sink_fmt_arr(cases[i].v, buf, sizeof buf);
        assert_string_equal(buf, cases[i].want);
    }
}

static void test_log_sink(void **state)
{
    (void)state;
    struct rw_sink_conf sink = {.name = "audit", .type = RW_SINK_LOG};
    json_t *a = alert_rw();
    struct rw_http_request req;
    char err[RW_SINK_ERROR_MAX];
    assert_int_equal(rw_sink_prepare(&sink, a, NULL, NOW, &req, err), RW_SINK_DELIVERED);
    assert_null(req.easy);
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slack),
        cmocka_unit_test(test_webhook),
        cmocka_unit_test(test_email_recipients),
        cmocka_unit_test(test_email_message),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_log_sink),
        cmocka_unit_test(test_arr_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
