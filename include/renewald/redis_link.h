/*
 * redis_link.h - one asynchronous Redis connection on the daemon's event_base
 * (hiredis async + its libevent adapter): connect by IP address or unix
 * socket, AUTH and SELECT, TCP keepalive, a reply watchdog (hiredis 0.14 has
 * no async timeouts), and reconnection with capped backoff.
 *
 * The link owns its redisAsyncContext.  Commands whose connection is lost get
 * their callback with a NULL reply, so every caller sees each command end
 * exactly once.  The state callback tells the owner when the link comes up
 * (after AUTH/SELECT) and when it goes down.
 */
#ifndef RENEWALD_REDIS_LINK_H
#define RENEWALD_REDIS_LINK_H

#include <hiredis/hiredis.h>

#include "renewald/core/common.h"
#include "renewald/config.h"

struct event_base;
struct rw_cluster;
struct rw_link;

/* REPLY is NULL when the connection was lost before the answer; it is owned by hiredis. */
typedef void (*rw_link_reply_cb)(struct rw_link *link, redisReply *reply, void *arg);
typedef void (*rw_link_state_cb)(struct rw_link *link, bool up, void *arg);

/*
 * A link named NAME (for logs) to the [redis] of CFG (copied: CFG may be
 * freed afterwards; [redis] changes need a restart).  The link
 * connects at once and keeps reconnecting until freed.  REPLY_TIMEOUT_MS is
 * the longest a reply may take beyond the BLOCK time a command declares.
 *
 * With CLUSTER (borrowed; it must outlive the link), the link connects to the
 * cluster's master of the instance's slot instead of [redis] address, waits
 * while there is none, moves when it changes, tells the cluster of cluster
 * errors and lost connections, and sends a command answered by ASK once more
 * to the node named (the answer from there goes to the command's callback).
 */
struct rw_link *rw_link_new(struct event_base *base, const struct rw_config *cfg,
                            struct rw_cluster *cluster, const char *name, int64_t reply_timeout_ms,
                            rw_link_state_cb state_cb, void *state_arg) RW_NODISCARD;
/* Frees the link; callbacks of commands in flight run with a NULL reply first. */
void rw_link_free(struct rw_link *link);

bool rw_link_up(const struct rw_link *link);
const char *rw_link_name(const struct rw_link *link);

/*
 * Sends a command.  BLOCK_MS is how long the command may legitimately wait in
 * Redis (XREADGROUP BLOCK), added to the watchdog's allowance.  Returns false
 * (and never calls CB) when the link is down.
 */
bool rw_link_command(struct rw_link *link, rw_link_reply_cb cb, void *arg, int64_t block_ms,
                     int argc, const char **argv, const size_t *argvlen) RW_NODISCARD;

/*
 * Where a worker sends its commands: a link, or (in unit tests) a fake that
 * records them.  SEND has rw_link_command's contract.
 */
struct rw_cmd_sink {
    bool (*send)(void *ctx, rw_link_reply_cb cb, void *arg, int64_t block_ms, int argc,
                 const char **argv, const size_t *argvlen);
    void *ctx;
};
struct rw_cmd_sink rw_link_sink(struct rw_link *link);
/* Sends through SINK; false (and CB never called) when it cannot. */
bool rw_cmd_send(const struct rw_cmd_sink *sink, rw_link_reply_cb cb, void *arg, int64_t block_ms,
                 int argc, const char **argv, const size_t *argvlen) RW_NODISCARD;

/* Writes queued commands to the socket now instead of at the next loop turn. */
void rw_link_flush(struct rw_link *link);

/* Drops the connection (its commands end with NULL replies) and reconnects. */
void rw_link_reset(struct rw_link *link, const char *why);

/*
 * Ends every command in flight for its owner (its callback runs now with a NULL
 * reply) without dropping the connection: the replies, when they arrive, are
 * discarded.  What a failed commit or a lost lease calls for, without a
 * reconnect storm.
 */
void rw_link_cancel_all(struct rw_link *link);

/* Commands sent and not yet answered. */
size_t rw_link_in_flight(const struct rw_link *link);

#endif
