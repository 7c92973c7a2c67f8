/*
 * state_load.h - becoming active: consumer groups created, pending entries of
 * any consumer claimed, last applied ids, meta and every account's record
 * loaded with pipelined HSCAN, outbox jobs loaded; then rw_daemon_loaded().
 * A chain of Redis commands on the writer link, abandoned on any reset.
 */
#ifndef RENEWALD_STATE_LOAD_H
#define RENEWALD_STATE_LOAD_H

struct renewald;

void rw_state_load_start(struct renewald *d);

#endif
