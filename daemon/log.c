/* log.c - levels, logfmt or JSON lines on stderr, journald priorities, rate limits. */
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

/* Appends S escaped for a double-quoted logfmt or JSON string. */
static size_t escape_into(char *out, size_t pos, size_t cap, const char *s)
{
    for (; *s && pos + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[pos++] = '\\';
            out[pos++] = (char)c;
        } else if (c == '\n') {
            out[pos++] = '\\';
            out[pos++] = 'n';
        } else if (c < 0x20 || c == 0x7f) {
            pos += (size_t)snprintf(out + pos, cap - pos, "\\u%04x", c);
        } else {
            out[pos++] = (char)c;
        }
    }
    return pos;
}

static void emit(enum rw_log_level level, const char *msg)
{
    char line[LOG_LINE_MAX + 64];
    char ts[RW_RFC3339_MAX];
    size_t pos = 0;
    rw_format_rfc3339(rw_wall_ms(), ts);
    if (logger.journal)
        pos += (size_t)snprintf(line, sizeof line, "<%d>", journal_priorities[level]);
    if (logger.format == RW_LOG_JSON) {
        pos +=
            (size_t)snprintf(line + pos, sizeof line - pos,
                             "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts, level_names[level]);
        pos = escape_into(line, pos, sizeof line - 3, msg);
        line[pos++] = '"';
        line[pos++] = '}';
    } else {
        /* Under journald the timestamp is the journal's own. */
        if (!logger.journal)
            pos += (size_t)snprintf(line + pos, sizeof line - pos, "ts=%s ", ts);
        pos +=
            (size_t)snprintf(line + pos, sizeof line - pos, "level=%s msg=\"", level_names[level]);
        pos = escape_into(line, pos, sizeof line - 2, msg);
        line[pos++] = '"';
    }
    line[pos++] = '\n';
    fwrite(line, 1, pos, stderr);
}

static void vlog(enum rw_log_level level, const char *fmt, va_list ap)
{
    char msg[LOG_LINE_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    emit(level, msg);
}

void rw_log(enum rw_log_level level, const char *fmt, ...)
{
    if (!rw_log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

void rw_log_limited(struct rw_log_limit *lim, enum rw_log_level level, const char *fmt, ...)
{
    if (!rw_log_enabled(level))
        return;
    int64_t now = rw_mono_ms();
    if (now - lim->window_start_ms >= LIMIT_WINDOW_MS) {
        if (lim->suppressed > 0)
            rw_log(level, "suppressed %u similar messages in the last %d s", lim->suppressed,
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
    vlog(level, fmt, ap);
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
