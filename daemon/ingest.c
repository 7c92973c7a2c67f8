/* ingest.c - the merge's entries into the engine and the commit; the clock policy. */
#include "renewald/ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/core/event.h"
#include "renewald/core/json_arena.h"
#include "renewald/log.h"
#include "renewald/metrics.h"

#define CATCHUP_GRID_MIN_MS (3600 * INT64_C(1000))
#define SWEEP_SLICE         64   /* evaluations between clock checks */
#define EVENTS_PER_SLICE    1024 /* live: entries taken between two slices of a sweep */

struct rw_ingest {
    const struct rw_config *cfg;
    struct rw_merge *merge;
    struct rw_commit *commit;
    struct rw_engine *e;
    struct rw_applied *applied;
    enum rw_ingest_phase phase;
    int64_t horizon_ms; /* catching up: entries older than this are the backlog */
    struct rw_event ev; /* scratch */
};

struct rw_ingest *rw_ingest_new(const struct rw_config *cfg, struct rw_merge *merge,
                                struct rw_commit *commit)
{
    struct rw_ingest *in = rw_xcalloc(1, sizeof(*in));
    in->cfg = cfg;
    in->merge = merge;
    in->commit = commit;
    return in;
}

void rw_ingest_free(struct rw_ingest *in)
{
    free(in);
}

void rw_ingest_set_config(struct rw_ingest *in, const struct rw_config *cfg)
{
    in->cfg = cfg;
}

const char *rw_ingest_phase_name(enum rw_ingest_phase p)
{
    static const char *const names[] = {"stopped", "replay", "deciding", "catching_up", "live"};
    return (unsigned)p < sizeof names / sizeof names[0] ? names[p] : "?";
}

enum rw_ingest_phase rw_ingest_phase(const struct rw_ingest *in)
{
    return in->phase;
}

void rw_ingest_start(struct rw_ingest *in, struct rw_engine *e, struct rw_applied *applied)
{
    in->e = e;
    in->applied = applied;
    bool wall = in->cfg->clock == RW_CLOCK_WALL;
    in->phase = wall ? RW_INGEST_DECIDING : RW_INGEST_REPLAY;
    rw_engine_set_replay(e, !wall);
    rw_engine_set_alerting(e, !wall); /* decided with the first event */
    rw_engine_set_grid(e, in->cfg->sweep_interval_ms);
}

void rw_ingest_stop(struct rw_ingest *in)
{
    in->e = NULL;
    in->applied = NULL;
    in->phase = RW_INGEST_STOPPED;
}

static void go_live(struct rw_ingest *in, int64_t wall_ms)
{
    in->phase = RW_INGEST_LIVE;
    rw_engine_set_replay(in->e, false);
    rw_engine_set_alerting(in->e, true);
    rw_engine_set_grid(in->e, in->cfg->sweep_interval_ms);
    rw_engine_advance(in->e, wall_ms);
}

static void begin_catch_up(struct rw_ingest *in, int64_t wall_ms)
{
    in->phase = RW_INGEST_CATCHING_UP;
    in->horizon_ms = wall_ms - in->cfg->sweep_interval_ms;
    int64_t grid = in->cfg->sweep_interval_ms;
    rw_engine_set_replay(in->e, true);
    rw_engine_set_alerting(in->e, false);
    rw_engine_set_grid(in->e, grid > CATCHUP_GRID_MIN_MS ? grid : CATCHUP_GRID_MIN_MS);
    rw_info("catching up on a backlog: replaying in event time, alerts held back");
}

static void end_catch_up(struct rw_ingest *in, int64_t wall_ms)
{
    in->phase = RW_INGEST_LIVE;
    rw_info("caught up with the streams; one alerting sweep, then real time");
    rw_commit_catch_up(in->commit, wall_ms);
    rw_engine_end_catch_up(in->e, wall_ms);
}

void rw_ingest_tick(struct rw_ingest *in, int64_t wall_ms)
{
    if (in->phase == RW_INGEST_LIVE && in->e)
        rw_engine_advance(in->e, wall_ms);
}

int64_t rw_ingest_key(struct rw_ingest *in, struct rw_entry_id id, const char *raw, size_t len)
{
    rw_json_arena_enter();
    const char *why = rw_event_parse(id, raw, len, 0, false, &in->ev);
    rw_json_arena_leave();
    return why ? RW_MERGE_FIRST : in->ev.ts_ms;
}

static bool is_replayed(const struct rw_applied *ap, int s, struct rw_entry_id id)
{
    return ap->has[s] && rw_entry_id_cmp(id, ap->last[s]) <= 0;
}

static void dead(struct rw_ingest *in, const struct rw_merge_item *it, const char *reason)
{
    rw_log_rl(RW_LOG_WARN, "dead-lettered entry stream=%s id=%.*s reason=%s",
              in->cfg->streams[it->stream], (int)it->id_len, it->id_str, reason);
    int r = rw_metrics_reason_index(reason);
    if (r >= 0)
        rw_commit_counts(in->commit)->invalid[r]++;
    rw_commit_dead(in->commit, it->stream, it->id_str, it->id_len, reason, it->raw, it->raw_len);
}

static bool all_read(const struct rw_ingest *in)
{
    for (int s = 0; s < in->cfg->nstreams; s++)
        if (!rw_merge_drained(in->merge, s) || rw_merge_queued(in->merge, s) > 0)
            return false;
    return true;
}

/* Marks IT applied (or dead) and takes it. */
static void done(struct rw_ingest *in, const struct rw_merge_item *it)
{
    rw_commit_ack(in->commit, it->stream, it->id_str, it->id_len);
    if (!it->bad_id && rw_applied_admit(in->applied, it->stream, it->id))
        rw_commit_applied(in->commit, it->stream, it->id_str, it->id_len);
    rw_merge_pop(in->merge);
}

/* One step with the merge's next entry IT; false when it must wait (a sweep first). */
static bool take(struct rw_ingest *in, struct rw_merge_item *it, int64_t wall_ms)
{
    if (!it->bad_id && is_replayed(in->applied, it->stream, it->id)) {
        rw_commit_ack(in->commit, it->stream, it->id_str, it->id_len); /* applied before a crash */
        rw_merge_pop(in->merge);
        return true;
    }
    const char *why = it->bad_id ? "bad_entry_id" : !it->raw ? "missing_event" : NULL;
    if (!why) {
        why = rw_event_parse(it->id, it->raw, it->raw_len, wall_ms, in->cfg->clock == RW_CLOCK_WALL,
                             &in->ev);
        rw_json_arena_reset();
        if (why == rw_event_oom_reason) { /* fatal, like rw_xmalloc: never dead-letter it */
            fputs("renewald: out of memory parsing an event\n", stderr);
            abort();
        }
    }
    if (why) {
        dead(in, it, why);
        done(in, it);
        return true;
    }
    const struct rw_event *ev = &in->ev;
    int64_t ts = ev->ts_ms;
    if (in->phase == RW_INGEST_DECIDING) {
        if (ts < wall_ms - in->cfg->sweep_interval_ms)
            begin_catch_up(in, wall_ms);
        else
            go_live(in, wall_ms);
    }
    if (in->phase == RW_INGEST_CATCHING_UP && ts >= in->horizon_ms) {
        end_catch_up(in, wall_ms);
        return false; /* the alerting sweep first */
    }
    int64_t agg_ts = ts;
    if (in->phase == RW_INGEST_LIVE) {
        /* An event slightly ahead of the wall clock counts as now. */
        if (agg_ts > rw_engine_event_now(in->e))
            agg_ts = rw_engine_event_now(in->e);
    } else {
        /* Under the wall clock nothing counts beyond it, even in a replay. */
        int64_t t = in->cfg->clock == RW_CLOCK_WALL && ts > wall_ms ? wall_ms : ts;
        rw_engine_advance(in->e, t);
        if (rw_engine_busy(in->e))
            return false;
        agg_ts = t;
    }
    rw_engine_apply(in->e, ev, agg_ts);
    rw_commit_counts(in->commit)->events++;
    done(in, it);
    return true;
}

/* The account id of a flat event as its bytes stand, or false: a guess for a
 * prefetch hint, never for anything else. */
static bool guess_account(const char *raw, size_t len, const char **id, size_t *n)
{
    static const char key[] = "\"account\"";
    const char *p = memmem(raw, len, key, sizeof key - 1);
    if (!p)
        return false;
    const char *end = raw + len;
    p += sizeof key - 1;
    while (p < end && (*p == ' ' || *p == ':'))
        p++;
    if (p >= end || *p++ != '"')
        return false;
    size_t left = (size_t)(end - p);
    const char *q = memchr(p, '"', left < RW_ACCOUNT_MAX + 1 ? left : RW_ACCOUNT_MAX + 1);
    if (!q || q == p || memchr(p, '\\', (size_t)(q - p)))
        return false;
    *id = p;
    *n = (size_t)(q - p);
    return true;
}

#define PREFETCH_FAR  16 /* entries ahead: the account's table slot */
#define PREFETCH_NEAR 6  /* entries ahead: the account itself */

/* Brings the accounts of the next entries of STREAM into the cache while this
 * one is applied: the table slot far ahead, then the account (its slot cached
 * by then).  Only hints: nothing is looked up or changed. */
static void prefetch(struct rw_ingest *in, int stream)
{
    const struct rw_store *st = rw_engine_store(in->e);
    struct rw_merge_item *far = rw_merge_ahead(in->merge, stream, PREFETCH_FAR);
    const char *id;
    size_t n;
    if (far && far->raw && !far->hint && guess_account(far->raw, far->raw_len, &id, &n))
        far->hint = rw_store_hash(st, id, n);
    const struct rw_merge_item *near = rw_merge_ahead(in->merge, stream, PREFETCH_NEAR);
    if (near && near->hint)
        rw_store_prefetch(st, NULL, 0, near->hint);
}

bool rw_ingest_between_slices(const struct rw_ingest *in)
{
    return in->e && in->phase == RW_INGEST_LIVE && rw_engine_interleaves(in->e);
}

bool rw_ingest_run(struct rw_ingest *in, int64_t wall_ms, int64_t deadline_ms)
{
    if (!in->e)
        return true;
    if (in->phase == RW_INGEST_LIVE)
        rw_engine_advance(in->e, wall_ms);
    bool idle = false;
    unsigned between = 0; /* entries taken since the last slice of a sweep */
    rw_json_arena_enter();
    for (unsigned n = 1;; n++) {
        if ((n & 63) == 0 && rw_mono_ms() >= deadline_ms)
            break;
        struct rw_merge_item *it = NULL;
        if (rw_engine_busy(in->e)) {
            /* Live, entries go on between the slices of a sweep: one read
             * during a sweep over every account waits a slice, not the sweep. */
            if (in->phase == RW_INGEST_LIVE && between < EVENTS_PER_SLICE &&
                rw_engine_interleaves(in->e))
                it = rw_merge_peek(in->merge);
            if (it) {
                between++;
                prefetch(in, it->stream);
                (void)take(in, it, wall_ms);
                continue;
            }
            between = 0;
            if (!rw_engine_work(in->e, SWEEP_SLICE))
                n |= 63; /* look at the clock after every slice */
            continue;
        }
        it = rw_merge_peek(in->merge);
        if (!it) {
            if (all_read(in)) {
                if (in->phase == RW_INGEST_DECIDING) {
                    go_live(in, wall_ms);
                    continue;
                }
                if (in->phase == RW_INGEST_CATCHING_UP) {
                    end_catch_up(in, wall_ms);
                    continue;
                }
            }
            idle = true;
            break;
        }
        prefetch(in, it->stream);
        (void)take(in, it, wall_ms);
    }
    rw_json_arena_leave();
    return idle;
}
