/*
 * ingest.h - entries taken from the merge into the engine and the pending
 * commit: replays skipped, dead letters written, events applied.  The ingest
 * owns the shell's clock policy (SPEC §6): under clock = event, now follows
 * event times; under clock = wall, a start on a backlog older than one
 * sweep_interval replays it in event time without alerts (a catch-up) and ends
 * it once, when the next entry is younger than the horizon fixed when it began
 * and every stream has been read that far, with one alerting sweep; then now is
 * the wall clock.
 *
 * The ingest borrows the merge, the commit, the engine and the applied ids.
 */
#ifndef RENEWALD_INGEST_H
#define RENEWALD_INGEST_H

#include "renewald/commit.h"
#include "renewald/config.h"
#include "renewald/core/applied.h"
#include "renewald/core/engine.h"
#include "renewald/core/merge.h"

enum rw_ingest_phase {
    RW_INGEST_STOPPED = 0,
    RW_INGEST_REPLAY,   /* clock = event */
    RW_INGEST_DECIDING, /* clock = wall, before the first event: a backlog or not? */
    RW_INGEST_CATCHING_UP,
    RW_INGEST_LIVE, /* clock = wall, now = the wall clock */
};

struct rw_ingest;

struct rw_ingest *rw_ingest_new(const struct rw_config *cfg, struct rw_merge *merge,
                                struct rw_commit *commit) RW_NODISCARD;
void rw_ingest_free(struct rw_ingest *in);
void rw_ingest_set_config(struct rw_ingest *in, const struct rw_config *cfg);
/* Starts taking entries into E after a load; APPLIED are the last applied ids. */
void rw_ingest_start(struct rw_ingest *in, struct rw_engine *e, struct rw_applied *applied);
void rw_ingest_stop(struct rw_ingest *in);
enum rw_ingest_phase rw_ingest_phase(const struct rw_ingest *in);
const char *rw_ingest_phase_name(enum rw_ingest_phase p);

/*
 * Takes entries (and runs the engine's sweeps) until nothing more may be taken
 * (true: read the streams rw_merge_would_empty names) or the monotonic
 * DEADLINE_MS passes (false: call again soon).  WALL_MS is the wall clock.
 */
bool rw_ingest_run(struct rw_ingest *in, int64_t wall_ms, int64_t deadline_ms);
/* Live, in the middle of a sweep that takes entries between its slices: new
 * entries are wanted even though the run is not idle. */
bool rw_ingest_between_slices(const struct rw_ingest *in);
/* The wall clock moved (clock = wall, live): sweeps of the grid times it passed. */
void rw_ingest_tick(struct rw_ingest *in, int64_t wall_ms);

/* The merge key of an entry: its event time, or RW_MERGE_FIRST when it has none. */
int64_t rw_ingest_key(struct rw_ingest *in, struct rw_entry_id id, const char *raw, size_t len);

#endif
