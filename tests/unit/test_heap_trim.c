/* test_heap_trim.c - the idle trim: it looks at most once a second, trims only
 * when enough of the heap is free, and then not again for ten seconds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "renewald/heap_trim.h"

enum { BLOCKS = 40000, BLOCK = 512 }; /* ~20 MiB in blocks malloc keeps in its heap */

static void free_a_burst(void)
{
    static void *p[BLOCKS];
    for (int i = 0; i < BLOCKS; i++) {
        p[i] = malloc(BLOCK);
        assert_non_null(p[i]);
    }
    void *keep = malloc(64); /* above the burst: its pages can only go back by a trim */
    assert_non_null(keep);
    for (int i = 0; i < BLOCKS; i++)
        free(p[i]);
    free(keep);
}

#ifdef __SANITIZE_ADDRESS__
/* Under ASan malloc is the sanitizer's: glibc's heap holds nothing to trim,
 * and the trim must then never run. */
static void test_trims_after_a_burst_only(void **state)
{
    (void)state;
    const int64_t t = 1000000;
    free_a_burst();
    for (int64_t k = 0; k < 30; k++)
        assert_false(rw_heap_trim_idle(t + k * 1000));
}
#else
static void test_trims_after_a_burst_only(void **state)
{
    (void)state;
    const int64_t t = 1000000;
    assert_false(rw_heap_trim_idle(t)); /* little is free: nothing to do */
    free_a_burst();
    assert_false(rw_heap_trim_idle(t + 500)); /* not a second since the last look */
    assert_true(rw_heap_trim_idle(t + 1000));
    free_a_burst();
    assert_false(rw_heap_trim_idle(t + 2000)); /* trimmed less than 10 s ago */
    assert_false(rw_heap_trim_idle(t + 10999));
    assert_true(rw_heap_trim_idle(t + 11000));
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trims_after_a_burst_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
