/*
 * cluster.h - Redis Cluster mode (SPEC §9, [redis] cluster = true): which
 * master serves the instance's hash slot, and following it.
 *
 * The cluster object owns one short-lived discovery connection at a time: it
 * asks the seed nodes and the nodes it has learnt of, one after the other,
 * CLUSTER SHARDS (CLUSTER SLOTS before Redis 7) and takes the master of the
 * slot from the first answer that names a healthy one.  It looks again,
 * asynchronously and a few times a second at most, whenever a link reports
 * trouble: a MOVED (followed at once), CLUSTERDOWN, READONLY or UNBLOCKED
 * reply, a lost or refused connection.  So after a failover (a replica
 * promoted by CLUSTER FAILOVER, or by the cluster once its master died) the
 * links find the new master by themselves.
 *
 * It also owns one side connection for ASK redirections: a command sent once
 * more, after ASKING, to the node importing the slot.
 *
 * The links (redis_link.h) read rw_cluster_master() when they connect and
 * register to hear when it changes.  Everything runs on the event_base given;
 * nothing blocks.
 */
#ifndef RENEWALD_CLUSTER_H
#define RENEWALD_CLUSTER_H

#include <hiredis/hiredis.h>

#include "renewald/config.h"
#include "renewald/core/cluster_proto.h"

struct event_base;
struct rw_cluster;

typedef void (*rw_cluster_change_cb)(void *arg);
/* REPLY is NULL when the command could not be sent or its connection went; hiredis owns it. */
typedef void (*rw_cluster_reply_cb)(redisReply *reply, void *arg);

/*
 * For the [redis] of CFG (copied; cluster = true): the seeds of `address`,
 * the credentials, and the slot of `prefix`.  Starts looking at once.
 */
struct rw_cluster *rw_cluster_new(struct event_base *base,
                                  const struct rw_config *cfg) RW_NODISCARD;
/* Frees it; the links that use it must be freed first.  Pending ASK callbacks get NULL. */
void rw_cluster_free(struct rw_cluster *cl);

int rw_cluster_slot(const struct rw_cluster *cl);
/* "IP:PORT" of the master serving the slot; NULL until one was found.  Valid until it changes. */
const char *rw_cluster_master(const struct rw_cluster *cl);
/* Master changes seen (the first one found counts). */
uint64_t rw_cluster_changes(const struct rw_cluster *cl);

/*
 * CB(ARG) runs, from the loop and never inside a call of the caller's, after
 * each change of the master.  At most 4 watchers; ARG identifies one.
 */
void rw_cluster_watch(struct rw_cluster *cl, rw_cluster_change_cb cb, void *arg);
void rw_cluster_unwatch(struct rw_cluster *cl, const void *arg);

/* Something went wrong with the master (WHY, for the debug log): look again soon. */
void rw_cluster_trouble(struct rw_cluster *cl, const char *why);

/*
 * A node whose host is SELF_HOST answered ERR[0..LEN).  A MOVED to a usable
 * address becomes the master at once; CLUSTERDOWN, READONLY, UNBLOCKED and a
 * MOVED without a usable address make it look again.  Returns the kind of
 * error and fills *OUT (see rw_cluster_parse_error).
 */
enum rw_cluster_error rw_cluster_on_error(struct rw_cluster *cl, const char *err, size_t len,
                                          const char *self_host, struct rw_redirect *out);

/*
 * Sends CMD[0..LEN) (a command in the Redis protocol) to ADDR after ASKING, on
 * the side connection.  CB gets the reply, or NULL when the connection failed
 * or went.  Returns false (and never calls CB) when it cannot start.
 */
bool rw_cluster_ask(struct rw_cluster *cl, const char *addr, const char *cmd, size_t len,
                    rw_cluster_reply_cb cb, void *arg) RW_NODISCARD;
/* Drops the side connection (a command sent there is overdue); its callbacks get NULL. */
void rw_cluster_ask_close(struct rw_cluster *cl);

/*
 * Blocking, for tools and `renewald backtest` (never the loop): asks the node C is
 * connected to (its IP: SELF_HOST) CLUSTER SLOTS for the master of SLOT, into OUT.
 * False when C is not a cluster node, cannot answer, or no master serves the slot.
 */
bool rw_cluster_master_sync(redisContext *c, const char *self_host, int slot,
                            char out[RW_CLUSTER_ADDR_MAX]) RW_NODISCARD;

/*
 * A copy of the shape of REPLY as a tree of rw_rnode (strings borrowed from
 * REPLY, which must outlive it), in one allocation the caller frees with
 * free().  NULL when REPLY nests deeper than 8 or has more than MAX_NODES nodes.
 */
struct rw_rnode *rw_cluster_rnode_from(const redisReply *reply, size_t max_nodes) RW_NODISCARD;

#endif
