/*
 * commit.h - the one atomic write that makes a batch or a sweep durable: dead
 * letters, alerts and their delivery jobs, daily history, changed accounts,
 * last applied ids and the engine's clock, fenced by the lease and a commit
 * sequence number.
 *
 * The changelog: the changed accounts' records go to Redis as one blob (a
 * plain SET of a staging key that expires), and a small script, after its
 * checks, moves the blob to the log entry <prefix>log:SEQ with everything else.
 * Compaction rounds rewrite chunks of accounts (<prefix>chunk:K) the same way
 * and delete the log entries they cover (changelog.h).  Acknowledgements go
 * once the write landed, as plain XACKs: an entry read again before them is at
 * or below the last applied id, so it is skipped and acknowledged then.
 *
 * Redis does not roll a script back, so the script checks everything that
 * could fail (fences, the staged blobs, the type of every key, ACL
 * permissions) before its first write, declares itself (a shebang) so that an
 * out-of-memory Redis refuses it before it runs, and writes the sequence
 * number last.
 *
 * The commit object accumulates what the next write carries; rw_commit_flush
 * sends it.  Each write requires the previous sequence number in Redis, so
 * when one fails every later one fails too; the owner then reloads.
 *
 * Strings passed in are copied.  The commit borrows its config and sink.
 */
#ifndef RENEWALD_COMMIT_H
#define RENEWALD_COMMIT_H

#include "renewald/config.h"
#include "renewald/core/changelog.h"
#include "renewald/core/engine.h"
#include "renewald/metrics.h"
#include "renewald/redis_link.h"

#define RW_COMMITS_IN_FLIGHT 2

/* Delivery jobs created by a landed write, in creation order. */
struct rw_job_list {
    const char *const *ids;   /* "ALERTID:SINK" */
    const char *const *texts; /* the job JSON */
    const size_t *id_lens, *text_lens;
    size_t n;
};

struct rw_commit_hooks {
    /* The write numbered SEQ landed: COUNTS are now true and JOBS durable. */
    void (*landed)(void *arg, uint64_t seq, const struct rw_counts *counts,
                   const struct rw_job_list *jobs);
    /* A write failed with Redis' ERROR (NULL: its connection went); later ones fail too. */
    void (*failed)(void *arg, const char *error);
};

struct rw_commit;

struct rw_commit *rw_commit_new(struct rw_cmd_sink sink, const struct rw_config *cfg,
                                const struct rw_commit_hooks *hooks, void *arg) RW_NODISCARD;
void rw_commit_free(struct rw_commit *c);
void rw_commit_set_config(struct rw_commit *c, const struct rw_config *cfg);
/* Drops everything pending and in flight; the next write follows SEQ. */
void rw_commit_reset(struct rw_commit *c, uint64_t seq);
/* A reset after a load: the log as the loader found it (LS's bitmap is taken). */
void rw_commit_restore(struct rw_commit *c, uint64_t seq, struct rw_log_state *ls);
/* After a reset: writes whose replies were lost and whose number is at or below
 * LANDED_SEQ (what Redis holds) landed; their counts reach the metrics now. */
void rw_commit_settle(struct rw_commit *c, uint64_t landed_seq, struct rw_metrics *m);

/* Acknowledges entry ID of stream index STREAM (applied, skipped or dead). */
void rw_commit_ack(struct rw_commit *c, int stream, const char *id, size_t id_len);
/* Records ID as the last applied entry of STREAM. */
void rw_commit_applied(struct rw_commit *c, int stream, const char *id, size_t id_len);
/* Appends a dead letter (the event is cut at RW_DEAD_EVENT_MAX; EVENT may be NULL). */
void rw_commit_dead(struct rw_commit *c, int stream, const char *id, size_t id_len,
                    const char *reason, const char *event, size_t event_len);
/* Alerts created at TS_MS ended a catch-up: for a sink with catch_up_digest (and no
 * digest) their jobs join the catch-up digest of TS_MS (core/digest.h).  Written with
 * every commit (meta "catch_up"), so a restart inside that sweep keeps the digest. */
void rw_commit_catch_up(struct rw_commit *c, int64_t ts_ms);
/* Appends an alert and a delivery job for each sink in SINKS (bit i = cfg->sinks[i]);
 * for a digest sink the job is a member of its window ("digest", "digest_end"). */
void rw_commit_alert(struct rw_commit *c, const struct rw_alert *al, uint32_t sinks);
/* Writes history entries of DAY for ordinals [FROM, FROM + N) (16-bit each). */
void rw_commit_history(struct rw_commit *c, int32_t day, uint32_t from, const uint16_t *entries,
                       uint32_t n);
/* Deletes the history key of DAY (aged out). */
void rw_commit_history_drop(struct rw_commit *c, int32_t day);

/* Counters of what the pending write carries; they reach the metrics only when
 * that write lands, so work redone after a reset is not counted twice. */
struct rw_counts *rw_commit_counts(struct rw_commit *c);

/* What a write needs besides what was accumulated. */
struct rw_commit_state {
    struct rw_store *store; /* its dirty accounts are written, and the dirty set cleared */
    const struct rw_scorer *scorer;
    struct rw_engine_clock clock;
    const char *lease_token;
};

/* Something is waiting to be written. */
bool rw_commit_pending(const struct rw_commit *c, const struct rw_store *store);
/* Sends the pending write, if any; false when it could not be sent (link down). */
bool rw_commit_flush(struct rw_commit *c, const struct rw_commit_state *st) RW_NODISCARD;
size_t rw_commit_in_flight(const struct rw_commit *c);
/* The number of the next write: it carries what is pending now (the dirty accounts). */
uint64_t rw_commit_next_seq(const struct rw_commit *c);
/* Idle: starts a compaction round when the log has waited long enough (then
 * rw_commit_pending is true until the round is done).  NACCOUNTS: in memory. */
bool rw_commit_compact_idle(struct rw_commit *c, size_t naccounts);

struct rw_commit_log_stats {
    uint64_t log_entries; /* log entries not yet compacted (some may hold nothing) */
    size_t log_records;
    uint32_t chunks;
    bool compacting;
};
void rw_commit_log_stats(const struct rw_commit *c, struct rw_commit_log_stats *out);

/* The Lua source of the script (for tests and tools). */
extern const char rw_commit_script[];

#endif
