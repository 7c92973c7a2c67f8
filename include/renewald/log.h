/*
 * log.h - the one logger: levels, logfmt or JSON lines on stderr, the <N>
 * priority prefix journald understands when JOURNAL_STREAM says stderr goes
 * there, libevent's own messages routed in, and rate limiting per call site.
 *
 * Messages are printf-formatted; write them as "what happened key=value ...".
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

/* Per call site: at most BURST messages per 10 s, then one summary line. */
struct rw_log_limit {
    int64_t window_start_ms;
    unsigned emitted, suppressed;
};
void rw_log_limited(struct rw_log_limit *lim, enum rw_log_level level, const char *fmt, ...)
    RW_PRINTF(3, 4);

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
