/* sink_email.c - one RFC 5322 message per alert over SMTP (smtps:// or STARTTLS). */
#include "sink_internal.h"
#include "renewald/core/alert.h"

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

static void put_signals(struct rw_sbuf *b, const json_t *alert)
{
    const json_t *sigs = json_object_get(alert, "signals");
    const char *key;
    const json_t *v;
    char score[32];
    if (json_object_size(sigs) == 0)
        return;
    rw_sbuf_puts(b, "\r\nSignals:\r\n");
    json_object_foreach((json_t *)sigs, key, v)
    {
        rw_sbuf_puts(b, "  ");
        rw_sbuf_put_line(b, key);
        double w = rw_alert_num(v, "weight");
        if (isnan(rw_alert_num(v, "score"))) {
            rw_sbuf_puts(b, ": absent");
        } else {
            rw_sink_fmt_score(json_object_get(v, "score"), score, sizeof score);
            double x = rw_alert_num(v, "x");
            rw_sbuf_printf(b, ": score %s, x ", score);
            if (isfinite(x))
                rw_sbuf_printf(b, "%.4g", x);
            else
                rw_sbuf_puts(b, "none");
        }
        if (isfinite(w))
            rw_sbuf_printf(b, ", weight %g", w);
        rw_sbuf_puts(b, "\r\n");
    }
}

static void put_field(struct rw_sbuf *b, const char *label, const char *value)
{
    rw_sbuf_printf(b, "%-14s ", label);
    rw_sbuf_put_line(b, value ? value : "n/a");
    rw_sbuf_puts(b, "\r\n");
}

char *rw_sink_email_message(const struct rw_sink_conf *sink, const json_t *alert,
                            const char *const *rcpt, int nrcpt, int64_t now_ms)
{
    struct rw_sbuf b = {0}, tmp = {0};
    char score[32], arr[48];
    const char *name = rw_sink_display_name(alert);
    const char *kind = rw_alert_str(alert, "kind");
    bool band_change = kind && strcmp(kind, "band_change") == 0;
    const char *band = rw_alert_str(alert, "band");
    const char *id = rw_alert_str(alert, "id") ? rw_alert_str(alert, "id") : "unknown";
    const json_t *days = json_object_get(alert, "days_to_renewal");
    rw_sink_fmt_score(json_object_get(alert, "score"), score, sizeof score);
    rw_sink_fmt_arr(rw_alert_num(alert, "arr"), arr, sizeof arr);

    rw_sbuf_puts(&b, "Date: ");
    put_date(&b, now_ms);
    rw_sbuf_puts(&b, "\r\nFrom: ");
    rw_sbuf_put_line(&b, sink->from ? sink->from : "renewald");
    rw_sbuf_puts(&b, "\r\nTo: ");
    for (int i = 0; i < nrcpt; i++) {
        rw_sbuf_puts(&b, i ? ", " : "");
        rw_sbuf_put_line(&b, rcpt[i]);
    }

    if (band_change)
        rw_sbuf_printf(&tmp, "[renewald] %s: %s (score %s)", name, band ? band : "unknown", score);
    else if (json_is_integer(days))
        rw_sbuf_printf(&tmp, "[renewald] %s: renewal in %lld days", name,
                       (long long)json_integer_value(days));
    else
        rw_sbuf_printf(&tmp, "[renewald] %s: renewal window %lld days", name,
                       (long long)json_integer_value(json_object_get(alert, "window")));
    char *subject = rw_sbuf_take(&tmp);
    rw_sbuf_puts(&b, "\r\nSubject: ");
    put_header_text(&b, subject);
    free(subject);

    char *from = bare_address(sink->from ? sink->from : "");
    const char *at = strrchr(from, '@');
    rw_sbuf_puts(&b, "\r\nMessage-ID: <");
    put_msgid_part(&b, id);
    rw_sbuf_puts(&b, ".");
    put_msgid_part(&b, sink->name);
    rw_sbuf_puts(&b, "@");
    put_msgid_part(&b, at && at[1] ? at + 1 : "renewald");
    free(from);
    rw_sbuf_puts(&b, ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n\r\n");

    /* Body: one value per line; CR/LF in values would break lines, so they go too. */
    if (band_change)
        rw_sbuf_printf(&tmp, "%s (%s) is now %s (was %s).", name,
                       rw_alert_str(alert, "account") ? rw_alert_str(alert, "account") : "?",
                       band ? band : "unknown",
                       rw_alert_str(alert, "previous_band") ? rw_alert_str(alert, "previous_band")
                                                            : "unknown");
    else
        rw_sbuf_printf(&tmp, "%s (%s) entered the %lld-day renewal window.", name,
                       rw_alert_str(alert, "account") ? rw_alert_str(alert, "account") : "?",
                       (long long)json_integer_value(json_object_get(alert, "window")));
    char *line = rw_sbuf_take(&tmp);
    rw_sbuf_put_line(&b, line);
    free(line);
    rw_sbuf_puts(&b, "\r\n\r\n");
    put_field(&b, "Account:", rw_alert_str(alert, "account"));
    put_field(&b, "Name:", rw_alert_str(alert, "name"));
    put_field(&b, "Band:", band);
    if (band_change)
        put_field(&b, "Previous band:", rw_alert_str(alert, "previous_band"));
    put_field(&b, "Score:", score);
    put_field(&b, "Renewal date:", rw_alert_str(alert, "renewal_date"));
    if (json_is_integer(days))
        rw_sbuf_printf(&tmp, "%lld", (long long)json_integer_value(days));
    line = json_is_integer(days) ? rw_sbuf_take(&tmp) : NULL;
    put_field(&b, "Days to renewal:", line);
    free(line);
    put_field(&b, "Owner:", rw_alert_str(alert, "owner"));
    put_field(&b, "ARR:", arr);
    put_field(&b, "Tier:", rw_alert_str(alert, "tier"));
    put_field(&b, "Alert time:", rw_alert_str(alert, "ts"));
    put_field(&b, "Alert id:", id);
    put_signals(&b, alert);
    rw_sbuf_puts(&b, "\r\n-- \r\nrenewald\r\n");
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
