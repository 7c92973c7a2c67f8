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

/* The heap in hand: its arrays and the store its ordinals name. */
struct heap {
    struct rw_due_heap *h;
    const struct rw_store *st;
};

static void put(struct heap x, size_t i, uint32_t key, struct rw_account *a)
{
    x.h->key[i] = key;
    x.h->ord[i] = a->ordinal;
    a->heap_pos = (uint32_t)i;
}

static struct rw_account *at(struct heap x, size_t i)
{
    return rw_store_by_ordinal(x.st, x.h->ord[i]);
}

static void sift_up(struct heap x, size_t i, struct rw_account *a)
{
    uint32_t key = x.h->key[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (x.h->key[p] <= key)
            break;
        put(x, i, x.h->key[p], at(x, p));
        i = p;
    }
    put(x, i, key, a);
}

static void sift_down(struct heap x, size_t i, struct rw_account *a)
{
    uint32_t key = x.h->key[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= x.h->n)
            break;
        if (c + 1 < x.h->n && x.h->key[c + 1] < x.h->key[c])
            c++;
        if (x.h->key[c] >= key)
            break;
        put(x, i, x.h->key[c], at(x, c));
        i = c;
    }
    put(x, i, key, a);
}

static bool holds(const struct rw_due_heap *h, const struct rw_account *a)
{
    return a->heap_pos != UINT32_MAX && a->heap_pos < h->n && h->ord[a->heap_pos] == a->ordinal;
}

static void take_out(struct heap x, struct rw_account *a)
{
    size_t i = a->heap_pos;
    a->heap_pos = UINT32_MAX;
    size_t last = --x.h->n;
    if (i == last)
        return;
    struct rw_account *moved = at(x, last);
    x.h->key[i] = x.h->key[last];
    x.h->ord[i] = x.h->ord[last];
    sift_up(x, i, moved);
    sift_down(x, moved->heap_pos, moved);
}

void rw_due_free(struct rw_due_heap *h)
{
    free(h->key);
    free(h->ord);
    h->key = NULL;
    h->ord = NULL;
    h->n = h->cap = 0;
}

void rw_due_set(struct rw_due_heap *h, const struct rw_store *st, struct rw_account *a,
                int64_t due_ms, bool file)
{
    struct heap x = {h, st};
    uint32_t due = rw_due_secs(due_ms);
    a->due_s = due;
    if (!file) {
        if (holds(h, a))
            take_out(x, a);
        return;
    }
    if (holds(h, a)) {
        size_t i = a->heap_pos;
        if (due < h->key[i]) {
            h->key[i] = due;
            sift_up(x, i, a);
        }
        return; /* later or the same: filed again when its entry reaches the top */
    }
    if (due == RW_DUE_NEVER)
        return;
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 1024;
        h->key = rw_xrealloc(h->key, h->cap * sizeof(*h->key));
        h->ord = rw_xrealloc(h->ord, h->cap * sizeof(*h->ord));
    }
    h->key[h->n] = due;
    h->ord[h->n] = a->ordinal;
    sift_up(x, h->n++, a);
}

struct rw_account *rw_due_pop(struct rw_due_heap *h, const struct rw_store *st, int64_t t)
{
    struct heap x = {h, st};
    while (h->n > 0 && rw_due_by(h->key[0], t)) {
        struct rw_account *a = at(x, 0);
        if (rw_due_by(a->due_s, t)) {
            take_out(x, a);
            return a;
        }
        if (a->due_s == RW_DUE_NEVER) {
            take_out(x, a);
            continue;
        }
        h->key[0] = a->due_s; /* later than T: the loop ends */
        sift_down(x, 0, a);
    }
    return NULL;
}

void rw_due_clear(struct rw_due_heap *h, const struct rw_store *st)
{
    for (size_t i = 0; i < h->n; i++) {
        struct rw_account *a = rw_store_by_ordinal(st, h->ord[i]);
        if (a)
            a->heap_pos = UINT32_MAX;
    }
    h->n = 0;
}

void rw_due_forget(struct rw_due_heap *h)
{
    h->n = 0;
}
