/* retry.c - Retry-After, backoff with full jitter, outcome classes, token bucket. */
#include "renewald/retry.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

static const char *const wkday[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const weekday[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                       "Friday", "Saturday", "Sunday"};
static const char *const months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* A cursor over the bytes being parsed; every step checks the bound. */
struct cur {
    const char *p, *end;
};

static bool lit(struct cur *c, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
        return false;
    c->p += n;
    return true;
}

static bool digits(struct cur *c, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return false;
        v = v * 10 + (*c->p++ - '0');
    }
    *out = v;
    return true;
}

static bool name_of(struct cur *c, const char *const *names, int n)
{
    for (int i = 0; i < n; i++) {
        if (lit(c, names[i]))
            return true;
    }
    return false;
}

static bool month(struct cur *c, int *out)
{
    for (int i = 0; i < 12; i++) {
        if (lit(c, months[i])) {
            *out = i + 1;
            return true;
        }
    }
    return false;
}

/* "HH:MM:SS" */
static bool hms(struct cur *c, int *h, int *m, int *s)
{
    return digits(c, 2, h) && lit(c, ":") && digits(c, 2, m) && lit(c, ":") && digits(c, 2, s);
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int mdays(int y, int m)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int year_of_ms(int64_t ms)
{
    int64_t z = (ms >= 0 ? ms : ms - RW_MS_PER_DAY + 1) / RW_MS_PER_DAY + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    return (int)(yoe + era * 400 + (m <= 2));
}

static bool date_ms(int y, int mo, int d, int h, int mi, int s, int64_t *out)
{
    if (y < 1 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > mdays(y, mo) || h > 23 || mi > 59 ||
        s > 60)
        return false;
    if (s == 60) /* a leap second counts as :59 */
        s = 59;
    *out = (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000;
    return true;
}

/* The three HTTP-date forms (RFC 9110 §5.6.7); C covers exactly the value. */
static bool http_date(struct cur c, int64_t now_ms, int64_t *out)
{
    int y, mo, d, h, mi, s;
    struct cur t = c;
    /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
    if (name_of(&t, wkday, 7) && lit(&t, ", ") && digits(&t, 2, &d) && lit(&t, " ") &&
        month(&t, &mo) && lit(&t, " ") && digits(&t, 4, &y) && lit(&t, " ") &&
        hms(&t, &h, &mi, &s) && lit(&t, " GMT") && t.p == t.end)
        return date_ms(y, mo, d, h, mi, s, out);
    /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
    t = c;
    if (name_of(&t, weekday, 7) && lit(&t, ", ") && digits(&t, 2, &d) && lit(&t, "-") &&
        month(&t, &mo) && lit(&t, "-") && digits(&t, 2, &y) && lit(&t, " ") &&
        hms(&t, &h, &mi, &s) && lit(&t, " GMT") && t.p == t.end) {
        /* A two-digit year more than 50 years ahead is in the past century.  The
         * clock is clamped to years 1970..9999 so the arithmetic cannot overflow. */
        int64_t clamped = now_ms < 0                          ? 0
                          : now_ms > INT64_C(253402300799999) ? INT64_C(253402300799999)
                                                              : now_ms;
        int now_y = year_of_ms(clamped);
        int full = now_y - now_y % 100 + y;
        if (full > now_y + 50)
            full -= 100;
        return date_ms(full, mo, d, h, mi, s, out);
    }
    /* asctime: Sun Nov  6 08:49:37 1994 */
    t = c;
    if (name_of(&t, wkday, 7) && lit(&t, " ") && month(&t, &mo) && lit(&t, " ")) {
        if (lit(&t, " ")) {
            if (!digits(&t, 1, &d))
                return false;
        } else if (!digits(&t, 2, &d)) {
            return false;
        }
        if (lit(&t, " ") && hms(&t, &h, &mi, &s) && lit(&t, " ") && digits(&t, 4, &y) &&
            t.p == t.end)
            return date_ms(y, mo, d, h, mi, s, out);
    }
    return false;
}

bool rw_retry_after_parse(const char *s, size_t len, int64_t now_ms, int64_t *out_ms)
{
    if (!s)
        return false;
    const char *p = s, *end = s + len;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (p == end)
        return false;
    if (*p >= '0' && *p <= '9') {
        int64_t secs = 0;
        for (; p < end; p++) {
            if (*p < '0' || *p > '9')
                return false;
            if (secs <= RW_RETRY_AFTER_CAP_MS / 1000) /* stop growing once past the cap */
                secs = secs * 10 + (*p - '0');
        }
        int64_t ms = secs > RW_RETRY_AFTER_CAP_MS / 1000 ? RW_RETRY_AFTER_CAP_MS : secs * 1000;
        *out_ms = ms;
        return true;
    }
    int64_t at;
    if (!http_date((struct cur){p, end}, now_ms, &at))
        return false;
    /* Compare before subtracting: NOW_MS may be anything, AT is within years 1..9999. */
    if (at <= now_ms)
        *out_ms = 0;
    else if (now_ms < at - RW_RETRY_AFTER_CAP_MS)
        *out_ms = RW_RETRY_AFTER_CAP_MS;
    else
        *out_ms = at - now_ms;
    return true;
}

uint64_t rw_random_default(void *arg)
{
    (void)arg;
    uint64_t v = 0;
    if (RAND_bytes((unsigned char *)&v, sizeof v) != 1)
        v = (uint64_t)rw_mono_ms() * UINT64_C(0x9E3779B97F4A7C15); /* never in practice */
    return v;
}

int64_t rw_backoff_ms(int64_t initial_ms, int64_t max_ms, int attempt, rw_random_fn rnd,
                      void *rnd_arg)
{
    if (initial_ms < 0)
        initial_ms = 0;
    if (max_ms < 0)
        max_ms = 0;
    if (attempt < 1)
        attempt = 1;
    int64_t cap = initial_ms;
    for (int i = 1; i < attempt && cap < max_ms; i++)
        cap = cap > INT64_MAX / 2 ? INT64_MAX : cap * 2;
    if (cap > max_ms)
        cap = max_ms;
    if (cap == 0)
        return 0;
    uint64_t r = (rnd ? rnd : rw_random_default)(rnd_arg);
    return (int64_t)(r % ((uint64_t)cap + 1));
}

int64_t rw_retry_delay_ms(int64_t initial_ms, int64_t max_ms, int attempt, int64_t retry_after_ms,
                          rw_random_fn rnd, void *rnd_arg)
{
    int64_t d = rw_backoff_ms(initial_ms, max_ms, attempt, rnd, rnd_arg);
    return retry_after_ms > d ? retry_after_ms : d;
}

static enum rw_retry_class transport_class(CURLcode code)
{
    switch (code) {
    case CURLE_OK:
        return RW_RETRY_SUCCESS;
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR:
    case CURLE_AGAIN:
    case CURLE_WEIRD_SERVER_REPLY:
        return RW_RETRY_RETRYABLE;
    default:
        return RW_RETRY_PERMANENT;
    }
}

enum rw_retry_class rw_retry_classify_http(CURLcode code, long status)
{
    if (code != CURLE_OK)
        return transport_class(code);
    if (status >= 200 && status <= 299)
        return RW_RETRY_SUCCESS;
    if (status == 408 || status == 429 || (status >= 500 && status <= 599))
        return RW_RETRY_RETRYABLE;
    return RW_RETRY_PERMANENT;
}

enum rw_retry_class rw_retry_classify_smtp(CURLcode code, long reply_code)
{
    if (code == CURLE_OK)
        return RW_RETRY_SUCCESS;
    if (reply_code >= 400 && reply_code <= 499)
        return RW_RETRY_RETRYABLE;
    if (reply_code >= 500 && reply_code <= 599)
        return RW_RETRY_PERMANENT;
    if (code == CURLE_LOGIN_DENIED || code == CURLE_USE_SSL_FAILED)
        return RW_RETRY_PERMANENT;
    return transport_class(code);
}

void rw_rate_init(struct rw_rate *r, double rate_per_s)
{
    r->interval_ms = rate_per_s > 0 ? 1000.0 / rate_per_s : 0;
    r->next_ms = 0;
}

int64_t rw_rate_next_ms(const struct rw_rate *r, int64_t now_ms)
{
    if (r->interval_ms <= 0 || r->next_ms <= (double)now_ms)
        return now_ms;
    int64_t n = (int64_t)r->next_ms;
    return (double)n < r->next_ms ? n + 1 : n; /* round up: never early */
}

int64_t rw_rate_take(struct rw_rate *r, int64_t now_ms)
{
    if (r->interval_ms <= 0)
        return 0;
    int64_t at = rw_rate_next_ms(r, now_ms);
    if (at > now_ms)
        return at - now_ms;
    /* Burst 1: an idle bucket holds one token, so the next send is one interval
     * after this one, and idle time does not accumulate. */
    double base = r->next_ms > (double)now_ms ? r->next_ms : (double)now_ms;
    r->next_ms = base + r->interval_ms;
    return 0;
}
