/* test_applied.c - skip-at-or-below-last-applied, per stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "renewald/core/applied.h"

static struct rw_entry_id id(uint64_t ms, uint64_t seq)
{
    return (struct rw_entry_id){ms, seq};
}

static void test_first_entry_is_admitted(void **state)
{
    (void)state;
    struct rw_applied a;
    rw_applied_clear(&a);
    assert_true(rw_applied_admit(&a, 0, id(0, 1)));
    assert_true(a.has[0]);
    assert_int_equal(a.last[0].seq, 1);
}

static void test_replays_at_or_below_are_skipped(void **state)
{
    (void)state;
    struct rw_applied a;
    rw_applied_clear(&a);
    assert_true(rw_applied_admit(&a, 0, id(100, 0)));
    assert_true(rw_applied_admit(&a, 0, id(100, 1)));
    assert_true(rw_applied_admit(&a, 0, id(101, 0)));
    /* The same entries again, as after a crash before the ack landed. */
    assert_false(rw_applied_admit(&a, 0, id(100, 0)));
    assert_false(rw_applied_admit(&a, 0, id(100, 1)));
    assert_false(rw_applied_admit(&a, 0, id(101, 0)));
    assert_false(rw_applied_admit(&a, 0, id(99, 999)));
    /* The next new one. */
    assert_true(rw_applied_admit(&a, 0, id(101, 1)));
    assert_int_equal(a.last[0].ms, 101);
    assert_int_equal(a.last[0].seq, 1);
}

static void test_streams_are_independent(void **state)
{
    (void)state;
    struct rw_applied a;
    rw_applied_clear(&a);
    assert_true(rw_applied_admit(&a, 0, id(500, 0)));
    /* An older id on another stream is new there. */
    assert_true(rw_applied_admit(&a, 1, id(10, 0)));
    assert_true(rw_applied_admit(&a, 2, id(1000, 5)));
    assert_false(rw_applied_admit(&a, 1, id(10, 0)));
    assert_true(rw_applied_admit(&a, 1, id(11, 0)));
    assert_false(rw_applied_admit(&a, 0, id(499, 0)));
    assert_false(rw_applied_admit(&a, 2, id(1000, 5)));
    assert_true(rw_applied_admit(&a, 2, id(1000, 6)));
    assert_int_equal(a.last[0].ms, 500);
    assert_int_equal(a.last[1].ms, 11);
    assert_int_equal(a.last[2].seq, 6);
}

static void test_restore_from_text(void **state)
{
    (void)state;
    struct rw_applied a;
    rw_applied_clear(&a);
    assert_true(rw_applied_restore(&a, 3, "1700000000000-7", 15));
    assert_false(rw_applied_admit(&a, 3, id(1700000000000ULL, 7)));
    assert_false(rw_applied_admit(&a, 3, id(1699999999999ULL, 99)));
    assert_true(rw_applied_admit(&a, 3, id(1700000000000ULL, 8)));
    /* Untouched streams admit anything. */
    assert_true(rw_applied_admit(&a, 0, id(0, 0)));
}

static void test_restore_rejects_garbage_and_bad_streams(void **state)
{
    (void)state;
    struct rw_applied a;
    rw_applied_clear(&a);
    assert_false(rw_applied_restore(&a, 0, "abc", 3));
    assert_false(rw_applied_restore(&a, 0, "12-", 3));
    assert_false(rw_applied_restore(&a, 0, "-1-2", 4));
    assert_false(rw_applied_restore(&a, -1, "1-1", 3));
    assert_false(rw_applied_restore(&a, RW_MAX_STREAMS, "1-1", 3));
    assert_false(a.has[0]);
    assert_false(rw_applied_admit(&a, -1, id(1, 1)));
    assert_false(rw_applied_admit(&a, RW_MAX_STREAMS, id(1, 1)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_entry_is_admitted),
        cmocka_unit_test(test_replays_at_or_below_are_skipped),
        cmocka_unit_test(test_streams_are_independent),
        cmocka_unit_test(test_restore_from_text),
        cmocka_unit_test(test_restore_rejects_garbage_and_bad_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
