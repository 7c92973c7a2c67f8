/* lg_redis.h - loadgen's Redis connections: one Redis, or every master of a Redis Cluster.
 *
 * On a cluster (CLUSTER SLOTS answers) there is one connection per master that serves a slot
 * loadgen writes to, and each XADD goes to the master of its stream's slot.  Each connection
 * keeps two pipelined chunks in flight: the previous chunk's replies are read only after the next
 * one has been appended, so Redis always has work while loadgen generates.  Any error (an error
 * reply, a lost connection, a MOVED during a failover) ends the program with exit code 2: loadgen
 * is for benchmarks and tests on a stable cluster, not a producer that rides out a failover.
 */
#ifndef RENEWALD_TOOLS_LG_REDIS_H
#define RENEWALD_TOOLS_LG_REDIS_H

#include <stddef.h>

struct lg_redis;

/*
 * Connects to HOST:PORT (or SOCKET_PATH when not NULL); when that node is part of a cluster,
 * to the masters that serve the slots of the NKEYS keys in KEYS too.  PIPELINE: commands per
 * chunk.  Exits on failure.
 */
struct lg_redis *lg_redis_connect(const char *host, int port, const char *socket_path, int pipeline,
                                  const char *const *keys, int nkeys);
/* Masters connected to (1 for a single Redis). */
int lg_redis_nodes(const struct lg_redis *r);
/* Appends XADD STREAM ID event JSON (ID: "*" or explicit) on the connection of STREAM's slot. */
void lg_redis_xadd(struct lg_redis *r, const char *stream, const char *id, const char *json,
                   size_t len);
/* Reads every reply still owed. */
void lg_redis_drain(struct lg_redis *r);
void lg_redis_free(struct lg_redis *r);

#endif
