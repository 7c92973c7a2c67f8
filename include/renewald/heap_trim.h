/*
 * heap_trim.h - hands the heap pages a burst of work freed back to the kernel
 * while the daemon is idle.  glibc keeps freed memory for reuse, and after a
 * big sweep or a catch-up (commits of many records, their replies) that is
 * tens of MB of resident memory used by nothing.  Process-wide, as malloc is.
 */
#ifndef RENEWALD_HEAP_TRIM_H
#define RENEWALD_HEAP_TRIM_H

#include "renewald/core/common.h"

/*
 * Both calls walk glibc's free lists: ~3 ms after a sweep over a million
 * accounts (and under 1 ms for the look), but ~35 ms on a heap made of a few
 * hundred thousand scattered free blocks (a synthetic test), hence the pace.
 */

/* Trims now (the loader, once the state is in: ~6 MB of parse buffers). */
void rw_heap_trim(void);

/* Called when idle (read to the end, nothing in flight) at monotonic MONO_MS:
 * once a second looks at the heap, and when at least 2 MiB of it is free, trims
 * it (then not again for 10 s).  Returns true when it trimmed. */
bool rw_heap_trim_idle(int64_t mono_ms);

#endif
