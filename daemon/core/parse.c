/* parse.c - strict parsing of numbers, durations, rates and lists. */
#include "renewald/core/parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* strtoll and strtod skip leading space and accept more than we want, so the
 * text is checked against a strict grammar first. */
static bool is_int_text(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    if (!isdigit((unsigned char)*s))
        return false;
    while (isdigit((unsigned char)*s))
        s++;
    return *s == '\0';
}

bool rw_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!s || !is_int_text(s))
        return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || !end || *end != '\0')
        return false;
    if (v < min || v > max)
        return false;
    *out = (int64_t)v;
    return true;
}

/* [+-]digits[.digits][(e|E)[+-]digits], or .digits: no hex, inf or nan. */
static bool is_decimal_text(const char *s)
{
    int digits = 0;
    if (*s == '-' || *s == '+')
        s++;
    while (isdigit((unsigned char)*s)) {
        s++;
        digits++;
    }
    if (*s == '.') {
        s++;
        while (isdigit((unsigned char)*s)) {
            s++;
            digits++;
        }
    }
    if (digits == 0)
        return false;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+')
            s++;
        if (!isdigit((unsigned char)*s))
            return false;
        while (isdigit((unsigned char)*s))
            s++;
    }
    return *s == '\0';
}

bool rw_parse_double(const char *s, double *out)
{
    if (!s || !is_decimal_text(s))
        return false;
    errno = 0;
    char *end = NULL;
    double v = strtod(s, &end);
    if (!end || *end != '\0' || !isfinite(v))
        return false;
    /* ERANGE on overflow gives HUGE_VAL (caught above); on underflow a tiny
     * value or 0, which is fine. */
    if (errno == ERANGE && fabs(v) > 1.0)
        return false;
    *out = v;
    return true;
}

bool rw_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    if (!s)
        return false;
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* Splits "123unit" into a non-negative integer and the unit text. */
static bool split_number_unit(const char *s, int64_t *num, const char **unit)
{
    const char *p = s;
    while (isdigit((unsigned char)*p))
        p++;
    size_t n = (size_t)(p - s);
    if (n == 0 || n > 19)
        return false;
    char digits[20];
    memcpy(digits, s, n);
    digits[n] = '\0';
    if (!rw_parse_int64(digits, 0, INT64_MAX, num))
        return false;
    *unit = p;
    return true;
}

bool rw_parse_duration(const char *s, int64_t *out_ms)
{
    static const struct {
        const char *name;
        int64_t ms;
    } units[] = {
        {"ms", 1},          {"s", 1000},          {"m", 60 * 1000},
        {"h", 3600 * 1000}, {"d", RW_MS_PER_DAY}, {"w", 7 * RW_MS_PER_DAY},
    };
    int64_t n;
    const char *unit;
    if (!s || !split_number_unit(s, &n, &unit))
        return false;
    if (*unit == '\0') {
        if (n != 0) /* a bare number has no unit: only 0 is unambiguous */
            return false;
        *out_ms = 0;
        return true;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(unit, units[i].name) == 0) {
            if (n > INT64_MAX / units[i].ms)
                return false;
            *out_ms = n * units[i].ms;
            return true;
        }
    }
    return false;
}

bool rw_parse_rate(const char *s, double *out_per_s)
{
    if (!s)
        return false;
    if (strcmp(s, "0") == 0 || strcasecmp(s, "none") == 0) {
        *out_per_s = 0;
        return true;
    }
    const char *slash = strchr(s, '/');
    if (!slash || slash == s || (size_t)(slash - s) >= 64)
        return false;
    char num[64];
    memcpy(num, s, (size_t)(slash - s));
    num[slash - s] = '\0';
    double n;
    if (!rw_parse_double(num, &n) || !(n > 0))
        return false;
    double per;
    if (strcmp(slash + 1, "s") == 0)
        per = 1;
    else if (strcmp(slash + 1, "m") == 0)
        per = 60;
    else if (strcmp(slash + 1, "h") == 0)
        per = 3600;
    else
        return false;
    double v = n / per;
    if (!isfinite(v) || !(v > 0))
        return false;
    *out_per_s = v;
    return true;
}

char *rw_trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    size_t i = 0;
    while (isspace((unsigned char)s[i]))
        i++;
    if (i > 0)
        memmove(s, s + i, n - i + 1);
    return s;
}

int rw_split_list(char *s, char **items, int max)
{
    rw_trim(s);
    if (*s == '\0')
        return 0;
    int n = 0;
    char *p = s;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        /* trim in place without moving the item: items point into S */
        while (isspace((unsigned char)*p))
            p++;
        rw_trim(p);
        if (*p == '\0' || n >= max)
            return -1;
        items[n++] = p;
        if (!comma)
            break;
        p = comma + 1;
    }
    return n;
}

bool rw_split_host_port(const char *addr, char *host, size_t hostcap, int min_port, int *port)
{
    const char *colon = strrchr(addr, ':');
    if (!colon)
        return false;
    const char *h = addr;
    size_t hl = (size_t)(colon - addr);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    int64_t p;
    if (hl == 0 || hl >= hostcap || !rw_parse_int64(colon + 1, min_port, 65535, &p))
        return false;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (int)p;
    return true;
}

/* %XX and '+' decoding of one query component into a heap string; NULL when malformed. */
static char *url_decode(const char *s, size_t n)
{
    char *out = rw_xmalloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int v = 0;
            for (int d = 1; d <= 2; d++) {
                char h = i + (size_t)d < n ? s[i + (size_t)d] : '\0';
                int x = h >= '0' && h <= '9'   ? h - '0'
                        : h >= 'a' && h <= 'f' ? h - 'a' + 10
                        : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                               : -1;
                if (x < 0) {
                    free(out);
                    return NULL;
                }
                v = v * 16 + x;
            }
            if (v == 0) {
                free(out);
                return NULL;
            }
            c = (char)v;
            i += 2;
        }
        out[k++] = c;
    }
    out[k] = '\0';
    return out;
}

bool rw_query_each(const char *query, rw_query_fn fn, void *arg, char *err, size_t errcap)
{
    if (!query || !*query)
        return true;
    if (strlen(query) > RW_QUERY_MAX) {
        snprintf(err, errcap, "query string too long");
        return false;
    }
    const char *p = query;
    while (*p) {
        size_t n = strcspn(p, "&");
        const char *eq = memchr(p, '=', n);
        char *key = eq ? url_decode(p, (size_t)(eq - p)) : url_decode(p, n);
        char *val = eq ? url_decode(eq + 1, n - (size_t)(eq - p) - 1) : rw_xstrdup("");
        bool ok = key && val;
        if (!ok)
            snprintf(err, errcap, "malformed query string");
        else if (*key)
            ok = fn(arg, key, val, err, errcap);
        free(key);
        free(val);
        if (!ok)
            return false;
        p += n;
        if (*p == '&')
            p++;
    }
    return true;
}
