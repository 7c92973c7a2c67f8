/* account_store.c - the table of accounts, interned strings, the dirty set, the worklist. */
#include "renewald/core/account_store.h"
#include "renewald/core/timeutil.h"

#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define MIN_CAP 64

/*
 * Accounts live in chunks of ARENA_CHUNK bytes, bump-allocated and never
 * freed one by one (accounts are never removed): no malloc header or
 * rounding per account, and the table and the ordinal index hold 32-bit
 * references (chunk << REF_SHIFT | offset / 8) instead of pointers.
 * Names live in chunks of their own, bytes packed.  A chunk is one huge page
 * where the system has them: a load or a sweep touches accounts all over, and
 * takes one page fault and one TLB entry per 2 MiB instead of 512.
 */
#define ARENA_CHUNK (UINT32_C(1) << 21)
#define REF_SHIFT   18 /* ARENA_CHUNK / 8 offsets */
#define REF_CHUNKS  (UINT32_C(1) << (32 - REF_SHIFT))
#define NO_REF      UINT32_MAX
/* Names are copied into fresh chunks once the bytes left behind by renames
 * exceed both this and the bytes in use. */
#define NAME_WASTE_MIN ((size_t)4 << 20)

struct arena {
    char **chunk;
    uint32_t *fill;  /* per chunk: bytes used (the last one's is USED) */
    uint32_t n, cap; /* chunks in use, room in chunk[] and fill[] */
    size_t used;     /* bytes used in the last chunk */
};

/* Interned strings: an open-addressing set, keyed like the accounts. */
struct intern_ent {
    char *s; /* NULL = empty */
    size_t len;
    uint64_t hash;
};

/* An account's rarely set state, keyed by the account (stable for the store's life). */
struct ext_slot {
    const struct rw_account *a; /* NULL = empty */
    struct rw_account_ext *ext;
};

struct rw_store {
    struct arena accounts; /* every struct rw_account */
    struct ext_slot *etab; /* power-of-two capacity, linear probing, at most half full */
    size_t ecap, ecount;
    struct arena names; /* every account's name */
    size_t name_bytes, name_waste;
    uint32_t *by_ord; /* ordinal -> account reference (NO_REF for a hole) */
    uint32_t ord_end, ord_cap;
    uint32_t *tab; /* account references; power-of-two capacity, linear probing */
    uint8_t *tags; /* per slot: 0 empty, else 0x80 | 7 bits of the hash */
    size_t cap, count;
    size_t bands[RW_BAND_COUNT];       /* accounts per band */
    __int128 arr_cents[RW_BAND_COUNT]; /* their ARR, each account's rounded to cents */
    size_t nslots;
    uint64_t seed;
    struct intern_ent *itab;
    size_t icap, icount;
    struct rw_account **dirty;
    size_t ndirty, dirty_cap;
    size_t nsnoozed;
};

/* A seeded 64-bit hash (wyhash-like multiply-fold): ids are external input. */
static uint64_t mum(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static uint64_t rd64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v; /* host order: the hash never leaves the process */
}

static uint64_t hash_bytes(uint64_t seed, const void *data, size_t len)
{
    static const uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull,
                          k2 = 0x8ebc6af09c88c6e3ull, k3 = 0x589965cc75374cc3ull;
    const unsigned char *p = data;
    uint64_t h = seed ^ mum((uint64_t)len ^ k0, k1);
    while (len >= 16) {
        h = mum(rd64(p) ^ k1, rd64(p + 8) ^ h ^ k2);
        p += 16;
        len -= 16;
    }
    if (len >= 8) {
        h = mum(rd64(p) ^ k1, h ^ k3);
        p += 8;
        len -= 8;
    }
    uint64_t t = 0;
    for (size_t i = 0; i < len; i++)
        t |= (uint64_t)p[i] << (8 * i);
    h = mum(t ^ k2, h ^ k0);
    return mum(h ^ seed, k3);
}

/* ALIGN-aligned room for SIZE (<= ARENA_CHUNK) bytes, zeroed; its reference in *REF. */
static void *arena_alloc(struct arena *ar, size_t size, size_t align, uint32_t *ref)
{
    size_t off = (ar->used + align - 1) & ~(align - 1);
    if (ar->n == 0 || off + size > ARENA_CHUNK) {
        if (ar->n == REF_CHUNKS)
            return NULL; /* 32 GiB of accounts: past what references can name */
        if (ar->n == ar->cap) {
            ar->cap = ar->cap ? ar->cap * 2 : 16;
            ar->chunk = rw_xrealloc(ar->chunk, ar->cap * sizeof(*ar->chunk));
            ar->fill = rw_xrealloc(ar->fill, ar->cap * sizeof(*ar->fill));
        }
        ar->chunk[ar->n++] = rw_xmap_aligned(ARENA_CHUNK); /* zeroed */
        off = 0;
    }
    ar->used = off + size;
    ar->fill[ar->n - 1] = (uint32_t)ar->used;
    if (ref)
        *ref = (ar->n - 1) << REF_SHIFT | (uint32_t)(off >> 3);
    return ar->chunk[ar->n - 1] + off;
}

/* Hands back the pages of the last chunk past what is used: with huge pages
 * the whole 2 MiB is resident from its first byte, and the last chunk of a
 * load is rarely full.  Growing into them later faults them in again. */
static void arena_trim(struct arena *ar)
{
    if (ar->n > 0)
        rw_unmap_tail(ar->chunk[ar->n - 1], ARENA_CHUNK, ar->used);
}

static void arena_free(struct arena *ar)
{
    for (uint32_t i = 0; i < ar->n; i++)
        rw_unmap(ar->chunk[i], ARENA_CHUNK);
    free(ar->chunk);
    free(ar->fill);
    memset(ar, 0, sizeof(*ar));
}

static size_t arena_memory(const struct arena *ar)
{
    return malloc_usable_size(ar->chunk) + malloc_usable_size(ar->fill) +
           (size_t)ar->n * ARENA_CHUNK;
}

static struct rw_account *acct_at(const struct rw_store *st, uint32_t ref)
{
    return (struct rw_account *)(void *)(st->accounts.chunk[ref >> REF_SHIFT] +
                                         ((size_t)(ref & ((UINT32_C(1) << REF_SHIFT) - 1)) << 3));
}

static void ext_free(struct rw_account_ext *ext)
{
    if (!ext)
        return;
    free(ext->snooze_reason);
    free(ext->snoozed_by);
    free(ext);
}

static uint64_t random_seed(void)
{
    uint64_t s = 0;
    if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        s = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)&s;
    }
    return s;
}

struct rw_store *rw_store_new(size_t nslots)
{
    struct rw_store *st = rw_xcalloc(1, sizeof(*st));
    st->nslots = nslots;
    st->seed = random_seed();
    st->cap = MIN_CAP;
    st->tab = rw_xcalloc(st->cap, sizeof(*st->tab));
    st->tags = rw_xcalloc(st->cap, 1);
    st->icap = 16;
    st->itab = rw_xcalloc(st->icap, sizeof(*st->itab));
    return st;
}

void rw_store_free(struct rw_store *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->ecap; i++)
        if (st->etab[i].a)
            ext_free(st->etab[i].ext);
    free(st->etab);
    arena_free(&st->accounts);
    arena_free(&st->names);
    free(st->tab);
    free(st->by_ord);
    free(st->tags);
    for (size_t i = 0; i < st->icap; i++)
        free(st->itab[i].s);
    free(st->itab);
    free(st->dirty);
    free(st);
}

size_t rw_store_nslots(const struct rw_store *st)
{
    return st->nslots;
}

size_t rw_store_count(const struct rw_store *st)
{
    return st->count;
}

/* The table index holding ID, or the empty index where it would go. */
static uint8_t tag_of(uint64_t h)
{
    return (uint8_t)(0x80u | (h >> 57));
}

/* The slot of ID, or the empty slot where it would go.  Accounts are only
 * dereferenced when their tag matches: a probe costs about one cache miss. */
static size_t probe(const struct rw_store *st, const char *id, size_t len, uint64_t h)
{
    size_t mask = st->cap - 1;
    size_t i = (size_t)h & mask;
    uint8_t tag = tag_of(h);
    for (;;) {
        uint8_t t = st->tags[i];
        if (t == 0)
            return i;
        if (t == tag) {
            const struct rw_account *a = acct_at(st, st->tab[i]);
            if (a->id_len == len && memcmp(a->id, id, len) == 0)
                return i;
        }
        i = (i + 1) & mask;
    }
}

/* Moves the table to CAP slots (a power of two that holds every account). */
static void rehash(struct rw_store *st, size_t cap)
{
    uint32_t *old = st->tab;
    uint8_t *old_tags = st->tags;
    size_t ocap = st->cap;
    st->cap = cap;
    st->tab = rw_xcalloc(st->cap, sizeof(*st->tab));
    st->tags = rw_xcalloc(st->cap, 1);
    for (size_t i = 0; i < ocap; i++) {
        if (!old_tags[i])
            continue;
        const struct rw_account *a = acct_at(st, old[i]);
        uint64_t h = hash_bytes(st->seed, a->id, a->id_len);
        size_t j = probe(st, a->id, a->id_len, h);
        st->tab[j] = old[i];
        st->tags[j] = tag_of(h);
    }
    free(old);
    free(old_tags);
}

static void grow(struct rw_store *st)
{
    rehash(st, st->cap * 2);
}

struct rw_account *rw_store_find(const struct rw_store *st, const char *id, size_t len)
{
    if (len == 0 || len > RW_ACCOUNT_MAX)
        return NULL;
    size_t i = probe(st, id, len, hash_bytes(st->seed, id, len));
    return st->tags[i] ? acct_at(st, st->tab[i]) : NULL;
}

/* Offset of the slots inside an account's allocation: after the id, 8-aligned. */
static size_t slots_offset(size_t id_len)
{
    size_t off = offsetof(struct rw_account, id) + id_len + 1;
    if (off < sizeof(struct rw_account))
        off = sizeof(struct rw_account);
    return (off + sizeof(double) - 1) & ~(sizeof(double) - 1);
}

double *rw_account_agg(const struct rw_account *a)
{
    return (double *)(void *)((char *)a + slots_offset(a->id_len));
}

static void ord_reserve(struct rw_store *st, uint32_t need)
{
    if (need <= st->ord_cap)
        return;
    uint32_t cap = rw_grown_cap(st->ord_cap, 64, need);
    st->by_ord = rw_xrealloc(st->by_ord, (size_t)cap * sizeof(*st->by_ord));
    memset(st->by_ord + st->ord_cap, 0xFF, (size_t)(cap - st->ord_cap) * sizeof(*st->by_ord));
    st->ord_cap = cap;
}

void rw_store_trim(struct rw_store *st)
{
    arena_trim(&st->accounts);
    arena_trim(&st->names);
}

void rw_store_reserve(struct rw_store *st, size_t n)
{
    if (n > RW_ORDINAL_MAX)
        n = RW_ORDINAL_MAX;
    size_t cap = st->cap;
    while (n * 4 > cap * 3)
        cap *= 2;
    if (cap != st->cap)
        rehash(st, cap);
    ord_reserve(st, (uint32_t)n);
}

uint32_t rw_store_ordinal_end(const struct rw_store *st)
{
    return st->ord_end;
}

struct rw_account *rw_store_by_ordinal(const struct rw_store *st, uint32_t ordinal)
{
    return ordinal < st->ord_end && st->by_ord[ordinal] != NO_REF ? acct_at(st, st->by_ord[ordinal])
                                                                  : NULL;
}

bool rw_store_set_ordinal(struct rw_store *st, struct rw_account *a, uint32_t ord)
{
    if (ord == a->ordinal)
        return true;
    /* A record's ordinal sizes an index: one from a corrupt record must not
     * ask for gigabytes.  Far beyond what one instance carries. */
    if (ord >= RW_ORDINAL_MAX || (ord < st->ord_end && st->by_ord[ord] != NO_REF))
        return false;
    ord_reserve(st, ord + 1);
    st->by_ord[ord] = st->by_ord[a->ordinal];
    st->by_ord[a->ordinal] = NO_REF;
    a->ordinal = ord;
    if (ord >= st->ord_end)
        st->ord_end = ord + 1;
    /* Restoring records in any order must not leave the vacated fresh ordinals as holes. */
    while (st->ord_end > 0 && st->by_ord[st->ord_end - 1] == NO_REF)
        st->ord_end--;
    return true;
}

size_t rw_store_band_count(const struct rw_store *st, int band)
{
    return band >= 0 && band < RW_BAND_COUNT ? st->bands[band] : 0;
}

int64_t rw_arr_cents(double arr)
{
    if (isnan(arr))
        return 0;
    if (arr > 1e12)
        arr = 1e12;
    else if (arr < -1e12)
        arr = -1e12;
    return llround(arr * 100.0);
}

__int128 rw_store_band_arr_cents(const struct rw_store *st, int band)
{
    return band >= 0 && band < RW_BAND_COUNT ? st->arr_cents[band] : 0;
}

void rw_store_set_band(struct rw_store *st, struct rw_account *a, uint8_t band)
{
    uint8_t from = a->band;
    if (from == band || from >= RW_BAND_COUNT || band >= RW_BAND_COUNT)
        return;
    int64_t c = rw_arr_cents(a->arr);
    st->bands[from]--;
    st->arr_cents[from] -= c;
    st->bands[band]++;
    st->arr_cents[band] += c;
    a->band = band;
}

void rw_store_set_arr(struct rw_store *st, struct rw_account *a, double arr)
{
    if (a->band < RW_BAND_COUNT)
        st->arr_cents[a->band] += rw_arr_cents(arr) - rw_arr_cents(a->arr);
    a->arr = arr;
}

uint64_t rw_store_hash(const struct rw_store *st, const char *id, size_t len)
{
    uint64_t h = hash_bytes(st->seed, id, len);
    size_t i = (size_t)h & (st->cap - 1);
    __builtin_prefetch(&st->tags[i]);
    __builtin_prefetch(&st->tab[i]);
    return h;
}

void rw_store_prefetch(const struct rw_store *st, const char *id, size_t len, uint64_t h)
{
    (void)id;
    (void)len;
    size_t i = (size_t)h & (st->cap - 1);
    if (st->tags[i] == tag_of(h)) {
        const char *a = (const char *)acct_at(st, st->tab[i]);
        __builtin_prefetch(a);
        __builtin_prefetch(a + 64);
        __builtin_prefetch(a + 128);
    }
}

struct rw_account *rw_store_upsert(struct rw_store *st, const char *id, size_t len, bool *created)
{
    if (len == 0 || len > RW_ACCOUNT_MAX)
        return NULL;
    return rw_store_upsert_hashed(st, id, len, hash_bytes(st->seed, id, len), created);
}

struct rw_account *rw_store_upsert_hashed(struct rw_store *st, const char *id, size_t len,
                                          uint64_t h, bool *created)
{
    if (len == 0 || len > RW_ACCOUNT_MAX)
        return NULL;
    size_t i = probe(st, id, len, h);
    if (st->tags[i]) {
        if (created)
            *created = false;
        return acct_at(st, st->tab[i]);
    }
    if ((st->count + 1) * 4 > st->cap * 3) {
        grow(st);
        i = probe(st, id, len, h);
    }
    if (st->ord_end >= RW_ORDINAL_MAX)
        return NULL; /* the ordinals are spent */
    uint32_t ref;
    struct rw_account *a =
        arena_alloc(&st->accounts, slots_offset(len) + st->nslots * sizeof(double), 8, &ref);
    if (!a)
        return NULL;
    a->first_seen_ms = RW_NO_TIME;
    a->last_event_ms = RW_NO_TIME;
    a->ref_ms = RW_NO_TIME;
    a->below_healthy_ms = RW_NO_TIME;
    a->below_watch_ms = RW_NO_TIME;
    a->due_s = 0; /* due at once */
    a->heap_pos = UINT32_MAX;
    a->arr = NAN;
    a->seats = NAN;
    a->score = NAN;
    ord_reserve(st, st->ord_end + 1);
    a->ordinal = st->ord_end;
    st->by_ord[st->ord_end++] = ref;
    a->renewal_day = RW_NO_DAY;
    a->band = RW_BAND_UNKNOWN;
    a->notified_band = RW_BAND_UNKNOWN;
    a->id_len = (uint8_t)len;
    memcpy(a->id, id, len);
    a->id[len] = '\0';
    st->tab[i] = ref;
    st->tags[i] = tag_of(h);
    st->count++;
    st->bands[RW_BAND_UNKNOWN]++;
    if (created)
        *created = true;
    return a;
}

#define PREFETCH_AHEAD 8

struct rw_account *rw_store_next(const struct rw_store *st, size_t *cursor)
{
    for (size_t i = *cursor; i < st->ord_end; i++) {
        if (st->by_ord[i] == NO_REF)
            continue;
        struct rw_account *a = acct_at(st, st->by_ord[i]);
        *cursor = i + 1;
        /* A pass touches accounts all over the heap: fetch the ones a few
         * ordinals ahead while this one is evaluated. */
        if (i + PREFETCH_AHEAD < st->ord_end && st->by_ord[i + PREFETCH_AHEAD] != NO_REF) {
            const char *next = (const char *)acct_at(st, st->by_ord[i + PREFETCH_AHEAD]);
            __builtin_prefetch(next);
            __builtin_prefetch(next + 64);
            __builtin_prefetch(next + 128);
        }
        return a;
    }
    *cursor = st->ord_end;
    return NULL;
}

struct rw_account *rw_store_walk(const struct rw_store *st, uint64_t *cursor)
{
    const struct arena *ar = &st->accounts;
    uint64_t c = *cursor >> 32, off = *cursor & UINT32_MAX;
    while (c < ar->n && off >= ar->fill[c]) {
        c++;
        off = 0;
    }
    if (c >= ar->n) {
        *cursor = (uint64_t)ar->n << 32;
        return NULL;
    }
    struct rw_account *a = (struct rw_account *)(void *)(ar->chunk[c] + off);
    off += slots_offset(a->id_len) + st->nslots * sizeof(double);
    *cursor = c << 32 | off;
    return a;
}

static size_t intern_probe(const struct intern_ent *tab, size_t cap, const char *s, size_t len,
                           uint64_t h)
{
    size_t mask = cap - 1;
    size_t i = (size_t)h & mask;
    while (tab[i].s && !(tab[i].hash == h && tab[i].len == len && memcmp(tab[i].s, s, len) == 0))
        i = (i + 1) & mask;
    return i;
}

const char *rw_store_intern(struct rw_store *st, const char *s, size_t len)
{
    uint64_t h = hash_bytes(st->seed, s, len);
    size_t i = intern_probe(st->itab, st->icap, s, len, h);
    if (st->itab[i].s)
        return st->itab[i].s;
    if ((st->icount + 1) * 4 > st->icap * 3) {
        size_t ncap = st->icap * 2;
        struct intern_ent *nt = rw_xcalloc(ncap, sizeof(*nt));
        for (size_t k = 0; k < st->icap; k++)
            if (st->itab[k].s)
                nt[intern_probe(nt, ncap, st->itab[k].s, st->itab[k].len, st->itab[k].hash)] =
                    st->itab[k];
        free(st->itab);
        st->itab = nt;
        st->icap = ncap;
        i = intern_probe(st->itab, st->icap, s, len, h);
    }
    struct intern_ent *e = &st->itab[i];
    e->s = rw_xmalloc(len + 1);
    memcpy(e->s, s, len);
    e->s[len] = '\0';
    e->len = len;
    e->hash = h;
    st->icount++;
    return e->s;
}

/* Copies every name into fresh chunks, leaving the renamed ones' old bytes behind. */
static void compact_names(struct rw_store *st)
{
    struct arena old = st->names;
    memset(&st->names, 0, sizeof(st->names));
    for (uint32_t o = 0; o < st->ord_end; o++) {
        if (st->by_ord[o] == NO_REF)
            continue;
        struct rw_account *a = acct_at(st, st->by_ord[o]);
        if (a->name) {
            size_t n = strlen(a->name) + 1;
            char *p = arena_alloc(&st->names, n, 1, NULL);
            memcpy(p, a->name, n); /* n <= RW_NAME_MAX + 1: always fits a chunk */
            a->name = p;
        }
    }
    arena_free(&old);
    st->name_waste = 0;
}

void rw_store_set_name(struct rw_store *st, struct rw_account *a, const char *s, size_t len)
{
    size_t had = a->name ? strlen(a->name) : 0;
    if (s && a->name && had == len && memcmp(a->name, s, len) == 0)
        return;
    if (s && a->name && len <= had) { /* fits where the old one was */
        memcpy(a->name, s, len);
        a->name[len] = '\0';
        st->name_waste += had - len;
        st->name_bytes -= had - len;
        return;
    }
    if (a->name) {
        st->name_waste += had + 1;
        st->name_bytes -= had + 1;
        a->name = NULL;
    }
    if (s) {
        char *p = arena_alloc(&st->names, len + 1, 1, NULL);
        if (!p)
            return; /* 32 GiB of names: past any store; the account goes unnamed */
        memcpy(p, s, len);
        p[len] = '\0';
        a->name = p;
        st->name_bytes += len + 1;
    }
    if (st->name_waste > NAME_WASTE_MIN && st->name_waste > st->name_bytes)
        compact_names(st);
}

/* The slot of A in the ext table, or the empty slot where it would go. */
static size_t ext_probe(const struct rw_store *st, const struct rw_account *a)
{
    size_t mask = st->ecap - 1;
    size_t i = (size_t)(((uint64_t)(uintptr_t)a >> 3) * 0x9e3779b97f4a7c15ull >> 20) & mask;
    while (st->etab[i].a && st->etab[i].a != a)
        i = (i + 1) & mask;
    return i;
}

static void ext_put(struct rw_store *st, const struct rw_account *a, struct rw_account_ext *ext)
{
    if ((st->ecount + 1) * 2 > st->ecap) {
        struct ext_slot *old = st->etab;
        size_t ocap = st->ecap;
        st->ecap = ocap ? ocap * 2 : 16;
        st->etab = rw_xcalloc(st->ecap, sizeof(*st->etab));
        for (size_t i = 0; i < ocap; i++)
            if (old[i].a)
                st->etab[ext_probe(st, old[i].a)] = old[i];
        free(old);
    }
    size_t i = ext_probe(st, a);
    st->etab[i] = (struct ext_slot){a, ext};
    st->ecount++;
}

/* Takes slot I out, moving back the entries of its probe run (no tombstones). */
static void ext_remove(struct rw_store *st, size_t i)
{
    size_t mask = st->ecap - 1;
    st->etab[i].a = NULL;
    st->ecount--;
    for (size_t j = (i + 1) & mask; st->etab[j].a; j = (j + 1) & mask) {
        struct ext_slot e = st->etab[j];
        st->etab[j].a = NULL;
        st->etab[ext_probe(st, e.a)] = e;
    }
}

const struct rw_account_ext *rw_store_ext(const struct rw_store *st, const struct rw_account *a)
{
    if (!(a->flags & RW_ACCT_EXT))
        return NULL;
    return st->etab[ext_probe(st, a)].ext;
}

void rw_store_set_snooze(struct rw_store *st, struct rw_account *a, int64_t until_ms,
                         const char *reason, const char *by)
{
    if (a->flags & RW_ACCT_EXT) {
        size_t i = ext_probe(st, a);
        ext_free(st->etab[i].ext);
        ext_remove(st, i);
        a->flags &= ~(unsigned)RW_ACCT_EXT;
    }
    if (until_ms == RW_NO_TIME)
        return;
    struct rw_account_ext *ext = rw_xcalloc(1, sizeof(*ext));
    ext->snoozed_until_ms = until_ms;
    ext->snooze_reason = reason ? rw_xstrndup(reason, strnlen(reason, RW_SNOOZE_TEXT_MAX)) : NULL;
    ext->snoozed_by = by ? rw_xstrndup(by, strnlen(by, RW_SNOOZE_TEXT_MAX)) : NULL;
    ext_put(st, a, ext);
    a->flags |= RW_ACCT_EXT;
}

int64_t rw_store_snoozed_until(const struct rw_store *st, const struct rw_account *a)
{
    const struct rw_account_ext *ext = rw_store_ext(st, a);
    return ext ? ext->snoozed_until_ms : RW_NO_TIME;
}

void rw_store_note_snooze(struct rw_store *st, struct rw_account *a)
{
    bool on = (a->flags & RW_ACCT_EXT) != 0, counted = (a->flags & RW_ACCT_SNOOZED) != 0;
    if (on == counted)
        return;
    if (on) {
        st->nsnoozed++;
        a->flags |= RW_ACCT_SNOOZED;
    } else {
        st->nsnoozed--;
        a->flags &= (uint8_t)~RW_ACCT_SNOOZED;
    }
}

size_t rw_store_snoozed(const struct rw_store *st)
{
    return st->nsnoozed;
}

void rw_store_mark_dirty(struct rw_store *st, struct rw_account *a)
{
    rw_store_note_snooze(st, a);
    if (a->flags & RW_ACCT_DIRTY)
        return;
    if (st->ndirty == st->dirty_cap) {
        st->dirty_cap = st->dirty_cap ? st->dirty_cap * 2 : 64;
        st->dirty = rw_xrealloc(st->dirty, st->dirty_cap * sizeof(*st->dirty));
    }
    st->dirty[st->ndirty++] = a;
    a->flags |= RW_ACCT_DIRTY;
}

struct rw_account *const *rw_store_dirty(const struct rw_store *st, size_t *n)
{
    *n = st->ndirty;
    return st->dirty;
}

void rw_store_clear_dirty(struct rw_store *st)
{
    for (size_t i = 0; i < st->ndirty; i++)
        st->dirty[i]->flags &= (uint8_t)~RW_ACCT_DIRTY;
    st->ndirty = 0;
}

size_t rw_store_memory(const struct rw_store *st)
{
    size_t n = malloc_usable_size((void *)st) + malloc_usable_size(st->tab) +
               malloc_usable_size(st->tags) + malloc_usable_size(st->itab) +
               malloc_usable_size(st->dirty) + malloc_usable_size(st->by_ord) +
               arena_memory(&st->accounts) + arena_memory(&st->names);
    n += malloc_usable_size(st->etab);
    for (size_t i = 0; i < st->ecap; i++)
        if (st->etab[i].a)
            n += malloc_usable_size(st->etab[i].ext) +
                 malloc_usable_size(st->etab[i].ext->snooze_reason) +
                 malloc_usable_size(st->etab[i].ext->snoozed_by);
    for (size_t i = 0; i < st->icap; i++)
        n += malloc_usable_size(st->itab[i].s);
    return n;
}

int32_t rw_account_days_to_renewal(const struct rw_account *a, int64_t now_ms)
{
    if (a->renewal_day == RW_NO_DAY)
        return INT32_MIN;
    int64_t d = (int64_t)a->renewal_day - rw_day_of_ms(now_ms);
    if (d <= INT32_MIN)
        return INT32_MIN + 1;
    if (d > INT32_MAX)
        return INT32_MAX;
    return (int32_t)d;
}
