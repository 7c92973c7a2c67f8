/* test_merge.c - the order entries of several streams are taken in (SPEC §6), whatever
 * the reads returned and however they were split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "renewald/core/merge.h"
#include "scorer_test.h"

static struct rw_merge *m;
static uint64_t read_no = 1; /* the number of the read that brings what is pushed */

/* Pushes entry "MS-SEQ" with raw "e<MS>" and KEY to STREAM, as read number read_no. */
static void push(int stream, uint64_t ms, uint64_t seq, int64_t key)
{
    char id[RW_ENTRY_ID_MAX], raw[32];
    struct rw_entry_id eid = {ms, seq};
    rw_format_entry_id(eid, id);
    int n = snprintf(raw, sizeof(raw), "e%llu", (unsigned long long)ms);
    rw_merge_push(m, stream, eid, false, id, strlen(id), raw, (size_t)n, key, read_no);
}

/* STREAM found at its end (or not) by read number read_no. */
static void drained(int stream, bool yes)
{
    rw_merge_set_drained(m, stream, yes, read_no);
}

/* A snapshot: STREAM will never grow. */
static void final(int stream)
{
    rw_merge_set_drained(m, stream, true, RW_MERGE_FINAL);
}

/* Takes the next entry; asserts it is entry MS of STREAM. */
static void take(int stream, uint64_t ms)
{
    struct rw_merge_item *it = rw_merge_peek(m);
    if (!it)
        fail_msg("nothing to take, expected %d/%llu", stream, (unsigned long long)ms);
    if (it->stream != stream || it->id.ms != ms)
        fail_msg("took %d/%llu, expected %d/%llu", it->stream, (unsigned long long)it->id.ms,
                 stream, (unsigned long long)ms);
    rw_merge_pop(m);
}

static void test_single_stream(void **state)
{
    (void)state;
    m = rw_merge_new(1);
    assert_null(rw_merge_peek(m)); /* empty and not drained: read it */
    push(0, 10, 0, 300);           /* keys out of order: a stream keeps its id order */
    push(0, 11, 5, 100);
    rw_merge_push(m, 0, (struct rw_entry_id){0, 0}, true, "junk", 4, NULL, 0, RW_MERGE_FIRST, 1);
    rw_merge_push(m, 0, (struct rw_entry_id){12, 0}, false, "12-0", 4, "a\0b", 3, 200, 2);
    assert_int_equal(rw_merge_queued(m, 0), 4);
    assert_int_equal(rw_merge_queued_all(m), 4);

    struct rw_merge_item *it = rw_merge_peek(m);
    assert_non_null(it);
    assert_int_equal(it->stream, 0);
    assert_true(it->id.ms == 10 && it->id.seq == 0);
    assert_false(it->bad_id);
    assert_string_equal(it->id_str, "10-0");
    assert_int_equal(it->id_len, 4);
    assert_int_equal(it->raw_len, 3);
    assert_memory_equal(it->raw, "e10", 3);
    assert_true(it->key_ms == 300);
    assert_int_equal(it->read_seq, 1);
    assert_ptr_equal(rw_merge_peek(m), it); /* a second look takes nothing */
    rw_merge_pop(m);
    take(0, 11);
    it = rw_merge_peek(m);
    assert_non_null(it);
    assert_true(it->bad_id);
    assert_null(it->raw);
    assert_int_equal(it->raw_len, 0);
    assert_string_equal(it->id_str, "junk");
    rw_merge_pop(m);
    it = rw_merge_peek(m);
    assert_int_equal(it->read_seq, 2);
    assert_int_equal(it->raw_len, 3);
    assert_memory_equal(it->raw, "a\0b", 3); /* bytes, not a C string */
    assert_int_equal(it->raw[3], '\0');
    rw_merge_pop(m);
    assert_null(rw_merge_peek(m));
    assert_int_equal(rw_merge_queued_all(m), 0);
    rw_merge_pop(m); /* nothing peeked: nothing happens */
    assert_false(rw_merge_drained(m, 0));
    drained(0, true);
    assert_true(rw_merge_drained(m, 0));
    assert_null(rw_merge_peek(m)); /* drained and empty: everything is taken */
    /* Out-of-range streams are ignored. */
    push(5, 1, 0, 1);
    rw_merge_set_drained(m, -1, true, 1);
    assert_int_equal(rw_merge_queued(m, 5), 0);
    assert_false(rw_merge_drained(m, 7));
    rw_merge_free(m);
}

/* By key across streams; ties go to the earlier stream in the config. */
static void test_streams_by_key(void **state)
{
    (void)state;
    m = rw_merge_new(3);
    push(0, 1, 0, 50);
    push(0, 2, 0, 70);
    push(1, 3, 0, 50); /* ties with 0/1: after it */
    push(1, 4, 0, 60);
    push(2, 5, 0, 10);
    push(2, 6, 0, 70); /* ties with 0/2: after it */
    for (int s = 0; s < 3; s++)
        final(s);
    take(2, 5);
    take(0, 1);
    take(1, 3);
    take(1, 4);
    take(0, 2);
    take(2, 6);
    assert_null(rw_merge_peek(m));
    rw_merge_free(m);
}

/* A stream that may still hold an earlier entry holds everything back until read. */
static void test_wait_for_empty_stream(void **state)
{
    (void)state;
    m = rw_merge_new(3);
    read_no = 1;
    push(0, 1, 0, 100);
    push(2, 2, 0, 200);
    assert_null(rw_merge_peek(m)); /* stream 1: nothing read yet */
    assert_int_equal(rw_merge_would_empty(m), 1u << 1);
    push(1, 3, 0, 150);
    take(0, 1);
    assert_null(rw_merge_peek(m)); /* 0 ran dry: it may hold something before 150 */
    assert_int_equal(rw_merge_would_empty(m), 1u << 0);
    /* A read that came back short: that stream holds nothing older. */
    drained(0, true);
    take(1, 3);
    assert_null(rw_merge_peek(m));
    assert_int_equal(rw_merge_would_empty(m), (1u << 0) | (1u << 1));
    drained(1, true);
    take(2, 2);
    assert_null(rw_merge_peek(m));
    /* A drained stream that gets entries again is read like any other. */
    read_no = 2;
    push(1, 4, 0, 300);
    drained(1, false);
    assert_null(rw_merge_peek(m)); /* 2 is empty and not drained */
    drained(2, true);
    assert_null(rw_merge_peek(m)); /* 0 was found at its end by read 1, before 4 came */
    drained(0, true);
    take(1, 4);
    /* clear forgets everything, drained flags included. */
    push(0, 9, 0, 1);
    rw_merge_clear(m);
    assert_int_equal(rw_merge_queued_all(m), 0);
    for (int s = 0; s < 3; s++)
        assert_false(rw_merge_drained(m, s));
    rw_merge_free(m);
}

/* A stream at its end as of read N says nothing of entries appended after read N. */
static void test_read_numbers(void **state)
{
    (void)state;
    m = rw_merge_new(2);
    read_no = 1;
    drained(0, true); /* read 1: stream 0 empty */
    read_no = 2;
    push(1, 10, 0, 500); /* read 2: stream 1 has an entry; 0 may have grown meanwhile */
    drained(1, false);
    assert_null(rw_merge_peek(m));
    assert_int_equal(rw_merge_would_empty(m), 1u << 0);
    read_no = 3;
    push(0, 5, 0, 400); /* and it had: an earlier entry */
    drained(0, true);
    take(0, 5);
    take(1, 10); /* 0 found at its end by read 3, after 10 was read */
    assert_null(rw_merge_peek(m));
    /* A later read of the empty stream is enough; an older one is not. */
    read_no = 5;
    push(1, 11, 0, 600);
    rw_merge_set_drained(m, 0, true, 4);
    assert_null(rw_merge_peek(m));
    rw_merge_set_drained(m, 0, true, 5);
    take(1, 11);
    /* A snapshot never grows: its end holds nothing back. */
    read_no = 9;
    push(1, 12, 0, 700);
    final(0);
    take(1, 12);
    rw_merge_free(m);
}

/* An entry without a time (a dead letter to be) goes as soon as it heads its stream. */
static void test_first(void **state)
{
    (void)state;
    m = rw_merge_new(2);
    push(0, 1, 0, 100);
    push(1, 2, 0, 500);
    push(1, 3, 0, RW_MERGE_FIRST); /* behind 2 in its own stream: waits for it */
    push(1, 4, 0, 600);
    final(0);
    final(1);
    take(0, 1);
    take(1, 2);
    take(1, 3);
    take(1, 4);
    push(0, 5, 0, 100);
    push(1, 6, 0, RW_MERGE_FIRST); /* heads its stream: before an earlier key elsewhere */
    take(1, 6);
    take(0, 5);
    rw_merge_free(m);
}

static void test_would_empty(void **state)
{
    (void)state;
    m = rw_merge_new(3);
    assert_int_equal(rw_merge_would_empty(m), 7u);
    push(0, 1, 0, 1);
    push(0, 2, 0, 5);
    push(1, 3, 0, 3);
    final(2);
    /* 1 and 3 may go, then stream 1 is dry and holds 5 back: read 1 (and 2, at its end). */
    assert_int_equal(rw_merge_would_empty(m), (1u << 1) | (1u << 2));
    assert_int_equal(rw_merge_queued(m, 0), 2); /* only a look: nothing was taken */
    take(0, 1);
    take(1, 3);
    assert_null(rw_merge_peek(m));
    push(1, 4, 0, 9);
    /* Now 5 goes and stream 0 runs dry before 9 may. */
    assert_int_equal(rw_merge_would_empty(m), (1u << 0) | (1u << 2));
    rw_merge_free(m);
}

/* ---- the same order whatever the split of the reads ---- */

enum { NS = 3, MAXN = 60 };

struct book {
    int n[NS];
    int64_t key[NS][MAXN];
};

static void random_book(struct book *b, uint64_t *s)
{
    for (int st = 0; st < NS; st++) {
        b->n[st] = (int)(xs_next(s) % MAXN);
        int64_t t = 1000;
        for (int i = 0; i < b->n[st]; i++) {
            /* Mostly rising, some ties and some out of order, a few without a time. */
            t += (int64_t)(xs_next(s) % 5) - 1;
            b->key[st][i] = xs_next(s) % 16 == 0 ? RW_MERGE_FIRST : t;
        }
    }
}

static void push_entry(const struct book *b, int st, int i)
{
    push(st, (uint64_t)(st * 1000 + i + 1), 0, b->key[st][i]);
}

/* The ids taken, in order, into OUT; returns how many.  BATCHED: reads of random
 * sizes of the streams the merge asks for, one read number per round; else a
 * snapshot pushed whole. */
static int run(const struct book *b, uint64_t *s, bool batched, uint64_t *out)
{
    m = rw_merge_new(NS);
    int next[NS] = {0}, n = 0, total = b->n[0] + b->n[1] + b->n[2];
    read_no = 1;
    if (!batched) {
        for (int st = 0; st < NS; st++) {
            for (int i = 0; i < b->n[st]; i++)
                push_entry(b, st, i);
            final(st);
        }
    }
    bool idle_round = false;
    while (n < total) {
        struct rw_merge_item *it = rw_merge_peek(m);
        if (it) {
            out[n++] = it->id.ms;
            rw_merge_pop(m);
            idle_round = false;
            continue;
        }
        /* Stuck: a round of reads that brought nothing, and still nothing to take. */
        if (!batched || idle_round)
            fail_msg("stuck after %d of %d entries", n, total);
        uint32_t want = rw_merge_would_empty(m);
        assert_int_not_equal(want, 0);
        read_no++;
        idle_round = true;
        for (int st = 0; st < NS; st++) {
            if (!(want & (1u << st)))
                continue;
            /* A read of COUNT entries; short (drained) at the end of the stream. */
            int count = 1 + (int)(xs_next(s) % 7), got = 0;
            while (got < count && next[st] < b->n[st]) {
                push_entry(b, st, next[st]++);
                got++;
            }
            drained(st, got < count);
            idle_round = idle_round && got == 0;
        }
        /* One more look after an empty round: now every end is as recent as anything. */
    }
    assert_int_equal(rw_merge_queued_all(m), 0);
    rw_merge_free(m);
    return n;
}

static void test_batching_invariance(void **state)
{
    (void)state;
    uint64_t s = 0x3e76e;
    static uint64_t want[NS * MAXN], got[NS * MAXN];
    for (int iter = 0; iter < 500; iter++) {
        struct book b;
        random_book(&b, &s);
        int total = b.n[0] + b.n[1] + b.n[2];
        int nw = run(&b, &s, false, want);
        assert_int_equal(nw, total);
        for (int rep = 0; rep < 4; rep++) {
            int ng = run(&b, &s, true, got);
            assert_int_equal(ng, total);
            assert_memory_equal(got, want, (size_t)total * sizeof(want[0]));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_stream),
        cmocka_unit_test(test_streams_by_key),
        cmocka_unit_test(test_wait_for_empty_stream),
        cmocka_unit_test(test_read_numbers),
        cmocka_unit_test(test_first),
        cmocka_unit_test(test_would_empty),
        cmocka_unit_test(test_batching_invariance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
