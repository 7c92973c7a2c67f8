/* test_reply_arena.c - hiredis replies built in the arena (reply_arena.h): the
 * same objects as hiredis' own for every reply type, nested arrays, replies one
 * after the other in one buffer, a reply split over many feeds, a partial reply
 * left when the reader goes, and memory reused rather than grown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/reply_arena.h"

/* Structural equality of two replies. */
static void assert_same(const redisReply *a, const redisReply *b)
{
    assert_int_equal(a->type, b->type);
    switch (a->type) {
    case REDIS_REPLY_INTEGER:
        assert_true(a->integer == b->integer);
        break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        assert_int_equal(a->len, b->len);
        assert_memory_equal(a->str, b->str, a->len);
        assert_int_equal(a->str[a->len], '\0');
        break;
    case REDIS_REPLY_ARRAY:
        assert_int_equal(a->elements, b->elements);
        for (size_t i = 0; i < a->elements; i++)
            assert_same(a->element[i], b->element[i]);
        break;
    default:
        break;
    }
}

/* Parses PROTO with hiredis' own objects (the reference). */
static redisReply *reference(const char *proto, size_t len)
{
    redisReader *r = redisReaderCreate();
    assert_int_equal(redisReaderFeed(r, proto, len), REDIS_OK);
    void *reply = NULL;
    assert_int_equal(redisReaderGetReply(r, &reply), REDIS_OK);
    assert_non_null(reply);
    redisReaderFree(r);
    return reply;
}

static const char *const PROTOS[] = {
    "+OK\r\n",
    "-ERR something went wrong\r\n",
    ":-42\r\n",
    "$-1\r\n",
    "$0\r\n\r\n",
    "$5\r\nhello\r\n",
    "*0\r\n",
    "*-1\r\n",
    /* an XREADGROUP reply: [[stream, [[id, [field, value]], [id, [field, value]]]]] */
    "*1\r\n*2\r\n$12\r\nevents:usage\r\n*2\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$5\r\nevent\r\n"
    "$13\r\n{\"account\":1}\r\n*2\r\n$3\r\n2-0\r\n*-1\r\n",
    "*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n-NOPE\r\n",
};

static void test_same_objects_as_hiredis(void **state)
{
    (void)state;
    struct rw_reply_arena *a = rw_reply_arena_new();
    redisReader *r = redisReaderCreate();
    rw_reply_arena_attach(a, r);
    /* All of them in one buffer: replies are taken one after the other, each
     * freed (its root) before the next is built. */
    char all[4096] = "";
    for (size_t i = 0; i < sizeof(PROTOS) / sizeof(PROTOS[0]); i++)
        strcat(all, PROTOS[i]);
    assert_int_equal(redisReaderFeed(r, all, strlen(all)), REDIS_OK);
    for (size_t i = 0; i < sizeof(PROTOS) / sizeof(PROTOS[0]); i++) {
        void *reply = NULL;
        assert_int_equal(redisReaderGetReply(r, &reply), REDIS_OK);
        assert_non_null(reply);
        redisReply *want = reference(PROTOS[i], strlen(PROTOS[i]));
        assert_same(reply, want);
        freeReplyObject(want);
        r->fn->freeObject(reply);
    }
    void *none = NULL;
    assert_int_equal(redisReaderGetReply(r, &none), REDIS_OK);
    assert_null(none);
    redisReaderFree(r);
    rw_reply_arena_free(a);
}

/* A big reply fed a few bytes at a time, many times over: the arena reaches
 * its size once and stays there. */
static void test_big_reply_in_pieces_reuses_memory(void **state)
{
    (void)state;
    enum { N = 3000 };
    size_t cap = (size_t)N * 128 + 64, len = 0;
    char *proto = malloc(cap);
    assert_non_null(proto);
    len += (size_t)sprintf(proto + len, "*%d\r\n", N);
    for (int i = 0; i < N; i++)
        len += (size_t)sprintf(proto + len,
                               "*2\r\n$%d\r\n%d-0\r\n*2\r\n$5\r\nevent\r\n$20\r\n%020d\r\n",
                               (int)snprintf(NULL, 0, "%d-0", i), i, i);
    redisReply *want = reference(proto, len);
    struct rw_reply_arena *a = rw_reply_arena_new();
    redisReader *r = redisReaderCreate();
    rw_reply_arena_attach(a, r);
    size_t held = 0;
    for (int round = 0; round < 5; round++) {
        void *reply = NULL;
        for (size_t off = 0; off < len; off += 7) {
            size_t n = len - off < 7 ? len - off : 7;
            assert_int_equal(redisReaderFeed(r, proto + off, n), REDIS_OK);
            assert_int_equal(redisReaderGetReply(r, &reply), REDIS_OK);
            if (reply)
                assert_true(off + n == len);
        }
        assert_non_null(reply);
        assert_same(reply, want);
        r->fn->freeObject(reply);
        if (round == 0)
            held = rw_reply_arena_held(a);
        else
            assert_true(rw_reply_arena_held(a) <= held);
    }
    assert_true(held > 0);
    /* A reply cut in the middle when the reader goes: freed with it. */
    assert_int_equal(redisReaderFeed(r, proto, len / 2), REDIS_OK);
    void *partial = NULL;
    assert_int_equal(redisReaderGetReply(r, &partial), REDIS_OK);
    assert_null(partial);
    redisReaderFree(r);
    rw_reply_arena_free(a);
    freeReplyObject(want);
    free(proto);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_objects_as_hiredis),
        cmocka_unit_test(test_big_reply_in_pieces_reuses_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
