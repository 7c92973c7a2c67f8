/*
 * due_heap.h - accounts by the next time a sweep must look at them (their
 * due_s), so that a sweep evaluates only those (SPEC §6: the same results as a
 * full sweep).  A min-heap of (key, account) entries whose position is kept in
 * the account (heap_pos).
 *
 * Due times are kept in whole seconds rounded down: an account looked at a
 * little early does not change (a full sweep looks at every account), and an
 * entry costs 8 bytes.  Moving a due time later costs nothing: the entry
 * keeps its earlier key and is filed again under the true time when it
 * reaches the top (key <= due_s always holds).  The heap owns its arrays, not
 * the accounts.
 */
#ifndef RENEWALD_CORE_DUE_HEAP_H
#define RENEWALD_CORE_DUE_HEAP_H

#include "renewald/core/account_store.h"

#define RW_DUE_NEVER UINT32_MAX /* a due_s: never due */

/* A due time in ms as a due_s: whole seconds rounded down (INT64_MAX: never). */
uint32_t rw_due_secs(int64_t due_ms);
/* Is an account with this due_s due by T (ms)? */
static inline bool rw_due_by(uint32_t due_s, int64_t t)
{
    return due_s != RW_DUE_NEVER && (int64_t)due_s * 1000 <= t;
}

struct rw_due_heap {
    uint32_t *key; /* per entry: <= its account's due_s */
    uint32_t *ord; /* per entry: its account's ordinal (8 bytes an entry in all) */
    size_t n, cap;
};

/* The accounts filed are those of ST, found by their ordinals. */
void rw_due_free(struct rw_due_heap *h);
/* Sets A's due time to DUE_MS (INT64_MAX: never) and, with FILE, files it;
 * without, takes it out of the heap (its caller looks at due_s itself). */
void rw_due_set(struct rw_due_heap *h, const struct rw_store *st, struct rw_account *a,
                int64_t due_ms, bool file);
/* An account due by T, taken out of the heap, or NULL when none is left. */
struct rw_account *rw_due_pop(struct rw_due_heap *h, const struct rw_store *st, int64_t t);
/* Empties the heap (the accounts stay, out of it). */
void rw_due_clear(struct rw_due_heap *h, const struct rw_store *st);
/* Empties the heap without touching its accounts (their store is gone). */
void rw_due_forget(struct rw_due_heap *h);

#endif
