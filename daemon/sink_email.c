/* sink_email.c - one RFC 5322 message per alert over SMTP (smtps:// or STARTTLS). */
#include "sink_internal.h"
#include "renewald/core/alert.h"
#include "renewald/core/digest.h"
#include "renewald/core/readable.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ENCODED_WORD_BYTES 39 /* UTF-8 bytes per encoded-word: "Subject: " + word <= 76 chars */

/* An owner from the events is untrusted: only a plain addr-spec is used. */
static bool plausible_address(const char *s)
{
    if (!s || !*s || strlen(s) > RW_OWNER_MAX)
        return false;
    const char *at = strrchr(s, '@');
    if (!at || at == s || !at[1])
        return false;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c == 0x7f || strchr("<>,;\"()\\[]", c))
            return false;
    }
    return true;
}

int rw_sink_email_recipients(const struct rw_sink_conf *sink, const json_t *alert,
                             const char *out[RW_MAX_RECIPIENTS])
{
    if (!sink->to_owner) {
        int n = 0;
        for (int i = 0; i < sink->nto && i < RW_MAX_RECIPIENTS; i++) {
            if (sink->to[i] && *sink->to[i])
                out[n++] = sink->to[i];
        }
        return n;
    }
    const char *owner = rw_alert_str(alert, "owner");
    if (plausible_address(owner)) {
        out[0] = owner;
        return 1;
    }
    if (sink->fallback_to && *sink->fallback_to) {
        out[0] = sink->fallback_to;
        return 1;
    }
    return 0;
}

/* "Name <a@b>" -> "a@b"; "a@b" -> "a@b".  A heap string without CR/LF. */
static char *bare_address(const char *s)
{
    const char *lt = strrchr(s, '<');
    const char *gt = lt ? strchr(lt, '>') : NULL;
    struct rw_sbuf b = {0};
    if (lt && gt) {
        char *inner = rw_xstrndup(lt + 1, (size_t)(gt - lt - 1));
        rw_sbuf_put_line(&b, inner);
        free(inner);
    } else {
        rw_sbuf_put_line(&b, s);
    }
    char *r = rw_sbuf_take(&b);
    /* trim spaces */
    char *p = r;
    while (*p == ' ' || *p == '\t')
        p++;
    memmove(r, p, strlen(p) + 1);
    size_t n = strlen(r);
    while (n > 0 && (r[n - 1] == ' ' || r[n - 1] == '\t'))
        r[--n] = '\0';
    return r;
}

/* Only atext and dots in a Message-ID part; anything else becomes '-'. */
static void put_msgid_part(struct rw_sbuf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  strchr("!#$%&'*+-/=?^_`{|}~.", c);
        char o = ok && c ? (char)c : '-';
        rw_sbuf_putn(b, &o, 1);
    }
}

/* RFC 5322 date-time in UTC, independent of the locale. */
static void put_date(struct rw_sbuf *b, int64_t now_ms)
{
    static const char *const days[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mons[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(now_ms >= 0 ? now_ms / 1000 : -((-now_ms + 999) / 1000));
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        memset(&tm, 0, sizeof tm);
    rw_sbuf_printf(b, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
                   mons[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* A header value as RFC 2047 encoded-words when it is not plain ASCII. */
static void put_header_text(struct rw_sbuf *b, const char *s)
{
    bool ascii = true;
    for (const char *p = s; *p; p++)
        ascii = ascii && (unsigned char)*p < 0x80;
    if (ascii) {
        rw_sbuf_put_line(b, s);
        return;
    }
    struct rw_sbuf clean = {0};
    rw_sbuf_put_line(&clean, s);
    char *v = rw_sbuf_take(&clean);
    size_t len = strlen(v), i = 0;
    bool first = true;
    while (i < len) {
        size_t n = len - i < ENCODED_WORD_BYTES ? len - i : ENCODED_WORD_BYTES;
        while (i + n < len && n > 1 && ((unsigned char)v[i + n] & 0xC0) == 0x80)
            n--; /* never split a UTF-8 sequence */
        unsigned char enc[4 * ((ENCODED_WORD_BYTES + 2) / 3) + 1];
        EVP_EncodeBlock(enc, (const unsigned char *)v + i, (int)n);
        rw_sbuf_printf(b, "%s=?UTF-8?B?%s?=", first ? "" : "\r\n ", (const char *)enc);
        first = false;
        i += n;
    }
    free(v);
}

/* Every signal of the alert, one line each: name, readable value, score, weight. */
static void put_signals(struct rw_sbuf *b, const json_t *alert)
{
    const json_t *sigs = json_object_get(alert, "signals");
    const char *key;
    const json_t *v;
    if (json_object_size(sigs) == 0)
        return;
    rw_sbuf_puts(b, "\r\nAll signals:\r\n");
    json_object_foreach((json_t *)sigs, key, v)
    {
        rw_sbuf_puts(b, "  ");
        rw_sbuf_put_line(b, key);
        rw_sbuf_puts(b, ": ");
        double score = rw_alert_num(v, "score"), w = rw_alert_num(v, "weight");
        const char *text = rw_alert_str(v, "text");
        double x = rw_alert_num(v, "x");
        if (isnan(score)) {
            rw_sbuf_puts(b, "no data");
        } else {
            char num[RW_READABLE_MAX];
            if (text)
                rw_sbuf_put_line(b, text);
            else if (isfinite(x))
                rw_readable_number(x, num, sizeof num), rw_sbuf_puts(b, num);
            else
                rw_sbuf_puts(b, "none");
            rw_sbuf_printf(b, ", score %.1f", score);
        }
        if (isfinite(w))
            rw_sbuf_printf(b, ", weight %g", w);
        rw_sbuf_puts(b, "\r\n");
    }
}

static void put_field(struct rw_sbuf *b, const char *label, const char *value)
{
    rw_sbuf_printf(b, "%-10s ", label);
    rw_sbuf_put_line(b, value ? value : "none");
    rw_sbuf_puts(b, "\r\n");
}

/* "at risk (was watch)", "at risk (new account)"; for a window "renews in 30 days". */
static void put_what(struct rw_sbuf *b, const struct rw_alert_view *v)
{
    if (v->band_change) {
        rw_sbuf_puts(b, rw_readable_band(v->band));
        if (v->new_account)
            rw_sbuf_puts(b, " (new account)");
        else
            rw_sbuf_printf(b, " (was %s)", rw_readable_band(v->previous_band));
    } else if (v->has_days) {
        rw_sbuf_printf(b, "renews in %lld day%s (band %s)", v->days_to_renewal,
                       v->days_to_renewal == 1 ? "" : "s", rw_readable_band(v->band));
    } else {
        rw_sbuf_printf(b, "%lld-day renewal window (band %s)", v->window,
                       rw_readable_band(v->band));
    }
}

/* "31.4, ▼ 12.6 in 7 days (was 44.0; 52.1 30 days ago)". */
static void put_score(struct rw_sbuf *b, const struct rw_alert_view *v)
{
    if (v->score < 0) {
        rw_sbuf_puts(b, "none yet");
        return;
    }
    rw_sbuf_printf(b, "%d.%d", v->score / 10, v->score % 10);
    if (v->score_7d >= 0) {
        char ch[32];
        rw_readable_change(v->score, v->score_7d, ch, sizeof ch);
        rw_sbuf_printf(b, ", %s in 7 days (was %d.%d)", ch, v->score_7d / 10, v->score_7d % 10);
    }
    if (v->score_30d >= 0)
        rw_sbuf_printf(b, "; %d.%d 30 days ago", v->score_30d / 10, v->score_30d % 10);
}

#define SUBJECT_WHO_MAX 80 /* characters of the name (and id) in a subject */

/* Date, From, To, SUBJECT, a Message-ID from ID and the sink, the MIME headers, the blank line. */
static void put_headers(struct rw_sbuf *b, const struct rw_sink_conf *sink, const char *const *rcpt,
                        int nrcpt, int64_t now_ms, const char *subject, const char *id)
{
    rw_sbuf_puts(b, "Date: ");
    put_date(b, now_ms);
    rw_sbuf_puts(b, "\r\nFrom: ");
    rw_sbuf_put_line(b, sink->from ? sink->from : "renewald");
    rw_sbuf_puts(b, "\r\nTo: ");
    for (int i = 0; i < nrcpt; i++) {
        rw_sbuf_puts(b, i ? ", " : "");
        rw_sbuf_put_line(b, rcpt[i]);
    }
    rw_sbuf_puts(b, "\r\nSubject: ");
    put_header_text(b, subject);
    char *from = bare_address(sink->from ? sink->from : "");
    const char *at = strrchr(from, '@');
    rw_sbuf_puts(b, "\r\nMessage-ID: <");
    put_msgid_part(b, id);
    rw_sbuf_puts(b, ".");
    put_msgid_part(b, sink->name);
    rw_sbuf_puts(b, "@");
    put_msgid_part(b, at && at[1] ? at + 1 : "renewald");
    free(from);
    rw_sbuf_puts(b, ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                    "Content-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n\r\n");
}

#define DIGEST_LISTED 500 /* alerts listed in one digest message */

/* One line (and the link) of an alert in a digest. */
static void digest_item(struct rw_sbuf *b, const json_t *alert)
{
    struct rw_alert_view v;
    rw_alert_view(alert, &v);
    char who[4 * SUBJECT_WHO_MAX + 1], arr[48];
    rw_readable_who(v.name, v.account, SUBJECT_WHO_MAX, who, sizeof who);
    rw_sbuf_puts(b, "- ");
    rw_sbuf_put_line(b, who);
    rw_sbuf_puts(b, ": ");
    put_what(b, &v);
    rw_sbuf_puts(b, "; score ");
    put_score(b, &v);
    if (v.renewal_date) {
        rw_sbuf_puts(b, "; renews ");
        rw_sbuf_put_line(b, v.renewal_date);
    }
    rw_sink_fmt_arr(v.arr, arr, sizeof arr);
    if (isfinite(v.arr))
        rw_sbuf_printf(b, "; ARR %s", arr);
    rw_sbuf_puts(b, "\r\n");
    if (v.url && *v.url) {
        rw_sbuf_puts(b, "  ");
        rw_sbuf_put_line(b, v.url);
        rw_sbuf_puts(b, "\r\n");
    }
}

/* A digest: one message listing its alerts, most urgent first. */
static char *digest_message(const struct rw_sink_conf *sink, const json_t *d,
                            const char *const *rcpt, int nrcpt, int64_t now_ms)
{
    const json_t *alerts = json_object_get(d, "alerts");
    size_t n = json_array_size(alerts), risk = 0, watch = 0;
    for (size_t i = 0; i < n; i++) {
        const char *band = rw_alert_str(json_array_get(alerts, i), "band");
        risk += band && strcmp(band, "at_risk") == 0;
        watch += band && strcmp(band, "watch") == 0;
    }
    const char *id = rw_alert_str(d, "id"), *from = rw_alert_str(d, "window_start"),
               *to = rw_alert_str(d, "window_end");
    struct rw_sbuf b = {0}, tmp = {0};
    rw_sbuf_printf(&tmp, "[renewald] digest: %zu alert%s (%zu at risk, %zu watch)", n,
                   n == 1 ? "" : "s", risk, watch);
    char *subject = rw_sbuf_take(&tmp);
    put_headers(&b, sink, rcpt, nrcpt, now_ms, subject, id ? id : "digest");
    free(subject);
    if (from && to && strcmp(from, to) == 0) { /* a catch-up digest */
        rw_sbuf_printf(&b, "%zu alert%s when renewald caught up at ", n, n == 1 ? "" : "s");
        rw_sbuf_put_line(&b, to);
    } else {
        rw_sbuf_printf(&b, "%zu alert%s from ", n, n == 1 ? "" : "s");
        rw_sbuf_put_line(&b, from ? from : "?");
        rw_sbuf_puts(&b, " to ");
        rw_sbuf_put_line(&b, to ? to : "?");
    }
    rw_sbuf_puts(&b, ", most urgent first:\r\n\r\n");
    for (size_t i = 0; i < n && i < DIGEST_LISTED; i++)
        digest_item(&b, json_array_get(alerts, i));
    if (n > DIGEST_LISTED)
        rw_sbuf_printf(&b, "... and %zu more (every alert is in the alerts stream)\r\n",
                       n - DIGEST_LISTED);
    rw_sbuf_puts(&b, "\r\n-- \r\nrenewald \xc2\xb7 digest ");
    rw_sbuf_put_line(&b, id ? id : "?");
    rw_sbuf_puts(&b, "\r\n");
    return rw_sbuf_take(&b);
}

char *rw_sink_email_message(const struct rw_sink_conf *sink, const json_t *alert,
                            const char *const *rcpt, int nrcpt, int64_t now_ms)
{
    if (rw_digest_is(alert))
        return digest_message(sink, alert, rcpt, nrcpt, now_ms);
    struct rw_alert_view v;
    rw_alert_view(alert, &v);
    struct rw_sbuf b = {0}, tmp = {0};
    const char *id = v.id ? v.id : "unknown";
    char who[4 * SUBJECT_WHO_MAX + 1];
    rw_readable_who(v.name, v.account, SUBJECT_WHO_MAX, who, sizeof who);

    /* Subject: "[renewald] Acme Corp (acct-1): at risk (was watch), score 31.4 ▼ 12.6". */
    rw_sbuf_printf(&tmp, "[renewald] %s: ", who);
    put_what(&tmp, &v);
    if (v.score >= 0) {
        rw_sbuf_printf(&tmp, ", score %d.%d", v.score / 10, v.score % 10);
        if (v.score_7d >= 0) {
            char change[32];
            rw_readable_change(v.score, v.score_7d, change, sizeof change);
            rw_sbuf_printf(&tmp, " %s", change);
        }
    }
    char *subject = rw_sbuf_take(&tmp);
    put_headers(&b, sink, rcpt, nrcpt, now_ms, subject, id);
    free(subject);

    /* Body: the headline, the facts, what pulls the score down, the link. */
    rw_sbuf_put_line(&b, who);
    rw_sbuf_puts(&b, v.band_change ? " is now " : ": ");
    put_what(&b, &v);
    rw_sbuf_puts(&b, ".\r\n\r\n");
    put_score(&tmp, &v);
    char *line = rw_sbuf_take(&tmp);
    put_field(&b, "Score:", line);
    free(line);
    if (v.renewal_date && v.has_days)
        rw_sbuf_printf(&tmp, "%s, in %lld day%s", v.renewal_date, v.days_to_renewal,
                       v.days_to_renewal == 1 ? "" : "s");
    line = v.renewal_date && v.has_days ? rw_sbuf_take(&tmp) : NULL;
    put_field(&b, "Renewal:", line ? line : v.renewal_date);
    free(line);
    char arr[48];
    rw_sink_fmt_arr(v.arr, arr, sizeof arr);
    put_field(&b, "ARR:", isfinite(v.arr) ? arr : NULL);
    put_field(&b, "Owner:", v.owner);
    put_field(&b, "Tier:", v.tier);
    if (v.ndrivers > 0) {
        rw_sbuf_puts(&b, "\r\nWhat pulls the score down:\r\n");
        for (int i = 0; i < v.ndrivers; i++) {
            rw_sbuf_puts(&b, "  - ");
            rw_sbuf_put_line(&b, v.drivers[i].name);
            if (v.drivers[i].text[0]) {
                rw_sbuf_puts(&b, " ");
                rw_sbuf_put_line(&b, v.drivers[i].text);
            }
            if (v.drivers[i].score >= 0)
                rw_sbuf_printf(&b, " (signal score %d.%d of 100)", v.drivers[i].score / 10,
                               v.drivers[i].score % 10);
            rw_sbuf_puts(&b, "\r\n");
        }
    }
    if (v.url && *v.url) {
        rw_sbuf_puts(&b, "\r\nOpen the account: ");
        rw_sbuf_put_line(&b, v.url);
        rw_sbuf_puts(&b, "\r\n");
    }
    put_signals(&b, alert);
    rw_sbuf_puts(&b, "\r\n-- \r\nrenewald \xc2\xb7 alert ");
    rw_sbuf_put_line(&b, id);
    rw_sbuf_puts(&b, " \xc2\xb7 ");
    rw_sbuf_put_line(&b, v.ts ? v.ts : "?");
    rw_sbuf_puts(&b, "\r\n");
    return rw_sbuf_take(&b);
}

enum rw_sink_prep rw_sink_email_prepare(const struct rw_sink_conf *sink, const json_t *alert,
                                        int64_t now_ms, struct rw_http_request *out, char *err)
{
    const char *rcpt[RW_MAX_RECIPIENTS];
    int n = rw_sink_email_recipients(sink, alert, rcpt);
    if (n == 0) {
        snprintf(err, RW_SINK_ERROR_MAX, "no recipient");
        return RW_SINK_FAILED;
    }
    if (!sink->smtp_url || !sink->from) {
        snprintf(err, RW_SINK_ERROR_MAX, "sink %s has no smtp_url or from", sink->name);
        return RW_SINK_FAILED;
    }
    CURL *e = rw_sink_easy(sink, sink->smtp_url, "smtp,smtps");
    bool implicit_tls = strncasecmp(sink->smtp_url, "smtps://", 8) == 0;
    long use_ssl = implicit_tls || sink->tls == RW_TLS_REQUIRED ? (long)CURLUSESSL_ALL
                   : sink->tls == RW_TLS_OPPORTUNISTIC          ? (long)CURLUSESSL_TRY
                                                                : (long)CURLUSESSL_NONE;
    curl_easy_setopt(e, CURLOPT_USE_SSL, use_ssl);
    if (sink->username)
        curl_easy_setopt(e, CURLOPT_USERNAME, sink->username);
    if (sink->password)
        curl_easy_setopt(e, CURLOPT_PASSWORD, sink->password);

    char *from = bare_address(sink->from);
    char *mail_from = rw_xasprintf("<%s>", from);
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, mail_from); /* libcurl copies strings */
    free(mail_from);
    free(from);

    struct curl_slist *rl = NULL;
    for (int i = 0; i < n; i++) {
        char *addr = bare_address(rcpt[i]);
        char *r = rw_xasprintf("<%s>", addr);
        rl = curl_slist_append(rl, r);
        free(r);
        free(addr);
    }
    out->easy = e;
    out->recipients = rl;
    out->body = rw_sink_email_message(sink, alert, rcpt, n, now_ms);
    out->body_len = strlen(out->body);
    out->upload = true;
    return RW_SINK_TRANSFER;
}
