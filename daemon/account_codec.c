/*
 * account_codec.c - the persisted record of an account (little-endian, versioned):
 *
 *   u8  version (1)          u32 fingerprint        u8  flags (bit 0 name, 1 owner, 2 tier)
 *   i64 first_seen_ms        i64 last_event_ms      i64 ref_ms          i64 below_since_ms
 *   u8  band                 u8  notified_band      u32 band_seq        i16 window_alerted
 *   i32 renewal_day          f64 arr                f64 seats           f32 score
 *   per flag bit set: u16 length + bytes (name, owner, tier)
 *   u16 nslots, then nslots f64
 */
#include "renewald/account_store.h"

#include <math.h>
#include <string.h>

#define RECORD_VERSION 1
#define FLAG_NAME      0x01u
#define FLAG_OWNER     0x02u
#define FLAG_TIER      0x04u
#define FLAGS_ALL      (FLAG_NAME | FLAG_OWNER | FLAG_TIER)

/* A writer that counts everything and stores only what fits. */
struct wbuf {
    uint8_t *p;
    size_t cap, n;
};

static void put(struct wbuf *w, const void *src, size_t n)
{
    if (w->p && w->n + n <= w->cap)
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

/* Cut at MAX so that the record always decodes (callers keep to the limits anyway). */
static void put_str(struct wbuf *w, const char *s, size_t max)
{
    if (!s)
        return;
    size_t n = strnlen(s, max);
    put_u64(w, n, 2);
    put(w, s, n);
}

static void encode(struct wbuf *w, const struct rw_store *st, const struct rw_account *a,
                   uint32_t fingerprint)
{
    unsigned flags =
        (a->name ? FLAG_NAME : 0) | (a->owner ? FLAG_OWNER : 0) | (a->tier ? FLAG_TIER : 0);
    float score = a->score;
    uint32_t score_bits;
    memcpy(&score_bits, &score, sizeof(score_bits));
    size_t nslots = rw_store_nslots(st);

    put_u64(w, RECORD_VERSION, 1);
    put_u64(w, fingerprint, 4);
    put_u64(w, flags, 1);
    put_u64(w, (uint64_t)a->first_seen_ms, 8);
    put_u64(w, (uint64_t)a->last_event_ms, 8);
    put_u64(w, (uint64_t)a->ref_ms, 8);
    put_u64(w, (uint64_t)a->below_since_ms, 8);
    put_u64(w, a->band, 1);
    put_u64(w, a->notified_band, 1);
    put_u64(w, a->band_seq, 4);
    put_u64(w, (uint64_t)(uint16_t)a->window_alerted, 2);
    put_u64(w, (uint64_t)(uint32_t)a->renewal_day, 4);
    put_f64(w, a->arr);
    put_f64(w, a->seats);
    put_u64(w, score_bits, 4);
    put_str(w, a->name, RW_NAME_MAX);
    put_str(w, a->owner, RW_OWNER_MAX);
    put_str(w, a->tier, RW_TIER_MAX);
    put_u64(w, nslots, 2);
    for (size_t i = 0; i < nslots; i++)
        put_f64(w, a->agg[i]);
}

size_t rw_account_encode(const struct rw_store *st, const struct rw_account *a,
                         uint32_t fingerprint, uint8_t *buf, size_t cap)
{
    /* Count first, so that a short buffer is left untouched. */
    struct wbuf w = {NULL, 0, 0};
    encode(&w, st, a, fingerprint);
    if (buf && w.n <= cap) {
        struct wbuf out = {buf, cap, 0};
        encode(&out, st, a, fingerprint);
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

struct rw_account *rw_account_decode(struct rw_store *st, const char *id, size_t id_len,
                                     const uint8_t *buf, size_t len, uint32_t fingerprint,
                                     bool *slots_reset)
{
    struct rbuf r = {buf, buf ? len : 0, 0, false};
    if (id_len == 0 || id_len > RW_ACCOUNT_MAX || !id)
        return NULL;
    if (get_u64(&r, 1) != RECORD_VERSION)
        return NULL;
    uint32_t fp = (uint32_t)get_u64(&r, 4);
    unsigned flags = (unsigned)get_u64(&r, 1);
    int64_t first_seen = (int64_t)get_u64(&r, 8);
    int64_t last_event = (int64_t)get_u64(&r, 8);
    int64_t ref = (int64_t)get_u64(&r, 8);
    int64_t below_since = (int64_t)get_u64(&r, 8);
    unsigned band = (unsigned)get_u64(&r, 1);
    unsigned notified = (unsigned)get_u64(&r, 1);
    uint32_t band_seq = (uint32_t)get_u64(&r, 4);
    int16_t window = (int16_t)(uint16_t)get_u64(&r, 2);
    int32_t renewal_day = (int32_t)(uint32_t)get_u64(&r, 4);
    double arr = get_f64(&r);
    double seats = get_f64(&r);
    uint32_t score_bits = (uint32_t)get_u64(&r, 4);
    float score;
    memcpy(&score, &score_bits, sizeof(score));
    if (r.bad || (flags & ~FLAGS_ALL) || band >= RW_BAND_COUNT || notified >= RW_BAND_COUNT ||
        window < 0 || !valid_meta(arr) || !valid_meta(seats) ||
        !(isnan(score) || (score >= 0.0f && score <= 100.0f)))
        return NULL;
    struct span name = get_str(&r, flags & FLAG_NAME, RW_NAME_MAX);
    struct span owner = get_str(&r, flags & FLAG_OWNER, RW_OWNER_MAX);
    struct span tier = get_str(&r, flags & FLAG_TIER, RW_TIER_MAX);
    size_t nslots = (size_t)get_u64(&r, 2);
    if (r.bad || (r.len - r.off) / 8 != nslots || (r.len - r.off) % 8 != 0)
        return NULL; /* short, or trailing bytes */
    bool same = fp == fingerprint;
    if (same && nslots != rw_store_nslots(st))
        return NULL;

    /* Valid: only now does the store change. */
    struct rw_account *a = rw_store_upsert(st, id, id_len, NULL);
    a->first_seen_ms = first_seen;
    a->last_event_ms = last_event;
    a->ref_ms = ref;
    a->below_since_ms = below_since;
    rw_store_band_moved(st, a->band, (uint8_t)band);
    a->band = (uint8_t)band;
    a->notified_band = (uint8_t)notified;
    a->band_seq = band_seq;
    a->window_alerted = window;
    a->renewal_day = renewal_day;
    a->arr = arr;
    a->seats = seats;
    a->score = score;
    rw_account_set_name(a, name.s, name.len);
    a->owner = owner.s ? rw_store_intern(st, owner.s, owner.len) : NULL;
    a->tier = tier.s ? rw_store_intern(st, tier.s, tier.len) : NULL;
    if (same) {
        for (size_t i = 0; i < nslots; i++)
            a->agg[i] = get_f64(&r);
    }
    if (slots_reset)
        *slots_reset = !same;
    return a;
}
