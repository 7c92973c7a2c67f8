/* lg_redis.c - loadgen's pipelined connections to one Redis or to the masters of a cluster. */
#include "lg_redis.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/cluster.h"
#include "renewald/core/cluster_proto.h"
#include "renewald/core/parse.h"

#define MAX_NODES 64

struct conn {
    redisContext *c;
    char addr[RW_CLUSTER_ADDR_MAX];
    long in_flight[2]; /* replies owed by the previous and the current chunk */
    long chunk_fill;
};

struct lg_redis {
    struct conn conns[MAX_NODES];
    int nconns;
    bool cluster;
    int node_of_slot[RW_CLUSTER_SLOTS]; /* cluster: index into conns, -1 = not needed */
    int pipeline;
};

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "loadgen: %s: %s\n", what, detail);
    exit(2);
}

static redisContext *open_tcp(const char *host, int port)
{
    struct timeval tv = {10, 0};
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (!c || c->err)
        die("cannot connect to redis", c ? c->errstr : "out of memory");
    redisSetTimeout(c, (struct timeval){60, 0});
    return c;
}

/* The connection to ADDR, opened when new. */
static int conn_for(struct lg_redis *r, const char *addr)
{
    for (int i = 0; i < r->nconns; i++)
        if (strcmp(r->conns[i].addr, addr) == 0)
            return i;
    if (r->nconns == MAX_NODES)
        die("cluster", "too many masters");
    char host[64];
    int port;
    if (!rw_split_host_port(addr, host, sizeof host, 1, &port))
        die("cluster: bad node address", addr);
    struct conn *k = &r->conns[r->nconns];
    k->c = open_tcp(host, port);
    snprintf(k->addr, sizeof k->addr, "%s", addr);
    return r->nconns++;
}

/* CLUSTER SLOTS on the first connection; false when it is a single Redis. */
static bool map_cluster(struct lg_redis *r, const char *host, const char *const *keys, int nkeys)
{
    redisReply *reply = redisCommand(r->conns[0].c, "CLUSTER SLOTS");
    if (!reply)
        die("redis", r->conns[0].c->errstr);
    if (reply->type == REDIS_REPLY_ERROR) { /* "cluster support disabled" */
        freeReplyObject(reply);
        return false;
    }
    struct rw_rnode *tree = rw_cluster_rnode_from(reply, 1u << 20);
    for (int s = 0; s < RW_CLUSTER_SLOTS; s++)
        r->node_of_slot[s] = -1;
    for (int k = 0; k < nkeys; k++) {
        int slot = rw_cluster_key_slot(keys[k], strlen(keys[k]));
        struct rw_cluster_view v;
        if (!tree || !rw_cluster_parse_slots(tree, slot, host, &v) || !v.covered)
            die("cluster: no master serves the slot of", keys[k]);
        r->node_of_slot[slot] = conn_for(r, v.master);
    }
    free(tree);
    freeReplyObject(reply);
    return true;
}

struct lg_redis *lg_redis_connect(const char *host, int port, const char *socket_path, int pipeline,
                                  const char *const *keys, int nkeys)
{
    struct lg_redis *r = calloc(1, sizeof *r);
    if (!r)
        die("loadgen", "out of memory");
    r->pipeline = pipeline;
    if (socket_path) {
        struct timeval tv = {10, 0};
        r->conns[0].c = redisConnectUnixWithTimeout(socket_path, tv);
        if (!r->conns[0].c || r->conns[0].c->err)
            die("cannot connect to redis", r->conns[0].c ? r->conns[0].c->errstr : "no memory");
        redisSetTimeout(r->conns[0].c, (struct timeval){60, 0});
        r->nconns = 1;
        return r;
    }
    r->conns[0].c = open_tcp(host, port);
    snprintf(r->conns[0].addr, sizeof r->conns[0].addr, "(seed)");
    r->nconns = 1;
    if (!map_cluster(r, host, keys, nkeys))
        return r;
    /* The seed was only asked; writes go to the masters. */
    redisFree(r->conns[0].c);
    r->nconns--;
    memmove(&r->conns[0], &r->conns[1], (size_t)r->nconns * sizeof r->conns[0]);
    for (int s = 0; s < RW_CLUSTER_SLOTS; s++)
        if (r->node_of_slot[s] >= 0)
            r->node_of_slot[s]--;
    r->cluster = true;
    return r;
}

int lg_redis_nodes(const struct lg_redis *r)
{
    return r->nconns;
}

static void read_replies(struct conn *k, long n)
{
    for (long i = 0; i < n; i++) {
        void *p = NULL;
        if (redisGetReply(k->c, &p) != REDIS_OK || !p)
            die("redis", k->c->errstr[0] ? k->c->errstr : "connection lost");
        redisReply *reply = p;
        if (reply->type == REDIS_REPLY_ERROR)
            die("XADD failed", reply->str);
        freeReplyObject(reply);
    }
}

void lg_redis_xadd(struct lg_redis *r, const char *stream, const char *id, const char *json,
                   size_t len)
{
    struct conn *k = &r->conns[0];
    if (r->cluster) {
        int n = r->node_of_slot[rw_cluster_key_slot(stream, strlen(stream))];
        if (n < 0)
            die("cluster: a stream outside the slots mapped at start", stream);
        k = &r->conns[n];
    }
    const char *argv[5] = {"XADD", stream, id, "event", json};
    size_t argl[5] = {4, strlen(stream), strlen(id), 5, len};
    if (redisAppendCommandArgv(k->c, 5, argv, argl) != REDIS_OK)
        die("redis", k->c->errstr);
    k->in_flight[1]++;
    if (++k->chunk_fill >= r->pipeline) {
        read_replies(k, k->in_flight[0]);
        k->in_flight[0] = k->in_flight[1];
        k->in_flight[1] = 0;
        k->chunk_fill = 0;
    }
}

void lg_redis_drain(struct lg_redis *r)
{
    for (int i = 0; i < r->nconns; i++) {
        struct conn *k = &r->conns[i];
        read_replies(k, k->in_flight[0] + k->in_flight[1]);
        k->in_flight[0] = k->in_flight[1] = 0;
        k->chunk_fill = 0;
    }
}

void lg_redis_free(struct lg_redis *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->nconns; i++)
        redisFree(r->conns[i].c);
    free(r);
}
