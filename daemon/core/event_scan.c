/*
 * event_scan.c - the flat JSON objects producers send, read in place: no
 * allocation, one pass.  It accepts only what jansson (with
 * JSON_REJECT_DUPLICATES) accepts, and reads it the same way; anything it is
 * not sure of goes to jansson.  The fuzz target compares the two on every input.
 */
#include "event_members.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MEMBERS 32 /* more members: jansson checks the duplicates */
#define MAX_NUMBER  64 /* longer number tokens: jansson converts them */

struct scan {
    const unsigned char *p, *end;
};

static void skip_ws(struct scan *sc)
{
    while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r'))
        sc->p++;
}

static bool take(struct scan *sc, unsigned char c)
{
    if (sc->p < sc->end && *sc->p == c) {
        sc->p++;
        return true;
    }
    return false;
}

/* Length of the valid UTF-8 sequence at P (2..4 bytes; P[0] >= 0x80), 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned min, cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        min = 0x80;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        min = 0x800;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        min = 0x10000;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static int hex4(const unsigned char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i];
        int d = c >= '0' && c <= '9'   ? (int)c - '0'
                : c >= 'a' && c <= 'f' ? (int)c - 'a' + 10
                : c >= 'A' && c <= 'F' ? (int)c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Appends code point CP as UTF-8 to OUT (cut at CAP - 1 bytes); *N counts every byte. */
static void put_cp(char *out, size_t cap, size_t *n, unsigned cp)
{
    unsigned char b[4];
    size_t k;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        k = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 4;
    }
    for (size_t i = 0; i < k; i++, (*n)++)
        if (out && *n < cap - 1)
            out[*n] = (char)b[i];
}

/* An escape after the backslash at SC->p; the code point into *CP.  False when jansson refuses it.
 */
static bool escape(struct scan *sc, unsigned *cp)
{
    if (sc->p >= sc->end)
        return false;
    unsigned char c = *sc->p++;
    switch (c) {
    case '"':
    case '\\':
    case '/':
        *cp = c;
        return true;
    case 'b':
        *cp = '\b';
        return true;
    case 'f':
        *cp = '\f';
        return true;
    case 'n':
        *cp = '\n';
        return true;
    case 'r':
        *cp = '\r';
        return true;
    case 't':
        *cp = '\t';
        return true;
    case 'u':
        break;
    default:
        return false;
    }
    if (sc->end - sc->p < 4)
        return false;
    int v = hex4(sc->p);
    if (v < 0)
        return false;
    sc->p += 4;
    if (v >= 0xDC00 && v <= 0xDFFF)
        return false; /* a lone low surrogate */
    if (v >= 0xD800 && v <= 0xDBFF) {
        if (sc->end - sc->p < 6 || sc->p[0] != '\\' || sc->p[1] != 'u')
            return false;
        int lo = hex4(sc->p + 2);
        if (lo < 0xDC00 || lo > 0xDFFF)
            return false;
        sc->p += 6;
        *cp = 0x10000u + (((unsigned)v - 0xD800u) << 10) + ((unsigned)lo - 0xDC00u);
        return true;
    }
    if (v == 0)
        return false; /* \u0000: jansson refuses it without JSON_ALLOW_NUL */
    *cp = (unsigned)v;
    return true;
}

/*
 * A string after its opening quote.  S and LEN receive the raw bytes when there is no
 * escape (ESCAPED false), else the decoded text in OUT (cut at CAP - 1, *LEN
 * the cut length).  KEY: escapes refused (the caller falls back).
 */
static bool string(struct scan *sc, bool key, char *out, size_t cap, const char **s, size_t *len)
{
    const unsigned char *start = sc->p;
    size_t n = 0;
    bool escaped = false;
    while (sc->p < sc->end) {
        unsigned char c = *sc->p;
        if (c == '"') {
            if (!escaped) {
                *s = (const char *)start;
                *len = (size_t)(sc->p - start);
            } else {
                *s = out;
                *len = n < cap - 1 ? n : cap - 1;
                if (out)
                    out[*len] = '\0';
            }
            sc->p++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (key)
                return false;
            if (!escaped) { /* copy what came before the first escape */
                escaped = true;
                for (const unsigned char *q = start; q < sc->p; q++, n++)
                    if (out && n < cap - 1)
                        out[n] = (char)*q;
            }
            sc->p++;
            unsigned cp;
            if (!escape(sc, &cp))
                return false;
            put_cp(out, cap, &n, cp);
            continue;
        }
        size_t k = 1;
        if (c >= 0x80 && (k = utf8_seq(sc->p, sc->end)) == 0)
            return false;
        if (escaped)
            for (size_t i = 0; i < k; i++, n++)
                if (out && n < cap - 1)
                    out[n] = (char)sc->p[i];
        sc->p += k;
    }
    return false;
}

/* A number token as jansson reads it (integer or real); false when it refuses it or
 * we cannot be sure (a token too long to convert here). */
static bool number(struct scan *sc, struct rw_member *v)
{
    const unsigned char *start = sc->p;
    bool real = false;
    take(sc, '-');
    if (sc->p >= sc->end)
        return false;
    if (*sc->p == '0') {
        sc->p++;
    } else if (*sc->p >= '1' && *sc->p <= '9') {
        while (sc->p < sc->end && *sc->p >= '0' && *sc->p <= '9')
            sc->p++;
    } else {
        return false;
    }
    if (sc->p < sc->end && *sc->p == '.') {
        real = true;
        sc->p++;
        if (sc->p >= sc->end || *sc->p < '0' || *sc->p > '9')
            return false;
        while (sc->p < sc->end && *sc->p >= '0' && *sc->p <= '9')
            sc->p++;
    }
    if (sc->p < sc->end && (*sc->p == 'e' || *sc->p == 'E')) {
        real = true;
        sc->p++;
        if (sc->p < sc->end && (*sc->p == '+' || *sc->p == '-'))
            sc->p++;
        if (sc->p >= sc->end || *sc->p < '0' || *sc->p > '9')
            return false;
        while (sc->p < sc->end && *sc->p >= '0' && *sc->p <= '9')
            sc->p++;
    }
    size_t n = (size_t)(sc->p - start);
    if (!real && n <= 18) { /* fits in int64 whatever the digits: no strtoll needed */
        const unsigned char *q = start;
        bool neg = *q == '-';
        int64_t x = 0;
        for (q += neg; q < sc->p; q++)
            x = x * 10 + (*q - '0');
        v->kind = RW_MEMBER_INT;
        v->i = neg ? -x : x;
        return true;
    }
    if (n >= MAX_NUMBER)
        return false;
    char buf[MAX_NUMBER];
    memcpy(buf, start, n);
    buf[n] = '\0';
    char *endp;
    errno = 0;
    if (!real) {
        long long x = strtoll(buf, &endp, 10);
        if (errno == ERANGE || *endp)
            return false; /* jansson: "too big integer" */
        v->kind = RW_MEMBER_INT;
        v->i = (int64_t)x;
        return true;
    }
    double d = strtod(buf, &endp);
    if (*endp || ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE))
        return false; /* jansson: "real number overflow" */
    v->kind = RW_MEMBER_REAL;
    v->d = d;
    return true;
}

static bool literal(struct scan *sc, const char *word, size_t n)
{
    if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, word, n) != 0)
        return false;
    sc->p += n;
    return true;
}

static int known_key(const char *k, size_t n)
{
    static const unsigned char lens[RW_MK_COUNT] = {7, 4, 2, 5, 4, 5, 4, 3, 5, 12};
    if (n < 2 || n > 12)
        return -1;
    for (int i = 0; i < RW_MK_COUNT; i++)
        if (lens[i] == n && memcmp(rw_event_member_names[i], k, n) == 0)
            return i;
    return -1;
}

static bool value(struct scan *sc, struct rw_member *v, char *out)
{
    if (sc->p >= sc->end)
        return false;
    switch (*sc->p) {
    case '"':
        sc->p++;
        v->kind = RW_MEMBER_STRING;
        return string(sc, false, out, RW_SCAN_TEXT, &v->s, &v->len);
    case 't':
        v->kind = RW_MEMBER_OTHER;
        return literal(sc, "true", 4);
    case 'f':
        v->kind = RW_MEMBER_OTHER;
        return literal(sc, "false", 5);
    case 'n':
        v->kind = RW_MEMBER_NULL;
        return literal(sc, "null", 4);
    default:
        return number(sc, v); /* '{' and '[' fail here: jansson reads nested values */
    }
}

bool rw_event_scan(const char *data, size_t len, struct rw_event_members *m,
                   struct rw_event_scratch *scratch)
{
    struct scan sc = {(const unsigned char *)data, (const unsigned char *)data + len};
    memset(m, 0, sizeof(*m));
    m->object = true;
    skip_ws(&sc);
    if (!take(&sc, '{'))
        return false;
    skip_ws(&sc);
    if (!take(&sc, '}')) {
        const char *keys[MAX_MEMBERS];
        size_t key_lens[MAX_MEMBERS];
        size_t nkeys = 0;
        for (;;) {
            const char *k;
            size_t kn;
            if (!take(&sc, '"') || !string(&sc, true, NULL, 1, &k, &kn))
                return false;
            for (size_t i = 0; i < nkeys; i++)
                if (key_lens[i] == kn && memcmp(keys[i], k, kn) == 0)
                    return false; /* a duplicate: jansson refuses the document */
            if (nkeys == MAX_MEMBERS)
                return false;
            keys[nkeys] = k;
            key_lens[nkeys++] = kn;
            skip_ws(&sc);
            if (!take(&sc, ':'))
                return false;
            skip_ws(&sc);
            int idx = known_key(k, kn);
            struct rw_member ignored = {0};
            struct rw_member *v = idx >= 0 ? &m->v[idx] : &ignored;
            if (!value(&sc, v, idx >= 0 ? scratch->buf[idx] : NULL))
                return false;
            skip_ws(&sc);
            if (take(&sc, '}'))
                break;
            if (!take(&sc, ','))
                return false;
            skip_ws(&sc);
        }
    }
    skip_ws(&sc);
    return sc.p == sc.end;
}
