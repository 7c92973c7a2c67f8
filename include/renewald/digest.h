/*
 * digest.h - pending digests (SPEC §4 "Digests"), owned by the outbox.
 *
 * A delivery job of a digest sink is a member of a window: the commit that
 * created its alert wrote it to <prefix>outbox with "digest" and "digest_end"
 * (the window), so it is as durable as any job.  This module groups the
 * members it is given (after their commit landed, or loaded at start) by
 * (sink, window, recipient: the owner for an e-mail sink with to = owner).
 * When `now` has passed a window and every alert created before `now` has
 * landed (the caller says so by calling rw_digests_close), one script, fenced
 * by the lease, writes the digest job (id: core/digest.h, from sink, window
 * and recipient) and deletes its members, atomically: a crash before it
 * leaves the members to be grouped again into the same digest; a crash
 * after it leaves the digest job, delivered like any other.
 *
 * The module owns its groups and the alert objects in them; it borrows the
 * config (rw_digests_set_config) and hands digest jobs to ADD once written.
 */
#ifndef RENEWALD_DIGEST_H
#define RENEWALD_DIGEST_H

#include <jansson.h>

#include "renewald/config.h"
#include "renewald/redis_link.h"

struct rw_digests;

/* A digest job written to the outbox hash: queue it for delivery (strings borrowed). */
typedef void (*rw_digest_job_fn)(void *arg, const char *id, size_t id_len, const char *json,
                                 size_t len);

struct rw_digests *rw_digests_new(struct rw_cmd_sink sink, const struct rw_config *cfg,
                                  rw_digest_job_fn add, void *arg) RW_NODISCARD;
void rw_digests_free(struct rw_digests *g);
void rw_digests_set_config(struct rw_digests *g, const struct rw_config *cfg);
/* Forgets every group (a reset: the members stay in Redis); replies still on their way
 * are discarded. */
void rw_digests_reset(struct rw_digests *g);

/* Holds the member JOB_ID of SINK's window [START_MS, END_MS] with ALERT (a reference is
 * taken) in creation order SEQ.  Each member comes once: when its commit landed, or
 * loaded after a reset. */
void rw_digests_add(struct rw_digests *g, const char *job_id, const char *sink, int64_t start_ms,
                    int64_t end_ms, json_t *alert, uint64_t seq);
/* Closes every window over at NOW_MS (everything created before NOW_MS has landed). */
void rw_digests_close(struct rw_digests *g, int64_t now_ms, const char *lease_token);
/* Members held (for the outbox depth). */
size_t rw_digests_members(const struct rw_digests *g);

/* The script that writes a digest job and deletes its members (for tests). */
extern const char rw_digest_close_script[];

#endif
