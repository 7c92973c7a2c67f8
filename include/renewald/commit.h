/*
 * commit.h - the one atomic write (a Lua script, one round trip) that makes a
 * batch or a sweep durable: lease fence, sequence fence, changed accounts,
 * last applied ids, XACKs, dead letters, alerts and their outbox jobs, meta.
 *
 * The commit object accumulates what the next write carries; rw_commit_flush
 * sends it and starts a new one.  Commits are numbered: each one requires the
 * previous number in Redis, so when one fails every later one fails too and
 * nothing is half-applied; the daemon then resets and reloads.
 *
 * Strings passed in are copied.  Alert objects passed in are stolen.
 */
#ifndef RENEWALD_COMMIT_H
#define RENEWALD_COMMIT_H

#include <jansson.h>

#include "renewald/common.h"
#include "renewald/metrics.h"

struct renewald;
struct rw_commit;

#define RW_COMMITS_IN_FLIGHT 2

struct rw_commit *rw_commit_new(struct renewald *d) RW_NODISCARD;
void rw_commit_free(struct rw_commit *c);
/* Drops everything pending and in flight; the next commit follows SEQ. */
void rw_commit_reset(struct rw_commit *c, uint64_t seq);

/* Acknowledges entry ID of stream index STREAM (applied, skipped or dead). */
void rw_commit_ack(struct rw_commit *c, int stream, const char *id, size_t id_len);
/* Records ID as the last applied entry of STREAM. */
void rw_commit_applied(struct rw_commit *c, int stream, const char *id, size_t id_len);
/* Appends a dead letter (the event is cut at RW_DEAD_EVENT_MAX; EVENT may be NULL). */
void rw_commit_dead(struct rw_commit *c, int stream, const char *id, size_t id_len,
                    const char *reason, const char *event, size_t event_len);
/* Appends an alert created by this commit and a delivery job for each sink in SINKS. */
void rw_commit_alert(struct rw_commit *c, const char *alert_id, json_t *alert, uint32_t sinks);

/* Counters of what the pending write carries (events applied, dead letters,
 * alerts); they reach the metrics only when that write lands, so work redone
 * after a reset is not counted twice. */
struct rw_counts *rw_commit_counts(struct rw_commit *c);

/* After a reset, the commits whose replies were lost are settled against the
 * sequence number Redis holds: those at or below LANDED_SEQ landed, and their
 * counts reach the metrics now. */
void rw_commit_settle(struct rw_commit *c, uint64_t landed_seq);

/* Something is waiting to be written (accounts, acks, dead letters, alerts). */
bool rw_commit_pending(const struct rw_commit *c);
/* Sends the pending write (with the store's dirty accounts and the meta) if any. */
void rw_commit_flush(struct rw_commit *c);
size_t rw_commit_in_flight(const struct rw_commit *c);
/* The Lua source of the script (for tests and tools). */
extern const char rw_commit_script[];

#endif
