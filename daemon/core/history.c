/* history.c - the last days' daily scores per account ordinal. */
#include "renewald/core/history.h"

#include "renewald/core/account_store.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

struct day_arr {
    int32_t day; /* INT32_MIN when the slot is empty */
    uint16_t *v;
    uint32_t n, cap;
};

struct rw_history {
    struct day_arr d[RW_HISTORY_RING];
};

struct rw_history *rw_history_new(void)
{
    struct rw_history *h = rw_xcalloc(1, sizeof(*h));
    for (int i = 0; i < RW_HISTORY_RING; i++)
        h->d[i].day = INT32_MIN;
    return h;
}

void rw_history_clear(struct rw_history *h)
{
    for (int i = 0; i < RW_HISTORY_RING; i++) {
        free(h->d[i].v);
        memset(&h->d[i], 0, sizeof(h->d[i]));
        h->d[i].day = INT32_MIN;
    }
}

void rw_history_free(struct rw_history *h)
{
    if (!h)
        return;
    rw_history_clear(h);
    free(h);
}

static size_t slot_of(int32_t day)
{
    int64_t m = (int64_t)day % RW_HISTORY_RING;
    return (size_t)(m < 0 ? m + RW_HISTORY_RING : m);
}

static struct day_arr *find(const struct rw_history *h, int32_t day)
{
    const struct day_arr *a = &h->d[slot_of(day)];
    return a->day == day && day != INT32_MIN ? (struct day_arr *)a : NULL;
}

void rw_history_begin_day(struct rw_history *h, int32_t day)
{
    struct day_arr *a = &h->d[slot_of(day)];
    if (a->day == day)
        return;
    if (a->day != INT32_MIN && a->day > day)
        return; /* never replace a newer day with an older one */
    a->day = day;
    if (a->v)
        memset(a->v, 0, (size_t)a->cap * sizeof(*a->v));
    a->n = 0;
}

static void grow(struct day_arr *a, uint32_t need)
{
    if (need <= a->cap)
        return;
    uint32_t cap = a->cap ? a->cap : 1024;
    while (cap < need)
        cap = cap > UINT32_MAX / 2 ? need : cap * 2;
    a->v = rw_xrealloc(a->v, (size_t)cap * sizeof(*a->v));
    memset(a->v + a->cap, 0, (size_t)(cap - a->cap) * sizeof(*a->v));
    a->cap = cap;
}

void rw_history_set(struct rw_history *h, int32_t day, uint32_t ordinal, uint16_t entry)
{
    struct day_arr *a = find(h, day);
    if (!a || ordinal == UINT32_MAX)
        return;
    grow(a, ordinal + 1);
    a->v[ordinal] = entry;
    if (ordinal >= a->n)
        a->n = ordinal + 1;
}

uint16_t rw_history_get(const struct rw_history *h, int32_t day, uint32_t ordinal)
{
    const struct day_arr *a = find(h, day);
    return a && ordinal < a->n ? a->v[ordinal] : 0;
}

const uint16_t *rw_history_day(const struct rw_history *h, int32_t day, uint32_t *n)
{
    const struct day_arr *a = find(h, day);
    *n = a ? a->n : 0;
    return a ? a->v : NULL;
}

void rw_history_load_day(struct rw_history *h, int32_t day, const unsigned char *bytes, size_t n)
{
    rw_history_begin_day(h, day);
    struct day_arr *a = find(h, day);
    if (!a)
        return;
    size_t pairs = n / 2;
    if (pairs > RW_ORDINAL_MAX) /* more entries than ordinals: not ours */
        pairs = RW_ORDINAL_MAX;
    uint32_t count = (uint32_t)pairs;
    grow(a, count);
    for (uint32_t i = 0; i < count; i++)
        a->v[i] = (uint16_t)(bytes[2 * i] | (bytes[2 * i + 1] << 8));
    if (count > a->n)
        a->n = count;
}

uint16_t rw_history_entry(int band, bool has_score, int tenths)
{
    unsigned t = has_score ? (unsigned)(tenths < 0      ? 0
                                        : tenths > 1000 ? 1000
                                                        : tenths)
                           : RW_HIST_NULL_SCORE;
    return (uint16_t)(RW_HIST_SET | ((unsigned)(band & 3) << 11) | t);
}

int rw_history_tenths(uint16_t entry)
{
    if (!(entry & RW_HIST_SET))
        return -1;
    unsigned t = entry & 0x7FFu;
    return t == RW_HIST_NULL_SCORE ? -1 : (int)t;
}

int rw_history_band(uint16_t entry)
{
    return entry & RW_HIST_SET ? (int)((entry >> 11) & 3u) : -1;
}

size_t rw_history_memory(const struct rw_history *h)
{
    size_t n = malloc_usable_size((void *)h);
    for (int i = 0; i < RW_HISTORY_RING; i++)
        n += malloc_usable_size(h->d[i].v);
    return n;
}
