/*
 * state_load.h - becoming active: consumer groups ensured (created only when
 * missing), pending entries of other consumers claimed, then the saved state
 * read back: last applied ids, meta (commit sequence, the engine's clock),
 * every account (the chunks, then the log entries newer than their chunk, in
 * sequence order, with pipelined GETs; a state hash of an earlier version
 * first, by HSCAN), the outbox jobs and the recent daily history.  One result,
 * one completion.
 *
 * The loader borrows everything it is given; it owns only its progress.
 */
#ifndef RENEWALD_STATE_LOAD_H
#define RENEWALD_STATE_LOAD_H

#include "renewald/config.h"
#include "renewald/core/applied.h"
#include "renewald/core/changelog.h"
#include "renewald/core/engine.h"
#include "renewald/redis_link.h"

struct rw_load_result {
    struct rw_store *store; /* given empty; accounts are decoded into it */
    struct rw_applied applied;
    struct rw_engine_clock clock;
    uint64_t commit_seq;
    int64_t catch_up_ms; /* when the last catch-up ended (rw_commit_catch_up), or RW_NO_TIME */
    bool empty;          /* nothing saved: a first start, or Redis lost its data */
    int groups_created;
    size_t accounts, bad_records, signals_reset, jobs, history_days;
    struct rw_log_state log; /* for the commit's compaction (owned here until taken) */
    size_t log_entries;      /* log entries read */
};

struct rw_loader_hooks {
    /* A delivery job of the outbox (ID and TEXT borrowed for the call). */
    void (*job)(void *arg, const char *id, size_t id_len, const char *text, size_t text_len);
    /* The saved history entries of DAY (16-bit little-endian per ordinal). */
    void (*history)(void *arg, int32_t day, const unsigned char *bytes, size_t len);
    /* The load ended: OK, or WHY it failed (REDIS_ERROR: Redis' message, or NULL). */
    void (*done)(void *arg, bool ok, const char *why, const char *redis_error);
};

struct rw_loader;

struct rw_loader *rw_loader_new(struct rw_cmd_sink sink, const struct rw_loader_hooks *hooks,
                                void *arg) RW_NODISCARD;
void rw_loader_free(struct rw_loader *ld);
/* Starts a load into RES (RES->store set by the caller) with CFG and SC, which
 * must stay until it ends.  A load in progress is abandoned first. */
void rw_loader_start(struct rw_loader *ld, const struct rw_config *cfg, const struct rw_scorer *sc,
                     struct rw_load_result *res);
/* Abandons a load in progress (its replies are ignored; no completion). */
void rw_loader_stop(struct rw_loader *ld);
bool rw_loader_running(const struct rw_loader *ld);

#endif
