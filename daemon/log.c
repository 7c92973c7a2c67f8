/* log.c - levels, logfmt or JSON lines on stderr (fields split off the message),
 * journald priorities, rate limits. */
#include "renewald/log.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "renewald/core/timeutil.h"

#define LOG_LINE_MAX    8192
#define LIMIT_WINDOW_MS 10000
#define LIMIT_BURST     10

static struct {
    enum rw_log_level level;
    enum rw_log_format format;
    bool journal; /* stderr is connected to journald: prefix lines with <N> */
} logger = {RW_LOG_INFO, RW_LOG_TEXT, false};

static const char *const level_names[] = {"debug", "info", "warn", "error"};
static const int journal_priorities[] = {7, 6, 4, 3};

void rw_log_init(enum rw_log_level level, enum rw_log_format format)
{
    logger.level = level;
    logger.format = format;
    /* systemd sets JOURNAL_STREAM to "DEV:INODE" of the stream it connected. */
    const char *js = getenv("JOURNAL_STREAM");
    logger.journal = js != NULL && *js != '\0';
}

void rw_log_set_level(enum rw_log_level level)
{
    logger.level = level;
}

void rw_log_set_format(enum rw_log_format format)
{
    logger.format = format;
}

bool rw_log_enabled(enum rw_log_level level)
{
    return level >= logger.level;
}

/* ---- splitting "sentence key=value key=\"quoted value\"" ---- */

static bool key_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || c == '_' || (!first && c >= '0' && c <= '9');
}

/* Length of the key of a "key=" at S (N bytes), or 0 when S holds none. */
static size_t pair_key(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && i < 64 && key_char(s[i], i == 0))
        i++;
    return i > 0 && i < n && s[i] == '=' ? i : 0;
}

/* Parses the pair at MSG+AT into F; returns the offset just past it, or 0. */
static size_t parse_pair(const char *msg, size_t len, size_t at, struct rw_log_field *f)
{
    size_t kl = pair_key(msg + at, len - at);
    if (kl == 0)
        return 0;
    size_t v = at + kl + 1;
    f->key = at;
    f->key_len = kl;
    if (v < len && msg[v] == '"') {
        for (size_t i = v + 1; i < len; i++) {
            if (msg[i] == '\\' && i + 1 < len) {
                i++;
                continue;
            }
            if (msg[i] != '"')
                continue;
            /* A raw quote inside the value (an error text quoting something)
             * ends it only where the next pair or the end follows. */
            if (i + 1 == len || (msg[i + 1] == ' ' && pair_key(msg + i + 2, len - i - 2) > 0)) {
                f->value = v + 1;
                f->value_len = i - v - 1;
                f->quoted = true;
                return i + 1;
            }
        }
        return 0;
    }
    size_t e = v;
    while (e < len && msg[e] != ' ')
        e++;
    f->value = v;
    f->value_len = e - v;
    f->quoted = false;
    return e;
}

/* The number of pairs from AT to the end of MSG, or -1 when that is not all pairs. */
static int parse_tail(const char *msg, size_t len, size_t at, struct rw_log_field *f)
{
    int n = 0;
    for (;;) {
        if (n == RW_LOG_MAX_FIELDS)
            return -1;
        size_t e = parse_pair(msg, len, at, &f[n]);
        if (e == 0)
            return -1;
        n++;
        if (e == len)
            return n;
        if (msg[e] != ' ')
            return -1;
        at = e + 1;
    }
}

size_t rw_log_split(const char *msg, size_t len, struct rw_log_field f[RW_LOG_MAX_FIELDS],
                    int *nfields)
{
    while (len > 0 && (msg[len - 1] == ' ' || msg[len - 1] == '\n'))
        len--;
    *nfields = 0;
    for (size_t at = 0; at < len; at++) {
        if ((at > 0 && msg[at - 1] != ' ') || pair_key(msg + at, len - at) == 0)
            continue;
        int n = parse_tail(msg, len, at, f);
        if (n > 0) {
            *nfields = n;
            while (at > 0 && msg[at - 1] == ' ')
                at--;
            return at;
        }
    }
    return len;
}

/* ---- writing a line ---- */

struct line {
    char *p;
    size_t len, cap; /* cap is sized by the caller so that nothing is ever cut */
};

static void put(struct line *l, const char *s, size_t n)
{
    if (n > l->cap - l->len)
        n = l->cap - l->len;
    memcpy(l->p + l->len, s, n);
    l->len += n;
}

static void puts_(struct line *l, const char *s)
{
    put(l, s, strlen(s));
}

/* Appends N bytes of S escaped for a double-quoted logfmt or JSON string; with
 * UNQUOTE, the \" and \\ of a quoted source value stand for " and \. */
static void put_escaped(struct line *l, const char *s, size_t n, bool unquote)
{
    char u[8];
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unquote && c == '\\' && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\\'))
            c = (unsigned char)s[++i];
        if (c == '"' || c == '\\') {
            u[0] = '\\';
            u[1] = (char)c;
            put(l, u, 2);
        } else if (c == '\n') {
            put(l, "\\n", 2);
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(u, sizeof u, "\\u%04x", c);
            put(l, u, 6);
        } else {
            put(l, (const char *)&c, 1);
        }
    }
}

/* A value logfmt can show without quotes. */
static bool bare_ok(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f)
            return false;
    }
    return true;
}

static void put_key(struct line *l, const char *k, size_t n, bool json)
{
    /* The logger's own keys stay unambiguous. */
    bool reserved = (n == 2 && memcmp(k, "ts", 2) == 0) || (n == 3 && memcmp(k, "msg", 3) == 0) ||
                    (n == 5 && memcmp(k, "level", 5) == 0);
    puts_(l, json ? ",\"" : " ");
    if (reserved)
        puts_(l, "_");
    put(l, k, n);
    puts_(l, json ? "\":" : "=");
}

static void emit(enum rw_log_level level, const char *msg, const char *json_key, const char *json)
{
    size_t len = strlen(msg);
    size_t jlen = json ? strlen(json) : 0;
    struct rw_log_field f[RW_LOG_MAX_FIELDS];
    int nf = 0;
    size_t sentence = rw_log_split(msg, len, f, &nf);
    char stack[4 * LOG_LINE_MAX];
    struct line l = {stack, 0, 0};
    /* Every byte escapes to at most 6; keys and punctuation are bounded. */
    size_t need =
        6 * (len + jlen + (json_key ? strlen(json_key) : 0)) + 256 + (size_t)RW_LOG_MAX_FIELDS * 8;
    l.cap = need <= sizeof stack ? sizeof stack : need;
    if (need > sizeof stack)
        l.p = rw_xmalloc(need);
    bool as_json = logger.format == RW_LOG_JSON;
    bool embed = json && !memchr(json, '\n', jlen) && jlen > 0;
    char ts[RW_RFC3339_MAX];
    rw_format_rfc3339(rw_wall_ms(), ts);
    if (logger.journal) {
        char prio[8];
        snprintf(prio, sizeof prio, "<%d>", journal_priorities[level]);
        puts_(&l, prio);
    }
    if (as_json) {
        puts_(&l, "{\"ts\":\"");
        puts_(&l, ts);
        puts_(&l, "\",\"level\":\"");
        puts_(&l, level_names[level]);
        puts_(&l, "\",\"msg\":\"");
    } else {
        /* Under journald the timestamp is the journal's own. */
        if (!logger.journal) {
            puts_(&l, "ts=");
            puts_(&l, ts);
            puts_(&l, " ");
        }
        puts_(&l, "level=");
        puts_(&l, level_names[level]);
        puts_(&l, " msg=\"");
    }
    put_escaped(&l, msg, sentence, false);
    puts_(&l, "\"");
    for (int i = 0; i < nf; i++) {
        const char *v = msg + f[i].value;
        put_key(&l, msg + f[i].key, f[i].key_len, as_json);
        if (!as_json && bare_ok(v, f[i].value_len)) {
            put(&l, v, f[i].value_len);
            continue;
        }
        puts_(&l, "\"");
        put_escaped(&l, v, f[i].value_len, f[i].quoted);
        puts_(&l, "\"");
    }
    if (json) {
        put_key(&l, json_key, strlen(json_key), as_json);
        if (as_json && embed) {
            put(&l, json, jlen);
        } else {
            puts_(&l, "\"");
            put_escaped(&l, json, jlen, false);
            puts_(&l, "\"");
        }
    }
    if (as_json)
        puts_(&l, "}");
    puts_(&l, "\n");
    fwrite(l.p, 1, l.len, stderr);
    if (l.p != stack)
        free(l.p);
}

static void vlog(enum rw_log_level level, const char *json_key, const char *json, const char *fmt,
                 va_list ap)
{
    char msg[LOG_LINE_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    emit(level, msg, json_key, json);
}

void rw_log(enum rw_log_level level, const char *fmt, ...)
{
    if (!rw_log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, NULL, NULL, fmt, ap);
    va_end(ap);
}

void rw_log_json_field(enum rw_log_level level, const char *key, const char *json, const char *fmt,
                       ...)
{
    if (!rw_log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, key, json, fmt, ap);
    va_end(ap);
}

void rw_log_limited(struct rw_log_limit *lim, enum rw_log_level level, const char *fmt, ...)
{
    if (!rw_log_enabled(level))
        return;
    int64_t now = rw_mono_ms();
    if (now - lim->window_start_ms >= LIMIT_WINDOW_MS) {
        if (lim->suppressed > 0)
            rw_log(level, "suppressed similar messages count=%u seconds=%d", lim->suppressed,
                   LIMIT_WINDOW_MS / 1000);
        lim->window_start_ms = now;
        lim->emitted = 0;
        lim->suppressed = 0;
    }
    if (lim->emitted >= LIMIT_BURST) {
        lim->suppressed++;
        return;
    }
    lim->emitted++;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, NULL, NULL, fmt, ap);
    va_end(ap);
}

static void libevent_log_cb(int severity, const char *msg)
{
    enum rw_log_level level = RW_LOG_DEBUG;
    if (severity == EVENT_LOG_MSG)
        level = RW_LOG_INFO;
    else if (severity == EVENT_LOG_WARN)
        level = RW_LOG_WARN;
    else if (severity == EVENT_LOG_ERR)
        level = RW_LOG_ERROR;
    rw_log(level, "libevent: %s", msg);
}

void rw_log_route_libevent(void)
{
    event_set_log_callback(libevent_log_cb);
}
