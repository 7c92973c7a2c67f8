/*
 * common.h - small vocabulary shared by every module: bands, alert kinds,
 * limits of the event format, and the allocation helpers.
 *
 * Times are int64_t milliseconds since the Unix epoch (UTC) everywhere;
 * durations are int64_t milliseconds.  Running out of memory is fatal: the
 * rw_x* helpers never return NULL.
 */
#ifndef RENEWALD_COMMON_H
#define RENEWALD_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RW_NODISCARD    __attribute__((warn_unused_result))
#define RW_PRINTF(f, a) __attribute__((format(printf, f, a)))

#define RW_ACCOUNT_MAX    128         /* bytes of an account id */
#define RW_TYPE_MAX       64          /* bytes of an event type */
#define RW_NAME_MAX       256         /* bytes of an account name */
#define RW_OWNER_MAX      254         /* bytes of an owner e-mail address */
#define RW_TIER_MAX       64          /* bytes of a tier */
#define RW_DEAD_EVENT_MAX (64 * 1024) /* bytes of the original event kept in a dead letter */

#define RW_MS_PER_DAY INT64_C(86400000)

/* Bands, ordered from best to worst; unknown counts as healthy for alerts. */
enum rw_band {
    RW_BAND_UNKNOWN = 0,
    RW_BAND_HEALTHY = 1,
    RW_BAND_WATCH = 2,
    RW_BAND_AT_RISK = 3,
};
#define RW_BAND_COUNT 4

enum rw_alert_kind {
    RW_ALERT_BAND_CHANGE = 0,
    RW_ALERT_RENEWAL_WINDOW = 1,
};
#define RW_ALERT_KIND_COUNT 2

/* "unknown", "healthy", "watch", "at_risk". */
const char *rw_band_name(enum rw_band band);
/* Returns true and sets *out for a known band name. */
bool rw_band_parse(const char *s, enum rw_band *out);
/* "band_change", "renewal_window". */
const char *rw_alert_kind_name(enum rw_alert_kind kind);
bool rw_alert_kind_parse(const char *s, enum rw_alert_kind *out);
/* Severity used to compare bands: unknown and healthy are 0, watch 1, at_risk 2. */
int rw_band_severity(enum rw_band band);

void *rw_xmalloc(size_t n);
void *rw_xcalloc(size_t n, size_t size);
void *rw_xrealloc(void *p, size_t n);
/* N zeroed bytes aligned to N (a power of two), straight from the kernel and
 * backed by huge pages where the system allows it: for large arrays touched
 * all over (fewer page faults and TLB misses).  Freed with rw_unmap. */
void *rw_xmap_aligned(size_t n);
void rw_unmap(void *p, size_t n);
/* The bytes of the N-byte block BLOCK (from rw_xmap_aligned) past its first
 * KEEP go back to the kernel, the block no longer in huge pages; they read as
 * zeros again when next touched. */
void rw_unmap_tail(void *block, size_t n, size_t keep);
/* The capacity an array of CAP entries (FIRST when 0) doubles to until it
 * holds NEED (NEED itself when doubling would pass UINT32_MAX). */
uint32_t rw_grown_cap(uint32_t cap, uint32_t first, uint32_t need);
char *rw_xstrdup(const char *s);
/* A NUL-terminated copy of exactly the N bytes at S (S must hold N bytes). */
char *rw_xstrndup(const char *s, size_t n);
/* printf into a fresh heap string; the caller frees it. */
char *rw_xasprintf(const char *fmt, ...) RW_PRINTF(1, 2);

/* Wall clock in ms since the epoch. */
int64_t rw_wall_ms(void);
/* Monotonic clock in ms (for timeouts and measurements only). */
int64_t rw_mono_ms(void);
/* CPU time of the calling thread, in seconds (measurements only). */
double rw_cpu_seconds(void);

#endif
