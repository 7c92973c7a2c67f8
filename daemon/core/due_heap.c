/* due_heap.c - accounts by due time; see due_heap.h. */
#include "renewald/core/due_heap.h"

#include <stdlib.h>

uint32_t rw_due_secs(int64_t due_ms)
{
    if (due_ms == INT64_MAX)
        return RW_DUE_NEVER;
    if (due_ms <= 0)
        return 0;
    int64_t s = due_ms / 1000;
    return s >= (int64_t)RW_DUE_NEVER ? RW_DUE_NEVER - 1 : (uint32_t)s;
}

static void put(struct rw_due_heap *h, size_t i, uint32_t key, struct rw_account *a)
{
    h->key[i] = key;
    h->a[i] = a;
    a->heap_pos = (uint32_t)i;
}

static void sift_up(struct rw_due_heap *h, size_t i)
{
    uint32_t key = h->key[i];
    struct rw_account *a = h->a[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h->key[p] <= key)
            break;
        put(h, i, h->key[p], h->a[p]);
        i = p;
    }
    put(h, i, key, a);
}

static void sift_down(struct rw_due_heap *h, size_t i)
{
    uint32_t key = h->key[i];
    struct rw_account *a = h->a[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->key[c + 1] < h->key[c])
            c++;
        if (h->key[c] >= key)
            break;
        put(h, i, h->key[c], h->a[c]);
        i = c;
    }
    put(h, i, key, a);
}

static bool holds(const struct rw_due_heap *h, const struct rw_account *a)
{
    return a->heap_pos != UINT32_MAX && a->heap_pos < h->n && h->a[a->heap_pos] == a;
}

static void take_out(struct rw_due_heap *h, struct rw_account *a)
{
    size_t i = a->heap_pos;
    a->heap_pos = UINT32_MAX;
    size_t last = --h->n;
    if (i == last)
        return;
    struct rw_account *moved = h->a[last];
    put(h, i, h->key[last], moved);
    sift_up(h, i);
    sift_down(h, moved->heap_pos);
}

void rw_due_free(struct rw_due_heap *h)
{
    free(h->key);
    free(h->a);
    h->key = NULL;
    h->a = NULL;
    h->n = h->cap = 0;
}

void rw_due_set(struct rw_due_heap *h, struct rw_account *a, int64_t due_ms)
{
    uint32_t due = rw_due_secs(due_ms);
    a->due_s = due;
    if (holds(h, a)) {
        size_t i = a->heap_pos;
        if (due < h->key[i]) {
            h->key[i] = due;
            sift_up(h, i);
        }
        return; /* later or the same: filed again when its entry reaches the top */
    }
    if (due == RW_DUE_NEVER)
        return;
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 1024;
        h->key = rw_xrealloc(h->key, h->cap * sizeof(*h->key));
        h->a = rw_xrealloc(h->a, h->cap * sizeof(*h->a));
    }
    put(h, h->n++, due, a);
    sift_up(h, h->n - 1);
}

struct rw_account *rw_due_pop(struct rw_due_heap *h, int64_t t)
{
    while (h->n > 0 && rw_due_by(h->key[0], t)) {
        struct rw_account *a = h->a[0];
        if (rw_due_by(a->due_s, t)) {
            take_out(h, a);
            return a;
        }
        if (a->due_s == RW_DUE_NEVER) {
            take_out(h, a);
            continue;
        }
        h->key[0] = a->due_s; /* later than T: the loop ends */
        sift_down(h, 0);
    }
    return NULL;
}

void rw_due_clear(struct rw_due_heap *h)
{
    for (size_t i = 0; i < h->n; i++)
        h->a[i]->heap_pos = UINT32_MAX;
    h->n = 0;
}

void rw_due_forget(struct rw_due_heap *h)
{
    h->n = 0;
}
