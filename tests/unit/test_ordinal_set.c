/* test_ordinal_set.c - the set of ordinals behind the sweep's order and its
 * out-of-turn skips: membership, growth, draining in order without duplicates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "renewald/core/ordinal_set.h"

static void test_members_grow_and_drain_in_order(void **state)
{
    (void)state;
    struct rw_ordinal_set s = {0};
    assert_false(rw_ordinal_set_has(&s, 0));
    assert_false(rw_ordinal_set_has(&s, 5000000)); /* beyond the words: not a member */
    static const uint32_t add[] = {70000, 3, 64, 63, 3, 1000000, 0, 64, 127, 128};
    for (size_t i = 0; i < sizeof add / sizeof add[0]; i++)
        rw_ordinal_set_add(&s, add[i]);
    for (size_t i = 0; i < sizeof add / sizeof add[0]; i++)
        assert_true(rw_ordinal_set_has(&s, add[i]));
    assert_false(rw_ordinal_set_has(&s, 1));
    assert_false(rw_ordinal_set_has(&s, 65));
    assert_false(rw_ordinal_set_has(&s, 999999));
    uint32_t out[16];
    size_t n = rw_ordinal_set_drain(&s, out);
    static const uint32_t want[] = {0, 3, 63, 64, 127, 128, 70000, 1000000};
    assert_int_equal(n, sizeof want / sizeof want[0]);
    assert_memory_equal(out, want, sizeof want);
    /* Drained: empty, and a second drain finds nothing. */
    for (size_t i = 0; i < sizeof add / sizeof add[0]; i++)
        assert_false(rw_ordinal_set_has(&s, add[i]));
    assert_int_equal(rw_ordinal_set_drain(&s, out), 0);
    rw_ordinal_set_free(&s);
}

static void test_clear_empties_and_keeps_working(void **state)
{
    (void)state;
    struct rw_ordinal_set s = {0};
    rw_ordinal_set_clear(&s); /* nothing allocated yet */
    for (uint32_t o = 0; o < 5000; o += 7)
        rw_ordinal_set_add(&s, o);
    rw_ordinal_set_clear(&s);
    for (uint32_t o = 0; o < 5000; o++)
        assert_false(rw_ordinal_set_has(&s, o));
    rw_ordinal_set_add(&s, 4999);
    assert_true(rw_ordinal_set_has(&s, 4999));
    uint32_t out[2];
    assert_int_equal(rw_ordinal_set_drain(&s, out), 1);
    assert_int_equal(out[0], 4999);
    rw_ordinal_set_free(&s);
    assert_null(s.words);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_members_grow_and_drain_in_order),
        cmocka_unit_test(test_clear_empties_and_keeps_working),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
