/* history.c - the last days' daily scores per account ordinal: the newest day
 * whole, the older ones packed to 10 bits an entry. */
#include "renewald/core/history.h"

#include "renewald/core/account_store.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

/*
 * A packed entry is a 10-bit code: 0 = no score (none recorded, or null),
 * else tenths + 1 (1..1001).  Entry i lives at bits 10i..10i+9 of the byte
 * array, little-endian; the array has two bytes of slack so that every entry
 * is read and written as three whole bytes.
 */
#define CODE_BITS  10u
#define CODE_MASK  0x3FFu
#define PACK_SLACK 2u

struct day_arr {
    int32_t day;  /* INT32_MIN when the slot is empty */
    uint16_t *v;  /* full entries (the newest day), or NULL */
    uint8_t *p;   /* packed codes (an older day), or NULL */
    uint32_t n;   /* entries held */
    uint32_t cap; /* entries v or p has room for */
};

struct rw_history {
    struct day_arr d[RW_HISTORY_RING];
};

static size_t packed_bytes(uint32_t n)
{
    return ((size_t)n * CODE_BITS + 7u) / 8u + PACK_SLACK;
}

static unsigned code_of(uint16_t entry)
{
    int t = rw_history_tenths(entry);
    return t < 0 ? 0u : (unsigned)t + 1u;
}

static unsigned get_code(const uint8_t *p, uint32_t i)
{
    size_t bit = (size_t)i * CODE_BITS, k = bit / 8u;
    uint32_t w = (uint32_t)p[k] | (uint32_t)p[k + 1] << 8 | (uint32_t)p[k + 2] << 16;
    return (w >> (bit % 8u)) & CODE_MASK;
}

static void put_code(uint8_t *p, uint32_t i, unsigned code)
{
    size_t bit = (size_t)i * CODE_BITS, k = bit / 8u;
    unsigned sh = (unsigned)(bit % 8u);
    uint32_t w = (uint32_t)p[k] | (uint32_t)p[k + 1] << 8 | (uint32_t)p[k + 2] << 16;
    w = (w & ~(CODE_MASK << sh)) | (code & CODE_MASK) << sh;
    p[k] = (uint8_t)w;
    p[k + 1] = (uint8_t)(w >> 8);
    p[k + 2] = (uint8_t)(w >> 16);
}

struct rw_history *rw_history_new(void)
{
    struct rw_history *h = rw_xcalloc(1, sizeof(*h));
    for (int i = 0; i < RW_HISTORY_RING; i++)
        h->d[i].day = INT32_MIN;
    return h;
}

static void empty_slot(struct day_arr *a)
{
    free(a->v);
    free(a->p);
    memset(a, 0, sizeof(*a));
    a->day = INT32_MIN;
}

void rw_history_clear(struct rw_history *h)
{
    for (int i = 0; i < RW_HISTORY_RING; i++)
        empty_slot(&h->d[i]);
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

/* Room for NEED entries, the new ones none. */
static void grow(struct day_arr *a, uint32_t need)
{
    if (need <= a->cap)
        return;
    uint32_t cap = rw_grown_cap(a->cap, 1024, need);
    if (a->p) {
        size_t from = packed_bytes(a->cap), to = packed_bytes(cap);
        a->p = rw_xrealloc(a->p, to);
        memset(a->p + from, 0, to - from);
    } else {
        a->v = rw_xrealloc(a->v, (size_t)cap * sizeof(*a->v));
        memset(a->v + a->cap, 0, (size_t)(cap - a->cap) * sizeof(*a->v));
    }
    a->cap = cap;
}

static void pack(struct day_arr *a)
{
    uint8_t *p = rw_xcalloc(1, packed_bytes(a->n));
    for (uint32_t i = 0; i < a->n; i++)
        put_code(p, i, code_of(a->v[i]));
    free(a->v);
    a->v = NULL;
    a->p = p;
    a->cap = a->n;
}

/* Keeps the newest day whole and packs every older one. */
static void settle(struct rw_history *h)
{
    int32_t newest = INT32_MIN;
    for (int i = 0; i < RW_HISTORY_RING; i++)
        if (h->d[i].day > newest)
            newest = h->d[i].day;
    for (int i = 0; i < RW_HISTORY_RING; i++)
        if (h->d[i].day != INT32_MIN && h->d[i].day < newest && !h->d[i].p)
            pack(&h->d[i]);
}

/* Back to full entries (the bands are gone: 0 until recorded again). */
static void unpack(struct day_arr *a)
{
    uint16_t *v = rw_xcalloc(a->n ? a->n : 1, sizeof(*v));
    for (uint32_t i = 0; i < a->n; i++) {
        unsigned c = get_code(a->p, i);
        v[i] = c ? rw_history_entry(0, true, (int)c - 1) : 0;
    }
    free(a->p);
    a->p = NULL;
    a->v = v;
    a->cap = a->n ? a->n : 1;
}

void rw_history_begin_day(struct rw_history *h, int32_t day)
{
    struct day_arr *a = &h->d[slot_of(day)];
    if (day == INT32_MIN)
        return;
    if (a->day == day) {
        if (a->p) /* recorded again (a sweep resumed after a restart) */
            unpack(a);
        return;
    }
    if (a->day != INT32_MIN && a->day > day)
        return; /* never replace a newer day with an older one */
    empty_slot(a);
    a->day = day;
    settle(h);
}

void rw_history_end_day(struct rw_history *h, int32_t day)
{
    struct day_arr *a = find(h, day);
    if (a && !a->p)
        pack(a);
}

void rw_history_set(struct rw_history *h, int32_t day, uint32_t ordinal, uint16_t entry)
{
    struct day_arr *a = find(h, day);
    if (!a || ordinal >= RW_ORDINAL_MAX)
        return;
    grow(a, ordinal + 1);
    if (a->p)
        put_code(a->p, ordinal, code_of(entry));
    else
        a->v[ordinal] = entry;
    if (ordinal >= a->n)
        a->n = ordinal + 1;
}

int rw_history_tenths_at(const struct rw_history *h, int32_t day, uint32_t ordinal)
{
    const struct day_arr *a = find(h, day);
    if (!a || ordinal >= a->n)
        return -1;
    if (a->p)
        return (int)get_code(a->p, ordinal) - 1;
    return rw_history_tenths(a->v[ordinal]);
}

const uint16_t *rw_history_day(const struct rw_history *h, int32_t day, uint32_t *n)
{
    const struct day_arr *a = find(h, day);
    bool whole = a && !a->p;
    *n = whole ? a->n : 0;
    return whole ? a->v : NULL;
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
    for (uint32_t i = 0; i < count; i++) {
        uint16_t e = (uint16_t)(bytes[2 * i] | (bytes[2 * i + 1] << 8));
        if (a->p)
            put_code(a->p, i, code_of(e));
        else
            a->v[i] = e;
    }
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
    return t == RW_HIST_NULL_SCORE || t > 1000 ? -1 : (int)t;
}

int rw_history_band(uint16_t entry)
{
    return entry & RW_HIST_SET ? (int)((entry >> 11) & 3u) : -1;
}

size_t rw_history_memory(const struct rw_history *h)
{
    size_t n = malloc_usable_size((void *)h);
    for (int i = 0; i < RW_HISTORY_RING; i++)
        n += malloc_usable_size(h->d[i].v) + malloc_usable_size(h->d[i].p);
    return n;
}
