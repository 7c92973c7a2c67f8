/* heap_trim.c - freed heap pages back to the kernel when idle; see heap_trim.h. */
#include "renewald/heap_trim.h"

#include <malloc.h>

#include "renewald/log.h"

#define TRIM_EVERY_MS 10000
#define TRIM_MIN_FREE ((size_t)8 << 20)

static int64_t last_mono_ms = INT64_MIN;

bool rw_heap_trim_idle(int64_t mono_ms)
{
    if (last_mono_ms != INT64_MIN && mono_ms - last_mono_ms < TRIM_EVERY_MS)
        return false;
    last_mono_ms = mono_ms;
    struct mallinfo2 mi = mallinfo2();
    if (mi.fordblks < TRIM_MIN_FREE)
        return false;
    int64_t t0 = rw_mono_ms();
    malloc_trim(0);
    rw_debug("heap trimmed free_bytes=%zu took_ms=%lld", mi.fordblks,
             (long long)(rw_mono_ms() - t0));
    return true;
}
