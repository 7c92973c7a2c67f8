/* test_store.c - the account table, interning, the dirty set, the worklist and the codec. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "renewald/account_store.h"

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

static void test_upsert_find(void **state)
{
    (void)state;
    struct rw_store *st = rw_store_new(5);
    assert_int_equal(rw_store_nslots(st), 5);
    bool created = false;
    assert_null(rw_store_upsert(st, "x", 0, &created));
    char big[RW_ACCOUNT_MAX + 1];
    memset(big, 'b', sizeof(big));
    assert_null(rw_store_upsert(st, big, RW_ACCOUNT_MAX + 1, &created));
    assert_null(rw_store_find(st, "x", 1));
    assert_int_equal(rw_store_count(st), 0);

    struct rw_account *a = put(st, "acme");
    assert_true(a->first_seen_ms == RW_NO_TIME && a->last_event_ms == RW_NO_TIME);
    assert_true(a->ref_ms == RW_NO_TIME && a->below_since_ms == RW_NO_TIME);
    assert_true(isnan(a->arr) && isnan(a->seats) && isnan(a->score));
    assert_true(a->renewal_day == RW_NO_DAY);
    assert_int_equal(a->band, RW_BAND_UNKNOWN);
    assert_int_equal(a->notified_band, RW_BAND_UNKNOWN);
    assert_int_equal(a->dirty, 0);
    assert_null(a->name);
    assert_null(a->owner);
    assert_null(a->tier);
    assert_int_equal(a->id_len, 4);
    assert_string_equal(a->id, "acme");
    assert_int_equal((uintptr_t)a->agg % _Alignof(double), 0);
    assert_true((char *)a->agg >= a->id + a->id_len + 1);
    for (int i = 0; i < 5; i++)
        assert_true(a->agg[i] == 0.0);
    assert_ptr_equal(rw_store_upsert(st, "acme", 4, &created), a);
    assert_false(created);
    assert_ptr_equal(rw_store_find(st, "acme", 4), a);
    assert_null(rw_store_find(st, "acm", 3));
    assert_null(rw_store_find(st, "acmee", 5));

    /* The longest id; ids with NUL bytes are just bytes. */
    struct rw_account *b = rw_store_upsert(st, big, RW_ACCOUNT_MAX, &created);
    assert_non_null(b);
    assert_int_equal(b->id_len, RW_ACCOUNT_MAX);
    assert_int_equal(b->id[RW_ACCOUNT_MAX], '\0');
    for (int i = 0; i < 5; i++)
        b->agg[i] = i; /* writable to the end of the allocation */
    struct rw_account *c = rw_store_upsert(st, "a\0b", 3, &created);
    assert_true(created);
    assert_ptr_not_equal(rw_store_upsert(st, "a\0c", 3, &created), c);
    assert_int_equal(rw_store_count(st), 4);
    rw_store_free(st);
}

static void test_many_and_iterate(void **state)
{
    (void)state;
    enum { N = 50000 };
    struct rw_store *st = rw_store_new(1);
    struct rw_account **ptrs = rw_xcalloc(N, sizeof(*ptrs));
    char id[32];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "id-%d", i);
        ptrs[i] = put(st, id);
        ptrs[i]->agg[0] = i;
    }
    assert_int_equal(rw_store_count(st), N);
    for (int i = 0; i < N; i++) { /* pointers survive growth */
        snprintf(id, sizeof(id), "id-%d", i);
        assert_ptr_equal(rw_store_find(st, id, strlen(id)), ptrs[i]);
    }
    char *seen = rw_xcalloc(N, 1);
    size_t cur = 0, n = 0;
    struct rw_account *a;
    while ((a = rw_store_next(st, &cur))) {
        int i = (int)a->agg[0];
        assert_int_equal(seen[i], 0);
        seen[i] = 1;
        n++;
    }
    assert_int_equal(n, N);
    assert_null(rw_store_next(st, &cur));
    free(seen);
    free(ptrs);
    rw_store_free(st);
}

static void test_intern_name_dirty(void **state)
{
    (void)state;
    struct rw_store *st = rw_store_new(0);
    const char *p = rw_store_intern(st, "enterprise", 10);
    assert_string_equal(p, "enterprise");
    assert_ptr_equal(rw_store_intern(st, "enterprise!", 10), p);
    assert_ptr_not_equal(rw_store_intern(st, "enterprise", 9), p);
    assert_string_equal(rw_store_intern(st, "", 0), "");
    char buf[32];
    const char *first[100];
    for (int i = 0; i < 100; i++) {
        snprintf(buf, sizeof(buf), "owner%d@example.com", i);
        first[i] = rw_store_intern(st, buf, strlen(buf));
    }
    for (int i = 0; i < 100; i++) {
        snprintf(buf, sizeof(buf), "owner%d@example.com", i);
        assert_ptr_equal(rw_store_intern(st, buf, strlen(buf)), first[i]);
    }
    assert_ptr_equal(rw_store_intern(st, "enterprise", 10), p);

    struct rw_account *a = put(st, "a"), *b = put(st, "b");
    rw_account_set_name(a, "Acme Inc.xyz", 9);
    assert_string_equal(a->name, "Acme Inc.");
    rw_account_set_name(a, "Acme", 4);
    assert_string_equal(a->name, "Acme");
    rw_account_set_name(a, NULL, 0);
    assert_null(a->name);
    rw_account_set_name(b, "B", 1);

    size_t n = 99;
    rw_store_dirty(st, &n);
    assert_int_equal(n, 0);
    rw_store_mark_dirty(st, a);
    rw_store_mark_dirty(st, b);
    rw_store_mark_dirty(st, a);
    struct rw_account *const *d = rw_store_dirty(st, &n);
    assert_int_equal(n, 2);
    assert_ptr_equal(d[0], a);
    assert_ptr_equal(d[1], b);
    rw_store_clear_dirty(st);
    rw_store_dirty(st, &n);
    assert_int_equal(n, 0);
    assert_int_equal(a->dirty, 0);
    rw_store_mark_dirty(st, b);
    d = rw_store_dirty(st, &n);
    assert_int_equal(n, 1);
    assert_ptr_equal(d[0], b);
    assert_true(rw_store_memory(st) > 0);
    rw_store_free(st);
}

/* The benchmark target: <= 256 bytes per account with four signals (6 slots). */
static void test_memory_per_account(void **state)
{
    (void)state;
    enum { N = 100000 };
    static const char *const owners[] = {"ann@example.com", "bob@example.com", "cy@example.com",
                                         "dee@example.com"};
    static const char *const tiers[] = {"enterprise", "growth", "starter"};
    struct rw_store *st = rw_store_new(6);
    char id[32], name[32];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "acct-%07d", i);
        struct rw_account *a = put(st, id);
        int n = snprintf(name, sizeof(name), "Company %d", i);
        rw_account_set_name(a, name, (size_t)n);
        a->owner = rw_store_intern(st, owners[i % 4], strlen(owners[i % 4]));
        a->tier = rw_store_intern(st, tiers[i % 3], strlen(tiers[i % 3]));
    }
    size_t mem = rw_store_memory(st);
    double per = (double)mem / (double)rw_store_count(st);
    print_message("store memory: %zu bytes, %.1f bytes/account\n", mem, per);
    assert_true(per <= 256.0);
    rw_store_free(st);
}

static void test_days_to_renewal(void **state)
{
    (void)state;
    struct rw_store *st = rw_store_new(0);
    struct rw_account *a = put(st, "a");
    assert_int_equal(rw_account_days_to_renewal(a, T0), INT32_MIN);
    a->renewal_day = DAY0 + 30;
    assert_int_equal(rw_account_days_to_renewal(a, T0), 30);
    assert_int_equal(rw_account_days_to_renewal(a, T0 + DAY - 1), 30);
    assert_int_equal(rw_account_days_to_renewal(a, T0 + DAY), 29);
    assert_int_equal(rw_account_days_to_renewal(a, T0 + 31 * DAY), -1);
    a->renewal_day = 0;
    assert_int_equal(rw_account_days_to_renewal(a, -1), 1); /* floor: -1 ms is day -1 */
    assert_int_equal(rw_account_days_to_renewal(a, -DAY), 1);
    assert_int_equal(rw_account_days_to_renewal(a, -DAY - 1), 2);
    rw_store_free(st);
}

static struct rw_account *wl_put(struct rw_store *st, const char *id, double score,
                                 enum rw_band band, int32_t rday)
{
    struct rw_account *a = put(st, id);
    a->score = (float)score;
    a->band = (uint8_t)band;
    a->renewal_day = rday;
    return a;
}

static void expect_ids(struct rw_account **got, size_t n, const char *const *want, size_t wn)
{
    assert_int_equal(n, wn);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(got[i]->id, want[i]);
}

static void test_worklist(void **state)
{
    (void)state;
    struct rw_store *st = rw_store_new(0);
    wl_put(st, "h1", 90, RW_BAND_HEALTHY, DAY0 + 100);
    wl_put(st, "w1", 50, RW_BAND_WATCH, DAY0 + 10);
    wl_put(st, "r2", 20, RW_BAND_AT_RISK, DAY0);
    wl_put(st, "r1", 20, RW_BAND_AT_RISK, DAY0 + 60);
    wl_put(st, "r10", 20, RW_BAND_AT_RISK, RW_NO_DAY);
    wl_put(st, "r", 20, RW_BAND_AT_RISK, DAY0 - 1);
    wl_put(st, "u2", NAN, RW_BAND_UNKNOWN, DAY0 + 5);
    wl_put(st, "u1", NAN, RW_BAND_UNKNOWN, RW_NO_DAY);
    wl_put(st, "low", 5, RW_BAND_WATCH, DAY0 + 61);
    struct rw_account *out[16];
    size_t n = rw_store_worklist(st, 0, -1, T0, out, 16);
    static const char *const all[] = {"low", "r", "r1", "r10", "r2", "w1", "h1", "u1", "u2"};
    expect_ids(out, n, all, 9);
    /* limit keeps the best */
    n = rw_store_worklist(st, 0, -1, T0, out, 3);
    expect_ids(out, n, all, 3);
    assert_int_equal(rw_store_worklist(st, 0, -1, T0, out, 0), 0);
    /* band filter */
    n = rw_store_worklist(st, 1u << RW_BAND_AT_RISK, -1, T0, out, 16);
    static const char *const risk[] = {"r", "r1", "r10", "r2"};
    expect_ids(out, n, risk, 4);
    n = rw_store_worklist(st, (1u << RW_BAND_WATCH) | (1u << RW_BAND_UNKNOWN), -1, T0, out, 16);
    static const char *const wu[] = {"low", "w1", "u1", "u2"};
    expect_ids(out, n, wu, 4);
    /* within_days: 0..N days ahead; past renewals and no renewal excluded */
    n = rw_store_worklist(st, 0, 60, T0, out, 16);
    static const char *const w60[] = {"r1", "r2", "w1", "u2"};
    expect_ids(out, n, w60, 4);
    n = rw_store_worklist(st, 0, 0, T0 + DAY - 1, out, 16);
    static const char *const w0[] = {"r2"};
    expect_ids(out, n, w0, 1);
    n = rw_store_worklist(st, 1u << RW_BAND_AT_RISK, 60, T0, out, 1);
    static const char *const both[] = {"r1"};
    expect_ids(out, n, both, 1);
    rw_store_free(st);
}

/* A big store: the bounded heap must agree with a full sort. */
static void test_worklist_large(void **state)
{
    (void)state;
    enum { N = 200000, K = 25 };
    struct rw_store *st = rw_store_new(0);
    char id[32];
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        snprintf(id, sizeof(id), "a%d", i);
        struct rw_account *a = put(st, id);
        a->score = (x % 10 == 0) ? NAN : (float)(x % 1000) / 10.0f;
        a->band = (uint8_t)(1 + x % 3);
    }
    struct rw_account **full = rw_xcalloc(N, sizeof(*full));
    struct rw_account *top[K];
    size_t n = rw_store_worklist(st, 0, -1, T0, full, N);
    assert_int_equal(n, N);
    for (size_t i = 1; i < n; i++) {
        const struct rw_account *a = full[i - 1], *b = full[i];
        if (isnan(a->score))
            assert_true(isnan(b->score));
        else if (!isnan(b->score))
            assert_true(a->score <= b->score);
    }
    assert_int_equal(rw_store_worklist(st, 0, -1, T0, top, K), K);
    for (int i = 0; i < K; i++)
        assert_ptr_equal(top[i], full[i]);
    free(full);
    rw_store_free(st);
}

/* A fully populated account in ST. */
static struct rw_account *sample(struct rw_store *st, const char *id)
{
    struct rw_account *a = put(st, id);
    a->first_seen_ms = T0 - 100 * DAY;
    a->last_event_ms = T0;
    a->ref_ms = T0 - 5;
    a->below_since_ms = T0 - DAY;
    rw_account_set_name(a, "Acme, Inc. \xc3\xa9", 13);
    a->owner = rw_store_intern(st, "ann@example.com", 15);
    a->tier = rw_store_intern(st, "enterprise", 10);
    a->arr = 120000.5;
    a->seats = 42;
    a->agg[0] = 1.25;
    a->agg[1] = -INFINITY;
    a->agg[2] = 1e-300;
    a->score = 63.25f;
    a->renewal_day = DAY0 + 77;
    a->band_seq = 0xdeadbeef;
    a->window_alerted = 60;
    a->band = RW_BAND_WATCH;
    a->notified_band = RW_BAND_AT_RISK;
    return a;
}

static void assert_meta_equal(const struct rw_account *a, const struct rw_account *b)
{
    assert_true(a->first_seen_ms == b->first_seen_ms);
    assert_true(a->last_event_ms == b->last_event_ms);
    assert_true(a->ref_ms == b->ref_ms);
    assert_true(a->below_since_ms == b->below_since_ms);
    if (a->name || b->name)
        assert_string_equal(a->name, b->name);
    if (a->owner || b->owner)
        assert_string_equal(a->owner, b->owner);
    if (a->tier || b->tier)
        assert_string_equal(a->tier, b->tier);
    assert_true(a->arr == b->arr || (isnan(a->arr) && isnan(b->arr)));
    assert_true(a->seats == b->seats || (isnan(a->seats) && isnan(b->seats)));
    assert_true(a->score == b->score || (isnan(a->score) && isnan(b->score)));
    assert_int_equal(a->renewal_day, b->renewal_day);
    assert_int_equal(a->band_seq, b->band_seq);
    assert_int_equal(a->window_alerted, b->window_alerted);
    assert_int_equal(a->band, b->band);
    assert_int_equal(a->notified_band, b->notified_band);
}

static void test_codec_roundtrip(void **state)
{
    (void)state;
    struct rw_store *st = rw_store_new(3);
    struct rw_account *a = sample(st, "acme");
    uint8_t buf[RW_ACCOUNT_RECORD_MAX];
    size_t n = rw_account_encode(st, a, 0x1234, buf, sizeof(buf));
    assert_true(n > 0 && n <= sizeof(buf));
    assert_int_equal(buf[0], 1);
    /* Too small a buffer: the size, nothing written. */
    uint8_t small[16];
    memset(small, 0x5a, sizeof(small));
    assert_int_equal(rw_account_encode(st, a, 0x1234, small, sizeof(small)), n);
    for (size_t i = 0; i < sizeof(small); i++)
        assert_int_equal(small[i], 0x5a);
    assert_int_equal(rw_account_encode(st, a, 0x1234, NULL, 0), n);

    struct rw_store *st2 = rw_store_new(3);
    bool reset = true;
    struct rw_account *b = rw_account_decode(st2, "acme", 4, buf, n, 0x1234, &reset);
    assert_non_null(b);
    assert_false(reset);
    assert_string_equal(b->id, "acme");
    assert_meta_equal(a, b);
    assert_ptr_equal(b->owner, rw_store_intern(st2, "ann@example.com", 15));
    assert_true(b->agg[0] == 1.25 && b->agg[1] == -INFINITY && b->agg[2] == 1e-300);
    assert_int_equal(b->dirty, 0);
    /* Decoding again overwrites the same account; unknowns round-trip as unknown. */
    struct rw_account *c = put(st, "empty");
    c->agg[1] = 7;
    n = rw_account_encode(st, c, 0x1234, buf, sizeof(buf));
    assert_ptr_equal(rw_account_decode(st2, "acme", 4, buf, n, 0x1234, &reset), b);
    assert_meta_equal(c, b);
    assert_null(b->name);
    assert_true(b->agg[1] == 7);
    assert_int_equal(rw_store_count(st2), 1);
    rw_store_free(st);
    rw_store_free(st2);
}

static void test_codec_truncated_and_trailing(void **state)
{
    (void)state;
    struct rw_store *st = rw_store_new(3);
    struct rw_account *a = sample(st, "acme");
    uint8_t buf[RW_ACCOUNT_RECORD_MAX + 1];
    size_t n = rw_account_encode(st, a, 7, buf, sizeof(buf));
    struct rw_store *st2 = rw_store_new(3);
    bool reset = false;
    for (size_t len = 0; len < n; len++) {
        /* A heap copy of exactly LEN bytes, so ASan catches any read past it. */
        uint8_t *p = rw_xmalloc(len);
        memcpy(p, buf, len);
        assert_null(rw_account_decode(st2, "acme", 4, p, len, 7, &reset));
        assert_null(rw_account_decode(st2, "acme", 4, p, len, 8, &reset));
        free(p);
    }
    buf[n] = 0;
    assert_null(rw_account_decode(st2, "acme", 4, buf, n + 1, 7, &reset));
    assert_null(rw_account_decode(st2, "", 0, buf, n, 7, &reset));
    assert_int_equal(rw_store_count(st2), 0);
    assert_non_null(rw_account_decode(st2, "acme", 4, buf, n, 7, NULL));
    rw_store_free(st);
    rw_store_free(st2);
}

/* Field offsets of the layout (see account_codec.c). */
#define OFF_FLAGS    5
#define OFF_BAND     38
#define OFF_NOTIFIED 39
#define OFF_WINDOW   44
#define OFF_ARR      50
#define OFF_SCORE    66
#define OFF_NAME     70

static void test_codec_invalid_values(void **state)
{
    (void)state;
    struct rw_store *st = rw_store_new(3);
    struct rw_account *a = sample(st, "acme");
    uint8_t good[RW_ACCOUNT_RECORD_MAX], buf[RW_ACCOUNT_RECORD_MAX];
    size_t n = rw_account_encode(st, a, 7, good, sizeof(good));
    struct rw_store *st2 = rw_store_new(3);
    bool reset;
#define EXPECT_BAD(off, val)                                                                       \
    do {                                                                                           \
        memcpy(buf, good, n);                                                                      \
        buf[off] = (uint8_t)(val);                                                                 \
        assert_null(rw_account_decode(st2, "acme", 4, buf, n, 7, &reset));                         \
    } while (0)
    EXPECT_BAD(0, 2);            /* version */
    EXPECT_BAD(OFF_FLAGS, 0x0f); /* unknown flag */
    EXPECT_BAD(OFF_BAND, RW_BAND_COUNT);
    EXPECT_BAD(OFF_NOTIFIED, 0xff);
    EXPECT_BAD(OFF_WINDOW + 1, 0x80); /* negative window */
    memcpy(buf, good, n);
    double inf = INFINITY;
    memcpy(buf + OFF_ARR, &inf, 8); /* arr = +inf (the test host is little-endian) */
    assert_null(rw_account_decode(st2, "acme", 4, buf, n, 7, &reset));
    EXPECT_BAD(OFF_SCORE + 3, 0x43); /* score > 100 */
    EXPECT_BAD(OFF_NAME + 1, 0x01);  /* name length 269 */
    EXPECT_BAD(OFF_NAME + 2, 0);     /* NUL inside the name */
    assert_int_equal(rw_store_count(st2), 0);
    /* Same fingerprint but another slot count: refused. */
    struct rw_store *st4 = rw_store_new(4);
    assert_null(rw_account_decode(st4, "acme", 4, good, n, 7, &reset));
    assert_int_equal(rw_store_count(st4), 0);
    /* The offsets above are right: the unchanged record decodes. */
    memcpy(buf, good, n);
    assert_non_null(rw_account_decode(st2, "acme", 4, buf, n, 7, &reset));
    rw_store_free(st);
    rw_store_free(st2);
    rw_store_free(st4);
}

static void test_codec_corrupt(void **state)
{
    (void)state;
    struct rw_store *st = rw_store_new(3);
    struct rw_account *a = sample(st, "acme");
    uint8_t good[RW_ACCOUNT_RECORD_MAX];
    size_t n = rw_account_encode(st, a, 7, good, sizeof(good));
    struct rw_store *st2 = rw_store_new(3);
    static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
    bool reset;
    for (size_t i = 0; i < n; i++) {
        for (size_t v = 0; v < sizeof(vals); v++) {
            uint8_t *p = rw_xmalloc(n);
            memcpy(p, good, n);
            p[i] = vals[v];
            struct rw_account *b = rw_account_decode(st2, "x", 1, p, n, 7, &reset);
            if (b) { /* whatever it accepted must be a valid account */
                assert_true(b->band < RW_BAND_COUNT && b->notified_band < RW_BAND_COUNT);
                assert_true(!b->name || strlen(b->name) <= RW_NAME_MAX);
            }
            free(p);
        }
    }
    /* Random garbage of every length. */
    uint64_t x = 0x2545f4914f6cdd1dull;
    for (size_t len = 0; len < 400; len++) {
        uint8_t *p = rw_xmalloc(len);
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            p[i] = (uint8_t)x;
        }
        if (len > 0)
            p[0] = 1;
        struct rw_account *b = rw_account_decode(st2, "y", 1, p, len, 7, &reset);
        assert_true(!b || b->band < RW_BAND_COUNT);
        free(p);
    }
    rw_store_free(st);
    rw_store_free(st2);
}

static void test_codec_fingerprint_mismatch(void **state)
{
    (void)state;
    struct rw_store *st = rw_store_new(3);
    struct rw_account *a = sample(st, "acme");
    uint8_t buf[RW_ACCOUNT_RECORD_MAX];
    size_t n = rw_account_encode(st, a, 111, buf, sizeof(buf));
    /* A new layout with another slot count: metadata kept, slots to reset. */
    struct rw_store *st2 = rw_store_new(5);
    bool reset = false;
    struct rw_account *b = rw_account_decode(st2, "acme", 4, buf, n, 222, &reset);
    assert_non_null(b);
    assert_true(reset);
    assert_meta_equal(a, b);
    assert_true(b->ref_ms == a->ref_ms);
    for (int i = 0; i < 5; i++)
        assert_true(b->agg[i] == 0.0);
    rw_store_free(st);
    rw_store_free(st2);
}

static void test_band_counts(void **state)
{
    (void)state;
    struct rw_store *st = rw_store_new(1);
    bool created;
    struct rw_account *a = rw_store_upsert(st, "a", 1, &created);
    struct rw_account *b = rw_store_upsert(st, "b", 1, &created);
    rw_store_upsert(st, "a", 1, &created); /* not new: not counted again */
    assert_int_equal(rw_store_band_count(st, RW_BAND_UNKNOWN), 2);
    rw_store_band_moved(st, a->band, RW_BAND_AT_RISK);
    a->band = RW_BAND_AT_RISK;
    rw_store_band_moved(st, b->band, RW_BAND_WATCH);
    b->band = RW_BAND_WATCH;
    rw_store_band_moved(st, a->band, a->band); /* no move */
    assert_int_equal(rw_store_band_count(st, RW_BAND_UNKNOWN), 0);
    assert_int_equal(rw_store_band_count(st, RW_BAND_AT_RISK), 1);
    assert_int_equal(rw_store_band_count(st, RW_BAND_WATCH), 1);
    assert_int_equal(rw_store_band_count(st, RW_BAND_HEALTHY), 0);
    assert_int_equal(rw_store_band_count(st, 99), 0);
    rw_store_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upsert_find),
        cmocka_unit_test(test_many_and_iterate),
        cmocka_unit_test(test_intern_name_dirty),
        cmocka_unit_test(test_memory_per_account),
        cmocka_unit_test(test_days_to_renewal),
        cmocka_unit_test(test_worklist),
        cmocka_unit_test(test_worklist_large),
        cmocka_unit_test(test_codec_roundtrip),
        cmocka_unit_test(test_codec_truncated_and_trailing),
        cmocka_unit_test(test_codec_invalid_values),
        cmocka_unit_test(test_codec_corrupt),
        cmocka_unit_test(test_codec_fingerprint_mismatch),
        cmocka_unit_test(test_band_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
