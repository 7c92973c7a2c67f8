/* sink_slack.c - Slack incoming webhook: Block Kit blocks a person reads in five seconds,
 * plus a text fallback. */
#include "sink_internal.h"
#include "renewald/core/alert.h"
#include "renewald/core/digest.h"
#include "renewald/core/readable.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_MAX 150  /* characters of a header block's text */
#define TEXT_MAX   3000 /* characters of any other text object */

/*
 * Untrusted text (names, owners, tiers) inside mrkdwn: &, < and > as entities,
 * so that nothing becomes a link or a mention (<!channel>, <@U123>); the
 * formatting characters (* _ ~ `) and ':' set apart by zero-width spaces, so
 * that a name can neither restyle the message nor spell an emoji code.  (Every
 * mrkdwn object is "verbatim": Slack parses no bare @here or URL in it.)
 */
static void put_mrkdwn(struct rw_sbuf *b, const char *s)
{
    static const char zwsp[] = "\xe2\x80\x8b";
    for (; s && *s; s++) {
        char c = *s;
        if (c == '&')
            rw_sbuf_puts(b, "&amp;");
        else if (c == '<')
            rw_sbuf_puts(b, "&lt;");
        else if (c == '>')
            rw_sbuf_puts(b, "&gt;");
        else if (c == '*' || c == '_' || c == '~' || c == '`' || c == ':') {
            rw_sbuf_puts(b, zwsp);
            rw_sbuf_putn(b, &c, 1);
            rw_sbuf_puts(b, zwsp);
        } else if (c == '\r' || c == '\n' || c == '\t')
            rw_sbuf_puts(b, " ");
        else
            rw_sbuf_putn(b, &c, 1);
    }
}

/* Text from the configuration (signal names, readable values): entities only. */
static void put_conf(struct rw_sbuf *b, const char *s)
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

/* A URL inside <URL|label>: & < > as entities, '|' percent-encoded. */
static void put_link_url(struct rw_sbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '&')
            rw_sbuf_puts(b, "&amp;");
        else if (*s == '<')
            rw_sbuf_puts(b, "%3C");
        else if (*s == '>')
            rw_sbuf_puts(b, "%3E");
        else if (*s == '|')
            rw_sbuf_puts(b, "%7C");
        else if ((unsigned char)*s > 0x20)
            rw_sbuf_putn(b, s, 1);
    }
}

/* Cuts a mrkdwn text to TEXT_MAX characters without leaving half an entity. */
static char *take_text(struct rw_sbuf *b)
{
    char *s = rw_sbuf_take(b);
    if (rw_utf8_chars(s) > TEXT_MAX) {
        rw_utf8_cut(s, TEXT_MAX - 1);
        char *amp = strrchr(s, '&');
        if (amp && !strchr(amp, ';'))
            *amp = '\0';
        char *t = rw_xasprintf("%s\xe2\x80\xa6", s);
        free(s);
        s = t;
    }
    return s;
}

static json_t *mrkdwn(char *text)
{
    json_t *o = json_pack("{s:s, s:s, s:b}", "type", "mrkdwn", "text", text, "verbatim", 1);
    free(text);
    return o;
}

/* "Score *31.4* ▼ 12.6 in 7 days", "Score *31.4* (no score 7 days ago)", "No score yet". */
static void put_score(struct rw_sbuf *b, const struct rw_alert_view *v, bool bold)
{
    if (v->score < 0) {
        rw_sbuf_puts(b, "no score yet");
        return;
    }
    const char *m = bold ? "*" : "";
    rw_sbuf_printf(b, "score %s%d.%d%s", m, v->score / 10, v->score % 10, m);
    if (v->score_7d >= 0) {
        char ch[32];
        rw_readable_change(v->score, v->score_7d, ch, sizeof ch);
        rw_sbuf_printf(b, " %s in 7 days", ch);
    } else {
        rw_sbuf_puts(b, " (no score 7 days ago)");
    }
}

static void put_renewal(struct rw_sbuf *b, const struct rw_alert_view *v)
{
    if (!v->renewal_date) {
        rw_sbuf_puts(b, "no renewal date");
        return;
    }
    rw_sbuf_puts(b, v->renewal_date);
    if (v->has_days)
        rw_sbuf_printf(b, " (in %lld day%s)", v->days_to_renewal,
                       v->days_to_renewal == 1 ? "" : "s");
}

/* "at risk (was watch)", "at risk (new account)"; a window: "entered the 30-day renewal
 * window, band watch" (HEADLINE: "30-day renewal window · band watch"). */
static void put_what(struct rw_sbuf *b, const struct rw_alert_view *v, bool headline)
{
    const char *m = headline ? "*" : "";
    if (v->band_change) {
        rw_sbuf_printf(b, "%s%s%s", m, rw_readable_band(v->band), m);
        if (v->new_account)
            rw_sbuf_puts(b, " (new account)");
        else
            rw_sbuf_printf(b, " (was %s)", rw_readable_band(v->previous_band));
    } else if (headline) {
        rw_sbuf_printf(b, "*%lld-day renewal window* \xc2\xb7 band *%s*", v->window,
                       rw_readable_band(v->band));
    } else {
        rw_sbuf_printf(b, "entered the %lld-day renewal window, band %s", v->window,
                       rw_readable_band(v->band));
    }
}

char *rw_sink_slack_text(const json_t *alert)
{
    struct rw_alert_view v;
    rw_alert_view(alert, &v);
    struct rw_sbuf b = {0};
    char who[4 * HEADER_MAX + 1];
    rw_readable_who(v.name, v.account, HEADER_MAX, who, sizeof who);
    rw_sbuf_printf(&b, "%s ", rw_readable_band_emoji(v.band));
    put_mrkdwn(&b, who);
    rw_sbuf_puts(&b, v.band_change ? " is now " : " ");
    put_what(&b, &v, false);
    rw_sbuf_puts(&b, " \xe2\x80\x94 ");
    put_score(&b, &v, false);
    rw_sbuf_puts(&b, " \xe2\x80\x94 ");
    if (v.renewal_date)
        rw_sbuf_puts(&b, "renews ");
    put_renewal(&b, &v);
    return take_text(&b);
}

static void add_field(json_t *fields, const char *label, const char *value, bool escape)
{
    struct rw_sbuf b = {0};
    rw_sbuf_printf(&b, "*%s*\n", label);
    if (escape)
        put_mrkdwn(&b, value);
    else
        rw_sbuf_puts(&b, value);
    json_array_append_new(fields, mrkdwn(take_text(&b)));
}

#define DIGEST_LISTED 20 /* alerts listed one per block (Slack takes 50 blocks at most) */

/* "2026-03-02 00:00" of an RFC 3339 time into BUF. */
static void short_time(const char *t, char *buf, size_t n)
{
    snprintf(buf, n, "%.16s", t ? t : "?");
    char *sep = strchr(buf, 'T');
    if (sep)
        *sep = ' ';
}

/* A digest: a header with the count, the window, one section per alert (most urgent
 * first) up to DIGEST_LISTED, then the count of the rest and a link to the first of them. */
static json_t *digest_payload(const json_t *d)
{
    const json_t *alerts = json_object_get(d, "alerts");
    size_t n = json_array_size(alerts);
    struct rw_sbuf b = {0};
    json_t *blocks = json_array();
    rw_sbuf_printf(&b, "renewald digest \xc2\xb7 %zu alert%s", n, n == 1 ? "" : "s");
    char *s = rw_sbuf_take(&b);
    json_array_append_new(blocks, json_pack("{s:s, s:{s:s, s:s, s:b}}", "type", "header", "text",
                                            "type", "plain_text", "text", s, "emoji", 1));
    char from[24], to[24];
    short_time(rw_alert_str(d, "window_start"), from, sizeof from);
    short_time(rw_alert_str(d, "window_end"), to, sizeof to);
    if (strcmp(from, to) == 0) /* a catch-up digest */
        rw_sbuf_printf(&b, "caught up at %s UTC: the current picture, most urgent first", to);
    else
        rw_sbuf_printf(&b, "%s \xe2\x80\x93 %s UTC, most urgent first", from, to);
    json_array_append_new(
        blocks, json_pack("{s:s, s:[o]}", "type", "context", "elements", mrkdwn(take_text(&b))));
    for (size_t i = 0; i < n && i < DIGEST_LISTED; i++) {
        const json_t *a = json_array_get(alerts, i);
        char *line = rw_sink_slack_text(a);
        rw_sbuf_puts(&b, line);
        free(line);
        const char *url = rw_alert_str(a, "url");
        if (url && *url) {
            rw_sbuf_puts(&b, " \xc2\xb7 <");
            put_link_url(&b, url);
            rw_sbuf_puts(&b, "|open>");
        }
        json_array_append_new(
            blocks, json_pack("{s:s, s:o}", "type", "section", "text", mrkdwn(take_text(&b))));
    }
    if (n > DIGEST_LISTED) {
        const json_t *next = json_array_get(alerts, DIGEST_LISTED);
        const char *url = rw_alert_str(next, "url");
        rw_sbuf_printf(&b, "\xe2\x80\xa6 and *%zu more* in this digest", n - DIGEST_LISTED);
        if (url && *url) {
            rw_sbuf_puts(&b, ": <");
            put_link_url(&b, url);
            rw_sbuf_puts(&b, "|the next one>");
        }
        json_array_append_new(
            blocks, json_pack("{s:s, s:o}", "type", "section", "text", mrkdwn(take_text(&b))));
    }
    rw_sbuf_printf(&b, "renewald digest: %zu alert%s from %s to %s UTC", n, n == 1 ? "" : "s", from,
                   to);
    char *text = take_text(&b);
    json_t *payload = json_pack("{s:s, s:o}", "text", text, "blocks", blocks);
    free(text);
    free(s);
    return payload;
}

json_t *rw_sink_slack_payload(const json_t *alert)
{
    if (rw_digest_is(alert))
        return digest_payload(alert);
    struct rw_alert_view v;
    rw_alert_view(alert, &v);
    struct rw_sbuf b = {0};
    json_t *blocks = json_array();

    /* Header: plain text (no markup is read in it), the band's colour first. */
    char who[4 * HEADER_MAX + 1];
    rw_readable_who(v.name, v.account, HEADER_MAX - 2, who, sizeof who);
    rw_sbuf_printf(&b, "%s %s", rw_readable_band_emoji(v.band), who);
    char *s = rw_sbuf_take(&b);
    rw_utf8_cut(s, HEADER_MAX);
    json_array_append_new(blocks, json_pack("{s:s, s:{s:s, s:s, s:b}}", "type", "header", "text",
                                            "type", "plain_text", "text", s, "emoji", 1));
    free(s);

    /* What happened, and the score with its week. */
    if (v.band_change)
        rw_sbuf_puts(&b, "Now ");
    put_what(&b, &v, true);
    rw_sbuf_puts(&b, " \xc2\xb7 ");
    put_score(&b, &v, true);
    json_array_append_new(
        blocks, json_pack("{s:s, s:o}", "type", "section", "text", mrkdwn(take_text(&b))));

    /* The facts of the renewal. */
    json_t *fields = json_array();
    put_renewal(&b, &v);
    s = rw_sbuf_take(&b);
    add_field(fields, "Renewal", s, false);
    free(s);
    char arr[RW_READABLE_MAX];
    rw_readable_money(v.arr, arr, sizeof arr);
    add_field(fields, "ARR", arr, false);
    add_field(fields, "Owner", v.owner ? v.owner : "none", v.owner != NULL);
    add_field(fields, "Tier", v.tier ? v.tier : "none", v.tier != NULL);
    json_array_append_new(blocks, json_pack("{s:s, s:o}", "type", "section", "fields", fields));

    /* What moved the score. */
    if (v.ndrivers > 0) {
        rw_sbuf_puts(&b, "*Pulling the score down*");
        for (int i = 0; i < v.ndrivers; i++) {
            rw_sbuf_puts(&b, "\n\xe2\x80\xa2 *");
            put_conf(&b, v.drivers[i].name);
            rw_sbuf_puts(&b, "*");
            if (v.drivers[i].text[0]) {
                rw_sbuf_puts(&b, " ");
                put_conf(&b, v.drivers[i].text);
            }
        }
        json_array_append_new(
            blocks, json_pack("{s:s, s:o}", "type", "section", "text", mrkdwn(take_text(&b))));
    }

    if (v.url && *v.url) {
        rw_sbuf_puts(&b, "<");
        put_link_url(&b, v.url);
        rw_sbuf_puts(&b, "|Open the account \xe2\x86\x92>");
        json_array_append_new(
            blocks, json_pack("{s:s, s:o}", "type", "section", "text", mrkdwn(take_text(&b))));
    }

    put_mrkdwn(&b, v.account ? v.account : "?");
    rw_sbuf_printf(&b, " \xc2\xb7 alert %.12s \xc2\xb7 %s", v.id ? v.id : "?", v.ts ? v.ts : "?");
    json_array_append_new(
        blocks, json_pack("{s:s, s:[o]}", "type", "context", "elements", mrkdwn(take_text(&b))));

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
