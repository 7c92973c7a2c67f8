/* due_heap.c - accounts by due time; see due_heap.h. */
#include "renewald/core/due_heap.h"

#include <stdlib.h>

static void put(struct rw_due_heap *h, size_t i, struct rw_due_ent ent)
{
    h->v[i] = ent;
    ent.a->heap_pos = (uint32_t)i;
}

static void sift_up(struct rw_due_heap *h, size_t i)
{
    struct rw_due_ent ent = h->v[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h->v[p].key <= ent.key)
            break;
        put(h, i, h->v[p]);
        i = p;
    }
    put(h, i, ent);
}

static void sift_down(struct rw_due_heap *h, size_t i)
{
    struct rw_due_ent ent = h->v[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->v[c + 1].key < h->v[c].key)
            c++;
        if (h->v[c].key >= ent.key)
            break;
        put(h, i, h->v[c]);
        i = c;
    }
    put(h, i, ent);
}

static bool holds(const struct rw_due_heap *h, const struct rw_account *a)
{
    return a->heap_pos != UINT32_MAX && a->heap_pos < h->n && h->v[a->heap_pos].a == a;
}

static void take_out(struct rw_due_heap *h, struct rw_account *a)
{
    size_t i = a->heap_pos;
    a->heap_pos = UINT32_MAX;
    struct rw_due_ent last = h->v[--h->n];
    if (i == h->n)
        return;
    put(h, i, last);
    sift_up(h, i);
    sift_down(h, last.a->heap_pos);
}

void rw_due_free(struct rw_due_heap *h)
{
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}

void rw_due_set(struct rw_due_heap *h, struct rw_account *a, int64_t due)
{
    a->due_ms = due;
    if (holds(h, a)) {
        size_t i = a->heap_pos;
        if (due < h->v[i].key) {
            h->v[i].key = due;
            sift_up(h, i);
        }
        return; /* later or the same: filed again when its entry reaches the top */
    }
    if (due == INT64_MAX)
        return;
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 1024;
        h->v = rw_xrealloc(h->v, h->cap * sizeof(*h->v));
    }
    h->v[h->n] = (struct rw_due_ent){due, a};
    a->heap_pos = (uint32_t)h->n++;
    sift_up(h, h->n - 1);
}

struct rw_account *rw_due_pop(struct rw_due_heap *h, int64_t t)
{
    while (h->n > 0 && h->v[0].key <= t) {
        struct rw_account *a = h->v[0].a;
        if (a->due_ms <= t) {
            take_out(h, a);
            return a;
        }
        if (a->due_ms == INT64_MAX) {
            take_out(h, a);
            continue;
        }
        h->v[0].key = a->due_ms;
        sift_down(h, 0);
    }
    return NULL;
}

void rw_due_clear(struct rw_due_heap *h)
{
    for (size_t i = 0; i < h->n; i++)
        h->v[i].a->heap_pos = UINT32_MAX;
    h->n = 0;
}

void rw_due_forget(struct rw_due_heap *h)
{
    h->n = 0;
}
