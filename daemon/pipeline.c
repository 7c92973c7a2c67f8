/* pipeline.c - a batch: replays skipped, events parsed and applied, accounts evaluated. */
#include "renewald/pipeline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/account_store.h"
#include "renewald/alert.h"
#include "renewald/alert_rules.h"
#include "renewald/commit.h"
#include "renewald/daemon.h"
#include "renewald/event.h"
#include "renewald/json_arena.h"
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
    rw_commit_counts(d->commit)->alerts[kind]++;
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
    uint8_t band = a->band;
    if (rw_rules_evaluate(&ctx, a, emit_alert, d))
        rw_store_mark_dirty(d->store, a);
    rw_store_band_moved(d->store, band, a->band);
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

static void apply_event(struct renewald *d, const struct rw_event *ev, uint64_t hash,
                        int64_t wall_ms)
{
    bool created;
    struct rw_account *a =
        rw_store_upsert_hashed(d->store, ev->account, ev->account_len, hash, &created);
    if (created)
        rw_scorer_reset(d->scorer, a->agg);
    if (ev->is_account)
        merge_metadata(d, a, ev);
    int64_t ts = ev->ts_ms;
    /* Under the live wall clock an event slightly ahead of now counts as now. */
    int64_t agg_ts =
        (d->cfg->clock == RW_CLOCK_WALL && !d->catching_up && ts > wall_ms) ? wall_ms : ts;
    rw_scorer_apply(d->scorer, a->agg, &a->ref_ms, ev->type, ev->type_len, agg_ts, ev->value);
    if (a->first_seen_ms == RW_NO_TIME || ts < a->first_seen_ms)
        a->first_seen_ms = ts;
    if (a->last_event_ms == RW_NO_TIME || ts > a->last_event_ms)
        a->last_event_ms = ts;
    rw_store_mark_dirty(d->store, a);
    if (d->event_now_ms == RW_NO_TIME || ts > d->event_now_ms)
        d->event_now_ms = ts;
    rw_commit_counts(d->commit)->events++;
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

/* One entry to process now or hold: read in this batch, or held from an earlier one. */
struct cand {
    int stream;
    struct rw_entry_id id;
    const char *id_str;
    size_t id_len;
    const char *verdict; /* NULL: a valid event; SKIP: a replay; else a dead-letter reason */
    const struct rw_event *ev;
    uint64_t hash;   /* of the account id in the store (valid events) */
    const char *raw; /* the original event bytes (dead letters) */
    size_t raw_len;
    bool hold;
};

/* An entry kept past its batch: everything it needs, owned. */
struct held {
    int stream;
    struct rw_entry_id id;
    char id_str[RW_ENTRY_ID_MAX];
    const char *verdict;
    struct rw_event ev;
    char *raw; /* dead letters only, cut at RW_DEAD_EVENT_MAX */
    size_t raw_len;
};

struct rw_pipeline {
    struct held *held; /* per stream in stream order; streams interleaved */
    size_t nheld, heldcap;
    size_t held_per_stream[RW_MAX_STREAMS];
    bool drained[RW_MAX_STREAMS]; /* the stream's last read came back short */
    struct rw_event *events;      /* scratch: the batch's entries parsed */
    struct cand *cands;
    size_t cap, candcap;
};

struct rw_pipeline *rw_pipeline_new(void)
{
    struct rw_pipeline *p = rw_xcalloc(1, sizeof *p);
    for (int s = 0; s < RW_MAX_STREAMS; s++)
        p->drained[s] = true;
    return p;
}

void rw_pipeline_reset(struct rw_pipeline *p)
{
    for (size_t i = 0; i < p->nheld; i++)
        free(p->held[i].raw);
    p->nheld = 0;
    for (int s = 0; s < RW_MAX_STREAMS; s++) {
        p->held_per_stream[s] = 0;
        p->drained[s] = true;
    }
}

void rw_pipeline_free(struct rw_pipeline *p)
{
    if (!p)
        return;
    rw_pipeline_reset(p);
    free(p->held);
    free(p->events);
    free(p->cands);
    free(p);
}

bool rw_pipeline_holding(const struct rw_pipeline *p, int stream)
{
    return p->held_per_stream[stream] > 0;
}

bool rw_pipeline_holding_any(const struct rw_pipeline *p)
{
    return p->nheld > 0;
}

void rw_pipeline_release_held(struct renewald *d)
{
    struct rw_pipeline *p = d->pipeline;
    for (int s = 0; s < RW_MAX_STREAMS; s++)
        p->drained[s] = true;
    struct rw_batch empty = {.newest_id_ms = INT64_MIN};
    rw_pipeline_process(d, &empty);
}

static struct cand *push_cand(struct rw_pipeline *p, size_t *n)
{
    if (*n == p->candcap) {
        p->candcap = p->candcap ? p->candcap * 2 : 1024;
        p->cands = rw_xrealloc(p->cands, p->candcap * sizeof *p->cands);
    }
    struct cand *c = &p->cands[(*n)++];
    memset(c, 0, sizeof *c);
    return c;
}

/* The verdict of a newly read entry: parsing only, no state changes. */
static const char *judge(struct renewald *d, const struct rw_entry *e, int64_t wall,
                         struct rw_event *ev)
{
    if (e->bad_id)
        return "bad_entry_id";
    const struct rw_applied *ap = &d->applied;
    if (ap->has[e->stream] && rw_entry_id_cmp(e->id, ap->last[e->stream]) <= 0)
        return SKIP;
    if (!e->event)
        return "missing_event";
    const char *verdict =
        rw_event_parse(e->id, e->event, e->event_len, wall, d->cfg->clock == RW_CLOCK_WALL, ev);
    if (verdict == rw_event_oom_reason) { /* fatal, like rw_xmalloc: never dead-letter it */
        fputs("renewald: out of memory parsing an event\n", stderr);
        abort();
    }
    return verdict;
}

/* The least advanced event time among streams that still have a backlog. */
static int64_t watermark(const struct rw_pipeline *p, const struct cand *c, size_t n, int nstreams)
{
    int64_t frontier[RW_MAX_STREAMS];
    for (int s = 0; s < nstreams; s++)
        frontier[s] = INT64_MIN;
    for (size_t i = 0; i < n; i++)
        if (!c[i].verdict && c[i].ev->ts_ms > frontier[c[i].stream])
            frontier[c[i].stream] = c[i].ev->ts_ms;
    int64_t wm = INT64_MAX;
    for (int s = 0; s < nstreams; s++)
        if (!p->drained[s] && frontier[s] != INT64_MIN && frontier[s] < wm)
            wm = frontier[s];
    return wm;
}

static void hold(struct rw_pipeline *p, const struct cand *c)
{
    if (p->nheld == p->heldcap) {
        p->heldcap = p->heldcap ? p->heldcap * 2 : 256;
        p->held = rw_xrealloc(p->held, p->heldcap * sizeof *p->held);
    }
    struct held *h = &p->held[p->nheld++];
    h->stream = c->stream;
    h->id = c->id;
    size_t il = c->id_len < RW_ENTRY_ID_MAX - 1 ? c->id_len : RW_ENTRY_ID_MAX - 1;
    memcpy(h->id_str, c->id_str, il);
    h->id_str[il] = '\0';
    h->verdict = c->verdict;
    if (!c->verdict)
        h->ev = *c->ev;
    h->raw = NULL;
    h->raw_len = 0;
    if (c->verdict && c->verdict != SKIP && c->raw) {
        h->raw_len = c->raw_len < RW_DEAD_EVENT_MAX ? c->raw_len : RW_DEAD_EVENT_MAX;
        h->raw = rw_xstrndup(c->raw, h->raw_len);
    }
    p->held_per_stream[c->stream]++;
}

void rw_pipeline_process(struct renewald *d, const struct rw_batch *b)
{
    const struct rw_config *cfg = d->cfg;
    struct rw_pipeline *p = d->pipeline;
    int64_t wall = rw_wall_ms();
    if (b->n > p->cap) {
        free(p->events);
        p->cap = b->n;
        p->events = rw_xmalloc(p->cap * sizeof *p->events);
    }

    /* Candidates: entries held from earlier batches, then this batch's (a
     * stream with held entries is not read, so the two never share a stream). */
    size_t n = 0;
    for (size_t i = 0; i < p->nheld; i++) {
        const struct held *h = &p->held[i];
        struct cand *c = push_cand(p, &n);
        *c = (struct cand){.stream = h->stream,
                           .id = h->id,
                           .id_str = h->id_str,
                           .id_len = strlen(h->id_str),
                           .verdict = h->verdict,
                           .ev = &h->ev,
                           .raw = h->raw,
                           .raw_len = h->raw_len};
        if (!c->verdict)
            c->hash = rw_store_hash(d->store, h->ev.account, h->ev.account_len);
    }
    int64_t newest_ts = RW_NO_TIME;
    rw_json_arena_enter();
    for (size_t i = 0; i < b->n; i++) {
        const struct rw_entry *e = &b->entries[i];
        struct cand *c = push_cand(p, &n);
        c->stream = e->stream;
        c->id = e->id;
        c->id_str = e->id_str;
        c->id_len = e->id_len;
        c->ev = &p->events[i];
        c->verdict = judge(d, e, wall, &p->events[i]);
        rw_json_arena_reset();
        if (!c->verdict) /* start fetching its table slot now; used in the apply pass */
            c->hash = rw_store_hash(d->store, c->ev->account, c->ev->account_len);
        c->raw = e->event;
        c->raw_len = e->event_len;
        if (!c->verdict && (newest_ts == RW_NO_TIME || p->events[i].ts_ms > newest_ts))
            newest_ts = p->events[i].ts_ms;
    }
    rw_json_arena_leave();
    for (int s = 0; s < cfg->nstreams; s++)
        if (b->requested[s])
            p->drained[s] = b->count[s] < cfg->batch;
    bool caught_up = update_catch_up(d, b, newest_ts, wall);

    /* Hold each stream's suffix from its first event beyond the watermark. */
    int64_t wm = watermark(p, p->cands, n, cfg->nstreams);
    bool cut[RW_MAX_STREAMS] = {false};
    for (size_t i = 0; i < n; i++) {
        struct cand *c = &p->cands[i];
        if (!cut[c->stream] && !c->verdict && c->ev->ts_ms > wm)
            cut[c->stream] = true;
        c->hold = cut[c->stream];
    }

    const char *last_admitted_str[RW_MAX_STREAMS] = {NULL};
    size_t last_admitted_len[RW_MAX_STREAMS] = {0};
    for (size_t i = 0; i < n; i++) {
        const struct cand *c = &p->cands[i];
        /* The account a few events ahead: its slot is cached since pass 1. */
        if (i + 4 < n && !p->cands[i + 4].verdict && !p->cands[i + 4].hold)
            rw_store_prefetch(d->store, p->cands[i + 4].ev->account,
                              p->cands[i + 4].ev->account_len, p->cands[i + 4].hash);
        if (c->hold)
            continue;
        rw_commit_ack(d->commit, c->stream, c->id_str, c->id_len);
        if (c->verdict == SKIP || !rw_applied_admit(&d->applied, c->stream, c->id))
            continue;
        last_admitted_str[c->stream] = c->id_str;
        last_admitted_len[c->stream] = c->id_len;
        if (c->verdict) {
            rw_log_rl(RW_LOG_WARN, "dead-lettered entry stream=%s id=%.*s reason=%s",
                      cfg->streams[c->stream], (int)c->id_len, c->id_str, c->verdict);
            int reason = rw_metrics_reason_index(c->verdict);
            if (reason >= 0)
                rw_commit_counts(d->commit)->invalid[reason]++;
            rw_commit_dead(d->commit, c->stream, c->id_str, c->id_len, c->verdict, c->raw,
                           c->raw_len);
            continue;
        }
        apply_event(d, c->ev, c->hash, wall);
    }
    for (int s = 0; s < cfg->nstreams; s++)
        if (last_admitted_str[s])
            rw_commit_applied(d->commit, s, last_admitted_str[s], last_admitted_len[s]);

    /* Keep what is held: old held entries not processed, then new ones. */
    struct held *old = p->held;
    size_t nold = p->nheld;
    p->held = NULL;
    p->nheld = p->heldcap = 0;
    for (int s = 0; s < RW_MAX_STREAMS; s++)
        p->held_per_stream[s] = 0;
    for (size_t i = 0; i < n; i++)
        if (p->cands[i].hold)
            hold(p, &p->cands[i]);
    for (size_t i = 0; i < nold; i++)
        free(old[i].raw);
    free(old);

    /* Evaluate what changed at the batch's now. */
    bool replay = cfg->clock == RW_CLOCK_EVENT || d->catching_up;
    d->now_ms = replay && d->event_now_ms != RW_NO_TIME ? d->event_now_ms : wall;
    size_t ndirty;
    struct rw_account *const *dirty = rw_store_dirty(d->store, &ndirty);
    /* Evaluation may add to the dirty set only accounts already in it. */
    for (size_t i = 0; i < ndirty; i++)
        rw_pipeline_evaluate(d, dirty[i]);
    if (caught_up)
        rw_daemon_caught_up(d);
}
