/*
 * daemon.h - the loop's context: the one struct renewald every module of the
 * running daemon receives, and the active/standby lifecycle.
 *
 * Lifecycle: CONNECTING (links not both up) -> STANDBY (lease held by another
 * instance) -> LOADING (lease held: groups, state, claims) -> ACTIVE (reading,
 * committing, delivering).  Any failure that may leave memory and Redis apart
 * (a lost link, a failed commit, a lost lease) drops the in-memory state and
 * goes back to CONNECTING: state is always reloaded from Redis, never patched.
 * A generation number, bumped on every reset, lets late replies of an old
 * generation be recognised and ignored.
 */
#ifndef RENEWALD_DAEMON_H
#define RENEWALD_DAEMON_H

#include "renewald/applied.h"
#include "renewald/common.h"
#include "renewald/config.h"
#include "renewald/metrics.h"

struct event_base;
struct event;
struct rw_link;
struct rw_store;
struct rw_scorer;
struct rw_reader;
struct rw_commit;
struct rw_outbox;
struct rw_api;
struct rw_pipeline;

enum rw_phase {
    RW_PHASE_CONNECTING = 0,
    RW_PHASE_STANDBY,
    RW_PHASE_LOADING,
    RW_PHASE_ACTIVE,
    RW_PHASE_STOPPING,
};

struct renewald {
    struct event_base *base;
    char *config_path;
    struct rw_config *cfg;    /* current; replaced whole by a reload */
    struct rw_scorer *scorer; /* built from cfg */
    struct rw_store *store;   /* NULL unless LOADING or ACTIVE */

    struct rw_link *reader_link; /* XREADGROUP only: it blocks */
    struct rw_link *writer_link; /* everything else */
    struct rw_reader *reader;
    struct rw_pipeline *pipeline;
    struct rw_commit *commit;
    struct rw_outbox *outbox;
    struct rw_api *api;
    struct rw_metrics metrics;

    enum rw_phase phase;
    uint64_t generation;
    char lease_token[80];
    int64_t lease_renewed_mono_ms; /* last successful acquire or renew */
    bool lease_renew_in_flight;

    struct rw_applied applied; /* last applied entry id per stream */
    uint64_t commit_seq;       /* number of the last commit Redis has */

    /* The daemon's clock (SPEC §6). */
    int64_t event_now_ms;  /* newest event time processed, RW_NO_TIME before any */
    int64_t now_ms;        /* `now` of the evaluation in hand */
    bool catching_up;      /* clock = wall and replaying a backlog */
    int64_t next_sweep_ms; /* in `now` */
    size_t sweep_cursor;   /* sliced sweep under the wall clock; SIZE_MAX when idle */
    bool sweep_alerting;   /* the sweep in progress is the end of a catch-up */

    struct event *sig_term, *sig_int, *sig_hup;
    struct event *housekeeping;
    struct event *sweep_slice; /* re-armed until a sliced sweep is done */
    struct event *stop_timer;
    int exit_code;
    int64_t stop_deadline_mono_ms;
    bool stop_released;
    bool resetting;
    int64_t last_lease_mono_ms, last_status_mono_ms; /* housekeeping */
};

/*
 * A command's context that knows its generation: rw_call_new() before a Redis
 * command, rw_call_take() in its callback, which frees the call and returns
 * the daemon, or NULL when the reply belongs to an older generation (or the
 * link was lost: REPLY NULL) and must be ignored.  EXTRA is the caller's.
 */
struct rw_call {
    struct renewald *d;
    uint64_t generation;
    void *extra;
    size_t index;
};
struct rw_call *rw_call_new(struct renewald *d, void *extra, size_t index);
struct renewald *rw_call_take(struct rw_call *call, const void *reply, void **extra, size_t *index);

/* The `now` evaluations use at this moment (SPEC §6). */
int64_t rw_daemon_now(const struct renewald *d);
/* Alerts are created (not suppressed by a catch-up). */
bool rw_daemon_alerting(const struct renewald *d);
/* Called by any module that found memory and Redis may differ: back to CONNECTING. */
void rw_daemon_reset(struct renewald *d, const char *why);
/* Called by the loader when the state is in memory: the reader starts. */
void rw_daemon_loaded(struct renewald *d);
/* Called by the reader after each batch is handed to the commit: time to sweep? */
void rw_daemon_after_batch(struct renewald *d);
/* Called by the reader when a catch-up ends: one alerting sweep at the wall clock. */
void rw_daemon_caught_up(struct renewald *d);
/* Runs the daemon until SIGTERM/SIGINT; returns the exit code. */
int rw_daemon_run(const char *config_path, struct rw_config *cfg);

#endif
