/*
 * test_event_oom.c - the event parser when jansson runs out of memory: a valid
 * event is parsed or refused with "out_of_memory", never dead-lettered.
 *
 * jansson's allocator is replaced by one that fails the Nth allocation (or the
 * Nth and every later one), for N = 1, 2, ... until a parse never reaches N.
 * The jansson reader is what allocates; the scanner of flat events allocates
 * nothing (checked too).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "renewald/core/event.h"

#define NOW INT64_C(1795168800000) /* 2026-11-20T10:00:00Z */

static const struct rw_entry_id entry_id = {UINT64_C(1795168800000), 0};

/* The failing allocator: counts calls, fails from call number fail_at on. */
static struct {
    size_t calls;   /* allocations asked for since the last arm() */
    size_t fail_at; /* 1-based call to fail; 0 = never */
    bool sticky;    /* fail every call after fail_at too */
    size_t failed;  /* allocations refused */
    long live;      /* allocations not yet freed */
} fa;

static void *failing_malloc(size_t n)
{
    fa.calls++;
    if (fa.fail_at && (fa.calls == fa.fail_at || (fa.sticky && fa.calls > fa.fail_at))) {
        fa.failed++;
        return NULL;
    }
    void *p = malloc(n);
    if (p)
        fa.live++;
    return p;
}

static void failing_free(void *p)
{
    if (p)
        fa.live--;
    free(p);
}

static void arm(size_t fail_at, bool sticky)
{
    fa.calls = 0;
    fa.fail_at = fail_at;
    fa.sticky = sticky;
    fa.failed = 0;
}

static int setup(void **state)
{
    (void)state;
    memset(&fa, 0, sizeof fa);
    json_set_alloc_funcs(failing_malloc, failing_free);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    json_set_alloc_funcs(malloc, free);
    return 0;
}

/* An ordinary event: long strings (so jansson's buffers grow), escapes, nesting. */
static const char plain_event[] =
    "{\"account\":\"acme-corporation-international-\\u00e9\",\"type\":\"feature_used\","
    "\"ts\":\"2026-11-20T09:59:59.250Z\",\"value\":2.5,"
    "\"props\":{\"feature\":\"export\",\"list\":[1,2.5,true,false,null,\"x\"],"
    "\"nested\":{\"a\":{\"b\":[]}}},\"n\":-17}";

/* An `account` event: every metadata key, one of them cleared. */
static const char account_event[] =
    "{\"account\":\"acme-corporation-international\",\"type\":\"account\",\"ts\":1795168000000,"
    "\"name\":\"Acme Corporation \\\"International\\\"\",\"owner\":\"csm.owner@example.com\","
    "\"tier\":\"enterprise-plus\",\"arr\":125000.5,\"seats\":null,"
    "\"renewal_date\":\"2027-03-31\"}";

static void check_plain(const struct rw_event *ev)
{
    assert_string_equal(ev->account, "acme-corporation-international-\xc3\xa9");
    assert_int_equal(ev->account_len, 33);
    assert_string_equal(ev->type, "feature_used");
    assert_int_equal(ev->ts_ms, INT64_C(1795168799250));
    assert_true(ev->value == 2.5);
    assert_false(ev->is_account);
}

static void check_account(const struct rw_event *ev)
{
    assert_string_equal(ev->account, "acme-corporation-international");
    assert_string_equal(ev->type, "account");
    assert_true(ev->is_account);
    assert_int_equal(ev->ts_ms, INT64_C(1795168000000));
    assert_int_equal(ev->meta_set, RW_META_NAME | RW_META_OWNER | RW_META_TIER | RW_META_ARR |
                                       RW_META_RENEWAL_DATE);
    assert_int_equal(ev->meta_null, RW_META_SEATS);
    assert_string_equal(ev->name, "Acme Corporation \"International\"");
    assert_string_equal(ev->owner, "csm.owner@example.com");
    assert_string_equal(ev->tier, "enterprise-plus");
    assert_true(ev->arr == 125000.5);
    assert_int_equal(ev->renewal_day, 20908); /* 2027-03-31 */
}

/*
 * Parses S with the Nth allocation failing, N = 1, 2, ... until a parse does
 * not reach N: a parse that hit a failure must say out_of_memory (one that
 * "succeeded" may hold a string jansson silently cut short), any other must
 * succeed with the right fields.  Nothing may leak either way, and the
 * parser must leave jansson's allocator as it found it.
 */
static void sweep(const char *s, void (*check)(const struct rw_event *), bool sticky)
{
    size_t n;
    for (n = 1; n < 10000; n++) {
        struct rw_event ev;
        arm(n, sticky);
        const char *r = rw_event_parse_jansson(entry_id, s, strlen(s), NOW, true, &ev);
        const bool hit = fa.failed > 0;

        json_malloc_t m;
        json_free_t f;
        json_get_alloc_funcs(&m, &f);
        assert_true(m == failing_malloc && f == failing_free);
        if (fa.live != 0)
            fail_msg("N=%zu: %ld jansson allocations leaked", n, fa.live);

        if (hit) {
            if (r != rw_event_oom_reason)
                fail_msg("N=%zu%s of %zu allocations: got %s, want out_of_memory", n,
                         sticky ? "+" : "", fa.calls, r ? r : "success");
            assert_string_equal(r, "out_of_memory");
        } else {
            if (r != NULL)
                fail_msg("N=%zu (not reached, %zu allocations): got %s", n, fa.calls, r);
            check(&ev);
            break;
        }
    }
    assert_true(n > 1); /* the parse allocates: at least one failure was injected */
    arm(0, false);
}

/* The scanner reads flat events without a single allocation. */
static void test_scanner_allocates_nothing(void **state)
{
    (void)state;
    const char *flat[] = {account_event,
                          "{\"account\":\"a\\u00e9\",\"type\":\"login\",\"ts\":1795168000000,"
                          "\"value\":2.5e0,\"source\":\"web\",\"ok\":true,\"n\":null}"};
    for (size_t i = 0; i < 2; i++) {
        struct rw_event ev;
        arm(1, true); /* every allocation would fail */
        const char *r = rw_event_parse(entry_id, flat[i], strlen(flat[i]), NOW, true, &ev);
        assert_int_equal(fa.calls, 0);
        assert_null(r);
    }
    arm(0, false);
}

static void test_plain_nth(void **state)
{
    (void)state;
    sweep(plain_event, check_plain, false);
}

static void test_plain_from_nth(void **state)
{
    (void)state;
    sweep(plain_event, check_plain, true);
}

static void test_account_nth(void **state)
{
    (void)state;
    sweep(account_event, check_account, false);
}

static void test_account_from_nth(void **state)
{
    (void)state;
    sweep(account_event, check_account, true);
}

/* An event that is bad on its own keeps its reason, or says out_of_memory. */
static void test_bad_event_under_oom(void **state)
{
    (void)state;
    static const struct {
        const char *s, *reason;
    } bad[] = {
        {"{\"account\":\"acme-corporation\",\"type\":\"login\"", "invalid_json"},
        {"[\"account\",\"type\"]", "not_object"},
        {"{\"account\":\"acme-corporation\",\"type\":\"login\",\"ts\":\"yesterday\"}", "bad_ts"},
        {"{\"account\":\"acme-corporation\",\"type\":\"account\",\"owner\":\"nobody\"}",
         "bad_owner"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (size_t n = 1; n < 10000; n++) {
            struct rw_event ev;
            arm(n, false);
            const char *r = rw_event_parse(entry_id, bad[i].s, strlen(bad[i].s), NOW, true, &ev);
            assert_int_equal(fa.live, 0);
            assert_non_null(r);
            if (fa.failed > 0 && r == rw_event_oom_reason)
                continue;
            if (strcmp(r, bad[i].reason) != 0)
                fail_msg("%s, N=%zu: got %s want %s", bad[i].s, n, r, bad[i].reason);
            if (fa.failed == 0)
                break;
        }
    }
    arm(0, false);
}

/* out_of_memory is not a dead-letter reason: the metrics never count it. */
static void test_not_a_dead_letter_reason(void **state)
{
    (void)state;
    assert_string_equal(rw_event_oom_reason, "out_of_memory");
    for (size_t i = 0; rw_event_reasons[i]; i++)
        assert_string_not_equal(rw_event_reasons[i], rw_event_oom_reason);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_scanner_allocates_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plain_nth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plain_from_nth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_account_nth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_account_from_nth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_event_under_oom, setup, teardown),
        cmocka_unit_test(test_not_a_dead_letter_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
