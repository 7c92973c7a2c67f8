/*
 * engine.h - the core that turns events into account state and alerts, the
 * same way whoever drives it (the daemon, `renewald backtest`), and whatever
 * the batching (SPEC §6 "Evaluation is deterministic"):
 *
 *   - `now` only moves forward.  Under replay (clock = event, or a catch-up)
 *     it follows event times; otherwise the driver sets it (the wall clock).
 *   - An account is evaluated at `now` right after each of its events.
 *   - Sweep times are the multiples of the grid (sweep_interval, or an hour
 *     while catching up) since the epoch.  When `now` reaches one, the last
 *     grid time passed is swept before anything later happens: accounts are
 *     evaluated at that time, in ordinal order.  A sweep evaluates only the
 *     accounts that can change by then (touched since the last sweep, or
 *     whose due time has come: see rw_scorer_bounds and rw_band_stable_range),
 *     which gives the results of evaluating every account.  The first sweep
 *     of each UTC day evaluates every account and records the day's history.
 *
 * The engine never does I/O: alerts and recorded history days go out through
 * hooks, the store's dirty set says what to persist, and rw_engine_clock is
 * the little state to persist beside the accounts.
 *
 * Ownership: the engine borrows the config, scorer and store (they outlive
 * it, or are swapped with rw_engine_reconfigure) and owns its history.
 */
#ifndef RENEWALD_CORE_ENGINE_H
#define RENEWALD_CORE_ENGINE_H

#include "renewald/config.h"
#include "renewald/core/account_store.h"
#include "renewald/core/alert.h"
#include "renewald/core/event.h"
#include "renewald/core/history.h"
#include "renewald/core/score.h"

struct rw_engine;

struct rw_engine_hooks {
    /* An alert was created; AL and everything it points to are borrowed for the call. */
    void (*alert)(void *arg, const struct rw_alert *al);
    /* History entries of DAY for ordinals [FROM, TO) were recorded (may be NULL). */
    void (*history)(void *arg, int32_t day, uint32_t from, uint32_t to);
    /* A's band moved from FROM at now (may be NULL). */
    void (*band)(void *arg, const struct rw_account *a, enum rw_band from, int64_t now_ms);
};

/* What to persist beside the accounts to continue exactly (and restore with). */
struct rw_engine_clock {
    int64_t now_ms;        /* RW_NO_TIME before the first event */
    int64_t last_sweep_ms; /* the last sweep time swept, RW_NO_TIME before any */
    int32_t history_day;   /* the last day whose history is complete, RW_NO_DAY */
    int64_t sweep_ms;      /* a sweep in progress at this time, RW_NO_TIME when none */
    int64_t target_ms;     /* with a sweep in progress: the now it was moving to */
    bool sweep_full;       /* the sweep in progress evaluates every account */
    bool sweep_alerting;   /* the sweep in progress creates alerts */
};

struct rw_engine *rw_engine_new(const struct rw_config *cfg, const struct rw_scorer *sc,
                                struct rw_store *st, const struct rw_engine_hooks *hooks,
                                void *arg) RW_NODISCARD;
void rw_engine_free(struct rw_engine *e);

/*
 * Swaps in a new configuration, scorer and store (the driver rebuilt the store
 * when the slot layout changed).  Every account is due again.
 */
void rw_engine_reconfigure(struct rw_engine *e, const struct rw_config *cfg,
                           const struct rw_scorer *sc, struct rw_store *st);

/* Restores the clock of a persisted state whose accounts are in the store:
 * every account is evaluated at the next sweep; a sweep in progress resumes. */
void rw_engine_restore(struct rw_engine *e, const struct rw_engine_clock *clock);
void rw_engine_get_clock(const struct rw_engine *e, struct rw_engine_clock *out);

/* Replay: now follows event times (clock = event, catching up).  Default on. */
void rw_engine_set_replay(struct rw_engine *e, bool replay);
/* Alerting: transitions create alerts (off while catching up).  Default on. */
void rw_engine_set_alerting(struct rw_engine *e, bool alerting);
bool rw_engine_alerting(const struct rw_engine *e);
/* The sweep grid in ms (default: sweep_interval). */
void rw_engine_set_grid(struct rw_engine *e, int64_t grid_ms);

int64_t rw_engine_now(const struct rw_engine *e);
struct rw_history *rw_engine_history(struct rw_engine *e);
/* The store it evaluates (for prefetch hints). */
const struct rw_store *rw_engine_store(const struct rw_engine *e);

/*
 * Moves now to T_MS when it is later.  When that passes a sweep time, the
 * sweep of the last one passed starts first (now is that time until it ends):
 * the engine is then busy until rw_engine_work finishes it.
 */
void rw_engine_advance(struct rw_engine *e, int64_t t_ms);
/* True while a sweep is in progress: nothing may be applied, unless
 * rw_engine_interleaves. */
bool rw_engine_busy(const struct rw_engine *e);
/*
 * Live (not replaying), while a sweep is in progress and now is not yet past
 * the next sweep time: events may be applied between its slices.  The engine
 * looks at the event's account at the sweep's time first if the sweep has yet
 * to (the sweep then skips it), and evaluates the event where now goes after
 * the sweep: each account's alerts and the final state are those of the sweep
 * finished first; only the order of different accounts' alerts differs.  So an
 * event is not held back for the whole of a long sweep.
 */
bool rw_engine_interleaves(const struct rw_engine *e);
/* The now an event applied at this point is evaluated at: where now goes after
 * the sweep in progress, else now. */
int64_t rw_engine_event_now(const struct rw_engine *e);
/* Evaluates at most BUDGET accounts of the sweep in progress; true when none remains. */
bool rw_engine_work(struct rw_engine *e, size_t budget);

/*
 * Applies one event (the engine is not busy).  Under replay the caller first
 * advanced now to the event's time (rw_engine_advance); an event older than
 * now is applied at now.  AGG_TS_MS is the time its value is decayed from
 * (its ts, or a clamped one under the live wall clock).
 */
void rw_engine_apply(struct rw_engine *e, const struct rw_event *ev, int64_t agg_ts_ms);

/*
 * Ends a catch-up: alerting on, replay off, the grid back to sweep_interval,
 * now moved to WALL_MS, and one sweep of every account at that time starts
 * (busy until done): one alert per account worse than last alerted, one per
 * renewal window not alerted.
 */
void rw_engine_end_catch_up(struct rw_engine *e, int64_t wall_ms);

/*
 * Brings the stored scores that order the worklist (rw_account.score) to now:
 * no state changes, only the displayed score.  A pass walks every account, at
 * most BUDGET per call, each evaluated at the now of that call; START begins a
 * new pass when none is in progress (the driver decides how often: when idle).
 * Returns true when no pass is in progress after the call.
 */
bool rw_engine_refresh(struct rw_engine *e, size_t budget, bool start);
/* The now at which the last complete refresh pass began (RW_NO_TIME before any). */
int64_t rw_engine_refreshed_at(const struct rw_engine *e);

/* Evaluates A at now (its snooze changed, say); the engine is not busy. */
void rw_engine_touch(struct rw_engine *e, struct rw_account *a);

/* Every sweep evaluates every account (the reference the due times must
 * match; for tests and for measuring what due times save).  Default off. */
void rw_engine_set_full_sweeps(struct rw_engine *e, bool full);

/* Work done so far, for metrics and tests. */
struct rw_engine_stats {
    uint64_t sweeps, full_sweeps, sweep_evaluations, event_evaluations, due_computations;
    uint64_t due_filed; /* accounts in the due heap now */
};
void rw_engine_stats(const struct rw_engine *e, struct rw_engine_stats *out);
/* Steps of sweeps taken so far (0 for no engine): a caller compares two readings
 * to tell whether its work included one. */
uint64_t rw_engine_sweep_steps(const struct rw_engine *e);

#endif
