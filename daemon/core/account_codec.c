/*
 * account_codec.c - the persisted record of an account (little-endian, versioned).
 * Version 3 (written):
 *
 *   u8  version (3)
 *   u8  flags (bit 0 name, 1 owner, 2 tier, 3 snooze, 4 arr, 5 seats, 6 renewal day)
 *   u8  times (bit i: time i is known; 0 first_seen, 1 last_event, 2 ref,
 *       3 below_healthy, 4 below_watch)
 *   var ordinal
 *   per known time: svar (it - the known time before it, or - 0 for the first,
 *       in 64-bit wrapping arithmetic: exact for any value)
 *   u8  band | notified_band << 4   var band_seq   var window_alerted
 *   flag 6: svar renewal_day        flag 4: f64 arr        flag 5: f64 seats
 *   f32 score
 *   per flag bit 0-2 set: u16 length + bytes (name, owner, tier)
 *   snooze: i64 until, u16 length + reason, u16 length + author
 *   u8  nsignals, then per signal: u32 fingerprint, u8 nslots, nslots f64
 *
 * var: LEB128 (7 bits a byte, low first, shortest form); svar: zigzag, then var.
 * Unknown times, days and metadata take no bytes: a record is about a third
 * shorter than in version 2, which the changelog writes once per change and
 * Redis keeps.  Only the shortest form of each record decodes, so that a record
 * re-encodes to the same bytes.  Version 2 (fixed-width, read only):
 *
 *   u8  version (2)          u8  flags (bit 0 name, 1 owner, 2 tier, 3 snooze)
 *   u32 ordinal
 *   i64 first_seen_ms        i64 last_event_ms      i64 ref_ms
 *   i64 below_healthy_ms     i64 below_watch_ms
 *   u8  band                 u8  notified_band      u32 band_seq        i16 window_alerted
 *   i32 renewal_day          f64 arr                f64 seats           f32 score
 *   then the strings, the snooze and the signals as in version 3.
 *
 * Slots are named by their signal's fingerprint: a record written under an
 * older configuration keeps the aggregates of every signal that did not change.
 */
#include "renewald/core/account_store.h"

#include <math.h>
#include <string.h>

#include "renewald/core/score.h"

#define RECORD_VERSION 3
#define VERSION_2      2
#define FLAG_NAME      0x01u
#define FLAG_OWNER     0x02u
#define FLAG_TIER      0x04u
#define FLAG_SNOOZE    0x08u
#define FLAG_ARR       0x10u
#define FLAG_SEATS     0x20u
#define FLAG_DAY       0x40u
#define FLAGS_V2       (FLAG_NAME | FLAG_OWNER | FLAG_TIER | FLAG_SNOOZE)
#define FLAGS_ALL      (FLAGS_V2 | FLAG_ARR | FLAG_SEATS | FLAG_DAY)
#define NTIMES         5
#define MAX_SIG_SLOTS  2
_Static_assert(RW_BAND_COUNT <= 16, "a band fits in 4 bits");

/* A writer that counts everything and stores only what fits. */
struct wbuf {
    uint8_t *p;
    size_t cap, n;
};

static void put(struct wbuf *w, const void *src, size_t n)
{
    if (w->p && n > 0 && w->n + n <= w->cap)
        memcpy(w->p + w->n, src, n);
    w->n += n;
}

static void put_u64(struct wbuf *w, uint64_t v, int bytes)
{
    uint8_t b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    put(w, b, (size_t)bytes);
}

static void put_f64(struct wbuf *w, double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof(v));
    put_u64(w, v, 8);
}

static void put_var(struct wbuf *w, uint64_t v)
{
    uint8_t b[10];
    int n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7F);
        v >>= 7;
        if (v)
            b[n] |= 0x80;
        n++;
    } while (v);
    put(w, b, (size_t)n);
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0);
}

static int64_t unzigzag(uint64_t u)
{
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* A - B in 64-bit wrapping arithmetic (and its inverse below): exact for any values. */
static int64_t wrap_sub(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a - (uint64_t)b);
}

static int64_t wrap_add(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

/* Cut at MAX so that the record always decodes (callers keep to the limits anyway). */
static void put_str(struct wbuf *w, const char *s, size_t max)
{
    size_t n = s ? strnlen(s, max) : 0;
    put_u64(w, n, 2);
    put(w, s, n);
}

static void encode(struct wbuf *w, const struct rw_scorer *sc, const struct rw_store *st,
                   const struct rw_account *a)
{
    const struct rw_account_ext *ext = rw_store_ext(st, a);
    unsigned flags = (a->name ? FLAG_NAME : 0) | (a->owner ? FLAG_OWNER : 0) |
                     (a->tier ? FLAG_TIER : 0) | (ext ? FLAG_SNOOZE : 0);
    float score = a->score;
    uint32_t score_bits;
    memcpy(&score_bits, &score, sizeof(score_bits));

    const int64_t times[NTIMES] = {a->first_seen_ms, a->last_event_ms, a->ref_ms,
                                   a->below_healthy_ms, a->below_watch_ms};
    unsigned known = 0;
    for (int i = 0; i < NTIMES; i++)
        if (times[i] != RW_NO_TIME)
            known |= 1u << i;
    flags |= (!isnan(a->arr) ? FLAG_ARR : 0) | (!isnan(a->seats) ? FLAG_SEATS : 0) |
             (a->renewal_day != RW_NO_DAY ? FLAG_DAY : 0);
    put_u64(w, RECORD_VERSION, 1);
    put_u64(w, flags, 1);
    put_u64(w, known, 1);
    put_var(w, a->ordinal);
    int64_t base = 0; /* the last known time before */
    for (int i = 0; i < NTIMES; i++) {
        if (known & (1u << i)) {
            put_var(w, zigzag(wrap_sub(times[i], base)));
            base = times[i];
        }
    }
    put_u64(w, (uint64_t)(a->band | a->notified_band << 4), 1);
    put_var(w, a->band_seq);
    put_var(w, (uint64_t)(uint16_t)a->window_alerted);
    if (flags & FLAG_DAY)
        put_var(w, zigzag(a->renewal_day));
    if (flags & FLAG_ARR)
        put_f64(w, a->arr);
    if (flags & FLAG_SEATS)
        put_f64(w, a->seats);
    put_u64(w, score_bits, 4);
    if (a->name)
        put_str(w, a->name, RW_NAME_MAX);
    if (a->owner)
        put_str(w, a->owner, RW_OWNER_MAX);
    if (a->tier)
        put_str(w, a->tier, RW_TIER_MAX);
    if (ext) {
        put_u64(w, (uint64_t)ext->snoozed_until_ms, 8);
        put_str(w, ext->snooze_reason, RW_SNOOZE_TEXT_MAX);
        put_str(w, ext->snoozed_by, RW_SNOOZE_TEXT_MAX);
    }
    int nsig = rw_scorer_nsignals(sc);
    const double *agg = rw_account_agg(a);
    put_u64(w, (uint64_t)nsig, 1);
    for (int i = 0; i < nsig; i++) {
        size_t off = rw_scorer_slot_offset(sc, i), n = rw_scorer_slot_count(sc, i);
        put_u64(w, rw_scorer_signal_fingerprint(sc, i), 4);
        put_u64(w, n, 1);
        for (size_t k = 0; k < n; k++)
            put_f64(w, agg[off + k]);
    }
}

/* The largest record: every field at its bound. */
#define RECORD_BOUND                                                                               \
    (3 + 5 + NTIMES * 10 + 1 + 5 + 3 + 5 + 8 + 8 + 4 + (2 + RW_NAME_MAX) + (2 + RW_OWNER_MAX) +    \
     (2 + RW_TIER_MAX) + (8 + 2 * (2 + RW_SNOOZE_TEXT_MAX)) + 1 +                                  \
     RW_MAX_SIGNALS * (4 + 1 + MAX_SIG_SLOTS * 8))
_Static_assert(RECORD_BOUND <= RW_ACCOUNT_RECORD_MAX, "a record always fits RW_ACCOUNT_RECORD_MAX");

size_t rw_account_encode(const struct rw_scorer *sc, const struct rw_store *st,
                         const struct rw_account *a, uint8_t *buf, size_t cap)
{
    if (buf && cap >= RW_ACCOUNT_RECORD_MAX) { /* room for any record: one pass */
        struct wbuf out = {buf, cap, 0};
        encode(&out, sc, st, a);
        return out.n;
    }
    /* Count first, so that a short buffer is left untouched. */
    struct wbuf w = {NULL, 0, 0};
    encode(&w, sc, st, a);
    if (buf && w.n <= cap) {
        struct wbuf out = {buf, cap, 0};
        encode(&out, sc, st, a);
    }
    return w.n;
}

/* A bounds-checked reader: once short, every later read fails too. */
struct rbuf {
    const uint8_t *p;
    size_t len, off;
    bool bad;
};

static uint64_t get_u64(struct rbuf *r, int bytes)
{
    if (r->bad || r->len - r->off < (size_t)bytes) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)r->p[r->off + (size_t)i] << (8 * i);
    r->off += (size_t)bytes;
    return v;
}

static double get_f64(struct rbuf *r)
{
    uint64_t v = get_u64(r, 8);
    double d;
    memcpy(&d, &v, sizeof(d));
    return d;
}

/* A var of at most MAX in its shortest form; anything else makes R bad. */
static uint64_t get_var(struct rbuf *r, uint64_t max)
{
    uint64_t v = 0;
    for (int shift = 0; !r->bad; shift += 7) {
        if (r->off >= r->len || shift > 63) {
            r->bad = true;
            break;
        }
        uint8_t b = r->p[r->off++];
        uint64_t bits = (uint64_t)(b & 0x7F);
        if ((shift == 63 && bits > 1) || (b == 0 && shift > 0)) { /* too wide, or not shortest */
            r->bad = true;
            break;
        }
        v |= bits << shift;
        if (!(b & 0x80))
            break;
    }
    if (v > max)
        r->bad = true;
    return r->bad ? 0 : v;
}

/* An optional string: a view into the buffer, NULL when absent. */
struct span {
    const char *s;
    size_t len;
};

static struct span get_str(struct rbuf *r, bool present, size_t max)
{
    struct span sp = {NULL, 0};
    if (!present || r->bad)
        return sp;
    size_t n = (size_t)get_u64(r, 2);
    if (r->bad || n > max || r->len - r->off < n) {
        r->bad = true;
        return sp;
    }
    sp.s = (const char *)r->p + r->off;
    sp.len = n;
    r->off += n;
    /* Strings are used as C strings: an embedded NUL would silently cut them. */
    if (memchr(sp.s, '\0', n))
        r->bad = true;
    return sp;
}

/* Metadata numbers are finite or NAN (unknown); never infinite. */
static bool valid_meta(double d)
{
    return isnan(d) || isfinite(d);
}

struct fixed {
    uint32_t ordinal;
    int64_t first_seen, last_event, ref, below_healthy, below_watch;
    unsigned band, notified;
    uint32_t band_seq;
    int16_t window;
    int32_t renewal_day;
    double arr, seats;
    float score;
};

static bool fixed_valid(const struct fixed *f)
{
    return f->ordinal != UINT32_MAX && f->band < RW_BAND_COUNT && f->notified < RW_BAND_COUNT &&
           f->window >= 0 && valid_meta(f->arr) && valid_meta(f->seats) &&
           (isnan(f->score) || (f->score >= 0.0f && f->score <= 100.0f));
}

static void get_score(struct rbuf *r, struct fixed *f)
{
    uint32_t score_bits = (uint32_t)get_u64(r, 4);
    memcpy(&f->score, &score_bits, sizeof(f->score));
}

static bool get_fixed_v2(struct rbuf *r, struct fixed *f)
{
    f->ordinal = (uint32_t)get_u64(r, 4);
    f->first_seen = (int64_t)get_u64(r, 8);
    f->last_event = (int64_t)get_u64(r, 8);
    f->ref = (int64_t)get_u64(r, 8);
    f->below_healthy = (int64_t)get_u64(r, 8);
    f->below_watch = (int64_t)get_u64(r, 8);
    f->band = (unsigned)get_u64(r, 1);
    f->notified = (unsigned)get_u64(r, 1);
    f->band_seq = (uint32_t)get_u64(r, 4);
    f->window = (int16_t)(uint16_t)get_u64(r, 2);
    f->renewal_day = (int32_t)(uint32_t)get_u64(r, 4);
    f->arr = get_f64(r);
    f->seats = get_f64(r);
    get_score(r, f);
    return !r->bad && fixed_valid(f);
}

/* Version 3 after its flags (FLAGS): only the shortest form is valid, so an
 * unknown value written as known (a time, a day, a metadata number) is not. */
static bool get_fixed_v3(struct rbuf *r, unsigned flags, struct fixed *f)
{
    unsigned known = (unsigned)get_u64(r, 1);
    f->ordinal = (uint32_t)get_var(r, UINT32_MAX - 1);
    int64_t *times[NTIMES] = {&f->first_seen, &f->last_event, &f->ref, &f->below_healthy,
                              &f->below_watch};
    int64_t base = 0;
    for (int i = 0; i < NTIMES; i++) {
        *times[i] = RW_NO_TIME;
        if (known & (1u << i)) {
            *times[i] = wrap_add(base, unzigzag(get_var(r, UINT64_MAX)));
            if (*times[i] == RW_NO_TIME)
                return false;
            base = *times[i];
        }
    }
    unsigned bands = (unsigned)get_u64(r, 1);
    f->band = bands & 0x0F;
    f->notified = bands >> 4;
    f->band_seq = (uint32_t)get_var(r, UINT32_MAX);
    f->window = (int16_t)get_var(r, INT16_MAX);
    f->renewal_day = RW_NO_DAY;
    if (flags & FLAG_DAY) {
        int64_t day = unzigzag(get_var(r, UINT64_MAX));
        if (day <= INT32_MIN || day > INT32_MAX) /* INT32_MIN is RW_NO_DAY: not written */
            return false;
        f->renewal_day = (int32_t)day;
    }
    f->arr = flags & FLAG_ARR ? get_f64(r) : NAN;
    f->seats = flags & FLAG_SEATS ? get_f64(r) : NAN;
    get_score(r, f);
    return !r->bad && (known & ~((1u << NTIMES) - 1)) == 0 &&
           !((flags & FLAG_ARR) && isnan(f->arr)) && !((flags & FLAG_SEATS) && isnan(f->seats)) &&
           fixed_valid(f);
}

/* One signal's slots as the record has them. */
struct rec_sig {
    uint32_t fp;
    unsigned n;
    double v[MAX_SIG_SLOTS];
};

struct rw_account *rw_account_decode(struct rw_store *st, const struct rw_scorer *sc,
                                     const char *id, size_t id_len, const uint8_t *buf, size_t len,
                                     int *signals_reset)
{
    struct rbuf r = {buf, buf ? len : 0, 0, false};
    if (id_len == 0 || id_len > RW_ACCOUNT_MAX || !id)
        return NULL;
    unsigned version = (unsigned)get_u64(&r, 1);
    unsigned flags = (unsigned)get_u64(&r, 1);
    struct fixed f;
    if (version == RECORD_VERSION) {
        if ((flags & ~FLAGS_ALL) || !get_fixed_v3(&r, flags, &f))
            return NULL;
    } else if (version == VERSION_2) {
        if ((flags & ~FLAGS_V2) || !get_fixed_v2(&r, &f))
            return NULL;
    } else {
        return NULL;
    }
    struct span name = get_str(&r, flags & FLAG_NAME, RW_NAME_MAX);
    struct span owner = get_str(&r, flags & FLAG_OWNER, RW_OWNER_MAX);
    struct span tier = get_str(&r, flags & FLAG_TIER, RW_TIER_MAX);
    int64_t snooze_until = RW_NO_TIME;
    struct span reason = {NULL, 0}, by = {NULL, 0};
    if (flags & FLAG_SNOOZE) {
        snooze_until = (int64_t)get_u64(&r, 8);
        reason = get_str(&r, true, RW_SNOOZE_TEXT_MAX);
        by = get_str(&r, true, RW_SNOOZE_TEXT_MAX);
        if (snooze_until == RW_NO_TIME)
            return NULL;
    }
    unsigned nrec = (unsigned)get_u64(&r, 1);
    struct rec_sig rec[RW_MAX_SIGNALS];
    if (r.bad || nrec > RW_MAX_SIGNALS)
        return NULL;
    for (unsigned i = 0; i < nrec; i++) {
        rec[i].fp = (uint32_t)get_u64(&r, 4);
        rec[i].n = (unsigned)get_u64(&r, 1);
        if (rec[i].n > MAX_SIG_SLOTS)
            return NULL;
        for (unsigned k = 0; k < rec[i].n; k++)
            rec[i].v[k] = get_f64(&r);
    }
    if (r.bad || r.off != r.len)
        return NULL; /* short, or trailing bytes */

    /* Valid: only now does the store change. */
    struct rw_account *a = rw_store_upsert(st, id, id_len, NULL);
    if (!a)
        return NULL;
    /* Two records claiming one ordinal cannot come from one store; if they do,
     * the second keeps the fresh ordinal it was given. */
    if (!rw_store_set_ordinal(st, a, f.ordinal))
        a->flags |= RW_ACCT_DUE_STALE;
    a->first_seen_ms = f.first_seen;
    a->last_event_ms = f.last_event;
    a->ref_ms = f.ref;
    a->below_healthy_ms = f.below_healthy;
    a->below_watch_ms = f.below_watch;
    rw_store_set_band(st, a, (uint8_t)f.band);
    a->notified_band = (uint8_t)f.notified;
    a->band_seq = f.band_seq;
    a->window_alerted = f.window;
    a->renewal_day = f.renewal_day;
    rw_store_set_arr(st, a, f.arr);
    a->seats = f.seats;
    a->score = f.score;
    rw_store_set_name(st, a, name.s, name.len);
    a->owner = owner.s ? rw_store_intern(st, owner.s, owner.len) : NULL;
    a->tier = tier.s ? rw_store_intern(st, tier.s, tier.len) : NULL;
    char rbuf[RW_SNOOZE_TEXT_MAX + 1], bbuf[RW_SNOOZE_TEXT_MAX + 1];
    memcpy(rbuf, reason.s ? reason.s : "", reason.len);
    rbuf[reason.len] = '\0';
    memcpy(bbuf, by.s ? by.s : "", by.len);
    bbuf[by.len] = '\0';
    rw_store_set_snooze(st, a, snooze_until, reason.len ? rbuf : NULL, by.len ? bbuf : NULL);
    rw_store_note_snooze(st, a);

    double *agg = rw_account_agg(a);
    rw_scorer_reset(sc, agg);
    int reset = 0;
    for (int i = 0; i < rw_scorer_nsignals(sc); i++) {
        uint32_t fp = rw_scorer_signal_fingerprint(sc, i);
        size_t off = rw_scorer_slot_offset(sc, i), n = rw_scorer_slot_count(sc, i);
        unsigned k = 0;
        while (k < nrec && !(rec[k].fp == fp && rec[k].n == n))
            k++;
        if (k == nrec) {
            reset++;
            continue;
        }
        memcpy(agg + off, rec[k].v, n * sizeof(double));
    }
    if (signals_reset)
        *signals_reset = reset;
    return a;
}

struct rw_store *rw_store_relayout(const struct rw_store *old, const struct rw_scorer *old_sc,
                                   const struct rw_scorer *new_sc)
{
    struct rw_store *st = rw_store_new(rw_scorer_nslots(new_sc));
    uint8_t rec[RW_ACCOUNT_RECORD_MAX];
    size_t cursor = 0;
    struct rw_account *a;
    while ((a = rw_store_next(old, &cursor)) != NULL) {
        size_t len = rw_account_encode(old_sc, old, a, rec, sizeof rec);
        struct rw_account *b = len <= sizeof rec
                                   ? rw_account_decode(st, new_sc, a->id, a->id_len, rec, len, NULL)
                                   : NULL;
        if (b && (a->flags & RW_ACCT_DIRTY))
            rw_store_mark_dirty(st, b);
    }
    return st;
}
