/* pipeline.c - a batch: replays skipped, events parsed and applied, accounts evaluated. */
#include "renewald/pipeline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/account_store.h"
#include "renewald/alert.h"
#include "renewald/alert_rules.h"
#include "renewald/commit.h"
#include "renewald/daemon.h"
#include "renewald/event.h"
#include "renewald/log.h"
#include "renewald/route.h"
#include "renewald/score.h"
#include "renewald/stream_reader.h"

static const char SKIP[] = "";

static void emit_alert(void *arg, const char *alert_id, json_t *alert, const struct rw_account *a,
                       enum rw_alert_kind kind, int days_to_renewal)
{
    struct renewald *d = arg;
    struct rw_route_alert ra = {
        .kind = kind,
        .band = (enum rw_band)a->band,
        .tier = a->tier,
        .arr = a->arr,
        .has_days_to_renewal = days_to_renewal != INT32_MIN,
        .days_to_renewal = days_to_renewal,
    };
    uint32_t sinks = rw_route_sinks(d->cfg, &ra);
    rw_info("alert created id=%s kind=%s account=%s band=%s", alert_id, rw_alert_kind_name(kind),
            a->id, rw_band_name((enum rw_band)a->band));
    d->metrics.alerts_total[kind]++;
    rw_commit_alert(d->commit, alert_id, alert, sinks);
}

void rw_pipeline_evaluate(struct renewald *d, struct rw_account *a)
{
    struct rw_rules_ctx ctx = {
        .cfg = d->cfg,
        .scorer = d->scorer,
        .now_ms = d->now_ms,
        .alerting = rw_daemon_alerting(d),
    };
    if (rw_rules_evaluate(&ctx, a, emit_alert, d))
        rw_store_mark_dirty(d->store, a);
}

bool rw_pipeline_sweep(struct renewald *d, size_t *cursor, size_t limit)
{
    for (size_t n = 0; n < limit; n++) {
        struct rw_account *a = rw_store_next(d->store, cursor);
        if (!a)
            return true;
        rw_pipeline_evaluate(d, a);
    }
    return false;
}

static void merge_metadata(struct renewald *d, struct rw_account *a, const struct rw_event *ev)
{
    unsigned set = ev->meta_set, clr = ev->meta_null;
    if (set & RW_META_NAME)
        rw_account_set_name(a, ev->name, strlen(ev->name));
    else if (clr & RW_META_NAME)
        rw_account_set_name(a, NULL, 0);
    if (set & RW_META_OWNER)
        a->owner = rw_store_intern(d->store, ev->owner, strlen(ev->owner));
    else if (clr & RW_META_OWNER)
        a->owner = NULL;
    if (set & RW_META_TIER)
        a->tier = rw_store_intern(d->store, ev->tier, strlen(ev->tier));
    else if (clr & RW_META_TIER)
        a->tier = NULL;
    if (set & RW_META_ARR)
        a->arr = ev->arr;
    else if (clr & RW_META_ARR)
        a->arr = NAN;
    if (set & RW_META_SEATS)
        a->seats = ev->seats;
    else if (clr & RW_META_SEATS)
        a->seats = NAN;
    int32_t day = a->renewal_day;
    if (set & RW_META_RENEWAL_DATE)
        day = ev->renewal_day;
    else if (clr & RW_META_RENEWAL_DATE)
        day = RW_NO_DAY;
    if (day != a->renewal_day) {
        /* A new renewal date starts a new cycle of windows. */
        a->renewal_day = day;
        a->window_alerted = 0;
    }
}

static void apply_event(struct renewald *d, const struct rw_event *ev, int64_t wall_ms)
{
    bool created;
    struct rw_account *a = rw_store_upsert(d->store, ev->account, ev->account_len, &created);
    if (created)
        rw_scorer_reset(d->scorer, a->agg);
    if (ev->is_account)
        merge_metadata(d, a, ev);
    int64_t ts = ev->ts_ms;
    /* Under the live wall clock an event slightly ahead of now counts as now. */
    int64_t agg_ts = (d->cfg->clock == RW_CLOCK_WALL && !d->catching_up && ts > wall_ms) ? wall_ms
                                                                                          : ts;
    rw_scorer_apply(d->scorer, a->agg, &a->ref_ms, ev->type, ev->type_len, agg_ts, ev->value);
    if (a->first_seen_ms == RW_NO_TIME || ts < a->first_seen_ms)
        a->first_seen_ms = ts;
    if (a->last_event_ms == RW_NO_TIME || ts > a->last_event_ms)
        a->last_event_ms = ts;
    rw_store_mark_dirty(d->store, a);
    if (d->event_now_ms == RW_NO_TIME || ts > d->event_now_ms)
        d->event_now_ms = ts;
    d->metrics.events_total++;
}

static void ensure_scratch(struct renewald *d, size_t n)
{
    if (n <= d->scratch_cap)
        return;
    free(d->scratch_events);
    free(d->scratch_verdicts);
    d->scratch_cap = n;
    d->scratch_events = rw_xmalloc(n * sizeof *d->scratch_events);
    d->scratch_verdicts = rw_xmalloc(n * sizeof *d->scratch_verdicts);
}

/* Under the wall clock: is this batch part of a backlog (SPEC §6)?  Returns true
 * when a catch-up ends with it. */
static bool update_catch_up(struct renewald *d, const struct rw_batch *b, int64_t newest_ts,
                            int64_t wall_ms)
{
    if (d->cfg->clock != RW_CLOCK_WALL)
        return false;
    int64_t horizon = wall_ms - d->cfg->sweep_interval_ms;
    bool old = (b->newest_id_ms != INT64_MIN && b->newest_id_ms < horizon) ||
               (newest_ts != RW_NO_TIME && newest_ts < horizon);
    bool behind = b->full && old;
    if (behind && !d->catching_up) {
        rw_info("catching up on a backlog: replaying in event time, alerts held back");
        d->catching_up = true;
    } else if (!behind && d->catching_up) {
        d->catching_up = false;
        return true;
    }
    return false;
}

void rw_pipeline_process(struct renewald *d, const struct rw_batch *b)
{
    const struct rw_config *cfg = d->cfg;
    int64_t wall = rw_wall_ms();
    ensure_scratch(d, b->n);
    int64_t newest_ts = RW_NO_TIME;
    const struct rw_entry *last_admitted[RW_MAX_STREAMS] = {NULL};

    /* Pass 1: decide each entry's fate without touching any account. */
    for (size_t i = 0; i < b->n; i++) {
        const struct rw_entry *e = &b->entries[i];
        const char **verdict = &d->scratch_verdicts[i];
        if (e->bad_id) {
            *verdict = "bad_entry_id";
            continue;
        }
        if (!rw_applied_admit(&d->applied, e->stream, e->id)) {
            *verdict = SKIP;
            continue;
        }
        last_admitted[e->stream] = e;
        if (!e->event) {
            *verdict = "missing_event";
            continue;
        }
        *verdict = rw_event_parse(e->id, e->event, e->event_len, wall, cfg->clock == RW_CLOCK_WALL,
                                  &d->scratch_events[i]);
        if (!*verdict && (newest_ts == RW_NO_TIME || d->scratch_events[i].ts_ms > newest_ts))
            newest_ts = d->scratch_events[i].ts_ms;
    }
    bool caught_up = update_catch_up(d, b, newest_ts, wall);

    /* Pass 2: apply, dead-letter, acknowledge. */
    for (size_t i = 0; i < b->n; i++) {
        const struct rw_entry *e = &b->entries[i];
        const char *verdict = d->scratch_verdicts[i];
        rw_commit_ack(d->commit, e->stream, e->id_str, e->id_len);
        if (verdict == SKIP)
            continue;
        if (verdict) {
            rw_log_rl(RW_LOG_WARN, "dead-lettered entry stream=%s id=%.*s reason=%s",
                      cfg->streams[e->stream], (int)e->id_len, e->id_str, verdict);
            rw_metrics_invalid(&d->metrics, verdict);
            rw_commit_dead(d->commit, e->stream, e->id_str, e->id_len, verdict, e->event,
                           e->event_len);
            continue;
        }
        apply_event(d, &d->scratch_events[i], wall);
    }
    for (int s = 0; s < cfg->nstreams; s++)
        if (last_admitted[s])
            rw_commit_applied(d->commit, s, last_admitted[s]->id_str, last_admitted[s]->id_len);

    /* Evaluate what changed at the batch's now. */
    bool replay = cfg->clock == RW_CLOCK_EVENT || d->catching_up;
    d->now_ms = replay && d->event_now_ms != RW_NO_TIME ? d->event_now_ms : wall;
    size_t n;
    struct rw_account *const *dirty = rw_store_dirty(d->store, &n);
    /* Evaluation may add to the dirty set only accounts already in it. */
    for (size_t i = 0; i < n; i++)
        rw_pipeline_evaluate(d, dirty[i]);
    if (caught_up)
        rw_daemon_caught_up(d);
}
