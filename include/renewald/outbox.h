/*
 * outbox.h - durable alert delivery (SPEC §4).  Every job (one alert for one
 * sink) lives in Redis — <prefix>outbox (sorted set of job ids by due time)
 * and <prefix>outbox:jobs (hash of job JSON) — from the commit that created
 * it until it succeeds or goes to <prefix>alerts:dead.  The outbox keeps an
 * in-memory queue per sink, honours each sink's rate and concurrency, retries
 * with backoff and Retry-After, and drives transfers on the HTTP client.
 *
 * The outbox owns its queued jobs and in-flight transfers.  Job JSON:
 * {"sink": NAME, "attempts": N, "alert": {...}}; job id "ALERTID:SINK".
 */
#ifndef RENEWALD_OUTBOX_H
#define RENEWALD_OUTBOX_H

#include "renewald/common.h"

struct renewald;
struct rw_outbox;

struct rw_outbox *rw_outbox_new(struct renewald *d) RW_NODISCARD;
void rw_outbox_free(struct rw_outbox *o);
/* Forgets every queued job and cancels transfers (a reset: jobs stay in Redis). */
void rw_outbox_reset(struct rw_outbox *o);
/* Queues a job that is durable in Redis (after its commit, or loaded at start). */
void rw_outbox_add(struct rw_outbox *o, const char *job_id, size_t id_len, const char *job_json,
                   size_t json_len, int64_t due_ms);
/* Starts (ACTIVE) or stops (shutdown, standby) starting new transfers. */
void rw_outbox_set_running(struct rw_outbox *o, bool running);
/* A reload changed the sinks: re-resolve queued jobs by sink name. */
void rw_outbox_reconfigure(struct rw_outbox *o);
size_t rw_outbox_in_flight(const struct rw_outbox *o);
size_t rw_outbox_depth(const struct rw_outbox *o);

#endif
