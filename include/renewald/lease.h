/*
 * lease.h - one active instance per group (SPEC §8): the key <prefix>lease holds
 * the active instance's token, taken when free (or still ours), renewed by the
 * housekeeping timer, checked by every commit (fencing), given up on shutdown.
 *
 * A token is "HOST/CONSUMER/PID/NONCE".  An instance that holds the local lock
 * of its (redis, prefix, group, consumer) proves that no other live process on
 * this host uses that consumer: it may take over a lease whose token starts
 * with its own "HOST/CONSUMER/" (its dead predecessor's) at once, instead of
 * waiting for it to lapse.
 *
 * The lease owns its token and its requests in flight; it sends through a
 * command sink and reports through hooks.
 */
#ifndef RENEWALD_LEASE_H
#define RENEWALD_LEASE_H

#include "renewald/redis_link.h"

struct rw_lease_hooks {
    void (*acquired)(void *arg);                       /* ours: become active */
    void (*standby)(void *arg);                        /* another instance holds it */
    void (*lost)(void *arg, const char *why);          /* no longer ours (or not renewed in time) */
    void (*error)(void *arg, const char *redis_error); /* Redis refused a lease command */
    void (*released)(void *arg); /* the release was answered (or could not be sent) */
};

struct rw_lease;

/* KEY: <prefix>lease; TTL_MS: [redis] lease; HOST and CONSUMER make the token. */
struct rw_lease *rw_lease_new(struct rw_cmd_sink sink, const char *key, int64_t ttl_ms,
                              const char *host, const char *consumer,
                              const struct rw_lease_hooks *hooks, void *arg) RW_NODISCARD;
void rw_lease_free(struct rw_lease *l);
const char *rw_lease_token(const struct rw_lease *l);
/* Allows taking over a lease left by a dead process of this host and consumer. */
void rw_lease_allow_takeover(struct rw_lease *l, bool allow);
/* Standby (or connecting): ask for the lease unless a request is in flight. */
void rw_lease_try_acquire(struct rw_lease *l);
/* Active: renew it; reports `lost` when Redis says it is not ours, or when it
 * was not renewed within its TTL (monotonic NOW_MS). */
void rw_lease_renew(struct rw_lease *l, int64_t now_ms);
/* Gives it up (shutdown); `released` follows. */
void rw_lease_release(struct rw_lease *l);
/* Forgets requests in flight (their replies are ignored). */
void rw_lease_stop(struct rw_lease *l);
/* Marks the lease held since NOW_MS (after acquire). */
int64_t rw_lease_renewed_at(const struct rw_lease *l);

/* The scripts, for tests. */
extern const char rw_lease_acquire_script[];

/*
 * The local lock of an instance identity (any string naming redis, prefix,
 * group and consumer), under $RUNTIME_DIRECTORY, else $XDG_RUNTIME_DIR, else
 * /tmp.  Returns the lock's file descriptor (kept open for the process's life),
 * or -1 with *HELD_BY set to the holder's pid (0 when unknown) when another
 * live process holds it, or -2 when no lock file can be made (PATH says where).
 */
int rw_lease_lock_local(const char *identity, long *held_by, char *path, size_t pathcap);

#endif
