/* test_cluster_proto.c - hash slots of hash tags, cluster errors, CLUSTER SHARDS/SLOTS replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/cluster.h"
#include "renewald/core/cluster_proto.h"

static int slot_of(const char *key)
{
    return rw_cluster_key_slot(key, strlen(key));
}

static void test_crc16(void **state)
{
    (void)state;
    /* The check value of CRC16/XMODEM, and the slots Redis' CLUSTER KEYSLOT gives. */
    assert_int_equal(rw_cluster_crc16("123456789", 9), 0x31C3);
    assert_int_equal(rw_cluster_crc16("", 0), 0);
    assert_int_equal(slot_of("foo"), 12182);
    assert_int_equal(slot_of("123456789"), 12739);
    assert_int_equal(slot_of("x{p0}y"), 15882);
    assert_int_equal(slot_of("x{p1}y"), 11819);
    assert_int_equal(slot_of("x{p2}y"), 7752);
    assert_int_equal(slot_of("x{p3}y"), 3689);
}

static void test_hash_tags(void **state)
{
    (void)state;
    /* Every key of an instance, and its streams, share the slot of the tag. */
    const char *keys[] = {"renewald:{p0}:state",
                          "renewald:{p0}:meta",
                          "renewald:{p0}:lease",
                          "renewald:{p0}:history:2026-11-20",
                          "events:{p0}:usage",
                          "events:{p0}:support",
                          "{p0}",
                          "p0{p0}{p1}",
                          "renewald:{p0}:alerts",
                          "renewald:{p0}:alerts:dead"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_int_equal(slot_of(keys[i]), slot_of("p0"));
    size_t off = 99, n = 99;
    assert_true(rw_cluster_hash_tag("renewald:{p0}:", 14, &off, &n));
    assert_int_equal(off, 10);
    assert_int_equal(n, 2);
    /* Only the first '{' counts, and the first '}' after it. */
    assert_true(rw_cluster_hash_tag("a{b{c}d}", 8, &off, &n));
    assert_int_equal(off, 2);
    assert_int_equal(n, 3); /* "b{c" */
    assert_int_equal(slot_of("a{b{c}d}"), slot_of("b{c"));
    /* No tag: no braces, "{}" (empty), no closing brace, a '}' before the '{'. */
    const char *none[] = {"renewald:", "a{}b{p0}", "a{p0", "a}p0{", "", "{"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        off = n = 77;
        assert_false(rw_cluster_hash_tag(none[i], strlen(none[i]), &off, &n));
        assert_int_equal(off, 77);
        assert_int_equal(slot_of(none[i]), rw_cluster_crc16(none[i], strlen(none[i])) & 16383);
    }
    assert_int_not_equal(slot_of("a{}b{p0}"), slot_of("p0"));
    /* Bytes after the tag never matter, bytes are not NUL-terminated strings. */
    assert_int_equal(rw_cluster_key_slot("{p0}\0zz", 7), slot_of("p0"));
}

static void redirect(const char *err, enum rw_cluster_error want, int slot, const char *addr)
{
    struct rw_redirect rd;
    enum rw_cluster_error got = rw_cluster_parse_error(err, strlen(err), "10.1.2.3", &rd);
    if (got != want)
        fail_msg("%s: kind %d, want %d", err, got, want);
    assert_int_equal(rd.slot, slot);
    if (addr) {
        assert_true(rd.addr_ok);
        assert_string_equal(rd.addr, addr);
    } else {
        assert_false(rd.addr_ok);
    }
}

static void test_redirections(void **state)
{
    (void)state;
    redirect("MOVED 15882 127.0.0.1:31005", RW_CERR_MOVED, 15882, "127.0.0.1:31005");
    redirect("ASK 0 10.0.0.7:6379", RW_CERR_ASK, 0, "10.0.0.7:6379");
    redirect("MOVED 16383 ::1:7000", RW_CERR_MOVED, 16383, "[::1]:7000");
    redirect("MOVED 12 [fe80::1]:7000", RW_CERR_MOVED, 12, "[fe80::1]:7000");
    /* An empty host: the node that answered. */
    redirect("MOVED 3999 :6381", RW_CERR_MOVED, 3999, "10.1.2.3:6381");
    /* Unusable: host names (no resolving in the loop), bad slots and ports. */
    redirect("MOVED 3999 redis-3.example:6381", RW_CERR_MOVED, 3999, NULL);
    redirect("MOVED 3999 ?:6381", RW_CERR_MOVED, 3999, NULL);
    redirect("MOVED 16384 127.0.0.1:6381", RW_CERR_MOVED, -1, NULL);
    redirect("MOVED 99999999999999999999 127.0.0.1:6381", RW_CERR_MOVED, -1, NULL);
    redirect("MOVED -1 127.0.0.1:6381", RW_CERR_MOVED, -1, NULL);
    redirect("MOVED 5 127.0.0.1:65536", RW_CERR_MOVED, 5, NULL);
    redirect("MOVED 5 127.0.0.1:0", RW_CERR_MOVED, 5, NULL);
    redirect("MOVED 5 127.0.0.1:", RW_CERR_MOVED, 5, NULL);
    redirect("MOVED 5 127.0.0.1:6x", RW_CERR_MOVED, 5, NULL);
    redirect("MOVED 5 127.0.0.1", RW_CERR_MOVED, 5, NULL);
    redirect("MOVED 5", RW_CERR_MOVED, -1, NULL);
    redirect("MOVED", RW_CERR_MOVED, -1, NULL);
    redirect("ASK  127.0.0.1:1", RW_CERR_ASK, -1, NULL);
    /* The other cluster errors, and errors that are none. */
    redirect("TRYAGAIN Multiple keys request during rehashing of slot", RW_CERR_TRYAGAIN, -1, NULL);
    redirect("CLUSTERDOWN The cluster is down", RW_CERR_DOWN, -1, NULL);
    redirect("MASTERDOWN Link with MASTER is down", RW_CERR_DOWN, -1, NULL);
    redirect("READONLY You can't write against a read only replica.", RW_CERR_STALE, -1, NULL);
    redirect("UNBLOCKED force unblock from blocking operation", RW_CERR_STALE, -1, NULL);
    redirect("MOVEDX 1 127.0.0.1:1", RW_CERR_NONE, -1, NULL);
    redirect("ERR unknown command", RW_CERR_NONE, -1, NULL);
    redirect("FENCED commit sequence is 5, expected 7", RW_CERR_NONE, -1, NULL);
    redirect("", RW_CERR_NONE, -1, NULL);
    /* Not NUL-terminated: only LEN bytes are read. */
    struct rw_redirect rd;
    assert_int_equal(rw_cluster_parse_error("MOVED 7 1.2.3.4:56789", 17, NULL, &rd), RW_CERR_MOVED);
    assert_true(rd.addr_ok);
    assert_string_equal(rd.addr, "1.2.3.4:5");
    /* No host and no SELF_HOST: unusable. */
    assert_int_equal(rw_cluster_parse_error("ASK 7 :80", 9, NULL, &rd), RW_CERR_ASK);
    assert_false(rd.addr_ok);
}

/* Parses RESP bytes with hiredis' reader into a reply (the caller frees it). */
static redisReply *resp(const char *bytes)
{
    redisReader *rd = redisReaderCreate();
    assert_non_null(rd);
    assert_int_equal(redisReaderFeed(rd, bytes, strlen(bytes)), REDIS_OK);
    void *reply = NULL;
    assert_int_equal(redisReaderGetReply(rd, &reply), REDIS_OK);
    assert_non_null(reply);
    redisReaderFree(rd);
    return reply;
}

#define NODE7(id, port, role, health)                                                              \
    "*14\r\n$2\r\nid\r\n$" id "\r\n$4\r\nport\r\n:" port "\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n"     \
    "$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n" role "$18\r\nreplication-offset\r\n:"    \
    "42\r\n$6\r\nhealth\r\n" health
#define MASTER  "$6\r\nmaster\r\n"
#define REPLICA "$7\r\nreplica\r\n"
#define ONLINE  "$6\r\nonline\r\n"
#define FAILED  "$4\r\nfail\r\n"
#define LOADING "$7\r\nloading\r\n"

/* What a Redis 7.0 cluster answered after the master of 10923-16383 (31003) died. */
static const char shards_after_failover[] =
    "*4\r\n"
    "*4\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n*1\r\n" NODE7(
        "1\r\na", "31003", MASTER,
        FAILED) "*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:5460\r\n$5\r\nnodes\r\n*2\r\n" NODE7("1\r\nb",
                                                                                        "31001",
                                                                                        MASTER,
                                                                                        ONLINE)
        NODE7("1\r\nc", "31006", REPLICA,
              ONLINE) "*4\r\n$5\r\nslots\r\n*2\r\n:5461\r\n:10922\r\n$5\r\nnodes\r\n*"
                      "2\r\n" NODE7("1\r\nd", "31002", MASTER, ONLINE) NODE7(
                          "1\r\ne", "31004", REPLICA,
                          LOADING) "*4\r\n$5\r\nslots\r\n*2\r\n:10923\r\n:16383\r\n$"
                                   "5\r\nnodes\r\n*1\r\n" NODE7("1\r\nf", "31005", MASTER, ONLINE);

static void view_of(const char *bytes, bool shards, int slot, struct rw_cluster_view *v, bool ok)
{
    redisReply *r = resp(bytes);
    struct rw_rnode *tree = rw_cluster_rnode_from(r, 1u << 20);
    assert_non_null(tree);
    bool got = shards ? rw_cluster_parse_shards(tree, slot, "10.9.8.7", v)
                      : rw_cluster_parse_slots(tree, slot, "10.9.8.7", v);
    assert_int_equal(got, ok);
    free(tree);
    freeReplyObject(r);
}

static void test_shards(void **state)
{
    (void)state;
    struct rw_cluster_view v;
    view_of(shards_after_failover, true, 15882, &v, true);
    assert_true(v.covered);
    assert_string_equal(v.master, "127.0.0.1:31005");
    view_of(shards_after_failover, true, 3689, &v, true);
    assert_true(v.covered);
    assert_string_equal(v.master, "127.0.0.1:31001");
    view_of(shards_after_failover, true, 5461, &v, true);
    assert_string_equal(v.master, "127.0.0.1:31002");
    /* The healthy nodes, once each: not the failed master, not the loading replica. */
    assert_int_equal(v.nnodes, 4);
    for (int i = 0; i < v.nnodes; i++) {
        assert_string_not_equal(v.nodes[i], "127.0.0.1:31003");
        assert_string_not_equal(v.nodes[i], "127.0.0.1:31004");
    }
    /* Before the promotion: the slot's master failed, nobody serves it. */
    static const char before[] =
        "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:10923\r\n:16383\r\n$5\r\nnodes\r\n*2\r\n" NODE7(
            "1\r\na", "31003", MASTER, FAILED) NODE7("1\r\nf", "31005", REPLICA, ONLINE);
    view_of(before, true, 15882, &v, true);
    assert_false(v.covered);
    assert_int_equal(v.nnodes, 1);
    /* A slot nobody covers; an empty reply. */
    view_of(before, true, 0, &v, true);
    assert_false(v.covered);
    view_of("*0\r\n", true, 0, &v, true);
    assert_false(v.covered);
    assert_int_equal(v.nnodes, 0);
    /* An empty IP is the node asked; unknown keys are skipped. */
    static const char self[] =
        "*1\r\n*6\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16383\r\n$4\r\nmore\r\n:1\r\n"
        "$5\r\nnodes\r\n*1\r\n*8\r\n$2\r\nip\r\n$0\r\n\r\n$4\r\nport\r\n:7000"
        "\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$3\r\nnew\r\n*0\r\n";
    view_of(self, true, 100, &v, true);
    assert_true(v.covered);
    assert_string_equal(v.master, "10.9.8.7:7000");
    /* Shapes that are not a CLUSTER SHARDS reply. */
    const char *bad[] = {
        ":1\r\n",
        "*1\r\n:1\r\n",
        "*1\r\n*1\r\n$5\r\nslots\r\n",                                        /* odd pairs */
        "*1\r\n*2\r\n$5\r\nslots\r\n*0\r\n",                                  /* no nodes */
        "*1\r\n*4\r\n$5\r\nslots\r\n*1\r\n:0\r\n$5\r\nnodes\r\n*0\r\n",       /* odd slots */
        "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:9\r\n:1\r\n$5\r\nnodes\r\n*0\r\n", /* start > end */
        "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16384\r\n$5\r\nnodes\r\n*0\r\n",
        "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n$1\r\n0\r\n:1\r\n$5\r\nnodes\r\n*0\r\n",
        "*1\r\n*4\r\n:5\r\n*0\r\n$5\r\nnodes\r\n*0\r\n", /* a key that is no string */
        "*1\r\n*4\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n*1\r\n*2\r\n$4\r\nport\r\n$4\r\n7000\r\n",
        "*1\r\n*4\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n*1\r\n*2\r\n$2\r\nip\r\n:1\r\n",
        "*1\r\n*4\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n*1\r\n*1\r\n$2\r\nip\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        view_of(bad[i], true, 0, &v, false);
}

static void test_slots(void **state)
{
    (void)state;
    static const char slots[] =
        "*3\r\n"
        "*4\r\n:0\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:31001\r\n$1\r\na\r\n*0\r\n"
        "*4\r\n$9\r\n127.0.0.1\r\n:31006\r\n$1\r\nb\r\n*0\r\n"
        "*3\r\n:5461\r\n:10922\r\n*3\r\n$3\r\n::1\r\n:31002\r\n$1\r\nc\r\n"
        "*3\r\n:10923\r\n:16383\r\n*2\r\n$0\r\n\r\n:31005\r\n";
    struct rw_cluster_view v;
    view_of(slots, false, 0, &v, true);
    assert_true(v.covered);
    assert_string_equal(v.master, "127.0.0.1:31001");
    view_of(slots, false, 5460, &v, true);
    assert_string_equal(v.master, "127.0.0.1:31001");
    view_of(slots, false, 5461, &v, true);
    assert_string_equal(v.master, "[::1]:31002");
    view_of(slots, false, 16383, &v, true);
    assert_string_equal(v.master, "10.9.8.7:31005"); /* an empty IP: the node asked */
    assert_int_equal(v.nnodes, 4);
    /* A replica never serves as master; "?" (unknown endpoint) and names are skipped. */
    static const char odd[] = "*2\r\n*3\r\n:0\r\n:99\r\n*2\r\n$1\r\n?\r\n:1\r\n"
                              "*4\r\n:0\r\n:99\r\n*2\r\n$4\r\nhost\r\n:2\r\n*2\r\n$7\r\n1.2.3.4"
                              "\r\n:3\r\n";
    view_of(odd, false, 50, &v, true);
    assert_false(v.covered);
    assert_int_equal(v.nnodes, 1);
    assert_string_equal(v.nodes[0], "1.2.3.4:3");
    const char *bad[] = {
        "$1\r\nx\r\n",
        "*1\r\n*2\r\n:0\r\n:1\r\n",                        /* no master */
        "*1\r\n*3\r\n:5\r\n:1\r\n*2\r\n$1\r\na\r\n:1\r\n", /* start > end */
        "*1\r\n*3\r\n:0\r\n:1\r\n*1\r\n$1\r\na\r\n",       /* no port */
        "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n:1\r\n:1\r\n",      /* ip not a string */
        "*1\r\n*3\r\n$1\r\n0\r\n:1\r\n*2\r\n$1\r\na\r\n:1\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        view_of(bad[i], false, 0, &v, false);
}

static void test_reply_tree_limits(void **state)
{
    (void)state;
    /* Arrays nested nine deep are refused, eight deep are fine (hiredis' own reader
     * stops earlier; the tree is built by hand). */
    redisReply levels[10];
    redisReply *kids[10];
    memset(levels, 0, sizeof levels);
    for (int i = 0; i < 10; i++) {
        kids[i] = &levels[i];
        levels[i].type = i == 9 ? REDIS_REPLY_INTEGER : REDIS_REPLY_ARRAY;
        levels[i].elements = i == 9 ? 0 : 1;
        levels[i].element = i == 9 ? NULL : &kids[i + 1];
    }
    assert_null(rw_cluster_rnode_from(&levels[0], 100));
    struct rw_rnode *t = rw_cluster_rnode_from(&levels[1], 100);
    assert_non_null(t);
    assert_int_equal(t[0].elem[0].elem[0].elem[0].elem[0].elem[0].elem[0].elem[0].elem[0].type,
                     RW_RT_INTEGER);
    free(t);
    assert_null(rw_cluster_rnode_from(&levels[1], 8)); /* nine nodes */
    redisReply *flat = resp("*3\r\n$2\r\nab\r\n:-4\r\n$-1\r\n");
    t = rw_cluster_rnode_from(flat, 4);
    assert_non_null(t);
    assert_int_equal(t[0].type, RW_RT_ARRAY);
    assert_int_equal(t[0].n, 3);
    assert_int_equal(t[0].elem[0].type, RW_RT_STRING);
    assert_memory_equal(t[0].elem[0].str, "ab", 2);
    assert_int_equal(t[0].elem[1].integer, -4);
    assert_int_equal(t[0].elem[2].type, RW_RT_NIL);
    free(t);
    freeReplyObject(flat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc16),        cmocka_unit_test(test_hash_tags),
        cmocka_unit_test(test_redirections), cmocka_unit_test(test_shards),
        cmocka_unit_test(test_slots),        cmocka_unit_test(test_reply_tree_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
