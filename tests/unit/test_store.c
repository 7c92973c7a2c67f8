/* test_store.c - the account table, ordinals, interning, snooze, the dirty set, memory.
 * The persisted record is in test_account_codec.c. */
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
    assert_int_equal(rw_store_ordinal_end(st), 0);

    struct rw_account *a = put(st, "acme");
    assert_true(a->first_seen_ms == RW_NO_TIME && a->last_event_ms == RW_NO_TIME);
    assert_true(a->ref_ms == RW_NO_TIME && a->due_s == 0);
    assert_true(a->below_healthy_ms == RW_NO_TIME && a->below_watch_ms == RW_NO_TIME);
    assert_true(isnan(a->arr) && isnan(a->seats) && isnan(a->score));
    assert_true(a->renewal_day == RW_NO_DAY);
    assert_int_equal(a->band, RW_BAND_UNKNOWN);
    assert_int_equal(a->notified_band, RW_BAND_UNKNOWN);
    assert_int_equal(a->flags, 0);
    assert_int_equal(a->heap_pos, UINT32_MAX);
    assert_int_equal(a->ordinal, 0);
    assert_null(a->name);
    assert_null(a->owner);
    assert_null(a->tier);
    assert_null(rw_store_ext(st, a));
    assert_true(rw_store_snoozed_until(st, a) == RW_NO_TIME);
    assert_int_equal(a->id_len, 4);
    assert_string_equal(a->id, "acme");
    double *agg = rw_account_agg(a);
    assert_int_equal((uintptr_t)agg % _Alignof(double), 0);
    assert_true((char *)agg >= a->id + a->id_len + 1); /* the slots never overlap the id */
    for (int i = 0; i < 5; i++)
        assert_true(agg[i] == 0.0);
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
        rw_account_agg(b)[i] = i; /* writable to the end of the allocation (ASan) */
    struct rw_account *c = rw_store_upsert(st, "a\0b", 3, &created);
    assert_true(created);
    assert_ptr_not_equal(rw_store_upsert(st, "a\0c", 3, &created), c);
    assert_int_equal(rw_store_count(st), 4);
    /* Ordinals are handed out densely in creation order. */
    assert_int_equal(b->ordinal, 1);
    assert_int_equal(c->ordinal, 2);
    assert_int_equal(rw_store_ordinal_end(st), 4);
    assert_ptr_equal(rw_store_by_ordinal(st, 1), b);
    assert_null(rw_store_by_ordinal(st, 4));
    rw_store_free(st);
}

/* Growth keeps pointers; rw_store_next walks in ordinal order, whatever the hash order. */
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
        rw_account_agg(ptrs[i])[0] = i;
    }
    assert_int_equal(rw_store_count(st), N);
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "id-%d", i);
        assert_ptr_equal(rw_store_find(st, id, strlen(id)), ptrs[i]);
    }
    size_t cur = 0, n = 0;
    struct rw_account *a;
    while ((a = rw_store_next(st, &cur))) {
        assert_ptr_equal(a, ptrs[n]);
        assert_int_equal(a->ordinal, n);
        assert_true(rw_account_agg(a)[0] == (double)n);
        n++;
    }
    assert_int_equal(n, N);
    assert_null(rw_store_next(st, &cur));
    free(ptrs);
    rw_store_free(st);
}

static void test_ordinals(void **state)
{
    (void)state;
    struct rw_store *st = rw_store_new(0);
    struct rw_account *a = put(st, "a"), *b = put(st, "b"), *c = put(st, "c");
    /* Its own ordinal is fine; another account's is refused; UINT32_MAX is never one. */
    assert_true(rw_store_set_ordinal(st, a, 0));
    assert_false(rw_store_set_ordinal(st, a, 1));
    assert_false(rw_store_set_ordinal(st, a, UINT32_MAX));
    assert_int_equal(a->ordinal, 0);
    assert_ptr_equal(rw_store_by_ordinal(st, 1), b);

    /* Moving b far out leaves holes, which the walk skips. */
    assert_true(rw_store_set_ordinal(st, b, 10));
    assert_int_equal(b->ordinal, 10);
    assert_int_equal(rw_store_ordinal_end(st), 11);
    assert_null(rw_store_by_ordinal(st, 1));
    assert_ptr_equal(rw_store_by_ordinal(st, 10), b);
    assert_null(rw_store_by_ordinal(st, 11));
    assert_null(rw_store_by_ordinal(st, UINT32_MAX));
    size_t cur = 0;
    assert_ptr_equal(rw_store_next(st, &cur), a);
    assert_ptr_equal(rw_store_next(st, &cur), c);
    assert_ptr_equal(rw_store_next(st, &cur), b);
    assert_null(rw_store_next(st, &cur));
    /* A new account takes the next one past the end, not a hole. */
    struct rw_account *d = put(st, "d");
    assert_int_equal(d->ordinal, 11);
    /* Moving the last one back into a hole shrinks the end again. */
    assert_true(rw_store_set_ordinal(st, d, 1));
    assert_int_equal(rw_store_ordinal_end(st), 11);
    assert_true(rw_store_set_ordinal(st, b, 3));
    assert_int_equal(rw_store_ordinal_end(st), 4);
    assert_int_equal(rw_store_count(st), 4);
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
    for (int i = 0; i < 100; i++) { /* the set grew: the old copies stay put */
        snprintf(buf, sizeof(buf), "owner%d@example.com", i);
        assert_ptr_equal(rw_store_intern(st, buf, strlen(buf)), first[i]);
    }
    assert_ptr_equal(rw_store_intern(st, "enterprise", 10), p);

    struct rw_account *a = put(st, "a"), *b = put(st, "b");
    rw_store_set_name(st, a, "Acme Inc.xyz", 9);
    assert_string_equal(a->name, "Acme Inc.");
    rw_store_set_name(st, a, "Acme", 4);
    assert_string_equal(a->name, "Acme");
    rw_store_set_name(st, a, NULL, 0);
    assert_null(a->name);
    rw_store_set_name(st, b, "B", 1);

    size_t n = 99;
    rw_store_dirty(st, &n);
    assert_int_equal(n, 0);
    rw_store_mark_dirty(st, a);
    rw_store_mark_dirty(st, b);
    rw_store_mark_dirty(st, a); /* once only */
    assert_true(a->flags & RW_ACCT_DIRTY);
    struct rw_account *const *d = rw_store_dirty(st, &n);
    assert_int_equal(n, 2);
    assert_ptr_equal(d[0], a);
    assert_ptr_equal(d[1], b);
    a->flags |= RW_ACCT_DUE_STALE; /* another bit: clearing the set leaves it */
    rw_store_clear_dirty(st);
    rw_store_dirty(st, &n);
    assert_int_equal(n, 0);
    assert_int_equal(a->flags, RW_ACCT_DUE_STALE);
    assert_int_equal(b->flags, 0);
    rw_store_mark_dirty(st, b);
    d = rw_store_dirty(st, &n);
    assert_int_equal(n, 1);
    assert_ptr_equal(d[0], b);
    assert_true(rw_store_memory(st) > 0);
    rw_store_free(st);
}

static void test_snooze(void **state)
{
    (void)state;
    struct rw_store *st = rw_store_new(0);
    struct rw_account *a = put(st, "a");
    char reason[RW_SNOOZE_TEXT_MAX + 1] = "on holiday", by[RW_SNOOZE_TEXT_MAX + 1] = "jane";
    rw_store_set_snooze(st, a, T0 + DAY, reason, by);
    reason[0] = by[0] = 'X'; /* the strings were copied */
    assert_true(rw_store_snoozed_until(st, a) == T0 + DAY);
    assert_non_null(rw_store_ext(st, a));
    assert_string_equal(rw_store_ext(st, a)->snooze_reason, "on holiday");
    assert_string_equal(rw_store_ext(st, a)->snoozed_by, "jane");
    /* Replaced whole: a NULL string is none. */
    snooze(st, a, T0 + 2 * DAY, NULL, "bob");
    assert_true(rw_store_snoozed_until(st, a) == T0 + 2 * DAY);
    assert_null(rw_store_ext(st, a)->snooze_reason);
    assert_string_equal(rw_store_ext(st, a)->snoozed_by, "bob");
    /* Over-long text is cut at RW_SNOOZE_TEXT_MAX. */
    char big[RW_SNOOZE_TEXT_MAX + 50];
    memset(big, 'r', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    rw_store_set_snooze(st, a, T0, big, NULL);
    assert_int_equal(strlen(rw_store_ext(st, a)->snooze_reason), RW_SNOOZE_TEXT_MAX);
    /* Cleared: nothing left allocated (ASan checks the frees). */
    snooze(st, a, RW_NO_TIME, "ignored", "ignored");
    assert_null(rw_store_ext(st, a));
    assert_true(rw_store_snoozed_until(st, a) == RW_NO_TIME);
    snooze(st, a, T0, "kept", NULL); /* freed by rw_store_free */
    rw_store_free(st);
}

/* The benchmark target: <= 256 bytes per account with four signals (6 slots). */
/* Room made ahead (a load that knows its size) changes nothing that can be
 * seen: accounts already there keep their place, ordinal and slots, and the
 * ones added after are found like any other; the arena's chunks come aligned
 * and zeroed (accounts start with their fields at their initial values). */
static void test_reserve(void **state)
{
    (void)state;
    enum { FIRST = 300, MORE = 20000 };
    struct rw_store *st = rw_store_new(2);
    struct rw_account **ptrs = rw_xcalloc(FIRST + MORE, sizeof(*ptrs));
    char id[32];
    for (int i = 0; i < FIRST; i++) {
        snprintf(id, sizeof(id), "early-%d", i);
        ptrs[i] = put(st, id);
        rw_account_agg(ptrs[i])[1] = i;
    }
    /* The first account opens the first block: 2 MiB-aligned (a huge page). */
    assert_int_equal((uintptr_t)ptrs[0] % (UINT32_C(2) << 20), 0);
    rw_store_trim(st); /* the unused rest of the blocks goes back to the kernel... */
    rw_store_reserve(st, FIRST + MORE); /* moves the table: every account rehashed */
    rw_store_reserve(st, 10);           /* less than there is: nothing to do */
    for (int i = 0; i < FIRST; i++) {
        snprintf(id, sizeof(id), "early-%d", i);
        assert_ptr_equal(rw_store_find(st, id, strlen(id)), ptrs[i]);
        assert_int_equal(ptrs[i]->ordinal, i);
    }
    for (int i = FIRST; i < FIRST + MORE; i++) {
        snprintf(id, sizeof(id), "late-%d", i);
        ptrs[i] = put(st, id);
        assert_int_equal(ptrs[i]->ordinal, i);
        assert_true(isnan(ptrs[i]->score));
        assert_true(ptrs[i]->last_event_ms == RW_NO_TIME);
        /* ... and comes back zeroed. */
        assert_true(rw_account_agg(ptrs[i])[0] == 0.0 && rw_account_agg(ptrs[i])[1] == 0.0);
        assert_int_equal((uintptr_t)ptrs[i] % 8, 0);
    }
    assert_int_equal(rw_store_count(st), FIRST + MORE);
    for (int i = 0; i < FIRST + MORE; i++) {
        if (i < FIRST)
            snprintf(id, sizeof(id), "early-%d", i);
        else
            snprintf(id, sizeof(id), "late-%d", i);
        assert_ptr_equal(rw_store_find(st, id, strlen(id)), ptrs[i]);
        assert_ptr_equal(rw_store_by_ordinal(st, (uint32_t)i), ptrs[i]);
    }
    assert_true(rw_account_agg(ptrs[FIRST - 1])[1] == FIRST - 1);
    free(ptrs);
    rw_store_free(st);
}

static void test_memory_per_account(void **state)
{
    (void)state;
    enum { N = 100000 };
    static const char *const owners[] = {"ann@example.com", "bob@example.com", "cy@example.com",
                                         "dee@example.com"};
    static const char *const tiers[] = {"enterprise", "growth", "starter"};
    struct rw_store *st = rw_store_new(6);
    size_t empty = rw_store_memory(st);
    char id[32], name[32];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "acct-%07d", i);
        struct rw_account *a = put(st, id);
        int n = snprintf(name, sizeof(name), "Company %d", i);
        rw_store_set_name(st, a, name, (size_t)n);
        a->owner = rw_store_intern(st, owners[i % 4], strlen(owners[i % 4]));
        a->tier = rw_store_intern(st, tiers[i % 3], strlen(tiers[i % 3]));
    }
    size_t mem = rw_store_memory(st);
    double per = (double)mem / (double)rw_store_count(st);
    print_message("store memory: %zu bytes, %.1f bytes/account\n", mem, per);
    /* The measure counts what an account holds: its struct, id and 6 slots at least. */
    assert_true(per >= (double)(sizeof(struct rw_account) + 12 + 6 * sizeof(double)));
    assert_true(mem > empty);
    assert_true(per <= 256.0);
    rw_store_free(st);
}

/* Names are kept by the store: renames in place when they fit, else a new
 * copy; the bytes left behind are reclaimed once they outweigh the live ones,
 * so endless renames neither lose a name nor grow the store without bound. */
static void test_renames_bounded(void **state)
{
    (void)state;
    enum { N = 2000, ROUNDS = 60 };
    struct rw_store *st = rw_store_new(2);
    char id[32], name[RW_NAME_MAX + 1];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "acct-%05d", i);
        put(st, id);
    }
    size_t first = 0;
    for (int r = 0; r < ROUNDS; r++) {
        for (uint32_t o = 0; o < N; o++) {
            struct rw_account *a = rw_store_by_ordinal(st, o);
            /* Longer every round (a new copy), a short one every fifth (in place). */
            int len = r % 5 == 4 ? 3 : 8 + (r * 37 + (int)o) % 200;
            for (int k = 0; k < len; k++)
                name[k] = (char)('a' + (r + k + (int)o) % 26);
            rw_store_set_name(st, a, name, (size_t)len);
            if (r == 7 && o == 0)
                rw_store_set_name(st, a, NULL, 0); /* cleared, then named again */
            if (r == 7 && o == 0)
                rw_store_set_name(st, a, name, (size_t)len);
        }
        for (uint32_t o = 0; o < N; o++) {
            const struct rw_account *a = rw_store_by_ordinal(st, o);
            int len = r % 5 == 4 ? 3 : 8 + (r * 37 + (int)o) % 200;
            assert_non_null(a->name);
            assert_int_equal(strlen(a->name), len);
            for (int k = 0; k < len; k++)
                assert_int_equal(a->name[k], 'a' + (r + k + (int)o) % 26);
        }
        if (r == 0)
            first = rw_store_memory(st);
    }
    /* Kept: the live names (~0.2 MB) and at most 4 MiB left behind, in 1 MiB
     * chunks.  Never reclaimed, the renames would hold ~9 MB more. */
    assert_true(rw_store_memory(st) < first + (size_t)5 * (1u << 20));
    rw_store_free(st);
}

/* The walk in memory order meets every account once, across chunks, ids of
 * every length and accounts created between two steps. */
static void test_walk_memory_order(void **state)
{
    (void)state;
    enum { N = 30000 };
    struct rw_store *st = rw_store_new(6);
    char id[RW_ACCOUNT_MAX + 1];
    unsigned char *seen = calloc(2 * N, 1);
    assert_non_null(seen);
    for (int i = 0; i < N; i++) {
        int len = snprintf(id, sizeof(id), "w%d-", i);
        while (len < 1 + (i * 7) % RW_ACCOUNT_MAX)
            id[len++] = 'x';
        id[len] = '\0';
        put(st, id);
    }
    uint64_t cur = 0;
    size_t met = 0;
    struct rw_account *a;
    while ((a = rw_store_walk(st, &cur)) != NULL) {
        assert_true(a->ordinal < 2 * N);
        assert_int_equal(seen[a->ordinal], 0);
        assert_ptr_equal(rw_store_find(st, a->id, a->id_len), a);
        seen[a->ordinal] = 1;
        if (++met == N / 2) /* created mid-walk: met further on */
            for (int i = N; i < N + 50; i++) {
                snprintf(id, sizeof(id), "late-%d", i);
                put(st, id);
            }
    }
    assert_int_equal(met, N + 50);
    assert_null(rw_store_walk(st, &cur)); /* stays at the end */
    free(seen);
    rw_store_free(st);
}

/* Snoozes live beside the accounts: many set, cleared and set again in any
 * order, each account keeps exactly its own. */
static void test_many_snoozes(void **state)
{
    (void)state;
    enum { N = 5000 };
    struct rw_store *st = rw_store_new(0);
    char id[32];
    struct rw_account *acc[N];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "s%d", i);
        acc[i] = put(st, id);
    }
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            bool on = (i * 7 + round) % 3 != 0;
            if (on) {
                snprintf(id, sizeof(id), "r%d-%d", i, round);
                snooze(st, acc[i], T0 + i + round, id, NULL);
            } else {
                snooze(st, acc[i], RW_NO_TIME, NULL, NULL);
            }
        }
        for (int i = 0; i < N; i++) {
            bool on = (i * 7 + round) % 3 != 0;
            const struct rw_account_ext *x = rw_store_ext(st, acc[i]);
            if (!on) {
                assert_null(x);
                assert_true(rw_store_snoozed_until(st, acc[i]) == RW_NO_TIME);
                continue;
            }
            assert_non_null(x);
            assert_true(x->snoozed_until_ms == T0 + i + round);
            snprintf(id, sizeof(id), "r%d-%d", i, round);
            assert_string_equal(x->snooze_reason, id);
            assert_null(x->snoozed_by);
        }
    }
    rw_store_free(st);
}

/* The doubling the store's and the history's arrays grow by. */
static void test_grown_cap(void **state)
{
    (void)state;
    assert_int_equal(rw_grown_cap(0, 64, 1), 64);
    assert_int_equal(rw_grown_cap(0, 64, 65), 128);
    assert_int_equal(rw_grown_cap(0, 0, 3), 4);
    assert_int_equal(rw_grown_cap(100, 64, 100), 100); /* room already */
    assert_int_equal(rw_grown_cap(100, 64, 1000), 1600);
    assert_int_equal(rw_grown_cap(UINT32_C(3) << 30, 64, UINT32_MAX), UINT32_MAX);
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

static void test_band_counts(void **state)
{
    (void)state;
    struct rw_store *st = rw_store_new(1);
    bool created;
    struct rw_account *a = rw_store_upsert(st, "a", 1, &created);
    struct rw_account *b = rw_store_upsert(st, "b", 1, &created);
    assert_non_null(rw_store_upsert(st, "a", 1, &created)); /* not new: not counted again */
    assert_int_equal(rw_store_band_count(st, RW_BAND_UNKNOWN), 2);
    rw_store_set_arr(st, a, 1000.5);
    assert_true(rw_store_band_arr_cents(st, RW_BAND_UNKNOWN) == 100050);
    rw_store_set_band(st, a, RW_BAND_AT_RISK);
    rw_store_set_band(st, b, RW_BAND_WATCH);
    rw_store_set_band(st, a, RW_BAND_AT_RISK); /* no move */
    assert_int_equal(a->band, RW_BAND_AT_RISK);
    assert_int_equal(rw_store_band_count(st, RW_BAND_UNKNOWN), 0);
    assert_int_equal(rw_store_band_count(st, RW_BAND_AT_RISK), 1);
    assert_int_equal(rw_store_band_count(st, RW_BAND_WATCH), 1);
    assert_int_equal(rw_store_band_count(st, RW_BAND_HEALTHY), 0);
    assert_int_equal(rw_store_band_count(st, 99), 0);
    /* ARR follows the band and every change of the ARR, exactly. */
    assert_true(rw_store_band_arr_cents(st, RW_BAND_UNKNOWN) == 0);
    assert_true(rw_store_band_arr_cents(st, RW_BAND_AT_RISK) == 100050);
    for (int i = 0; i < 1000; i++) {
        rw_store_set_arr(st, b, 0.1 * i);
        rw_store_set_arr(st, a, 1e9 + 0.01 * i);
    }
    rw_store_set_arr(st, a, NAN);
    rw_store_set_arr(st, b, 0.3);
    assert_true(rw_store_band_arr_cents(st, RW_BAND_AT_RISK) == 0);
    assert_true(rw_store_band_arr_cents(st, RW_BAND_WATCH) == 30);
    rw_store_set_band(st, b, RW_BAND_HEALTHY);
    assert_true(rw_store_band_arr_cents(st, RW_BAND_WATCH) == 0);
    assert_true(rw_store_band_arr_cents(st, RW_BAND_HEALTHY) == 30);
    assert_true(rw_store_band_arr_cents(st, 99) == 0);
    rw_store_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upsert_find),     cmocka_unit_test(test_many_and_iterate),
        cmocka_unit_test(test_ordinals),        cmocka_unit_test(test_intern_name_dirty),
        cmocka_unit_test(test_snooze),          cmocka_unit_test(test_memory_per_account),
        cmocka_unit_test(test_days_to_renewal), cmocka_unit_test(test_band_counts),
        cmocka_unit_test(test_renames_bounded), cmocka_unit_test(test_walk_memory_order),
        cmocka_unit_test(test_many_snoozes),    cmocka_unit_test(test_grown_cap),
        cmocka_unit_test(test_reserve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
