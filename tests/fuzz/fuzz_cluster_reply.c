/*
 * fuzz_cluster_reply.c - what a cluster node answers, any RESP bytes, through
 * hiredis' reply reader, the daemon's copy of a reply into a tree
 * (rw_cluster_rnode_from) and the pure parsers of cluster.c: CLUSTER SHARDS
 * and CLUSTER SLOTS for a few slots, and MOVED/ASK/... errors.  The whole
 * input is also read as the text of an error reply.
 *
 * Checked: the parsers never read outside the reply, a master is named only
 * when the slot is covered, and every address they hand out is one the
 * daemon can connect to (an IP literal and a port, NUL-terminated in its
 * buffer).  hiredis' createArray is bounded as in fuzz_redis_reply.c.
 */
#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/cluster.h"
#include "renewald/core/cluster_proto.h"
#include "renewald/core/parse.h"

#define MAX_ARRAY_ELEMENTS (1 << 20)

static void check(int ok)
{
    if (!ok)
        abort();
}

static redisReplyObjectFunctions wrapped;
static void *(*create_array)(const redisReadTask *, int);

static void *bounded_create_array(const redisReadTask *task, int elements)
{
    if (elements > MAX_ARRAY_ELEMENTS)
        return NULL;
    return create_array(task, elements);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ADDR is "IP:PORT" or "[IPv6]:PORT" as the links split it. */
static void check_addr(const char *addr)
{
    check(memchr(addr, '\0', RW_CLUSTER_ADDR_MAX) != NULL);
    char host[64];
    int port;
    check(rw_split_host_port(addr, host, sizeof host, 1, &port));
    unsigned char bin[16];
    check(inet_pton(AF_INET, host, bin) == 1 || inet_pton(AF_INET6, host, bin) == 1);
}

static void check_view(const struct rw_cluster_view *v)
{
    check(v->nnodes >= 0 && v->nnodes <= RW_CLUSTER_NODES_MAX);
    if (v->covered)
        check_addr(v->master);
    else
        check(v->master[0] == '\0');
    for (int i = 0; i < v->nnodes; i++)
        check_addr(v->nodes[i]);
}

static void check_error(const char *err, size_t len)
{
    struct rw_redirect rd;
    enum rw_cluster_error kind = rw_cluster_parse_error(err, len, "10.0.0.1", &rd);
    check(kind >= RW_CERR_NONE && kind <= RW_CERR_STALE);
    check(rd.slot >= -1 && rd.slot < RW_CLUSTER_SLOTS);
    if (rd.addr_ok) {
        check(kind == RW_CERR_MOVED || kind == RW_CERR_ASK);
        check_addr(rd.addr);
    }
}

static void handle(const redisReply *reply)
{
    static const int slots[] = {0, 3689, 15882, 16383};
    struct rw_rnode *tree = rw_cluster_rnode_from(reply, 1u << 16);
    if (tree) {
        struct rw_cluster_view v;
        for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++) {
            if (rw_cluster_parse_shards(tree, slots[i], "10.0.0.1", &v))
                check_view(&v);
            if (rw_cluster_parse_slots(tree, slots[i], i ? "::1" : NULL, &v))
                check_view(&v);
        }
        free(tree);
    }
    if (reply->type == REDIS_REPLY_ERROR)
        check_error(reply->str, reply->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_error((const char *)data, size);
    redisReader *reader = redisReaderCreate();
    if (!reader)
        return 0;
    if (!create_array) {
        wrapped = *reader->fn;
        create_array = wrapped.createArray;
        wrapped.createArray = bounded_create_array;
    }
    reader->fn = &wrapped;
    if (redisReaderFeed(reader, (const char *)data, size) != REDIS_OK) {
        redisReaderFree(reader);
        return 0;
    }
    for (;;) {
        void *reply = NULL;
        if (redisReaderGetReply(reader, &reply) != REDIS_OK || !reply)
            break;
        handle(reply);
        freeReplyObject(reply);
    }
    redisReaderFree(reader);
    return 0;
}
