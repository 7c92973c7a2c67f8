/*
 * applied.h - the last applied entry id of every stream: the rule that makes a
 * replayed entry (one already applied before a crash) count zero times.
 * A plain value type; the daemon keeps one, persisted in each commit.
 */
#ifndef RENEWALD_APPLIED_H
#define RENEWALD_APPLIED_H

#include "renewald/config.h"
#include "renewald/core/timeutil.h"

struct rw_applied {
    struct rw_entry_id last[RW_MAX_STREAMS];
    bool has[RW_MAX_STREAMS];
};

void rw_applied_clear(struct rw_applied *a);
/* Restores STREAM's last applied id from its persisted text; false when malformed. */
bool rw_applied_restore(struct rw_applied *a, int stream, const char *id, size_t len);
/*
 * True when the entry ID of STREAM is newer than the last applied one and so
 * must be applied; it then becomes the last applied.  False for a replay: the
 * entry is acknowledged and skipped.
 */
bool rw_applied_admit(struct rw_applied *a, int stream, struct rw_entry_id id);

#endif
