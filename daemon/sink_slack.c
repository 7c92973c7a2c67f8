/* sink_slack.c - Slack incoming webhook: Block Kit blocks plus a text fallback. */
#include "sink_internal.h"
#include "renewald/core/alert.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_MAX  150 /* Slack's limit for a header block's text */
#define TOP_SIGNALS 3

/* Slack treats &, < and > as control sequences (<!channel>, links) in text. */
static void put_escaped(struct rw_sbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '&')
            rw_sbuf_puts(b, "&amp;");
        else if (*s == '<')
            rw_sbuf_puts(b, "&lt;");
        else if (*s == '>')
            rw_sbuf_puts(b, "&gt;");
        else
            rw_sbuf_putn(b, s, 1);
    }
}

static bool is_band_change(const json_t *alert)
{
    const char *kind = rw_alert_str(alert, "kind");
    return kind && strcmp(kind, "band_change") == 0;
}

static const char *str_or(const json_t *alert, const char *key, const char *dflt)
{
    const char *s = rw_alert_str(alert, key);
    return s && *s ? s : dflt;
}

/* "Acme Corp (acct-1)", or just the id when there is no name. */
static void put_who(struct rw_sbuf *b, const json_t *alert)
{
    const char *name = rw_alert_str(alert, "name");
    const char *acct = str_or(alert, "account", "?");
    if (name && *name) {
        put_escaped(b, name);
        rw_sbuf_puts(b, " (");
        put_escaped(b, acct);
        rw_sbuf_puts(b, ")");
    } else {
        put_escaped(b, acct);
    }
}

static void put_renewal(struct rw_sbuf *b, const json_t *alert)
{
    const char *date = rw_alert_str(alert, "renewal_date");
    const json_t *days = json_object_get(alert, "days_to_renewal");
    if (!date) {
        rw_sbuf_puts(b, "no renewal date");
        return;
    }
    rw_sbuf_puts(b, date);
    if (json_is_integer(days))
        rw_sbuf_printf(b, " (in %lld days)", (long long)json_integer_value(days));
}

char *rw_sink_slack_text(const json_t *alert)
{
    struct rw_sbuf b = {0};
    char score[32];
    rw_sink_fmt_score(json_object_get(alert, "score"), score, sizeof score);
    put_who(&b, alert);
    if (is_band_change(alert)) {
        rw_sbuf_printf(&b, " is now %s (was %s)", str_or(alert, "band", "unknown"),
                       str_or(alert, "previous_band", "unknown"));
    } else {
        rw_sbuf_printf(&b, " entered the %lld-day renewal window (band %s)",
                       (long long)json_integer_value(json_object_get(alert, "window")),
                       str_or(alert, "band", "unknown"));
    }
    rw_sbuf_printf(&b, " \xe2\x80\x94 score %s \xe2\x80\x94 ", score);
    if (rw_alert_str(alert, "renewal_date")) {
        rw_sbuf_puts(&b, "renews ");
        put_renewal(&b, alert);
    } else {
        rw_sbuf_puts(&b, "no renewal date");
    }
    return rw_sbuf_take(&b);
}

static json_t *mrkdwn(const char *text)
{
    return json_pack("{s:s, s:s}", "type", "mrkdwn", "text", text);
}

static void add_field(json_t *fields, const char *label, const char *value)
{
    struct rw_sbuf b = {0};
    rw_sbuf_printf(&b, "*%s*\n", label);
    put_escaped(&b, value);
    char *s = rw_sbuf_take(&b);
    json_array_append_new(fields, mrkdwn(s));
    free(s);
}

/* Cuts S at MAX bytes on a UTF-8 character boundary (so at most MAX characters). */
static void cut_utf8(char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    s[max] = '\0';
}

json_t *rw_sink_slack_payload(const json_t *alert)
{
    char score[32], arr[48], *s;
    struct rw_sbuf b = {0};
    json_t *blocks = json_array();

    /* Header: plain text, so no escaping; Slack caps it at 150 characters. */
    const char *name = rw_alert_str(alert, "name");
    const char *acct = str_or(alert, "account", "?");
    if (name && *name)
        rw_sbuf_printf(&b, "%s (%s)", name, acct);
    else
        rw_sbuf_puts(&b, acct);
    s = rw_sbuf_take(&b);
    cut_utf8(s, HEADER_MAX);
    json_array_append_new(blocks, json_pack("{s:s, s:{s:s, s:s, s:b}}", "type", "header", "text",
                                            "type", "plain_text", "text", s, "emoji", 1));
    free(s);

    json_t *fields = json_array();
    if (is_band_change(alert)) {
        rw_sbuf_printf(&b, "%s (was %s)", str_or(alert, "band", "unknown"),
                       str_or(alert, "previous_band", "unknown"));
        s = rw_sbuf_take(&b);
        add_field(fields, "Band", s);
        free(s);
    } else {
        rw_sbuf_printf(&b, "%lld days",
                       (long long)json_integer_value(json_object_get(alert, "window")));
        s = rw_sbuf_take(&b);
        add_field(fields, "Renewal window", s);
        free(s);
        add_field(fields, "Band", str_or(alert, "band", "unknown"));
    }
    rw_sink_fmt_score(json_object_get(alert, "score"), score, sizeof score);
    add_field(fields, "Score", score);
    put_renewal(&b, alert);
    s = rw_sbuf_take(&b);
    add_field(fields, "Renewal date", s);
    free(s);
    add_field(fields, "Owner", str_or(alert, "owner", "n/a"));
    rw_sink_fmt_arr(rw_alert_num(alert, "arr"), arr, sizeof arr);
    add_field(fields, "ARR", arr);
    add_field(fields, "Tier", str_or(alert, "tier", "n/a"));
    json_array_append_new(blocks, json_pack("{s:s, s:o}", "type", "section", "fields", fields));

    const char *names[TOP_SIGNALS];
    const json_t *vals[TOP_SIGNALS];
    int n = rw_sink_top_signals(alert, names, vals, TOP_SIGNALS);
    if (n == 0)
        rw_sbuf_puts(&b, "No signals present");
    else
        rw_sbuf_puts(&b, "Top signals:");
    for (int i = 0; i < n; i++) {
        rw_sink_fmt_score(json_object_get(vals[i], "score"), score, sizeof score);
        rw_sbuf_puts(&b, i ? " \xc2\xb7 *" : " *");
        put_escaped(&b, names[i]);
        rw_sbuf_printf(&b, "* %s", score);
        double x = rw_alert_num(vals[i], "x");
        if (isfinite(x))
            rw_sbuf_printf(&b, " (x %.3g)", x);
    }
    rw_sbuf_printf(&b, " \xc2\xb7 alert %s", str_or(alert, "id", "?"));
    s = rw_sbuf_take(&b);
    json_array_append_new(blocks,
                          json_pack("{s:s, s:[o]}", "type", "context", "elements", mrkdwn(s)));
    free(s);

    char *text = rw_sink_slack_text(alert);
    json_t *payload = json_pack("{s:s, s:o}", "text", text, "blocks", blocks);
    free(text);
    return payload;
}

enum rw_sink_prep rw_sink_slack_prepare(const struct rw_sink_conf *sink, const json_t *alert,
                                        struct rw_http_request *out, char *err)
{
    if (!sink->url) {
        snprintf(err, RW_SINK_ERROR_MAX, "sink %s has no url", sink->name);
        return RW_SINK_FAILED;
    }
    json_t *payload = rw_sink_slack_payload(alert);
    char *body = payload ? rw_alert_dumps(payload) : NULL;
    json_decref(payload);
    if (!body) {
        snprintf(err, RW_SINK_ERROR_MAX, "cannot render the slack message");
        return RW_SINK_FAILED;
    }
    out->easy = rw_sink_easy(sink, sink->url, "http,https");
    out->headers = curl_slist_append(NULL, "Content-Type: application/json; charset=utf-8");
    out->headers = curl_slist_append(out->headers, "Expect:");
    out->body = body;
    out->body_len = strlen(body);
    return RW_SINK_TRANSFER;
}
