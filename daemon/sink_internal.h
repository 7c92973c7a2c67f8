/*
 * sink_internal.h - helpers shared by sink.c and the sink_*.c renderers; not
 * part of any public contract.
 */
#ifndef RENEWALD_SINK_INTERNAL_H
#define RENEWALD_SINK_INTERNAL_H

#include "renewald/sink.h"

#include <stdarg.h>

/* A growing string; OOM is fatal.  p is NUL-terminated (or NULL while empty). */
struct rw_sbuf {
    char *p;
    size_t len, cap;
};
void rw_sbuf_putn(struct rw_sbuf *b, const char *s, size_t n);
void rw_sbuf_puts(struct rw_sbuf *b, const char *s);
void rw_sbuf_printf(struct rw_sbuf *b, const char *fmt, ...) RW_PRINTF(2, 3);
/* Appends S with CR and LF replaced by spaces (header values, mail lines). */
void rw_sbuf_put_line(struct rw_sbuf *b, const char *s);
/* Hands the string over (never NULL) and resets B. */
char *rw_sbuf_take(struct rw_sbuf *b);

/* Formatting of alert fields for people. */
const char *rw_sink_display_name(const json_t *alert);        /* name, else account id */
void rw_sink_fmt_score(const json_t *v, char *buf, size_t n); /* "31.4" or "n/a" */
void rw_sink_fmt_arr(double arr, char *buf, size_t n);        /* "120,000" or "n/a" */
/* Present signals, worst (lowest score) first, at most MAX; returns the count. */
int rw_sink_top_signals(const json_t *alert, const char **names, const json_t **vals, int max);

/* An easy handle with the common transport options of SINK for URL
 * (PROTOCOLS: "http,https" or "smtp,smtps"). */
CURL *rw_sink_easy(const struct rw_sink_conf *sink, const char *url, const char *protocols);

enum rw_sink_prep rw_sink_slack_prepare(const struct rw_sink_conf *sink, const json_t *alert,
                                        struct rw_http_request *out, char *err);
enum rw_sink_prep rw_sink_webhook_prepare(const struct rw_sink_conf *sink, const json_t *alert,
                                          const char *body, int64_t now_ms,
                                          struct rw_http_request *out, char *err);
enum rw_sink_prep rw_sink_email_prepare(const struct rw_sink_conf *sink, const json_t *alert,
                                        int64_t now_ms, struct rw_http_request *out, char *err);

#endif
