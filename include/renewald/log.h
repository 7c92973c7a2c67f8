/*
 * log.h - the one logger: levels, logfmt or JSON lines on stderr, the <N>
 * priority prefix journald understands when JOURNAL_STREAM says stderr goes
 * there, libevent's own messages routed in, and rate limiting per call site.
 *
 * Messages are printf-formatted and written as a human sentence followed by
 * key=value pairs:  "delivery failed, will retry id=%s sink=%s error=\"%s\"".
 * The logger splits the trailing pairs off: the sentence becomes msg and
 * every pair a field of its own (a logfmt key, or a JSON key whose value is a
 * string).  A value is a run of non-blank bytes not starting with '"', or a
 * double-quoted string (\" and \\ escape; a raw '"' ends it only when the end
 * of the message or " key=" follows).  Keys are [a-z_][a-z0-9_]*.  A message
 * whose tail is not made of such pairs is all sentence.
 *
 * Never format a secret (URLs of Slack webhooks, passwords, HMAC keys, tokens)
 * into a message: log the sink or key name instead.
 */
#ifndef RENEWALD_LOG_H
#define RENEWALD_LOG_H

#include "renewald/core/common.h"
#include "renewald/config.h"

void rw_log_init(enum rw_log_level level, enum rw_log_format format);
void rw_log_set_level(enum rw_log_level level);
void rw_log_set_format(enum rw_log_format format);
bool rw_log_enabled(enum rw_log_level level);
/* Routes libevent's internal messages into this logger. */
void rw_log_route_libevent(void);

void rw_log(enum rw_log_level level, const char *fmt, ...) RW_PRINTF(2, 3);

/*
 * As rw_log, plus one more field KEY whose value is JSON, a JSON text the
 * caller vouches for (one line): embedded as is in a JSON line, quoted in a
 * logfmt line.  Used by the log sink, whose alert is a JSON object.
 */
void rw_log_json_field(enum rw_log_level level, const char *key, const char *json, const char *fmt,
                       ...) RW_PRINTF(4, 5);

/* Per call site: at most BURST messages per 10 s, then one summary line. */
struct rw_log_limit {
    int64_t window_start_ms;
    unsigned emitted, suppressed;
};
void rw_log_limited(struct rw_log_limit *lim, enum rw_log_level level, const char *fmt, ...)
    RW_PRINTF(3, 4);

/* One key=value pair of a message: offsets into the message. */
struct rw_log_field {
    size_t key, key_len;
    size_t value, value_len; /* inside the quotes for a quoted value */
    bool quoted;
};
#define RW_LOG_MAX_FIELDS 32
/*
 * Splits MSG (LEN bytes) into the sentence and its trailing pairs: stores at
 * most RW_LOG_MAX_FIELDS pairs in F, their count in *NFIELDS, and returns the
 * length of the sentence (trailing blanks excluded).  Never fails: a message
 * without pairs is all sentence.
 */
size_t rw_log_split(const char *msg, size_t len, struct rw_log_field f[RW_LOG_MAX_FIELDS],
                    int *nfields);

#define rw_debug(...) rw_log(RW_LOG_DEBUG, __VA_ARGS__)
#define rw_info(...)  rw_log(RW_LOG_INFO, __VA_ARGS__)
#define rw_warn(...)  rw_log(RW_LOG_WARN, __VA_ARGS__)
#define rw_error(...) rw_log(RW_LOG_ERROR, __VA_ARGS__)
/* Rate-limited at this call site. */
#define rw_log_rl(level, ...)                                                                      \
    do {                                                                                           \
        static struct rw_log_limit rw_lim_;                                                        \
        rw_log_limited(&rw_lim_, level, __VA_ARGS__);                                              \
    } while (0)

#endif
