/*
 * parse.h - strict parsing of numbers, durations, rates and lists (memcached's
 * safe_strtoul habit): no trailing junk, no overflow, no NaN or infinity.
 * Every function returns true on success and leaves *out untouched on failure.
 */
#ifndef RENEWALD_PARSE_H
#define RENEWALD_PARSE_H

#include "renewald/core/common.h"

bool rw_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);
bool rw_parse_double(const char *s, double *out); /* finite only */
bool rw_parse_bool(const char *s, bool *out);     /* true/false, yes/no, on/off, 1/0 */
/* "500ms", "90s", "30m", "12h", "7d", "2w"; a bare "0" is 0. Result in ms, >= 0. */
bool rw_parse_duration(const char *s, int64_t *out_ms);
/* "N/s", "N/m", "N/h" (N a positive number) into events per second; "0" or "none" is 0. */
bool rw_parse_rate(const char *s, double *out_per_s);

/*
 * Splits "HOST:PORT" or "[V6]:PORT" into HOST (NUL-terminated, at most
 * HOSTCAP - 1 bytes, brackets removed) and PORT (MIN_PORT..65535).
 */
bool rw_split_host_port(const char *addr, char *host, size_t hostcap, int min_port, int *port);

/* Trims ASCII white space at both ends in place; returns S. */
char *rw_trim(char *s);
/*
 * Splits a comma-separated list in place into at most MAX trimmed, non-empty
 * items.  Returns the count, or -1 when there are more than MAX items or an
 * empty item between commas.  An empty or all-blank string gives 0.
 */
int rw_split_list(char *s, char **items, int max);

/*
 * Walks a URL query string (without '?'; NULL or "" is empty) and calls FN
 * with each parameter whose key is not empty, KEY and VAL %XX- and
 * '+'-decoded (NUL bytes refused).  Returns false, with a reason in ERR, when
 * the string is malformed or longer than RW_QUERY_MAX, or when FN returns false
 * (FN writes its reason into ERR).
 */
#define RW_QUERY_MAX 4096
typedef bool (*rw_query_fn)(void *arg, const char *key, char *val, char *err, size_t errcap);
bool rw_query_each(const char *query, rw_query_fn fn, void *arg, char *err, size_t errcap);

#endif
