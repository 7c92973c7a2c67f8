/* jsonw.c - JSON text written straight into a buffer. */
#include "renewald/core/jsonw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/core/account_store.h"
#include "renewald/core/timeutil.h"

void rw_jsonw_init(struct rw_jsonw *w)
{
    w->buf = NULL;
    w->len = w->cap = 0;
    w->first = true;
}

void rw_jsonw_free(struct rw_jsonw *w)
{
    free(w->buf);
    rw_jsonw_init(w);
}

void rw_jsonw_reset(struct rw_jsonw *w)
{
    w->len = 0;
    if (w->buf)
        w->buf[0] = '\0';
    w->first = true;
}

char *rw_jsonw_take(struct rw_jsonw *w, size_t *len)
{
    if (!w->buf)
        rw_jsonw_raw(w, "", 0);
    char *s = w->buf;
    if (len)
        *len = w->len;
    rw_jsonw_init(w);
    return s;
}

static void reserve(struct rw_jsonw *w, size_t n)
{
    if (w->len + n + 1 <= w->cap)
        return;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + n + 1)
        cap *= 2;
    w->buf = rw_xrealloc(w->buf, cap);
    w->cap = cap;
}

void rw_jsonw_raw(struct rw_jsonw *w, const char *s, size_t n)
{
    reserve(w, n);
    if (n)
        memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void ch(struct rw_jsonw *w, char c)
{
    reserve(w, 1);
    w->buf[w->len++] = c;
    w->buf[w->len] = '\0';
}

void rw_jsonw_obj_open(struct rw_jsonw *w)
{
    ch(w, '{');
    w->first = true;
}

void rw_jsonw_obj_close(struct rw_jsonw *w)
{
    ch(w, '}');
    w->first = false;
}

void rw_jsonw_arr_open(struct rw_jsonw *w)
{
    ch(w, '[');
    w->first = true;
}

void rw_jsonw_arr_close(struct rw_jsonw *w)
{
    ch(w, ']');
    w->first = false;
}

void rw_jsonw_elem(struct rw_jsonw *w)
{
    if (!w->first)
        ch(w, ',');
    w->first = false;
}

void rw_jsonw_key(struct rw_jsonw *w, const char *key)
{
    rw_jsonw_elem(w);
    rw_jsonw_str(w, key);
    ch(w, ':');
}

void rw_jsonw_null(struct rw_jsonw *w)
{
    rw_jsonw_raw(w, "null", 4);
}

void rw_jsonw_bool(struct rw_jsonw *w, bool v)
{
    if (v)
        rw_jsonw_raw(w, "true", 4);
    else
        rw_jsonw_raw(w, "false", 5);
}

void rw_jsonw_int(struct rw_jsonw *w, int64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%lld", (long long)v);
    rw_jsonw_raw(w, b, (size_t)n);
}

void rw_jsonw_num(struct rw_jsonw *w, double v)
{
    if (!isfinite(v)) {
        rw_jsonw_null(w);
        return;
    }
    char b[40];
    int n = snprintf(b, sizeof b, "%.15g", v);
    /* A real stays a real ("5.0"), as JSON readers that type numbers expect. */
    if (!strpbrk(b, ".e"))
        n += snprintf(b + n, sizeof b - (size_t)n, ".0");
    rw_jsonw_raw(w, b, (size_t)n);
}

void rw_jsonw_tenths(struct rw_jsonw *w, int tenths)
{
    char b[24];
    int n =
        snprintf(b, sizeof b, "%s%d.%d", tenths < 0 ? "-" : "", abs(tenths) / 10, abs(tenths) % 10);
    rw_jsonw_raw(w, b, (size_t)n);
}

/* Length of the valid UTF-8 sequence at S (1..4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    unsigned cp = c & (0x3Fu >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

void rw_jsonw_strn(struct rw_jsonw *w, const char *s, size_t n)
{
    if (!s) {
        rw_jsonw_null(w);
        return;
    }
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    reserve(w, n + 2);
    ch(w, '"');
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
            run++;
        if (run > i) {
            rw_jsonw_raw(w, s + i, run - i);
            i = run;
            continue;
        }
        unsigned c = p[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            rw_jsonw_raw(w, e, 2);
            i++;
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            rw_jsonw_raw(w, e, 6);
            i++;
        } else {
            size_t l = utf8_len(p + i, n - i);
            if (l == 0) {
                rw_jsonw_raw(w, "\xEF\xBF\xBD", 3); /* U+FFFD for a stray byte */
                i++;
            } else {
                rw_jsonw_raw(w, s + i, l);
                i += l;
            }
        }
    }
    ch(w, '"');
}

void rw_jsonw_str(struct rw_jsonw *w, const char *s)
{
    rw_jsonw_strn(w, s, s ? strlen(s) : 0);
}

void rw_jsonw_time(struct rw_jsonw *w, int64_t ms)
{
    if (ms == RW_NO_TIME) {
        rw_jsonw_null(w);
        return;
    }
    char b[RW_RFC3339_MAX];
    rw_format_rfc3339(ms, b);
    rw_jsonw_str(w, b);
}

void rw_jsonw_date(struct rw_jsonw *w, int32_t day)
{
    if (day == RW_NO_DAY) {
        rw_jsonw_null(w);
        return;
    }
    char b[RW_DATE_MAX];
    rw_format_date(day, b);
    rw_jsonw_str(w, b);
}
