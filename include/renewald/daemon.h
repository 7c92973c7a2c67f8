/*
 * daemon.h - the running daemon: one event loop that owns every worker
 * (links, lease, loader, reader, ingest, engine, commit, outbox, API) and the
 * lifecycle they report into by callbacks.
 *
 * Lifecycle: CONNECTING (links not both up) -> STANDBY (lease held by another
 * instance) -> LOADING (lease held: groups, state, claims) -> ACTIVE (reading,
 * committing, delivering) -> STOPPING.  Anything that may leave memory and
 * Redis apart (a failed commit or read, a lost lease) drops the in-memory
 * state and loads it again after a capped backoff, without dropping the
 * connections: state is always reloaded from Redis, never patched.
 */
#ifndef RENEWALD_DAEMON_H
#define RENEWALD_DAEMON_H

#include "renewald/config.h"

/* Runs the daemon with CFG (taken over) until SIGTERM/SIGINT; returns the exit code. */
int rw_daemon_run(const char *config_path, struct rw_config *cfg);

#endif
