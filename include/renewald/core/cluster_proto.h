/*
 * cluster_proto.h - the I/O-free parts of Redis Cluster (SPEC §9): the hash
 * slot of a key (CRC16 of its hash tag), the cluster errors a reply may carry
 * (MOVED, ASK, TRYAGAIN, CLUSTERDOWN, ...), and which master serves a slot
 * according to a CLUSTER SHARDS or CLUSTER SLOTS reply.
 *
 * Replies come as a small tree of struct rw_rnode, built by the caller from
 * whatever client library read them; the parsers only read it.  Addresses are
 * IP literals only ("IPv4:PORT", "[IPv6]:PORT"): the daemon never resolves a
 * name (resolving would block the loop), so a node announced by host name only
 * is not usable.
 */
#ifndef RENEWALD_CORE_CLUSTER_PROTO_H
#define RENEWALD_CORE_CLUSTER_PROTO_H

#include "renewald/core/common.h"

#define RW_CLUSTER_SLOTS     16384
#define RW_CLUSTER_ADDR_MAX  56 /* "[IPv6]:65535" and its NUL */
#define RW_CLUSTER_NODES_MAX 64 /* node addresses remembered from one reply */

/* CRC16-CCITT (XMODEM), as Redis Cluster computes it. */
uint16_t rw_cluster_crc16(const void *buf, size_t len);

/*
 * The hash tag of KEY[0..LEN): the bytes between its first '{' and the first
 * '}' after that, when there are any.  Returns false (and leaves *OFF, *N
 * alone) when the key has none, then Redis hashes the whole key.
 */
bool rw_cluster_hash_tag(const char *key, size_t len, size_t *off, size_t *n);

/* The hash slot (0..16383) of KEY[0..LEN). */
int rw_cluster_key_slot(const char *key, size_t len);

/* ---- replies ---- */

enum rw_rtype {
    RW_RT_OTHER = 0,
    RW_RT_STRING, /* bulk or status string */
    RW_RT_INTEGER,
    RW_RT_ARRAY,
    RW_RT_NIL,
    RW_RT_ERROR,
};

/* One node of a reply; the strings and children belong to whoever built it. */
struct rw_rnode {
    enum rw_rtype type;
    long long integer; /* RW_RT_INTEGER */
    const char *str;   /* RW_RT_STRING, RW_RT_ERROR: LEN bytes (no NUL needed) */
    size_t len;
    const struct rw_rnode *elem; /* RW_RT_ARRAY: N children */
    size_t n;
};

/* What one CLUSTER SHARDS / CLUSTER SLOTS reply says about a slot. */
struct rw_cluster_view {
    bool covered;                     /* a master that is not failed serves the slot */
    char master[RW_CLUSTER_ADDR_MAX]; /* when covered */
    /* Every usable node address the reply names, masters and replicas, once each. */
    char nodes[RW_CLUSTER_NODES_MAX][RW_CLUSTER_ADDR_MAX];
    int nnodes;
};

/*
 * Reads a CLUSTER SHARDS (Redis 7) or CLUSTER SLOTS reply for SLOT into *OUT.
 * SELF_HOST is the IP of the node that answered, used for entries that name
 * no address (an empty IP).  Returns false when REPLY does not have the shape
 * of that reply (OUT then says nothing).
 */
bool rw_cluster_parse_shards(const struct rw_rnode *reply, int slot, const char *self_host,
                             struct rw_cluster_view *out) RW_NODISCARD;
bool rw_cluster_parse_slots(const struct rw_rnode *reply, int slot, const char *self_host,
                            struct rw_cluster_view *out) RW_NODISCARD;

/* ---- errors ---- */

enum rw_cluster_error {
    RW_CERR_NONE = 0, /* not a cluster error */
    RW_CERR_MOVED,    /* the slot lives elsewhere now */
    RW_CERR_ASK,      /* the key is being migrated: ask there once, after ASKING */
    RW_CERR_TRYAGAIN, /* a multi-key command during a migration: retry later */
    RW_CERR_DOWN,     /* CLUSTERDOWN or MASTERDOWN: no one serves the slot right now */
    RW_CERR_STALE,    /* READONLY, UNBLOCKED: this node no longer serves as a master */
};

struct rw_redirect {
    int slot;                       /* MOVED, ASK: the slot named, -1 when unreadable */
    bool addr_ok;                   /* ADDR holds a usable IP address */
    char addr[RW_CLUSTER_ADDR_MAX]; /* MOVED, ASK: where to go */
};

/*
 * Classifies the error text ERR[0..LEN) of a reply ("MOVED 3999 10.0.0.2:6381"
 * and so on; no leading '-').  For MOVED and ASK, fills *OUT; an empty host
 * ("MOVED 3999 :6381") means SELF_HOST, the host of the node that answered.
 */
enum rw_cluster_error rw_cluster_parse_error(const char *err, size_t len, const char *self_host,
                                             struct rw_redirect *out);

/*
 * "IP:PORT" (or "[IP]:PORT" for IPv6) from the LEN bytes of IP and PORT, into
 * OUT.  False when IP is not an IP literal or PORT is not 1..65535.
 */
bool rw_cluster_format_addr(const char *ip, size_t len, long long port,
                            char out[RW_CLUSTER_ADDR_MAX]);

#endif
