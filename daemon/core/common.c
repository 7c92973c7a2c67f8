/* common.c - bands, alert kinds, allocation helpers and clocks. */
#include "renewald/core/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static const char *const band_names[RW_BAND_COUNT] = {"unknown", "healthy", "watch", "at_risk"};
static const char *const kind_names[RW_ALERT_KIND_COUNT] = {"band_change", "renewal_window"};

const char *rw_band_name(enum rw_band band)
{
    return (unsigned)band < RW_BAND_COUNT ? band_names[band] : "unknown";
}

bool rw_band_parse(const char *s, enum rw_band *out)
{
    for (int i = 0; i < RW_BAND_COUNT; i++) {
        if (strcmp(s, band_names[i]) == 0) {
            *out = (enum rw_band)i;
            return true;
        }
    }
    return false;
}

const char *rw_alert_kind_name(enum rw_alert_kind kind)
{
    return (unsigned)kind < RW_ALERT_KIND_COUNT ? kind_names[kind] : "unknown";
}

bool rw_alert_kind_parse(const char *s, enum rw_alert_kind *out)
{
    for (int i = 0; i < RW_ALERT_KIND_COUNT; i++) {
        if (strcmp(s, kind_names[i]) == 0) {
            *out = (enum rw_alert_kind)i;
            return true;
        }
    }
    return false;
}

int rw_band_severity(enum rw_band band)
{
    switch (band) {
    case RW_BAND_WATCH:
        return 1;
    case RW_BAND_AT_RISK:
        return 2;
    default:
        return 0;
    }
}

static void oom(size_t n)
{
    fprintf(stderr, "renewald: out of memory allocating %zu bytes\n", n);
    abort();
}

void *rw_xmap_aligned(size_t n)
{
    /* Twice the size, then the unaligned ends handed back. */
    char *p = mmap(NULL, 2 * n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        oom(n);
    size_t head = (n - (uintptr_t)p % n) % n, tail = n - head;
    char *at = p + head;
    if (head)
        munmap(p, head);
    if (tail)
        munmap(at + n, tail);
#ifdef MADV_HUGEPAGE
    (void)madvise(at, n, MADV_HUGEPAGE); /* a hint: refused is fine */
#endif
    return at;
}

void rw_unmap_tail(void *block, size_t n, size_t keep)
{
    keep = (keep + 4095) & ~(size_t)4095;
    if (keep >= n)
        return;
#ifdef MADV_NOHUGEPAGE
    /* Else khugepaged would fill the hole with zeros again, a huge page whole. */
    (void)madvise(block, n, MADV_NOHUGEPAGE);
#endif
    (void)madvise((char *)block + keep, n - keep, MADV_DONTNEED); /* zero-filled on reuse */
}

void rw_unmap(void *p, size_t n)
{
    if (p)
        munmap(p, n);
}

void *rw_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *rw_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *rw_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

uint32_t rw_grown_cap(uint32_t cap, uint32_t first, uint32_t need)
{
    if (cap == 0)
        cap = first ? first : 1;
    while (cap < need)
        cap = cap > UINT32_MAX / 2 ? need : cap * 2;
    return cap;
}

char *rw_xstrdup(const char *s)
{
    return rw_xstrndup(s, strlen(s));
}

char *rw_xstrndup(const char *s, size_t n)
{
    char *p = rw_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *rw_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom(0);
    char *p = rw_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t rw_wall_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

int64_t rw_mono_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

double rw_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
