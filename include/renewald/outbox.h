/*
 * outbox.h - durable alert delivery (SPEC §4).  Every job (one alert for one
 * sink) lives in the hash <prefix>outbox from the commit that created it until
 * it succeeds (HDEL) or goes to <prefix>alerts:dead.  In memory, each sink has
 * a chain of jobs per account in creation order, of which only the head may be
 * attempted, and a queue of ready heads by due time: one account's alerts reach
 * a sink in order, whatever the sink's concurrency.  The outbox honours each
 * sink's rate and concurrency, retries with backoff and Retry-After, and
 * drives transfers on the HTTP client.
 *
 * Job JSON: {"sink": NAME, "attempts": N, "due": MS, "seq": N, "ts": MS,
 * "account": ID, "alert": {...}}; job id "ALERTID:SINK".  A job with "digest"
 * (and "digest_end") is a member of a digest window: it is held by the digests
 * (digest.h, owned here) until its window closes into one digest job, whose
 * "alert" is the digest object and whose "account" is the digest id.  The outbox owns its
 * jobs and transfers; it borrows the config (swap with rw_outbox_set_config)
 * and the metrics.
 */
#ifndef RENEWALD_OUTBOX_H
#define RENEWALD_OUTBOX_H

#include "renewald/config.h"
#include "renewald/metrics.h"
#include "renewald/redis_link.h"

struct event_base;
struct rw_outbox;

struct rw_outbox *rw_outbox_new(struct event_base *base, struct rw_cmd_sink sink,
                                const struct rw_config *cfg,
                                struct rw_metrics *metrics) RW_NODISCARD;
void rw_outbox_free(struct rw_outbox *o);
/* Forgets every queued job and cancels transfers (a reset: jobs stay in Redis). */
void rw_outbox_reset(struct rw_outbox *o);
/* Queues a job that is durable in Redis (after its commit, or loaded at start). */
void rw_outbox_add(struct rw_outbox *o, const char *job_id, size_t id_len, const char *job_json,
                   size_t json_len);
/* Starts (ACTIVE) or stops (shutdown, standby) starting new transfers. */
void rw_outbox_set_running(struct rw_outbox *o, bool running);
/* A reload changed the sinks: re-resolve queued jobs by sink name. */
void rw_outbox_set_config(struct rw_outbox *o, const struct rw_config *cfg);
size_t rw_outbox_in_flight(const struct rw_outbox *o);
/* Jobs queued, digest members included. */
size_t rw_outbox_depth(const struct rw_outbox *o);
/* Every alert created before NOW_MS (the engine's now) has landed: the digest
 * windows over by then are written (digest.h), fenced by LEASE_TOKEN. */
void rw_outbox_close_digests(struct rw_outbox *o, int64_t now_ms, const char *lease_token);

/* The script that moves a job to the dead letters (for tests). */
extern const char rw_outbox_dead_script[];

#endif
