/*
 * due_heap.h - accounts by the next time a sweep must look at them (their
 * due_ms), so that a sweep evaluates only those (SPEC §6: the same results as a
 * full sweep).  A min-heap of (key, account) entries whose position is kept in
 * the account (heap_pos).
 *
 * Moving a due time later costs nothing: the entry keeps its earlier key and is
 * filed again under the true time when it reaches the top (key <= due_ms always
 * holds).  The heap owns its array, not the accounts.
 */
#ifndef RENEWALD_CORE_DUE_HEAP_H
#define RENEWALD_CORE_DUE_HEAP_H

#include "renewald/core/account_store.h"

struct rw_due_ent {
    int64_t key; /* <= a->due_ms */
    struct rw_account *a;
};

struct rw_due_heap {
    struct rw_due_ent *v;
    size_t n, cap;
};

void rw_due_free(struct rw_due_heap *h);
/* Sets A's due time to DUE (INT64_MAX: never) and files it. */
void rw_due_set(struct rw_due_heap *h, struct rw_account *a, int64_t due);
/* An account due by T, taken out of the heap, or NULL when none is left. */
struct rw_account *rw_due_pop(struct rw_due_heap *h, int64_t t);
/* Empties the heap (the accounts stay, out of it). */
void rw_due_clear(struct rw_due_heap *h);
/* Empties the heap without touching its accounts (their store is gone). */
void rw_due_forget(struct rw_due_heap *h);

#endif
