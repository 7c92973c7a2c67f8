/* test_account_codec.c - the persisted record of an account (account_store.h): an exact
 * round trip, refusal of anything truncated, trailing, corrupt or not in its shortest
 * form (the store unchanged), records of version 2 still read, the per-signal remap
 * across configurations, and ordinals restored in any order. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "renewald/core/account_store.h"
#include "renewald/core/score.h"
#include "scorer_test.h"

#define DAY  RW_MS_PER_DAY
#define T0   INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */
#define DAY0 20454                  /* its day number */

static struct rw_account *put(struct rw_store *st, const char *id)
{
    bool created = false;
    struct rw_account *a = rw_store_upsert(st, id, strlen(id), &created);
    assert_non_null(a);
    assert_true(created);
    return a;
}

/* rw_store_set_snooze reads RW_SNOOZE_TEXT_MAX bytes of each string whatever its
 * length (rw_xstrndup copies N bytes, it does not stop at the NUL: reported as a bug),
 * so shorter strings are handed over in buffers that long. */
static void snooze(struct rw_store *st, struct rw_account *a, int64_t until, const char *reason,
                   const char *by)
{
    char r[RW_SNOOZE_TEXT_MAX + 1] = {0}, b[RW_SNOOZE_TEXT_MAX + 1] = {0};
    if (reason)
        strncpy(r, reason, RW_SNOOZE_TEXT_MAX);
    if (by)
        strncpy(b, by, RW_SNOOZE_TEXT_MAX);
    rw_store_set_snooze(st, a, until, reason ? r : NULL, by ? b : NULL);
}

/* Signals A (rate), B (mean), R (recency), T (trend): 6 slots. */
static struct rw_config *codec_config(void)
{
    struct rw_config *cfg = new_config();
    add_signal(cfg, "A", "login", RW_AGG_RATE, 7, 0, 0, 1);
    add_signal(cfg, "B", "csat", RW_AGG_MEAN, 30, 0, 2, 4.5);
    add_signal(cfg, "R", "login", RW_AGG_RECENCY, 1, 0, 30, 0);
    add_signal(cfg, "T", "api", RW_AGG_TREND, 7, 60, 0.5, 1);
    return cfg;
}

static struct rw_scorer *scorer_of(const struct rw_config *cfg)
{
    struct rw_scorer *sc = rw_scorer_new(cfg);
    assert_non_null(sc);
    return sc;
}

static const double sample_slots[6] = {1.25, -INFINITY, 1e-300, -0.0, 5e-324, 123456.789};

/* A fully populated account in ST (slots from sample_slots). */
static struct rw_account *sample(struct rw_store *st, const char *id)
{
    struct rw_account *a = put(st, id);
    a->first_seen_ms = T0 - 100 * DAY;
    a->last_event_ms = T0;
    a->ref_ms = T0 - 5;
    a->below_healthy_ms = T0 - DAY;
    a->below_watch_ms = T0 - 3;
    rw_store_set_name(st, a, "Acme, Inc. \xc3\xa9", 13);
    a->owner = rw_store_intern(st, "ann@example.com", 15);
    a->tier = rw_store_intern(st, "enterprise", 10);
    snooze(st, a, T0 + 7 * DAY, "holiday", "jane@example.com");
    a->arr = 120000.5;
    a->seats = 42;
    memcpy(rw_account_agg(a), sample_slots, sizeof(sample_slots));
    a->score = 63.25f;
    a->renewal_day = DAY0 + 77;
    a->band_seq = 0xdeadbeef;
    a->window_alerted = 60;
    a->band = RW_BAND_WATCH;
    a->notified_band = RW_BAND_AT_RISK;
    return a;
}

static bool same_double(double x, double y)
{
    return memcmp(&x, &y, sizeof(x)) == 0;
}

/* ---- version 2, as an earlier renewald wrote it (read only now) ---- */

static size_t le(uint8_t *p, size_t at, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[at + (size_t)i] = (uint8_t)(v >> (8 * i));
    return at + (size_t)bytes;
}

static size_t le_str(uint8_t *p, size_t at, const char *s)
{
    size_t n = strlen(s);
    at = le(p, at, n, 2);
    memcpy(p + at, s, n);
    return at + n;
}

static size_t le_f64(uint8_t *p, size_t at, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    return le(p, at, v, 8);
}

/* A's record in the version 2 layout (see account_codec.c). */
static size_t encode_v2(const struct rw_scorer *sc, const struct rw_store *st,
                        const struct rw_account *a, uint8_t *p)
{
    const struct rw_account_ext *ext = rw_store_ext(st, a);
    unsigned flags = (a->name ? 1u : 0) | (a->owner ? 2u : 0) | (a->tier ? 4u : 0) | (ext ? 8u : 0);
    size_t at = le(p, 0, 2, 1);
    at = le(p, at, flags, 1);
    at = le(p, at, a->ordinal, 4);
    const int64_t times[] = {a->first_seen_ms, a->last_event_ms, a->ref_ms, a->below_healthy_ms,
                             a->below_watch_ms};
    for (int i = 0; i < 5; i++)
        at = le(p, at, (uint64_t)times[i], 8);
    at = le(p, at, a->band, 1);
    at = le(p, at, a->notified_band, 1);
    at = le(p, at, a->band_seq, 4);
    at = le(p, at, (uint16_t)a->window_alerted, 2);
    at = le(p, at, (uint32_t)a->renewal_day, 4);
    at = le_f64(p, at, a->arr);
    at = le_f64(p, at, a->seats);
    uint32_t score_bits;
    memcpy(&score_bits, &a->score, 4);
    at = le(p, at, score_bits, 4);
    if (a->name)
        at = le_str(p, at, a->name);
    if (a->owner)
        at = le_str(p, at, a->owner);
    if (a->tier)
        at = le_str(p, at, a->tier);
    if (ext) {
        at = le(p, at, (uint64_t)ext->snoozed_until_ms, 8);
        at = le_str(p, at, ext->snooze_reason ? ext->snooze_reason : "");
        at = le_str(p, at, ext->snoozed_by ? ext->snoozed_by : "");
    }
    int nsig = rw_scorer_nsignals(sc);
    at = le(p, at, (uint64_t)nsig, 1);
    for (int i = 0; i < nsig; i++) {
        size_t off = rw_scorer_slot_offset(sc, i), n = rw_scorer_slot_count(sc, i);
        at = le(p, at, rw_scorer_signal_fingerprint(sc, i), 4);
        at = le(p, at, n, 1);
        for (size_t k = 0; k < n; k++)
            at = le_f64(p, at, rw_account_agg(a)[off + k]);
    }
    return at;
}

static void assert_opt_str(const char *x, const char *y)
{
    if (x || y) {
        assert_non_null(x);
        assert_non_null(y);
        assert_string_equal(x, y);
    }
}

/* Every persisted field equal (bit for bit for the numbers). */
static void assert_meta_equal(const struct rw_store *sa, const struct rw_account *a,
                              const struct rw_store *sb, const struct rw_account *b)
{
    assert_true(a->first_seen_ms == b->first_seen_ms);
    assert_true(a->last_event_ms == b->last_event_ms);
    assert_true(a->ref_ms == b->ref_ms);
    assert_true(a->below_healthy_ms == b->below_healthy_ms);
    assert_true(a->below_watch_ms == b->below_watch_ms);
    assert_opt_str(a->name, b->name);
    assert_opt_str(a->owner, b->owner);
    assert_opt_str(a->tier, b->tier);
    assert_true(rw_store_snoozed_until(sa, a) == rw_store_snoozed_until(sb, b));
    const struct rw_account_ext *xa = rw_store_ext(sa, a), *xb = rw_store_ext(sb, b);
    assert_true((xa == NULL) == (xb == NULL));
    if (xa) {
        assert_opt_str(xa->snooze_reason, xb->snooze_reason);
        assert_opt_str(xa->snoozed_by, xb->snoozed_by);
    }
    assert_true(same_double(a->arr, b->arr));
    assert_true(same_double(a->seats, b->seats));
    assert_memory_equal(&a->score, &b->score, sizeof(a->score));
    assert_int_equal(a->renewal_day, b->renewal_day);
    assert_int_equal(a->band_seq, b->band_seq);
    assert_int_equal(a->window_alerted, b->window_alerted);
    assert_int_equal(a->band, b->band);
    assert_int_equal(a->notified_band, b->notified_band);
    assert_int_equal(a->ordinal, b->ordinal);
}

static void test_codec_roundtrip(void **state)
{
    (void)state;
    struct rw_config *cfg = codec_config();
    struct rw_scorer *sc = scorer_of(cfg);
    struct rw_store *st = rw_store_new(rw_scorer_nslots(sc));
    assert_int_equal(rw_store_nslots(st), 6);
    put(st, "first"); /* so that acme's ordinal is not 0 */
    struct rw_account *a = sample(st, "acme");
    assert_true(rw_store_set_ordinal(st, a, 7));
    uint8_t buf[RW_ACCOUNT_RECORD_MAX];
    size_t n = rw_account_encode(sc, st, a, buf, sizeof(buf));
    assert_true(n > 0 && n <= sizeof(buf));
    assert_int_equal(buf[0], 3); /* the version */
    /* Too small a buffer: the size, nothing written. */
    uint8_t small[16];
    memset(small, 0x5a, sizeof(small));
    assert_int_equal(rw_account_encode(sc, st, a, small, sizeof(small)), n);
    for (size_t i = 0; i < sizeof(small); i++)
        assert_int_equal(small[i], 0x5a);
    assert_int_equal(rw_account_encode(sc, st, a, NULL, 0), n);
    assert_int_equal(rw_account_encode(sc, st, a, buf, n), n); /* exactly enough */

    struct rw_store *st2 = rw_store_new(6);
    int reset = -1;
    struct rw_account *b = rw_account_decode(st2, sc, "acme", 4, buf, n, &reset);
    assert_non_null(b);
    assert_int_equal(reset, 0);
    assert_string_equal(b->id, "acme");
    assert_meta_equal(st, a, st2, b);
    assert_ptr_equal(rw_store_by_ordinal(st2, 7), b);
    assert_ptr_equal(b->owner, rw_store_intern(st2, "ann@example.com", 15));
    assert_memory_equal(rw_account_agg(b), sample_slots, sizeof(sample_slots));
    assert_int_equal(b->flags & RW_ACCT_DIRTY, 0);
    assert_int_equal(rw_store_band_count(st2, RW_BAND_WATCH), 1); /* the band is counted */
    assert_int_equal(rw_store_band_count(st2, RW_BAND_UNKNOWN), 0);

    /* Decoding again overwrites the same account; unknowns round-trip as unknown. */
    struct rw_account *c = put(st, "empty");
    rw_scorer_reset(sc, rw_account_agg(c));
    rw_account_agg(c)[1] = 7;
    assert_false(rw_store_set_ordinal(st, c, 7)); /* acme's */
    n = rw_account_encode(sc, st, c, buf, sizeof(buf));
    assert_ptr_equal(rw_account_decode(st2, sc, "acme", 4, buf, n, &reset), b);
    assert_null(b->name);
    assert_null(b->owner);
    assert_null(rw_store_ext(st2, b));
    assert_true(isnan(b->arr) && isnan(b->score));
    assert_true(b->band_seq == 0 && b->renewal_day == RW_NO_DAY);
    assert_true(rw_account_agg(b)[1] == 7);
    assert_true(rw_account_agg(b)[3] == -INFINITY); /* R's empty recency */
    assert_int_equal(b->ordinal, c->ordinal);
    assert_int_equal(rw_store_count(st2), 1);
    assert_int_equal(rw_store_band_count(st2, RW_BAND_UNKNOWN), 1);
    rw_store_free(st);
    rw_store_free(st2);
    rw_scorer_free(sc);
    free(cfg);
}

/* A copy of ACME in ST2 to check that a refused record changes nothing. */
static void assert_unchanged(struct rw_store *st2, const struct rw_account *ref)
{
    assert_int_equal(rw_store_count(st2), 1);
    struct rw_account *b = rw_store_find(st2, "acme", 4);
    assert_non_null(b);
    assert_meta_equal(st2, ref, st2, b);
    assert_memory_equal(rw_account_agg(b), rw_account_agg(ref), 6 * sizeof(double));
}

static void test_codec_truncated_and_trailing(void **state)
{
    (void)state;
    struct rw_config *cfg = codec_config();
    struct rw_scorer *sc = scorer_of(cfg);
    struct rw_store *st = rw_store_new(6);
    struct rw_account *a = sample(st, "acme");
    uint8_t buf[RW_ACCOUNT_RECORD_MAX + 1];
    size_t n = rw_account_encode(sc, st, a, buf, sizeof(buf));
    /* Another record for the same id already in the store: a refusal must not touch it. */
    struct rw_store *st2 = rw_store_new(6);
    struct rw_account *other = put(st, "other");
    rw_scorer_reset(sc, rw_account_agg(other));
    uint8_t obuf[RW_ACCOUNT_RECORD_MAX];
    size_t on = rw_account_encode(sc, st, other, obuf, sizeof(obuf));
    struct rw_account *held = rw_account_decode(st2, sc, "acme", 4, obuf, on, NULL);
    assert_non_null(held);
    int reset = 0;
    for (size_t len = 0; len < n; len++) {
        /* A heap copy of exactly LEN bytes, so ASan catches any read past it. */
        uint8_t *p = rw_xmalloc(len + 1);
        memcpy(p, buf, len);
        assert_null(rw_account_decode(st2, sc, "acme", 4, p, len, &reset));
        assert_null(rw_account_decode(st2, sc, "new", 3, p, len, &reset));
        free(p);
    }
    assert_unchanged(st2, held);
    buf[n] = 0;
    assert_null(rw_account_decode(st2, sc, "acme", 4, buf, n + 1, &reset)); /* trailing byte */
    assert_null(rw_account_decode(st2, sc, "", 0, buf, n, &reset));
    assert_null(rw_account_decode(st2, sc, "acme", 4, NULL, n, &reset));
    assert_unchanged(st2, held);
    assert_ptr_equal(rw_account_decode(st2, sc, "acme", 4, buf, n, NULL), held);
    rw_store_free(st);
    rw_store_free(st2);
    rw_scorer_free(sc);
    free(cfg);
}

/* A record an earlier version wrote reads as the account it was, and is
 * written back in the current version, shorter. */
static void test_codec_reads_version_2(void **state)
{
    (void)state;
    struct rw_config *cfg = codec_config();
    struct rw_scorer *sc = scorer_of(cfg);
    struct rw_store *st = rw_store_new(6);
    put(st, "first");
    struct rw_account *a = sample(st, "acme");
    struct rw_account *e = put(st, "empty"); /* every unknown */
    rw_scorer_reset(sc, rw_account_agg(e));
    uint8_t v2[RW_ACCOUNT_RECORD_MAX], v3[RW_ACCOUNT_RECORD_MAX];
    struct rw_store *st2 = rw_store_new(6);
    const struct rw_account *src[] = {a, e};
    for (int i = 0; i < 2; i++) {
        size_t n2 = encode_v2(sc, st, src[i], v2);
        struct rw_account *b = rw_account_decode(st2, sc, src[i]->id, src[i]->id_len, v2, n2, NULL);
        assert_non_null(b);
        assert_meta_equal(st, src[i], st2, b);
        assert_memory_equal(rw_account_agg(b), rw_account_agg(src[i]), 6 * sizeof(double));
        size_t n3 = rw_account_encode(sc, st2, b, v3, sizeof(v3));
        assert_int_equal(v3[0], 3);
        assert_true(n3 < n2);
        print_message("%s: version 2 %zu bytes, version 3 %zu\n", src[i]->id, n2, n3);
        struct rw_store *st3 = rw_store_new(6);
        struct rw_account *c = rw_account_decode(st3, sc, b->id, b->id_len, v3, n3, NULL);
        assert_non_null(c);
        assert_meta_equal(st2, b, st3, c);
        rw_store_free(st3);
    }
    rw_store_free(st);
    rw_store_free(st2);
    rw_scorer_free(sc);
    free(cfg);
}

/* The var at P: its length. */
static size_t var_len(const uint8_t *p)
{
    size_t n = 1;
    while (p[n - 1] & 0x80)
        n++;
    return n;
}

/* BUF (N bytes) with the LEN bytes at AT replaced by the NEW_LEN bytes at NEW, into OUT. */
static size_t splice(const uint8_t *buf, size_t n, size_t at, size_t len, const uint8_t *new,
                     size_t new_len, uint8_t *out)
{
    memcpy(out, buf, at);
    memcpy(out + at, new, new_len);
    memcpy(out + at + new_len, buf + at + len, n - at - len);
    return n - len + new_len;
}

/* GOOD (N bytes) with the byte at OFF set to VAL does not decode (into ST2, under SC). */
#define EXPECT_BAD_AT(off, val)                                                                    \
    do {                                                                                           \
        memcpy(buf, good, n);                                                                      \
        buf[off] = (uint8_t)(val);                                                                 \
        assert_null(rw_account_decode(st2, sc, "acme", 4, buf, n, &reset));                        \
    } while (0)

static void test_codec_invalid_values_v3(void **state)
{
    (void)state;
    struct rw_config *cfg = codec_config();
    struct rw_scorer *sc = scorer_of(cfg);
    struct rw_store *st = rw_store_new(6);
    struct rw_account *a = sample(st, "acme");
    uint8_t good[RW_ACCOUNT_RECORD_MAX], buf[RW_ACCOUNT_RECORD_MAX + 16];
    size_t n = rw_account_encode(sc, st, a, good, sizeof(good));
    /* Walk the layout: the sample has every time, a renewal day, arr and seats. */
    size_t off_ord = 3, off_times = off_ord + var_len(good + off_ord), off_band = off_times;
    for (int i = 0; i < 5; i++)
        off_band += var_len(good + off_band);
    size_t off_seq = off_band + 1, off_window = off_seq + var_len(good + off_seq);
    size_t off_day = off_window + var_len(good + off_window);
    size_t off_arr = off_day + var_len(good + off_day), off_seats = off_arr + 8;
    size_t off_score = off_seats + 8, off_name = off_score + 4;
    assert_int_equal(good[1], 0x7f); /* every flag */
    assert_int_equal(good[2], 0x1f); /* every time */
    assert_int_equal(good[off_band], RW_BAND_WATCH | RW_BAND_AT_RISK << 4);
    assert_int_equal(good[off_window], 60); /* one byte */
    assert_int_equal(good[off_name], 13);   /* the name's length */
    struct rw_store *st2 = rw_store_new(6);
    int reset;
#define EXPECT_BAD_VAR(off, ...)                                                                   \
    do {                                                                                           \
        static const uint8_t v_[] = {__VA_ARGS__};                                                 \
        size_t m_ = splice(good, n, off, var_len(good + (off)), v_, sizeof v_, buf);               \
        assert_null(rw_account_decode(st2, sc, "acme", 4, buf, m_, &reset));                       \
    } while (0)
    EXPECT_BAD_AT(0, 1);                                   /* version */
    EXPECT_BAD_AT(0, 4);                                   /* a version to come */
    EXPECT_BAD_AT(1, 0xff);                                /* unknown flag */
    EXPECT_BAD_AT(2, 0x3f);                                /* unknown time */
    EXPECT_BAD_AT(off_band, 4);                            /* band */
    EXPECT_BAD_AT(off_band, 1 | 4 << 4);                   /* notified band */
    EXPECT_BAD_VAR(off_ord, 0x87, 0x00);                   /* 7, not in its shortest form */
    EXPECT_BAD_VAR(off_ord, 0xff, 0xff, 0xff, 0xff, 0x0f); /* UINT32_MAX is no ordinal */
    EXPECT_BAD_VAR(off_ord, 0x80, 0x80, 0x80, 0x80, 0x10); /* 2^32: too wide */
    EXPECT_BAD_VAR(off_times, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                   0x01); /* first_seen = INT64_MIN: unknown, written as known */
    EXPECT_BAD_VAR(off_times, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                   0x01);                                  /* eleven bytes */
    EXPECT_BAD_VAR(off_seq, 0x80, 0x80, 0x80, 0x80, 0x10); /* band_seq 2^32 */
    EXPECT_BAD_VAR(off_window, 0x80, 0x80, 0x02);          /* window 32768 */
    EXPECT_BAD_VAR(off_day, 0xff, 0xff, 0xff, 0xff, 0x0f); /* renewal day INT32_MIN: unknown */
    EXPECT_BAD_VAR(off_day, 0x80, 0x80, 0x80, 0x80, 0x10); /* renewal day 2^31 */
    memcpy(buf, good, n);
    double inf = INFINITY, nan = NAN;
    memcpy(buf + off_arr, &inf, 8); /* arr = +inf (the test host is little-endian) */
    assert_null(rw_account_decode(st2, sc, "acme", 4, buf, n, &reset));
    memcpy(buf, good, n);
    memcpy(buf + off_seats, &nan, 8); /* seats unknown, written as known */
    assert_null(rw_account_decode(st2, sc, "acme", 4, buf, n, &reset));
    EXPECT_BAD_AT(off_score + 3, 0x43); /* score > 100 */
    EXPECT_BAD_AT(off_name + 1, 0x01);  /* name length 269 */
    EXPECT_BAD_AT(off_name + 2, 0);     /* NUL inside the name */
    assert_int_equal(rw_store_count(st2), 0);
    /* The offsets above are right: the unchanged record decodes, and so does the
     * window in two bytes (a value that needs them). */
    assert_non_null(rw_account_decode(st2, sc, "acme", 4, good, n, &reset));
    static const uint8_t w300[] = {0xac, 0x02};
    size_t m = splice(good, n, off_window, 1, w300, 2, buf);
    struct rw_account *b = rw_account_decode(st2, sc, "acme", 4, buf, m, &reset);
    assert_non_null(b);
    assert_int_equal(b->window_alerted, 300);
#undef EXPECT_BAD_VAR
    rw_store_free(st);
    rw_store_free(st2);
    rw_scorer_free(sc);
    free(cfg);
}

/* Field offsets of the version 2 layout (see account_codec.c). */
#define OFF_FLAGS    1
#define OFF_ORDINAL  2
#define OFF_BAND     46
#define OFF_NOTIFIED 47
#define OFF_WINDOW   52
#define OFF_ARR      58
#define OFF_SCORE    74
#define OFF_NAME     78

static void test_codec_invalid_values_v2(void **state)
{
    (void)state;
    struct rw_config *cfg = codec_config();
    struct rw_scorer *sc = scorer_of(cfg);
    struct rw_store *st = rw_store_new(6);
    struct rw_account *a = sample(st, "acme");
    uint8_t good[RW_ACCOUNT_RECORD_MAX], buf[RW_ACCOUNT_RECORD_MAX];
    size_t n = encode_v2(sc, st, a, good);
    struct rw_store *st2 = rw_store_new(6);
    int reset;
    EXPECT_BAD_AT(0, 1);            /* version */
    EXPECT_BAD_AT(OFF_FLAGS, 0x1f); /* unknown flag (flags 4-6 are version 3's) */
    memcpy(buf, good, n);
    memset(buf + OFF_ORDINAL, 0xff, 4); /* UINT32_MAX is no ordinal */
    assert_null(rw_account_decode(st2, sc, "acme", 4, buf, n, &reset));
    EXPECT_BAD_AT(OFF_BAND, RW_BAND_COUNT);
    EXPECT_BAD_AT(OFF_NOTIFIED, 0xff);
    EXPECT_BAD_AT(OFF_WINDOW + 1, 0x80); /* negative window */
    memcpy(buf, good, n);
    double inf = INFINITY;
    memcpy(buf + OFF_ARR, &inf, 8); /* arr = +inf (the test host is little-endian) */
    assert_null(rw_account_decode(st2, sc, "acme", 4, buf, n, &reset));
    EXPECT_BAD_AT(OFF_SCORE + 3, 0x43); /* score > 100 */
    EXPECT_BAD_AT(OFF_NAME + 1, 0x01);  /* name length 269 */
    EXPECT_BAD_AT(OFF_NAME + 2, 0);     /* NUL inside the name */
    /* The signal section: more signals than can be, or a signal with 3 slots. */
    size_t sig = n - (4 + 1 + 8) - (4 + 1 + 16) - (4 + 1 + 8) - (4 + 1 + 16) - 1;
    assert_int_equal(good[sig], 4);
    EXPECT_BAD_AT(sig, RW_MAX_SIGNALS + 1);
    EXPECT_BAD_AT(sig + 1 + 4, 3);
    /* A snooze ending at RW_NO_TIME is no snooze. */
    memcpy(buf, good, n);
    size_t name_len = 13, owner_len = 15, tier_len = 10;
    size_t snooze = OFF_NAME + 2 + name_len + 2 + owner_len + 2 + tier_len;
    int64_t no_time = RW_NO_TIME;
    memcpy(buf + snooze, &no_time, 8);
    assert_null(rw_account_decode(st2, sc, "acme", 4, buf, n, &reset));
    assert_int_equal(rw_store_count(st2), 0);
    /* The offsets above are right: the unchanged record decodes. */
    memcpy(buf, good, n);
    assert_non_null(rw_account_decode(st2, sc, "acme", 4, buf, n, &reset));
    rw_store_free(st);
    rw_store_free(st2);
    rw_scorer_free(sc);
    free(cfg);
}

static void corrupt_each_byte(const struct rw_scorer *sc, const uint8_t *good, size_t n);

static void test_codec_corrupt(void **state)
{
    (void)state;
    struct rw_config *cfg = codec_config();
    struct rw_scorer *sc = scorer_of(cfg);
    struct rw_store *st = rw_store_new(6);
    struct rw_account *a = sample(st, "acme");
    uint8_t good[RW_ACCOUNT_RECORD_MAX];
    for (int version = 2; version <= 3; version++)
        corrupt_each_byte(sc, good,
                          version == 2 ? encode_v2(sc, st, a, good)
                                       : rw_account_encode(sc, st, a, good, sizeof(good)));
    struct rw_store *st2 = rw_store_new(6);
    int reset;
    /* Random garbage of every length, in both versions. */
    uint64_t x = 0x2545f4914f6cdd1dull;
    for (size_t len = 0; len < 800; len++) {
        uint8_t *p = rw_xmalloc(len + 1);
        for (size_t i = 0; i < len; i++)
            p[i] = (uint8_t)xs_next(&x);
        if (len > 0)
            p[0] = len % 2 ? 2 : 3;
        /* Keep the ordinal small (see corrupt_each_byte). */
        if (len > 3 && p[0] == 3)
            p[3] &= 0x7f;
        for (size_t i = OFF_ORDINAL + 2; p[0] == 2 && i < OFF_ORDINAL + 4 && i < len; i++)
            p[i] = 0;
        struct rw_account *b = rw_account_decode(st2, sc, "y", 1, p, len, &reset);
        assert_true(!b || b->band < RW_BAND_COUNT);
        free(p);
    }
    rw_store_free(st);
    rw_store_free(st2);
    rw_scorer_free(sc);
    free(cfg);
}

/* Every byte of the record GOOD (N bytes) set to a few values in turn: whatever
 * decodes is a valid account. */
static void corrupt_each_byte(const struct rw_scorer *sc, const uint8_t *good, size_t n)
{
    struct rw_store *st2 = rw_store_new(6);
    static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
    int reset;
    for (size_t i = 0; i < n; i++) {
        /* The ordinal's high bytes stay as they are: a valid record may name any
         * ordinal, and the store then sizes its ordinal index to it (gigabytes).
         * (Version 3's one-byte ordinal runs on into the first time, a var of 6
         * bytes: far past any ordinal, refused.) */
        if (good[0] == 2 && (i == OFF_ORDINAL + 2 || i == OFF_ORDINAL + 3))
            continue;
        for (size_t v = 0; v < sizeof(vals); v++) {
            uint8_t *p = rw_xmalloc(n);
            memcpy(p, good, n);
            p[i] = vals[v];
            struct rw_account *b = rw_account_decode(st2, sc, "x", 1, p, n, &reset);
            if (b) { /* whatever it accepted must be a valid account */
                assert_true(b->band < RW_BAND_COUNT && b->notified_band < RW_BAND_COUNT);
                assert_true(!b->name || strlen(b->name) <= RW_NAME_MAX);
                assert_true(b->ordinal < rw_store_ordinal_end(st2));
                assert_true(reset >= 0 && reset <= 4);
            }
            free(p);
        }
    }
    rw_store_free(st2);
}

/* A record written under signals (A, B) read under (B, C): B kept, C reset, A dropped. */
static void remap_case(enum rw_aggregate c_agg, const double *c_want)
{
    struct rw_config *old = new_config();
    add_signal(old, "A", "login", RW_AGG_RATE, 7, 0, 0, 1);
    add_signal(old, "B", "csat", RW_AGG_MEAN, 30, 0, 2, 4.5);
    struct rw_config *neu = new_config();
    add_signal(neu, "B", "csat", RW_AGG_MEAN, 30, 0, 1, 5)->weight = 4; /* scoring only */
    add_signal(neu, "C", "api", c_agg, 7, c_agg == RW_AGG_TREND ? 60 : 0, 0, 1);
    struct rw_scorer *so = scorer_of(old), *sn = scorer_of(neu);
    assert_int_equal(rw_scorer_signal_fingerprint(so, 1), rw_scorer_signal_fingerprint(sn, 0));

    struct rw_store *st = rw_store_new(rw_scorer_nslots(so));
    struct rw_account *a = put(st, "acme");
    double slots[3] = {3.5, 1e-300, 0.1 + 0.2}; /* A; B's Σv·w, Σw */
    memcpy(rw_account_agg(a), slots, sizeof(slots));
    a->ref_ms = T0;
    uint8_t buf[RW_ACCOUNT_RECORD_MAX];
    size_t n = rw_account_encode(so, st, a, buf, sizeof(buf));

    struct rw_store *st2 = rw_store_new(rw_scorer_nslots(sn));
    int reset = -1;
    struct rw_account *b = rw_account_decode(st2, sn, "acme", 4, buf, n, &reset);
    assert_non_null(b);
    assert_int_equal(reset, 1);
    const double *agg = rw_account_agg(b);
    assert_int_equal(rw_scorer_slot_offset(sn, 0), 0);
    assert_memory_equal(agg, slots + 1, 2 * sizeof(double)); /* bit for bit, moved */
    size_t off = rw_scorer_slot_offset(sn, 1), cnt = rw_scorer_slot_count(sn, 1);
    for (size_t k = 0; k < cnt; k++)
        assert_true(same_double(agg[off + k], c_want[k]));
    assert_true(b->ref_ms == T0); /* the account's own fields are kept */
    rw_store_free(st);
    rw_store_free(st2);
    rw_scorer_free(so);
    rw_scorer_free(sn);
    free(old);
    free(neu);
}

static void test_codec_signal_remap(void **state)
{
    (void)state;
    static const double recency[1] = {-INFINITY};
    static const double trend[2] = {0.0, 0.0};
    static const double mean[2] = {0.0, 0.0};
    remap_case(RW_AGG_RECENCY, recency);
    remap_case(RW_AGG_TREND, trend);
    remap_case(RW_AGG_MEAN, mean);
}

/* Records restored in any order: every ordinal where it was, no hole left. */
static void test_codec_scrambled_ordinals(void **state)
{
    (void)state;
    enum { N = 500 };
    struct rw_config *cfg = codec_config();
    struct rw_scorer *sc = scorer_of(cfg);
    struct rw_store *st = rw_store_new(6);
    static uint8_t recs[N][160];
    size_t lens[N];
    char id[16];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "a%d", i);
        struct rw_account *a = put(st, id);
        rw_scorer_reset(sc, rw_account_agg(a));
        lens[i] = rw_account_encode(sc, st, a, recs[i], sizeof(recs[i]));
        assert_true(lens[i] <= sizeof(recs[i]));
    }
    int order[N];
    for (int i = 0; i < N; i++)
        order[i] = i;
    uint64_t x = 42;
    for (int i = N - 1; i > 0; i--) {
        int j = (int)(xs_next(&x) % (uint64_t)(i + 1));
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    struct rw_store *st2 = rw_store_new(6);
    for (int k = 0; k < N; k++) {
        int i = order[k];
        snprintf(id, sizeof(id), "a%d", i);
        assert_non_null(rw_account_decode(st2, sc, id, strlen(id), recs[i], lens[i], NULL));
    }
    assert_int_equal(rw_store_count(st2), N);
    assert_int_equal(rw_store_ordinal_end(st2), N);
    for (uint32_t o = 0; o < N; o++) {
        struct rw_account *a = rw_store_by_ordinal(st2, o);
        assert_non_null(a);
        snprintf(id, sizeof(id), "a%u", o);
        assert_string_equal(a->id, id);
        assert_int_equal(a->flags & RW_ACCT_DUE_STALE, 0);
    }
    /* Two records claiming one ordinal: the second keeps a fresh one, marked stale. */
    struct rw_account *dup = rw_account_decode(st2, sc, "dup", 3, recs[5], lens[5], NULL);
    assert_non_null(dup);
    assert_int_equal(dup->ordinal, N);
    assert_true(dup->flags & RW_ACCT_DUE_STALE);
    assert_ptr_equal(rw_store_by_ordinal(st2, 5), rw_store_find(st2, "a5", 2));
    rw_store_free(st);
    rw_store_free(st2);
    rw_scorer_free(sc);
    free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_roundtrip),
        cmocka_unit_test(test_codec_truncated_and_trailing),
        cmocka_unit_test(test_codec_reads_version_2),
        cmocka_unit_test(test_codec_invalid_values_v3),
        cmocka_unit_test(test_codec_invalid_values_v2),
        cmocka_unit_test(test_codec_corrupt),
        cmocka_unit_test(test_codec_signal_remap),
        cmocka_unit_test(test_codec_scrambled_ordinals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
