/* heap_trim.c - freed heap pages back to the kernel when idle; see heap_trim.h. */
#include "renewald/heap_trim.h"

#include <malloc.h>

#include "renewald/log.h"

#define CHECK_EVERY_MS 1000  /* a look at the heap's free bytes (mallinfo2) */
#define TRIM_EVERY_MS  10000 /* a trim at most this often */
#define TRIM_MIN_FREE  ((size_t)2 << 20)

static int64_t next_mono_ms = INT64_MIN;

void rw_heap_trim(void)
{
    int64_t t0 = rw_mono_ms();
    malloc_trim(0);
    rw_debug("heap trimmed took_ms=%lld", (long long)(rw_mono_ms() - t0));
}

bool rw_heap_trim_idle(int64_t mono_ms)
{
    if (mono_ms < next_mono_ms)
        return false;
    next_mono_ms = mono_ms + CHECK_EVERY_MS;
    struct mallinfo2 mi = mallinfo2();
    if (mi.fordblks < TRIM_MIN_FREE)
        return false;
    next_mono_ms = mono_ms + TRIM_EVERY_MS;
    rw_heap_trim();
    return true;
}
