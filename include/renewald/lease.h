/*
 * lease.h - one active instance per group (SPEC §8): a key <prefix>lease
 * holding this instance's token, taken when free (or still ours) and renewed by the
 * housekeeping timer.  Commits check it inside their script (fencing).
 */
#ifndef RENEWALD_LEASE_H
#define RENEWALD_LEASE_H

struct renewald;

/* Fills d->lease_token with a token unique to this process. */
void rw_lease_init(struct renewald *d);
/* CONNECTING with both links up, or STANDBY: try to take the lease. */
void rw_lease_try_acquire(struct renewald *d);
/* ACTIVE or LOADING: renew; on loss the daemon resets to standby. */
void rw_lease_renew(struct renewald *d);
/* Gives the lease up on shutdown so a standby takes over at once, then ends the loop. */
void rw_lease_release(struct renewald *d);

#endif
