/* sink.c - dispatch per sink type, the log sink, outcome classification, shared helpers. */
#include "sink_internal.h"
#include "renewald/core/alert.h"
#include "renewald/log.h"
#include "renewald/retry.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rw_sbuf_putn(struct rw_sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = rw_xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void rw_sbuf_puts(struct rw_sbuf *b, const char *s)
{
    rw_sbuf_putn(b, s, strlen(s));
}

void rw_sbuf_printf(struct rw_sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    char *tmp = rw_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(tmp, (size_t)n + 1, fmt, ap);
    va_end(ap);
    rw_sbuf_putn(b, tmp, (size_t)n);
    free(tmp);
}

void rw_sbuf_put_line(struct rw_sbuf *b, const char *s)
{
    for (; *s; s++) {
        char c = (*s == '\r' || *s == '\n') ? ' ' : *s;
        rw_sbuf_putn(b, &c, 1);
    }
}

char *rw_sbuf_take(struct rw_sbuf *b)
{
    char *p = b->p ? b->p : rw_xstrdup("");
    memset(b, 0, sizeof *b);
    return p;
}

const char *rw_sink_display_name(const json_t *alert)
{
    const char *name = rw_alert_str(alert, "name");
    if (name && *name)
        return name;
    const char *acct = rw_alert_str(alert, "account");
    return acct ? acct : "?";
}

void rw_sink_fmt_score(const json_t *v, char *buf, size_t n)
{
    if (json_is_number(v) && isfinite(json_number_value(v)))
        snprintf(buf, n, "%.1f", json_number_value(v));
    else
        snprintf(buf, n, "n/a");
}

void rw_sink_fmt_arr(double arr, char *buf, size_t n)
{
    if (!isfinite(arr) || fabs(arr) >= 1e15) {
        snprintf(buf, n, isfinite(arr) ? "%.0f" : "n/a", arr);
        return;
    }
    /* Whole cents first, so 999.999 becomes "1,000" and not "999.100". */
    long long cents = llround(fabs(arr) * 100.0);
    char digits[32];
    snprintf(digits, sizeof digits, "%lld", cents / 100);
    struct rw_sbuf b = {0};
    if (arr < 0 && cents > 0)
        rw_sbuf_puts(&b, "-");
    size_t len = strlen(digits);
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            rw_sbuf_puts(&b, ",");
        rw_sbuf_putn(&b, &digits[i], 1);
    }
    if (cents % 100)
        rw_sbuf_printf(&b, ".%02lld", cents % 100);
    char *s = rw_sbuf_take(&b);
    snprintf(buf, n, "%s", s);
    free(s);
}

int rw_sink_top_signals(const json_t *alert, const char **names, const json_t **vals, int max)
{
    const json_t *sigs = json_object_get(alert, "signals");
    const char *key;
    const json_t *v;
    int n = 0;
    json_object_foreach((json_t *)sigs, key, v)
    {
        double s = rw_alert_num(v, "score");
        if (isnan(s))
            continue;
        /* Insertion sort by score ascending; keep the MAX worst. */
        int i = n < max ? n++ : max;
        while (i > 0 && rw_alert_num(vals[i - 1], "score") > s) {
            if (i < max) {
                names[i] = names[i - 1];
                vals[i] = vals[i - 1];
            }
            i--;
        }
        if (i < max) {
            names[i] = key;
            vals[i] = v;
        }
    }
    return n;
}

CURL *rw_sink_easy(const struct rw_sink_conf *sink, const char *url, const char *protocols)
{
    CURL *e = curl_easy_init();
    if (!e) {
        fprintf(stderr, "renewald: curl_easy_init failed\n");
        abort();
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, protocols);
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_VERBOSE, 0L);
#if LIBCURL_VERSION_NUM >= 0x075700
    /* A transfer ended while its name lookup still runs (a timeout, a shutdown)
     * must not wait for the resolver thread: detach it, never join it in the loop. */
    curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);
#endif
    if (sink->timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)sink->timeout_ms);
    if (sink->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, sink->ca_file);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "renewald/" RENEWALD_VERSION);
    return e;
}

const char *rw_sink_type_name(enum rw_sink_type type)
{
    switch (type) {
    case RW_SINK_SLACK:
        return "slack";
    case RW_SINK_WEBHOOK:
        return "webhook";
    case RW_SINK_EMAIL:
        return "email";
    case RW_SINK_LOG:
        return "log";
    }
    return "unknown";
}

enum rw_sink_prep rw_sink_prepare(const struct rw_sink_conf *sink, const json_t *alert,
                                  const char *body, int64_t now_ms, struct rw_http_request *out,
                                  char err[RW_SINK_ERROR_MAX])
{
    memset(out, 0, sizeof *out);
    err[0] = '\0';
    char *own = body ? NULL : rw_alert_dumps(alert);
    const char *b = body ? body : own;
    enum rw_sink_prep r = RW_SINK_FAILED;
    switch (sink->type) {
    case RW_SINK_SLACK:
        r = rw_sink_slack_prepare(sink, alert, out, err);
        break;
    case RW_SINK_WEBHOOK:
        r = rw_sink_webhook_prepare(sink, alert, b, now_ms, out, err);
        break;
    case RW_SINK_EMAIL:
        r = rw_sink_email_prepare(sink, alert, now_ms, out, err);
        break;
    case RW_SINK_LOG:
        rw_log_json_field(RW_LOG_INFO, "alert", b, "alert sink=%s", sink->name);
        r = RW_SINK_DELIVERED;
        break;
    default:
        snprintf(err, RW_SINK_ERROR_MAX, "unknown sink type");
        break;
    }
    free(own);
    return r;
}

/* Replaces every occurrence of SECRET (if long enough to matter) in S (CAP bytes) by a marker. */
static void redact(char *s, size_t cap, const char *secret)
{
    static const char mark[] = "[redacted]";
    const size_t ml = sizeof mark - 1;
    if (!secret || strlen(secret) < 4)
        return;
    size_t sl = strlen(secret);
    char *from = s, *hit;
    while ((hit = strstr(from, secret))) {
        size_t at = (size_t)(hit - s);
        if (at + ml + 1 > cap) { /* no room for the marker: cut here */
            *hit = '\0';
            return;
        }
        size_t tail = strlen(hit + sl);
        if (at + ml + tail + 1 > cap)
            tail = cap - at - ml - 1;
        memmove(hit + ml, hit + sl, tail);
        memcpy(hit, mark, ml);
        hit[ml + tail] = '\0';
        from = hit + ml; /* never rescan the marker */
    }
}

/* The path and query of URL ("/services/T000/B000/XXXX"), the secret part of a Slack URL. */
static const char *url_path(const char *url)
{
    const char *p = url ? strstr(url, "://") : NULL;
    return p ? strchr(p + 3, '/') : NULL;
}

static void scrub(const struct rw_sink_conf *sink, char *s, size_t cap)
{
    redact(s, cap, sink->url);
    redact(s, cap, url_path(sink->url));
    redact(s, cap, sink->secret);
    redact(s, cap, sink->password);
    redact(s, cap, sink->smtp_url);
    for (char *p = s; *p; p++) { /* one log line, no control characters */
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    }
}

void rw_sink_classify(const struct rw_sink_conf *sink, const struct rw_http_result *res,
                      struct rw_delivery_result *out)
{
    out->retry_after_ms = -1;
    out->error[0] = '\0';
    if (res->cancelled) {
        out->outcome = RW_DELIVERY_RETRY;
        snprintf(out->error, sizeof out->error, "cancelled");
        return;
    }
    bool smtp = sink->type == RW_SINK_EMAIL;
    enum rw_retry_class cls = smtp ? rw_retry_classify_smtp(res->code, res->status)
                                   : rw_retry_classify_http(res->code, res->status);
    out->outcome = cls == RW_RETRY_SUCCESS     ? RW_DELIVERY_SUCCESS
                   : cls == RW_RETRY_RETRYABLE ? RW_DELIVERY_RETRY
                                               : RW_DELIVERY_PERMANENT;
    if (out->outcome == RW_DELIVERY_SUCCESS)
        return;
    if (out->outcome == RW_DELIVERY_RETRY)
        out->retry_after_ms = res->retry_after_ms;
    if (res->code != CURLE_OK && smtp)
        snprintf(out->error, sizeof out->error, "smtp error %d (reply %ld): %s", (int)res->code,
                 res->status, res->error);
    else if (res->code != CURLE_OK)
        snprintf(out->error, sizeof out->error, "curl error %d: %s", (int)res->code, res->error);
    else
        snprintf(out->error, sizeof out->error, "http status %ld%s%.*s", res->status,
                 res->body_len ? ": " : "", (int)(res->body_len < 200 ? res->body_len : 200),
                 res->body ? res->body : "");
    scrub(sink, out->error, sizeof out->error);
}
