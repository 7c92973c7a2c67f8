/* test_changelog.c - the changelog's blobs (written, read back, malformed ones
 * refused) and the compaction policy: when a round starts, which chunks it
 * rewrites, when the log entries it covers may go, and what a reset keeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/core/changelog.h"
#include "scorer_test.h"

/* ---- blobs ---- */

static void test_blob_round_trip(void **state)
{
    (void)state;
    struct rw_config *cfg = new_config();
    add_signal(cfg, "g", "x", RW_AGG_RATE, 1, 0, 0, 1);
    struct rw_scorer *sc = rw_scorer_new(cfg);
    struct rw_store *st = rw_store_new(rw_scorer_nslots(sc));
    struct rw_blob b = {0};
    rw_blob_begin(&b, RW_BLOB_CHUNK, 77, 3);
    char id[200];
    for (int i = 0; i < 300; i++) {
        int n = snprintf(id, sizeof(id), "acct-%d-%0*d", i, i % 120, 0);
        struct rw_account *a = rw_store_upsert(st, id, (size_t)n, NULL);
        assert_non_null(a);
        rw_scorer_reset(sc, rw_account_agg(a));
        a->arr = 10.0 * i;
        rw_blob_add(&b, sc, st, a);
    }
    rw_blob_end(&b);

    struct rw_blob_reader r;
    struct rw_blob_entry e;
    assert_true(rw_blob_open(&r, b.buf, b.len));
    assert_int_equal(r.kind, RW_BLOB_CHUNK);
    assert_int_equal(r.seq, 77);
    assert_int_equal(r.chunk, 3);
    assert_int_equal(r.count, 300);
    struct rw_store *st2 = rw_store_new(rw_scorer_nslots(sc));
    for (int i = 0; i < 300; i++) {
        assert_int_equal(rw_blob_next(&r, &e), 1);
        int n = snprintf(id, sizeof(id), "acct-%d-%0*d", i, i % 120, 0);
        assert_int_equal(e.id_len, (size_t)n);
        assert_memory_equal(e.id, id, (size_t)n);
        assert_int_equal(e.ordinal, (uint32_t)i);
        struct rw_account *a = rw_account_decode(st2, sc, e.id, e.id_len, e.rec, e.rec_len, NULL);
        assert_non_null(a);
        assert_true(a->arr == 10.0 * i && a->ordinal == (uint32_t)i);
    }
    assert_int_equal(rw_blob_next(&r, &e), 0);

    /* Every truncation is refused (never read past the end), and so is a
     * blob with bytes after its last entry or a wrong header. */
    for (size_t cut = 0; cut < b.len; cut += (cut < 64 ? 1 : 97)) {
        if (!rw_blob_open(&r, b.buf, cut))
            continue;
        int rc;
        while ((rc = rw_blob_next(&r, &e)) == 1)
            assert_true(e.rec + e.rec_len <= b.buf + cut);
        assert_int_equal(rc, -1);
    }
    uint8_t *longer = malloc(b.len + 1);
    assert_non_null(longer);
    memcpy(longer, b.buf, b.len);
    longer[b.len] = 0;
    assert_true(rw_blob_open(&r, longer, b.len + 1));
    int rc;
    while ((rc = rw_blob_next(&r, &e)) == 1)
        ;
    assert_int_equal(rc, -1);
    longer[0] = 'X';
    assert_false(rw_blob_open(&r, longer, b.len));
    memcpy(longer, b.buf, b.len);
    longer[4] = 'Q';
    assert_false(rw_blob_open(&r, longer, b.len));
    free(longer);

    /* A blob is reused: begin starts it over. */
    rw_blob_begin(&b, RW_BLOB_LOG, 78, 0);
    rw_blob_end(&b);
    assert_true(rw_blob_open(&r, b.buf, b.len));
    assert_int_equal(r.kind, RW_BLOB_LOG);
    assert_int_equal(r.count, 0);
    assert_int_equal(rw_blob_next(&r, &e), 0);

    rw_blob_free(&b);
    rw_store_free(st);
    rw_store_free(st2);
    rw_scorer_free(sc);
    free(cfg);
}

/* ---- compaction ---- */

static const struct rw_compaction_policy POLICY = {
    .min_records = 100, .max_entries = 50, .idle_age_ms = 1000, .chunks_per_commit = 2};

/* The chunks a commit SEQ rewrites (at most the policy's number). */
static int take_chunks(struct rw_compaction *cp, uint64_t seq, uint32_t chunk_end, int64_t *out)
{
    int n = 0;
    for (size_t i = 0; i < cp->policy.chunks_per_commit; i++) {
        int64_t k = rw_compaction_next_chunk(cp, seq, chunk_end);
        if (k < 0)
            break;
        out[n++] = k;
    }
    return n;
}

static void test_round(void **state)
{
    (void)state;
    struct rw_compaction cp;
    rw_compaction_init(&cp, &POLICY);
    struct rw_log_state none = {0};
    rw_compaction_restore(&cp, &none, 10, 0); /* Redis holds commit 10, no log */
    assert_int_equal(cp.log_from, 11);
    assert_false(rw_compaction_busy(&cp));

    /* Commits 11..: 60 records each over chunks 0, 2, 5 (chunk_end 6). */
    uint64_t seq = 11;
    rw_compaction_mark(&cp, 5);
    rw_compaction_mark(&cp, 2 * RW_CHUNK_ACCOUNTS + 1);
    rw_compaction_logged(&cp, seq, 60, 0);
    /* below min_records (100 or the accounts, whichever is more): no round */
    assert_false(rw_compaction_maybe_start(&cp, seq, 50, false, 0));
    int64_t got[4];
    assert_int_equal(take_chunks(&cp, seq, 6, got), 0);
    seq++;
    rw_compaction_mark(&cp, 5 * RW_CHUNK_ACCOUNTS);
    rw_compaction_logged(&cp, seq, 60, 0);
    /* 120 records, but 200 accounts: still not */
    assert_false(rw_compaction_maybe_start(&cp, seq, 200, false, 0));
    /* with 100 accounts: the round starts at this commit (12) */
    assert_true(rw_compaction_maybe_start(&cp, seq, 100, false, 0));
    assert_false(rw_compaction_maybe_start(&cp, seq, 100, false, 0)); /* one at a time */
    assert_int_equal(take_chunks(&cp, seq, 6, got), 2);
    assert_int_equal(got[0], 0);
    assert_int_equal(got[1], 2);
    assert_true(rw_compaction_busy(&cp));
    /* commit 13 changes chunk 0 again (after the cursor) and chunk 5 (ahead) */
    seq++;
    rw_compaction_mark(&cp, 7);
    rw_compaction_mark(&cp, 5 * RW_CHUNK_ACCOUNTS + 9);
    rw_compaction_logged(&cp, seq, 2, 0);
    assert_int_equal(take_chunks(&cp, seq, 6, got), 1);
    assert_int_equal(got[0], 5);
    assert_int_equal(take_chunks(&cp, seq, 6, got), 0); /* encoded: the rest is in 13 */
    assert_int_equal(cp.nchunks, 6);
    /* nothing may go before 13 landed */
    uint64_t from, to;
    rw_compaction_landed(&cp, 12);
    assert_false(rw_compaction_deletions(&cp, 100, &from, &to));
    rw_compaction_landed(&cp, 13);
    assert_true(rw_compaction_deletions(&cp, 100, &from, &to));
    assert_int_equal(from, 11);
    assert_int_equal(to, 12); /* up to the cut: 13 came after it */
    /* deletions go in bounded steps */
    assert_true(rw_compaction_deletions(&cp, 1, &from, &to));
    assert_int_equal(to, 11);
    rw_compaction_deleting(&cp, 11);
    assert_true(rw_compaction_busy(&cp));
    assert_true(rw_compaction_deletions(&cp, 1, &from, &to));
    assert_int_equal(from, 12);
    assert_int_equal(to, 12);
    rw_compaction_deleting(&cp, 12);
    assert_false(rw_compaction_busy(&cp));
    assert_false(rw_compaction_deletions(&cp, 100, &from, &to));
    assert_int_equal(cp.log_from, 13);
    /* what is left: commit 13's 2 records; chunk 0 is dirty again, 2 and 5 not */
    assert_int_equal(cp.log_records, 2);
    assert_true(cp.dirty[0] & 1);
    assert_false(cp.dirty[0] & (1u << 2));
    assert_false(cp.dirty[0] & (1u << 5));
    rw_compaction_free(&cp);
}

static void test_idle_and_entries(void **state)
{
    (void)state;
    struct rw_compaction cp;
    rw_compaction_init(&cp, &POLICY);
    struct rw_log_state none = {0};
    rw_compaction_restore(&cp, &none, 0, 0);
    rw_compaction_mark(&cp, 3);
    rw_compaction_logged(&cp, 1, 1, 5000);
    /* idle, but the entry is too young; then old enough */
    assert_false(rw_compaction_maybe_start(&cp, 2, 10, true, 5500));
    assert_false(rw_compaction_maybe_start(&cp, 2, 10, false, 9000));
    assert_true(rw_compaction_maybe_start(&cp, 2, 10, true, 6000));
    int64_t got[4];
    assert_int_equal(take_chunks(&cp, 2, 1, got), 1);
    rw_compaction_landed(&cp, 2);
    uint64_t from, to;
    assert_true(rw_compaction_deletions(&cp, 100, &from, &to));
    assert_true(from == 1 && to == 2);
    rw_compaction_deleting(&cp, to);
    assert_false(rw_compaction_busy(&cp));
    /* many entries without records (acknowledgement-only commits): a round too,
     * so that a start never reads thousands of empty log keys */
    for (uint64_t s = 3; s < 3 + POLICY.max_entries; s++) {
        rw_compaction_logged(&cp, s, 0, 7000);
        assert_int_equal(rw_compaction_maybe_start(&cp, s, 10, false, 7000),
                         s + 1 == 3 + POLICY.max_entries);
    }
    rw_compaction_free(&cp);
}

static void test_restore_and_legacy(void **state)
{
    (void)state;
    struct rw_compaction cp;
    rw_compaction_init(&cp, &POLICY);
    /* The loader found entries 5..9 (40 records over chunks 1 and 3) and an
     * earlier version's hash: a round starts at once and covers both. */
    struct rw_log_state ls = {.log_from = 5, .log_records = 40, .nchunks = 2, .legacy = true};
    rw_log_state_mark(&ls, RW_CHUNK_ACCOUNTS + 4);
    rw_log_state_mark(&ls, 3 * RW_CHUNK_ACCOUNTS);
    rw_compaction_restore(&cp, &ls, 9, 100);
    assert_null(ls.dirty); /* taken */
    assert_int_equal(cp.log_from, 5);
    assert_int_equal(cp.nchunks, 2);
    assert_true(rw_compaction_maybe_start(&cp, 10, 5000, false, 100));
    int64_t got[4];
    assert_int_equal(take_chunks(&cp, 10, 4, got), 2);
    assert_true(got[0] == 1 && got[1] == 3);
    assert_int_equal(cp.nchunks, 4);
    assert_int_equal(take_chunks(&cp, 11, 4, got), 0);
    uint64_t from, to;
    assert_false(rw_compaction_deletions(&cp, 100, &from, &to));
    /* 11 found nothing more: the round's last chunk went with 10 */
    rw_compaction_landed(&cp, 10);
    assert_true(rw_compaction_deletions(&cp, 100, &from, &to));
    assert_true(from == 5 && to == 10);
    assert_true(cp.legacy); /* the commit deleting them unlinks the hash */
    rw_compaction_deleting(&cp, to);
    assert_false(cp.legacy);
    assert_int_equal(cp.log_from, 11);
    /* a reset (after a failure) forgets the round; the next load says more */
    rw_compaction_maybe_start(&cp, 12, 0, true, 100000);
    struct rw_log_state none = {0};
    rw_compaction_restore(&cp, &none, 20, 0);
    assert_false(rw_compaction_busy(&cp));
    assert_int_equal(cp.log_from, 21);
    rw_log_state_free(&ls);
    rw_compaction_free(&cp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blob_round_trip),
        cmocka_unit_test(test_round),
        cmocka_unit_test(test_idle_and_entries),
        cmocka_unit_test(test_restore_and_legacy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
