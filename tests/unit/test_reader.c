/* test_reader.c - an XREADGROUP reply into the merge (rw_reader_take_reply): entries in
 * order with their keys, which streams are known to be at their end, and replies of any
 * other shape refused whole.  Replies are built by hand, as hiredis would hand them over. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "renewald/stream_reader.h"

/* ---- hand-made replies (freed with rfree) ---- */

static redisReply *rnew(int type)
{
    redisReply *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->type = type;
    return r;
}

static redisReply *rstr(const char *s)
{
    redisReply *r = rnew(REDIS_REPLY_STRING);
    r->len = strlen(s);
    r->str = strdup(s);
    return r;
}

static redisReply *rnil(void)
{
    return rnew(REDIS_REPLY_NIL);
}

/* An array of N elements given as arguments. */
static redisReply *rarr(size_t n, ...)
{
    redisReply *r = rnew(REDIS_REPLY_ARRAY);
    r->elements = n;
    r->element = calloc(n ? n : 1, sizeof(*r->element));
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        r->element[i] = va_arg(ap, redisReply *);
    va_end(ap);
    return r;
}

static void rfree(redisReply *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->elements; i++)
        rfree(r->element[i]);
    free(r->element);
    free(r->str);
    free(r);
}

/* [id, ["event", raw]] */
static redisReply *entry(const char *id, const char *raw)
{
    return rarr(2, rstr(id), rarr(2, rstr("event"), rstr(raw)));
}

/* [stream, [entries...]] built from N entries. */
static redisReply *stream2(const char *name, redisReply *e1, redisReply *e2)
{
    return rarr(2, rstr(name), e2 ? rarr(2, e1, e2) : e1 ? rarr(1, e1) : rarr(0));
}

/* ---- fixture ---- */

static char s0[] = "events:usage", s1[] = "events:support", s2[] = "events:accounts";
static struct rw_config cfg;
static struct rw_merge *m;
static struct rw_read_result res;
static int key_calls;

/* The merge key: 1000 + the id's ms; records what it saw. */
static int64_t key_of(void *arg, int stream, struct rw_entry_id id, const char *raw, size_t len)
{
    assert_ptr_equal(arg, &key_calls);
    assert_true(stream >= 0 && stream < 3);
    assert_non_null(raw);
    assert_true(len > 0);
    key_calls++;
    return 1000 + (int64_t)id.ms;
}

static int setup(void **state)
{
    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    cfg.streams[0] = s0;
    cfg.streams[1] = s1;
    cfg.streams[2] = s2;
    cfg.nstreams = 3;
    cfg.batch = 2;
    m = rw_merge_new(3);
    key_calls = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rw_merge_free(m);
    return 0;
}

/* Takes REPLY with COUNT 2, read number 7; the reply is freed (the merge owns copies). */
static bool take(redisReply *reply, uint32_t requested, uint32_t pending, bool blocked)
{
    memset(&res, 0x5a, sizeof(res));
    bool ok = rw_reader_take_reply(reply, &cfg, requested, pending, blocked, 2, 7, m, key_of,
                                   &key_calls, &res);
    rfree(reply);
    return ok;
}

/* The next item is ID of STREAM with RAW (NULL: none) and KEY; pops it. */
static void next_is(int stream, const char *id, const char *raw, int64_t key)
{
    struct rw_merge_item *it = rw_merge_peek(m);
    assert_non_null(it);
    assert_int_equal(it->stream, stream);
    assert_string_equal(it->id_str, id);
    if (raw) {
        assert_non_null(it->raw);
        assert_int_equal(it->raw_len, strlen(raw));
        assert_memory_equal(it->raw, raw, it->raw_len);
    } else {
        assert_null(it->raw);
    }
    assert_true(it->key_ms == key);
    assert_int_equal(it->read_seq, 7);
    rw_merge_pop(m);
}

static void test_nil(void **state)
{
    (void)state;
    assert_true(take(rnil(), 0x3, 0, false));
    for (int s = 0; s < 3; s++) {
        assert_int_equal(res.returned[s], 0);
        assert_true(res.newest_ms[s] == 0);
        assert_string_equal(res.last_id[s], "");
    }
    /* Nothing came back: the requested streams are at their end, the other is unknown. */
    assert_true(rw_merge_drained(m, 0));
    assert_true(rw_merge_drained(m, 1));
    assert_false(rw_merge_drained(m, 2));
    assert_int_equal(rw_merge_queued_all(m), 0);
    assert_int_equal(key_calls, 0);
}

static void test_two_streams(void **state)
{
    (void)state;
    redisReply *r = rarr(2, stream2(s0, entry("100-0", "{\"a\":1}"), entry("105-3", "{\"b\":2}")),
                         stream2(s2, entry("90-1", "{\"c\":3}"), NULL));
    assert_true(take(r, 0x7, 0, false));
    assert_int_equal(key_calls, 3);
    assert_int_equal(res.returned[0], 2);
    assert_int_equal(res.returned[1], 0);
    assert_int_equal(res.returned[2], 1);
    assert_true(res.newest_ms[0] == 105 && res.newest_ms[2] == 90 && res.newest_ms[1] == 0);
    assert_string_equal(res.last_id[0], "105-3");
    assert_string_equal(res.last_id[1], "");
    assert_string_equal(res.last_id[2], "90-1");
    /* COUNT 2: stream 0 came back full (maybe more), 1 and 2 short (at their end). */
    assert_false(rw_merge_drained(m, 0));
    assert_true(rw_merge_drained(m, 1));
    assert_true(rw_merge_drained(m, 2));
    assert_int_equal(rw_merge_queued(m, 0), 2);
    assert_int_equal(rw_merge_queued(m, 2), 1);
    next_is(2, "90-1", "{\"c\":3}", 1090);
    next_is(0, "100-0", "{\"a\":1}", 1100);
    next_is(0, "105-3", "{\"b\":2}", 1105);
}

/* Entries without an event: deleted while pending (nil fields), no `event` field, a bad id. */
static void test_odd_entries(void **state)
{
    (void)state;
    redisReply *r = rarr(
        1, rarr(2, rstr(s1),
                rarr(4, rarr(2, rstr("7-0"), rnil()),
                     rarr(2, rstr("8-0"), rarr(2, rstr("other"), rstr("x"))),
                     rarr(2, rstr("not-an-id"), rarr(2, rstr("event"), rstr("{}"))),
                     rarr(2, rstr("9-0"),
                          rarr(4, rstr("eventx"), rstr("y"), rstr("event"), rstr("{\"d\":4}"))))));
    assert_true(take(r, 0x2, 0, false));
    assert_int_equal(key_calls, 1); /* only the one with an event and a good id */
    assert_int_equal(res.returned[1], 4);
    assert_string_equal(res.last_id[1], "9-0");
    assert_true(res.newest_ms[1] == 9); /* the bad id does not count */
    assert_false(rw_merge_drained(m, 1));
    rw_merge_set_drained(m, 0, true, RW_MERGE_FINAL); /* so that stream 1 may go alone */
    rw_merge_set_drained(m, 2, true, RW_MERGE_FINAL);
    next_is(1, "7-0", NULL, RW_MERGE_FIRST);
    next_is(1, "8-0", NULL, RW_MERGE_FIRST);
    struct rw_merge_item *it = rw_merge_peek(m);
    assert_non_null(it);
    assert_true(it->bad_id);
    next_is(1, "not-an-id", "{}", RW_MERGE_FIRST);
    next_is(1, "9-0", "{\"d\":4}", 1009);

    /* Without a key function (one stream), every key is RW_MERGE_FIRST. */
    rw_merge_set_drained(m, 1, true, RW_MERGE_FINAL);
    r = rarr(1, stream2(s0, entry("1-1", "{}"), NULL));
    assert_true(rw_reader_take_reply(r, &cfg, 1, 0, false, 2, 7, m, NULL, NULL, &res));
    rfree(r);
    next_is(0, "1-1", "{}", RW_MERGE_FIRST);
}

/* Pending-phase streams say nothing of their end; unrequested streams are not touched. */
static void test_drained_flags(void **state)
{
    (void)state;
    rw_merge_set_drained(m, 2, true, 3);
    redisReply *r =
        rarr(2, stream2(s0, entry("1-0", "{}"), NULL), stream2(s1, entry("2-0", "{}"), NULL));
    assert_true(take(r, 0x3, 0x2, false)); /* stream 1 re-reads its pending entries */
    assert_true(rw_merge_drained(m, 0));
    assert_false(rw_merge_drained(m, 1)); /* short, but pending: no verdict */
    assert_true(rw_merge_drained(m, 2));  /* unrequested: as it was */
    /* A full pending read leaves a drained flag alone too. */
    rw_merge_set_drained(m, 1, true, 3);
    r = rarr(1, stream2(s1, entry("3-0", "{}"), entry("4-0", "{}")));
    assert_true(take(r, 0x2, 0x2, false));
    assert_true(rw_merge_drained(m, 1));
    /* A full read of new entries (not pending) clears it. */
    r = rarr(1, stream2(s1, entry("5-0", "{}"), entry("6-0", "{}")));
    assert_true(take(r, 0x2, 0, false));
    assert_false(rw_merge_drained(m, 1));
}

/* After a BLOCK, Redis answers with the stream that woke it: the others say nothing. */
static void test_blocked(void **state)
{
    (void)state;
    redisReply *r = rarr(1, stream2(s1, entry("5-0", "{}"), NULL));
    assert_true(take(r, 0x3, 0, true));
    assert_false(rw_merge_drained(m, 0)); /* absent from a woken read: unknown */
    assert_true(rw_merge_drained(m, 1));  /* present and short */
    assert_int_equal(rw_merge_queued(m, 1), 1);
    /* A blocked read that timed out (NIL) vouches for no stream either. */
    rw_merge_set_drained(m, 2, true, RW_MERGE_FINAL);
    rw_merge_set_drained(m, 0, true, 3);
    redisReply nil = {.type = REDIS_REPLY_NIL};
    assert_true(rw_reader_take_reply(&nil, &cfg, 0x1, 0, true, 2, 9, m, key_of, &key_calls, &res));
    assert_true(rw_merge_drained(m, 0));
    assert_null(rw_merge_peek(m)); /* 0 was found at its end by read 3, before read 7's entry */
    /* The same NIL from a read that did not block: 0 is at its end as of read 9. */
    assert_true(rw_reader_take_reply(&nil, &cfg, 0x1, 0, false, 2, 9, m, key_of, &key_calls, &res));
    next_is(1, "5-0", "{}", 1005);
}

/* Any other shape: false, and nothing pushed even when the bad part comes last. */
static void test_refused(void **state)
{
    (void)state;
    rw_merge_set_drained(m, 0, true, 1);
    char long_id[RW_ENTRY_ID_MAX + 8];
    memset(long_id, '1', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    redisReply *bad[] = {
        rnew(REDIS_REPLY_INTEGER),
        rstr("OK"),
        rarr(1, stream2("events:unknown", entry("1-0", "{}"), NULL)),
        rarr(2, stream2(s1, entry("1-0", "{}"), NULL),
             stream2("events:unknown", entry("2-0", "{}"), NULL)),
        rarr(2, stream2(s1, entry("1-0", "{}"), NULL), rarr(1, rstr(s0))),
        rarr(1, rarr(2, rstr(s0), rstr("x"))),
        rarr(1, stream2(s0, entry("1-0", "{}"), rarr(1, rstr("2-0")))),
        rarr(1, stream2(s0, rarr(2, rstr("1-0"), rstr("event")), NULL)),
        rarr(1, stream2(s0, entry(long_id, "{}"), NULL)),
        rarr(1, rarr(2, rnew(REDIS_REPLY_INTEGER), rarr(0))),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (take(bad[i], 0x7, 0, false))
            fail_msg("reply %zu accepted", i);
        assert_int_equal(rw_merge_queued_all(m), 0);
        assert_true(rw_merge_drained(m, 0));
        assert_false(rw_merge_drained(m, 1));
        assert_int_equal(key_calls, 0);
    }
    /* The longest id that fits is fine. */
    long_id[RW_ENTRY_ID_MAX - 1] = '\0';
    assert_true(take(rarr(1, stream2(s2, entry(long_id, "{}"), NULL)), 0x4, 0, false));
    assert_string_equal(res.last_id[2], long_id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nil, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_odd_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drained_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
