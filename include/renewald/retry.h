/*
 * retry.h - when to try a delivery again (SPEC §4): Retry-After parsing,
 * exponential backoff with full jitter, retryable/permanent classification of
 * a transfer's result, and a per-sink token bucket.
 *
 * Everything here is pure (no clock is read, no memory allocated): callers pass
 * NOW and own every struct.  The parser is bounded and safe over arbitrary
 * bytes (it is a fuzz target).
 */
#ifndef RENEWALD_RETRY_H
#define RENEWALD_RETRY_H

#include "renewald/core/common.h"

#include <curl/curl.h>

/* A Retry-After beyond this is taken as this (a broken or hostile server must
 * not park a sink for days). */
#define RW_RETRY_AFTER_CAP_MS (24 * INT64_C(3600000))

/*
 * Parses a Retry-After header value S[0..LEN) (optional spaces/tabs around it):
 * delta-seconds ("120") or an HTTP-date in IMF-fixdate ("Sun, 06 Nov 1994
 * 08:49:37 GMT"), RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT") or asctime
 * ("Sun Nov  6 08:49:37 1994") form.  On success stores the delay in ms relative
 * to NOW_MS in *OUT_MS: 0 for a date in the past, at most RW_RETRY_AFTER_CAP_MS.
 * Returns false (and leaves *OUT_MS alone) for anything else: negative or
 * fractional numbers, impossible dates, trailing junk.  The weekday name must be
 * a valid one but is not checked against the date.
 */
bool rw_retry_after_parse(const char *s, size_t len, int64_t now_ms, int64_t *out_ms);

/* A source of uniformly distributed 64-bit values; ARG is passed through. */
typedef uint64_t (*rw_random_fn)(void *arg);
/* The default source: OpenSSL's RAND_bytes (ARG unused, may be NULL). */
uint64_t rw_random_default(void *arg);

/*
 * Backoff with full jitter before attempt ATTEMPT + 1, after ATTEMPT (>= 1)
 * failed attempts: a uniform value in [0, min(MAX_MS, INITIAL_MS * 2^(ATTEMPT-1))].
 * RND may be NULL for rw_random_default.  Never overflows; negative inputs
 * count as 0.
 */
int64_t rw_backoff_ms(int64_t initial_ms, int64_t max_ms, int attempt, rw_random_fn rnd,
                      void *rnd_arg);

/*
 * The delay before the next attempt: the backoff above, or RETRY_AFTER_MS
 * (>= 0, from the server) when that is longer; RETRY_AFTER_MS < 0 means none.
 * Retry-After is honoured even beyond MAX_MS (it is already capped by the parser).
 */
int64_t rw_retry_delay_ms(int64_t initial_ms, int64_t max_ms, int attempt, int64_t retry_after_ms,
                          rw_random_fn rnd, void *rnd_arg);

enum rw_retry_class {
    RW_RETRY_SUCCESS = 0,   /* 2xx */
    RW_RETRY_RETRYABLE = 1, /* 408, 429, 5xx, timeouts, connection errors */
    RW_RETRY_PERMANENT = 2, /* every other status or error */
};

/*
 * Classifies an HTTP transfer: CODE is libcurl's result, STATUS the HTTP status
 * (0 when no response came).  A transport error wins over a status.  Retryable
 * transport errors: timeouts, DNS and connect failures, send/receive errors,
 * empty or partial replies, TLS handshake failures, HTTP/2 stream errors.
 * Certificate verification failures, bad URLs, unsupported protocols and
 * other local errors are permanent.  1xx/3xx (no redirects are followed) are
 * permanent.
 */
enum rw_retry_class rw_retry_classify_http(CURLcode code, long status);

/*
 * Classifies an SMTP transfer: CURLE_OK is success; otherwise a 4xx reply code
 * is retryable and a 5xx one permanent (SMTP's convention); with no reply code
 * the transport error decides as for HTTP, plus: login denied and "TLS
 * required but refused" are permanent.
 */
enum rw_retry_class rw_retry_classify_smtp(CURLcode code, long reply_code);

/*
 * Token bucket with a burst of 1: at most RATE_PER_S sends per second, evenly
 * spaced.  RATE_PER_S <= 0 means unlimited.  Initialise with rw_rate_init;
 * the struct is plain data owned by the caller.
 */
struct rw_rate {
    double interval_ms; /* 0 = unlimited */
    double next_ms;     /* earliest time of the next send */
};
void rw_rate_init(struct rw_rate *r, double rate_per_s);
/* Earliest time (ms, >= NOW_MS) a send may happen; does not consume. */
int64_t rw_rate_next_ms(const struct rw_rate *r, int64_t now_ms);
/*
 * Takes the token if a send may happen at NOW_MS and returns 0; otherwise
 * returns how many ms to wait (> 0) and takes nothing.
 */
int64_t rw_rate_take(struct rw_rate *r, int64_t now_ms);

#endif
