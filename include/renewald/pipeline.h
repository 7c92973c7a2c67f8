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

/* Applies B to the daemon's store and pending commit. */
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
