/*
 * pipeline.h - what happens to a batch: replays skipped, entries parsed into
 * events or dead letters, events folded into their accounts, then every
 * changed account evaluated (score, band, alerts) at the batch's `now`; and
 * the sweep that re-evaluates every account.  Everything it decides goes into
 * the daemon's pending commit; it performs no I/O itself.
 */
#ifndef RENEWALD_PIPELINE_H
#define RENEWALD_PIPELINE_H

#include "renewald/common.h"

struct renewald;
struct rw_batch;
struct rw_account;

/*
 * The pipeline's own state: entries read but held back because their stream
 * is ahead of another, fuller stream in event time (so that a backlog spread
 * over several streams replays in time order), and scratch space.  Held
 * entries are not acknowledged: after a reset they are simply read again.
 */
struct rw_pipeline *rw_pipeline_new(void) RW_NODISCARD;
void rw_pipeline_free(struct rw_pipeline *p);
/* Forgets held entries (a reset). */
void rw_pipeline_reset(struct rw_pipeline *p);
/* True while STREAM has held entries: the reader must not read it. */
bool rw_pipeline_holding(const struct rw_pipeline *p, int stream);
bool rw_pipeline_holding_any(const struct rw_pipeline *p);
/* Processes every held entry now (no stream can move the watermark any more). */
void rw_pipeline_release_held(struct renewald *d);

/*
 * Applies B to the daemon's store and pending commit: every entry of a stream
 * up to the first one whose event time is beyond the watermark (the least
 * advanced event time among streams that still have a backlog); the rest is
 * held for a later batch.
 */
void rw_pipeline_process(struct renewald *d, const struct rw_batch *b);
/*
 * Evaluates accounts from *CURSOR on (rw_store_next order) at the daemon's
 * now, at most LIMIT of them (SIZE_MAX: all).  Returns true when the pass is
 * complete.
 */
bool rw_pipeline_sweep(struct renewald *d, size_t *cursor, size_t limit);
/* Evaluates one account at the daemon's now; marks it dirty when its persisted state changed. */
void rw_pipeline_evaluate(struct renewald *d, struct rw_account *a);

#endif
