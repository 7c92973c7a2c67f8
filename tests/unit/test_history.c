/* test_history.c - the in-memory daily score ring: the newest day whole (bands
 * and all, as it is written out), older days packed to their scores, every
 * score in 0..100.0 and null kept exactly, restores in any day order, and the
 * memory a packed day costs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "renewald/core/history.h"

#define DAY0 20454
#define NORD 3001u

/* The entry of ordinal I on DAY: every score 0..1000 tenths, null and none occur. */
static uint16_t entry_of(int32_t day, uint32_t i)
{
    uint32_t k = (i * 7919u + (uint32_t)day * 104729u) % 1004u;
    if (k == 1001)
        return 0; /* none recorded */
    if (k == 1002)
        return rw_history_entry(3, false, 0); /* null score */
    return rw_history_entry((int)(k % 4), true, (int)(k % 1001u));
}

static int tenths_of(int32_t day, uint32_t i)
{
    return rw_history_tenths(entry_of(day, i));
}

static void record(struct rw_history *h, int32_t day)
{
    rw_history_begin_day(h, day);
    for (uint32_t i = 0; i < NORD; i++)
        rw_history_set(h, day, i, entry_of(day, i));
}

static void check_ring(const struct rw_history *h, int32_t first, int32_t newest)
{
    for (int32_t d = newest - RW_HISTORY_RING - 3; d <= newest + 1; d++) {
        bool held = d >= first && d > newest - RW_HISTORY_RING && d <= newest;
        for (uint32_t i = 0; i < NORD + 5; i++) {
            int want = held && i < NORD ? tenths_of(d, i) : -1;
            assert_int_equal(rw_history_tenths_at(h, d, i), want);
        }
        uint32_t n = 0;
        const uint16_t *v = rw_history_day(h, d, &n);
        if (d == newest) { /* whole: the bands are still there to be written out */
            assert_non_null(v);
            assert_int_equal(n, NORD);
            for (uint32_t i = 0; i < NORD; i++)
                assert_int_equal(v[i], entry_of(d, i));
        } else {
            assert_null(v);
            assert_int_equal(n, 0);
        }
    }
}

static void test_days_roll_and_pack(void **state)
{
    (void)state;
    struct rw_history *h = rw_history_new();
    assert_non_null(h);
    for (int32_t d = DAY0; d < DAY0 + 40; d++) {
        record(h, d);
        check_ring(h, DAY0, d);
        if (d % 3 == 0) { /* its sweep ended: packed as well, the scores kept */
            rw_history_end_day(h, d);
            uint32_t n = 1;
            assert_null(rw_history_day(h, d, &n));
            assert_int_equal(n, 0);
            for (uint32_t i = 0; i < NORD; i++)
                assert_int_equal(rw_history_tenths_at(h, d, i), tenths_of(d, i));
        }
    }
    /* A day begun again (a sweep resumed) is whole again, its scores kept, bands 0. */
    rw_history_end_day(h, DAY0 + 39);
    rw_history_begin_day(h, DAY0 + 39);
    uint32_t n = 0;
    const uint16_t *v = rw_history_day(h, DAY0 + 39, &n);
    assert_non_null(v);
    assert_int_equal(n, NORD);
    for (uint32_t i = 0; i < NORD; i++) {
        int t = tenths_of(DAY0 + 39, i);
        assert_int_equal(v[i], t < 0 ? 0 : rw_history_entry(0, true, t));
    }
    record(h, DAY0 + 39);
    /* An older day set after it was packed keeps its score. */
    rw_history_set(h, DAY0 + 30, 5, rw_history_entry(1, true, 1000));
    assert_int_equal(rw_history_tenths_at(h, DAY0 + 30, 5), 1000);
    rw_history_set(h, DAY0 + 30, NORD + 10, rw_history_entry(1, true, 0));
    assert_int_equal(rw_history_tenths_at(h, DAY0 + 30, NORD + 10), 0);
    assert_int_equal(rw_history_tenths_at(h, DAY0 + 30, NORD + 9), -1);
    assert_int_equal(rw_history_tenths_at(h, DAY0 + 30, 4), tenths_of(DAY0 + 30, 4));
    assert_int_equal(rw_history_tenths_at(h, DAY0 + 30, 6), tenths_of(DAY0 + 30, 6));
    rw_history_set(h, DAY0 + 30, 5, entry_of(DAY0 + 30, 5));
    /* A day older than the newest is never begun over it. */
    rw_history_begin_day(h, DAY0 + 39 - RW_HISTORY_RING);
    check_ring(h, DAY0, DAY0 + 39);
    rw_history_free(h);
}

static void load(struct rw_history *h, int32_t day)
{
    unsigned char *b = malloc(2 * NORD);
    assert_non_null(b);
    for (uint32_t i = 0; i < NORD; i++) {
        uint16_t e = entry_of(day, i);
        b[2 * i] = (unsigned char)(e & 0xff);
        b[2 * i + 1] = (unsigned char)(e >> 8);
    }
    rw_history_load_day(h, day, b, 2 * NORD);
    free(b);
}

static void test_restore_any_order(void **state)
{
    (void)state;
    int32_t newest = DAY0 + 50;
    struct rw_history *up = rw_history_new(), *down = rw_history_new();
    for (int32_t d = newest - RW_HISTORY_RING + 1; d <= newest; d++)
        load(up, d);
    for (int32_t d = newest; d > newest - RW_HISTORY_RING; d--)
        load(down, d);
    check_ring(up, 0, newest);
    check_ring(down, 0, newest);
    /* The next day begins: the restored newest is packed in turn. */
    record(up, newest + 1);
    check_ring(up, 0, newest + 1);
    rw_history_free(up);
    rw_history_free(down);
}

static void test_packed_memory(void **state)
{
    (void)state;
    const uint32_t n = 100000;
    struct rw_history *h = rw_history_new();
    for (int32_t d = DAY0; d < DAY0 + RW_HISTORY_RING; d++) {
        rw_history_begin_day(h, d);
        for (uint32_t i = 0; i < n; i++)
            rw_history_set(h, d, i, rw_history_entry(1, true, (int)(i % 1001)));
    }
    /* 31 packed days at 10 bits, the newest at 16 (its array grows by doubling). */
    size_t bound = (size_t)(RW_HISTORY_RING - 1) * (n * 10 / 8 + 64) + 2 * 131072 + 4096;
    assert_true(rw_history_memory(h) <= bound);
    rw_history_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days_roll_and_pack),
        cmocka_unit_test(test_restore_any_order),
        cmocka_unit_test(test_packed_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
