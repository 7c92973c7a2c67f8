/* engine.c - clock, sweep grid, due times and the order of evaluation (SPEC §6). */
#include "renewald/core/engine.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/core/alert_rules.h"
#include "renewald/core/band.h"
#include "renewald/core/due_heap.h"
#include "renewald/core/ordinal_set.h"
#include "renewald/core/readable.h"
#include "renewald/core/timeutil.h"

#define DUE_MARGIN_MS 1000 /* evaluate a little before a computed change time */

struct rw_engine {
    const struct rw_config *cfg;
    const struct rw_scorer *sc;
    struct rw_store *st;
    struct rw_engine_hooks hooks;
    void *arg;
    struct rw_band_conf bc;
    struct rw_history *hist;

    bool replay, alerting;
    int64_t grid_ms;
    int64_t now_ms, last_sweep_ms;
    int32_t history_day;
    bool force_full;  /* every account is due at the next sweep (after a restore) */
    bool always_full; /* every sweep evaluates every account (the reference) */

    /* The sweep in progress. */
    int64_t sweep_ms, target_ms;
    int64_t wanted_ms; /* now was asked past the next sweep time: after this sweep, that one */
    int64_t sweep_day_end_ms; /* the next UTC midnight after sweep_ms */
    bool sweep_full, sweep_alerting, sweep_record;
    bool sweep_all;           /* full pass that evaluates every account (state unknown) */
    size_t cursor;            /* full: next ordinal; else: next index in work */
    struct rw_account **work; /* due pass: the accounts to evaluate, by ordinal */
    size_t nwork, workcap;
    struct rw_ordinal_set order; /* scratch of order_work */
    uint32_t *ordinals;          /* scratch of order_work (workcap entries) */
    uint32_t hist_from;          /* full pass: first ordinal not yet reported */
    /* Live: accounts the sweep must skip (evaluated out of turn before an
     * event of theirs, or created by one, while it ran). */
    struct rw_ordinal_set ahead;

    /* Accounts evaluated by events since the last sweep (due time stale). */
    struct rw_account **stale;
    size_t nstale, stalecap;

    /* Accounts by due time; those never due are not in it. */
    struct rw_due_heap due;

    /* The score refresh: a pass evaluating scores only, at the now it began. */
    int64_t refresh_at, refreshed_at; /* pass in progress / last complete pass, RW_NO_TIME */
    uint32_t refresh_cursor;

    /* The evaluation in hand, for the alerts it creates. */
    const struct rw_score_eval *cur;
    struct rw_jsonw jw;
    struct rw_engine_stats stats;
    uint64_t sweep_steps; /* calls of rw_engine_work with a sweep to do */
};

static void stale_clear(struct rw_engine *e)
{
    for (size_t i = 0; i < e->nstale; i++)
        e->stale[i]->flags &= (uint8_t)~RW_ACCT_DUE_STALE;
    e->nstale = 0;
}

static void mark_stale(struct rw_engine *e, struct rw_account *a)
{
    if (a->flags & RW_ACCT_DUE_STALE)
        return;
    if (e->nstale == e->stalecap) {
        e->stalecap = e->stalecap ? e->stalecap * 2 : 1024;
        e->stale = rw_xrealloc(e->stale, e->stalecap * sizeof(*e->stale));
    }
    e->stale[e->nstale++] = a;
    a->flags |= RW_ACCT_DUE_STALE;
}

static int64_t next_day_ms(int64_t t)
{
    return ((int64_t)rw_day_of_ms(t) + 1) * RW_MS_PER_DAY;
}

/* ---- construction ---- */

struct rw_engine *rw_engine_new(const struct rw_config *cfg, const struct rw_scorer *sc,
                                struct rw_store *st, const struct rw_engine_hooks *hooks, void *arg)
{
    struct rw_engine *e = rw_xcalloc(1, sizeof(*e));
    e->hooks = *hooks;
    e->arg = arg;
    e->hist = rw_history_new();
    e->replay = true;
    e->alerting = true;
    e->now_ms = RW_NO_TIME;
    e->last_sweep_ms = RW_NO_TIME;
    e->history_day = RW_NO_DAY;
    e->sweep_ms = RW_NO_TIME;
    e->target_ms = RW_NO_TIME;
    e->wanted_ms = RW_NO_TIME;
    e->refresh_at = e->refreshed_at = RW_NO_TIME;
    rw_jsonw_init(&e->jw);
    rw_engine_reconfigure(e, cfg, sc, st);
    return e;
}

void rw_engine_free(struct rw_engine *e)
{
    if (!e)
        return;
    rw_history_free(e->hist);
    rw_jsonw_free(&e->jw);
    free(e->work);
    rw_ordinal_set_free(&e->order);
    free(e->ordinals);
    rw_ordinal_set_free(&e->ahead);
    free(e->stale);
    rw_due_free(&e->due);
    free(e);
}

void rw_engine_reconfigure(struct rw_engine *e, const struct rw_config *cfg,
                           const struct rw_scorer *sc, struct rw_store *st)
{
    bool new_store = st != e->st;
    e->cfg = cfg;
    e->sc = sc;
    e->st = st;
    e->grid_ms = cfg->sweep_interval_ms;
    rw_band_conf_init(&e->bc, cfg);
    if (new_store) {
        /* The old store's accounts are gone: nothing may point at them. */
        rw_due_forget(&e->due);
        e->nstale = 0;
        e->nwork = 0;
    } else {
        rw_due_clear(&e->due, e->st);
        stale_clear(e);
    }
    e->force_full = true;
}

void rw_engine_restore(struct rw_engine *e, const struct rw_engine_clock *c)
{
    e->now_ms = c->now_ms;
    e->last_sweep_ms = c->last_sweep_ms;
    e->history_day = c->history_day;
    rw_due_clear(&e->due, e->st);
    stale_clear(e);
    rw_ordinal_set_clear(&e->ahead);
    e->nwork = 0;
    e->force_full = true;
    e->sweep_ms = RW_NO_TIME;
    if (c->sweep_ms != RW_NO_TIME) {
        /* Resume it whole: accounts already evaluated at that time do not change again. */
        e->sweep_ms = c->sweep_ms;
        e->sweep_day_end_ms = next_day_ms(c->sweep_ms);
        e->target_ms = c->target_ms;
        e->now_ms = c->sweep_ms;
        e->sweep_full = true;
        e->sweep_all = true;
        e->sweep_alerting = c->sweep_alerting;
        e->sweep_record = e->cfg->history_ms > 0 && rw_day_of_ms(c->sweep_ms) != e->history_day;
        e->cursor = 0;
        e->hist_from = 0;
        e->force_full = false;
        if (e->sweep_record)
            rw_history_begin_day(e->hist, rw_day_of_ms(c->sweep_ms));
    }
    if (!(c->sweep_ms != RW_NO_TIME && e->sweep_record) && e->history_day != RW_NO_DAY)
        rw_history_end_day(e->hist, e->history_day); /* loaded whole: written out already */
}

void rw_engine_get_clock(const struct rw_engine *e, struct rw_engine_clock *out)
{
    out->now_ms = e->now_ms;
    out->last_sweep_ms = e->last_sweep_ms;
    out->history_day = e->history_day;
    out->sweep_ms = e->sweep_ms;
    out->target_ms = e->sweep_ms != RW_NO_TIME ? e->target_ms : RW_NO_TIME;
    out->sweep_full = e->sweep_ms != RW_NO_TIME && e->sweep_full;
    out->sweep_alerting = e->sweep_ms != RW_NO_TIME && e->sweep_alerting;
}

void rw_engine_set_replay(struct rw_engine *e, bool replay)
{
    e->replay = replay;
}

void rw_engine_set_alerting(struct rw_engine *e, bool alerting)
{
    e->alerting = alerting;
}

bool rw_engine_alerting(const struct rw_engine *e)
{
    return e->alerting;
}

void rw_engine_set_grid(struct rw_engine *e, int64_t grid_ms)
{
    e->grid_ms = grid_ms > 0 ? grid_ms : e->cfg->sweep_interval_ms;
}

int64_t rw_engine_now(const struct rw_engine *e)
{
    return e->now_ms;
}

const struct rw_store *rw_engine_store(const struct rw_engine *e)
{
    return e->st;
}

struct rw_history *rw_engine_history(struct rw_engine *e)
{
    return e->hist;
}

bool rw_engine_busy(const struct rw_engine *e)
{
    return e->sweep_ms != RW_NO_TIME;
}

bool rw_engine_interleaves(const struct rw_engine *e)
{
    return e->sweep_ms != RW_NO_TIME && !e->replay && e->wanted_ms == RW_NO_TIME;
}

int64_t rw_engine_event_now(const struct rw_engine *e)
{
    return e->sweep_ms != RW_NO_TIME ? e->target_ms : e->now_ms;
}

void rw_engine_set_full_sweeps(struct rw_engine *e, bool full)
{
    e->always_full = full;
}

uint64_t rw_engine_sweep_steps(const struct rw_engine *e)
{
    return e ? e->sweep_steps : 0;
}

void rw_engine_stats(const struct rw_engine *e, struct rw_engine_stats *out)
{
    *out = e->stats;
    out->due_filed = e->due.n;
}

/* ---- alerts ---- */

static int history_tenths(const struct rw_engine *e, const struct rw_account *a, int32_t day)
{
    int t = rw_history_tenths_at(e->hist, day, a->ordinal);
    return t < 0 ? RW_NO_TENTHS : t;
}

static void emit(void *arg, struct rw_account *a, const struct rw_rule_alert *r)
{
    struct rw_engine *e = arg;
    const struct rw_score_eval *ev = e->cur;
    struct rw_alert_signal sigs[RW_MAX_SIGNALS];
    char texts[RW_MAX_SIGNALS][RW_READABLE_MAX];
    int n = rw_scorer_nsignals(e->sc);
    for (int i = 0; i < n; i++) {
        const struct rw_signal_conf *c = rw_scorer_signal(e->sc, i);
        rw_readable_signal(c, !ev->sig[i].absent, ev->sig[i].x, texts[i], sizeof texts[i]);
        sigs[i] = (struct rw_alert_signal){c->name,          !ev->sig[i].absent, ev->sig[i].x,
                                           ev->sig[i].score, c->weight,          texts[i]};
    }
    int32_t today = rw_day_of_ms(e->now_ms);
    struct rw_alert al = {
        .kind = r->kind,
        .band = r->band,
        .previous_band = r->previous_band,
        .window = r->window,
        .ts_ms = e->now_ms,
        .account = a,
        .days_to_renewal = rw_account_days_to_renewal(a, e->now_ms),
        .score = ev->has_score ? ev->tenths : RW_NO_TENTHS,
        .score_7d = history_tenths(e, a, today - 7),
        .score_30d = history_tenths(e, a, today - 30),
        .signals = sigs,
        .nsignals = n,
    };
    rw_alert_id(a->id, r->kind, r->discriminator, al.id);
    rw_jsonw_reset(&e->jw);
    rw_alert_render(&e->jw, &al, e->cfg->account_url);
    al.json = e->jw.buf;
    al.json_len = e->jw.len;
    e->hooks.alert(e->arg, &al);
}

/* ---- evaluation ---- */

static void score_input(const struct rw_account *a, struct rw_score_input *in)
{
    in->agg = rw_account_agg(a);
    in->ref_ms = a->ref_ms;
    in->first_seen_ms = a->first_seen_ms;
    in->seats = a->seats;
}

/* Evaluates A at now: score, band, and (when alerting) the rules.  EV receives the evaluation. */
static void evaluate(struct rw_engine *e, struct rw_account *a, bool alerting,
                     struct rw_score_eval *ev)
{
    int64_t now = e->now_ms;
    struct rw_score_input in;
    score_input(a, &in);
    rw_scorer_eval(e->sc, &in, now, ev);
    a->score = ev->has_score ? (float)ev->score : NAN;
    bool onboarding = rw_band_onboarding(&e->bc, a->first_seen_ms, now);
    struct rw_band_state bs = {a->band, a->below_healthy_ms, a->below_watch_ms};
    bool changed = rw_band_step(&e->bc, &bs, onboarding, ev->has_score, ev->tenths, now);
    uint8_t from = a->band;
    rw_store_set_band(e->st, a, bs.band);
    a->below_healthy_ms = bs.below_healthy_ms;
    a->below_watch_ms = bs.below_watch_ms;
    /* No alerts while onboarding, nor while catching up: bands move, nobody is told. */
    if (alerting && !onboarding) {
        e->cur = ev;
        changed |= rw_rules_run(e->cfg, e->st, a, now, emit, e);
        e->cur = NULL;
    }
    if (changed)
        rw_store_mark_dirty(e->st, a);
    if (from != a->band && e->hooks.band)
        e->hooks.band(e->arg, a, (enum rw_band)from, now);
}

/* The next grid time after T. */
static int64_t next_grid(const struct rw_engine *e, int64_t t)
{
    int64_t g = e->grid_ms;
    int64_t base = t >= 0 ? t / g * g : -((-t + g - 1) / g) * g;
    return base + g;
}

/* Is the band state of A stable over [T0, X] as far as its score can move? */
static bool score_stable(const struct rw_engine *e, const struct rw_score_input *in,
                         const struct rw_band_state *bs, int64_t t0, int64_t x)
{
    int lo, hi;
    int64_t until;
    if (!rw_scorer_bounds(e->sc, in, t0, x, &lo, &hi, &until))
        return true; /* no score: only an event brings one */
    return x < until - DUE_MARGIN_MS && rw_band_stable_range(&e->bc, bs, lo, hi);
}

/*
 * A grid time after NOW by which A's score may have moved its band state: one
 * grid step after the largest X = now + k·grid with the state stable over
 * [now, X] that the search finds (stability over [now, X] only shrinks as X
 * grows).  HORIZON caps it (a full pass comes then anyway).  A due time days
 * ahead needs no minute's precision: the search halves down from the horizon
 * to the first stable X, then narrows to an eighth of the distance.  An early
 * due time costs one evaluation that changes nothing; a late one is never
 * returned.
 */
static int64_t score_due(struct rw_engine *e, const struct rw_account *a,
                         const struct rw_band_state *bs, int64_t horizon)
{
    int64_t now = e->now_ms, g = e->grid_ms;
    struct rw_score_input in;
    score_input(a, &in);
    int64_t first = next_grid(e, now);
    /* Most accounts are nowhere near a bound: one look over the whole horizon. */
    if (horizon <= first || score_stable(e, &in, bs, now, horizon))
        return horizon;
    if (!score_stable(e, &in, bs, now, first))
        return first;
    int64_t good = 0, bad = (horizon - first) / g; /* stable at FIRST + GOOD·g, not at BAD */
    for (int64_t k = bad / 2; k > 0; k /= 2) {
        if (score_stable(e, &in, bs, now, first + k * g)) {
            good = k;
            break;
        }
        bad = k;
    }
    while (bad - good > 1 && (bad - good) * 8 > good) {
        int64_t mid = good + (bad - good) / 2;
        if (score_stable(e, &in, bs, now, first + mid * g))
            good = mid;
        else
            bad = mid;
    }
    return first + good * g + g;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

#define DUE_HORIZON_MS (7 * RW_MS_PER_DAY) /* a due time is never further than this */

/*
 * With the daily history on, the first sweep of every UTC day is a full pass,
 * which looks at every account whose due time has come: the heap need only
 * hold the accounts due before the next such pass (the rest wait in their
 * due_s, and that pass files those due within its day).  Most accounts are
 * due days ahead: the heap stays a fraction of the book.
 */
static bool daily_full_pass(const struct rw_engine *e)
{
    return e->cfg->history_ms > 0;
}

/* Computes and files A's due time after an evaluation at now (a sweep time). */
static void refresh_due(struct rw_engine *e, struct rw_account *a, const struct rw_score_eval *ev)
{
    int64_t now = e->now_ms;
    e->stats.due_computations++;
    /* Look about a week ahead at most (to a UTC midnight, so that an account
     * looked at again the same day gets the same horizon and keeps its place in
     * the due heap): an account due then is looked at again. */
    int64_t horizon = ((int64_t)rw_day_of_ms(now) + 1) * RW_MS_PER_DAY + DUE_HORIZON_MS;
    horizon = next_grid(e, horizon - e->grid_ms);
    int64_t due = horizon;
    if (rw_band_onboarding(&e->bc, a->first_seen_ms, now)) {
        if (a->first_seen_ms != RW_NO_TIME && a->first_seen_ms < INT64_MAX - e->bc.min_history_ms)
            due = min64(due, a->first_seen_ms + e->bc.min_history_ms);
    } else if (ev->has_score) {
        struct rw_band_state bs = {a->band, a->below_healthy_ms, a->below_watch_ms};
        due = min64(due, rw_band_next_time(&e->bc, &bs));
        due = min64(due, score_due(e, a, &bs, horizon));
    }
    due = min64(due, rw_rules_next_time(e->cfg, e->st, a, now));
    if (due <= now)
        due = next_grid(e, now);
    rw_due_set(&e->due, e->st, a, due, !daily_full_pass(e) || due < e->sweep_day_end_ms);
}

/* ---- sweeps ---- */

/* Puts the work list in ordinal order: a bit per ordinal, then one walk over the
 * words (cheaper than sorting pointers, and the order is the canonical one). */
static void order_work(struct rw_engine *e)
{
    if (e->nwork < 2)
        return;
    for (size_t i = 0; i < e->nwork; i++)
        rw_ordinal_set_add(&e->order, e->work[i]->ordinal);
    size_t k = rw_ordinal_set_drain(&e->order, e->ordinals);
    for (size_t i = 0; i < k; i++)
        e->work[i] = rw_store_by_ordinal(e->st, e->ordinals[i]);
    e->nwork = k; /* duplicates, if any, went with the bits */
}

static void work_push(struct rw_engine *e, struct rw_account *a)
{
    if (e->nwork == e->workcap) {
        e->workcap = e->workcap ? e->workcap * 2 : 1024;
        e->work = rw_xrealloc(e->work, e->workcap * sizeof(*e->work));
        e->ordinals = rw_xrealloc(e->ordinals, e->workcap * sizeof(*e->ordinals));
    }
    e->work[e->nwork++] = a;
}

/* Starts the sweep at T (now becomes T); TARGET is where now goes after it. */
static void start_sweep(struct rw_engine *e, int64_t t, int64_t target, bool full_anyway)
{
    int32_t day = rw_day_of_ms(t);
    e->sweep_ms = t;
    e->sweep_day_end_ms = next_day_ms(t);
    e->target_ms = target;
    e->now_ms = t;
    e->sweep_alerting = e->alerting;
    e->sweep_record = e->cfg->history_ms > 0 && day != e->history_day;
    e->sweep_full = full_anyway || e->sweep_record || e->force_full || e->always_full;
    e->sweep_all = full_anyway || e->force_full || e->always_full;
    e->force_full = false;
    e->cursor = 0;
    e->hist_from = 0;
    e->nwork = 0;
    e->stats.sweeps++;
    if (e->sweep_record)
        rw_history_begin_day(e->hist, day);
    if (e->sweep_full) {
        /* Accounts that may change are evaluated in the pass; their stale marks
         * are cleared one by one (the list is compacted when the pass ends). */
        e->stats.full_sweeps++;
        return;
    }
    /* Due pass: accounts touched since the last sweep, and those whose time has come. */
    for (size_t i = 0; i < e->nstale; i++)
        work_push(e, e->stale[i]);
    struct rw_account *a;
    while ((a = rw_due_pop(&e->due, e->st, t)) != NULL) {
        a->due_s = RW_DUE_NEVER;
        if (!(a->flags & RW_ACCT_DUE_STALE))
            work_push(e, a);
    }
    stale_clear(e);
    if (e->nwork > 1)
        order_work(e);
}

/* May A's state change at the sweep in progress?  (Touched since the last
 * sweep, due by now, or every account after a restore.) */
static bool may_change(const struct rw_engine *e, const struct rw_account *a)
{
    return e->sweep_all || (a->flags & RW_ACCT_DUE_STALE) || rw_due_by(a->due_s, e->sweep_ms);
}

static void sweep_one(struct rw_engine *e, struct rw_account *a)
{
    struct rw_score_eval ev;
    if (e->sweep_full && !may_change(e, a)) {
        /* Its band and waits stay as they are at this time: the score alone is
         * needed, for the worklist and the day's history. */
        struct rw_score_input in;
        score_input(a, &in);
        rw_scorer_eval(e->sc, &in, e->now_ms, &ev);
        a->score = ev.has_score ? (float)ev.score : NAN;
        if (daily_full_pass(e) && rw_due_by(a->due_s, e->sweep_day_end_ms - 1))
            rw_due_set(&e->due, e->st, a, (int64_t)a->due_s * 1000, true); /* due today */
    } else {
        evaluate(e, a, e->sweep_alerting, &ev);
        e->stats.sweep_evaluations++;
        a->flags &= (uint8_t)~RW_ACCT_DUE_STALE;
        refresh_due(e, a, &ev);
    }
    if (e->sweep_record)
        rw_history_set(e->hist, rw_day_of_ms(e->sweep_ms), a->ordinal,
                       rw_history_entry(a->band, ev.has_score, ev.tenths));
}

static void report_history(struct rw_engine *e, uint32_t to)
{
    if (e->sweep_record && e->hooks.history && to > e->hist_from)
        e->hooks.history(e->arg, rw_day_of_ms(e->sweep_ms), e->hist_from, to);
    e->hist_from = to;
}

/* Has the sweep in progress yet to look at A? */
static bool sweep_pending(const struct rw_engine *e, const struct rw_account *a)
{
    if (rw_ordinal_set_has(&e->ahead, a->ordinal))
        return false;
    if (e->sweep_full)
        return a->ordinal >= e->cursor;
    size_t lo = e->cursor, hi = e->nwork; /* the rest of the work list, by ordinal */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->work[mid]->ordinal < a->ordinal)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < e->nwork && e->work[lo] == a;
}

/* Drops from the stale list the accounts a full pass evaluated. */
static void stale_compact(struct rw_engine *e)
{
    size_t k = 0;
    for (size_t i = 0; i < e->nstale; i++)
        if (e->stale[i]->flags & RW_ACCT_DUE_STALE)
            e->stale[k++] = e->stale[i];
    e->nstale = k;
}

static void finish_sweep(struct rw_engine *e)
{
    rw_ordinal_set_clear(&e->ahead);
    if (e->sweep_full) {
        stale_compact(e);
        if (e->sweep_record) {
            e->history_day = rw_day_of_ms(e->sweep_ms);
            rw_history_end_day(e->hist, e->history_day); /* written out: scores only now */
        }
    }
    if (e->sweep_ms > e->last_sweep_ms || e->last_sweep_ms == RW_NO_TIME)
        e->last_sweep_ms = e->sweep_ms;
    int64_t target = e->target_ms;
    e->sweep_ms = RW_NO_TIME;
    e->target_ms = RW_NO_TIME;
    e->nwork = 0;
    if (target > e->now_ms)
        e->now_ms = target;
    int64_t wanted = e->wanted_ms;
    e->wanted_ms = RW_NO_TIME;
    if (wanted != RW_NO_TIME)
        rw_engine_advance(e, wanted); /* the next sweep time was passed meanwhile */
}

/* Evaluates the sweep in progress until *DONE reaches BUDGET; true when its pass is over. */
static bool sweep_slice(struct rw_engine *e, size_t budget, size_t *done)
{
    if (e->sweep_full) {
        uint32_t end = rw_store_ordinal_end(e->st);
        while (e->cursor < end && *done < budget) {
            struct rw_account *a = rw_store_by_ordinal(e->st, (uint32_t)e->cursor++);
            if (a && !rw_ordinal_set_has(&e->ahead, a->ordinal)) {
                sweep_one(e, a);
                ++*done;
            }
        }
        report_history(e, (uint32_t)e->cursor);
        return e->cursor >= end;
    }
    while (e->cursor < e->nwork && *done < budget) {
        /* Accounts of a due pass lie all over the heap: fetch a few ahead. */
        if (e->cursor + 4 < e->nwork) {
            const char *next = (const char *)e->work[e->cursor + 4];
            __builtin_prefetch(next);
            __builtin_prefetch(next + 64);
            __builtin_prefetch(next + 128);
        }
        struct rw_account *a = e->work[e->cursor++];
        if (!rw_ordinal_set_has(&e->ahead, a->ordinal)) {
            sweep_one(e, a);
            ++*done;
        }
    }
    return e->cursor >= e->nwork;
}

bool rw_engine_work(struct rw_engine *e, size_t budget)
{
    size_t done = 0;
    e->sweep_steps += e->sweep_ms != RW_NO_TIME;
    while (e->sweep_ms != RW_NO_TIME) {
        if (!sweep_slice(e, budget, &done))
            return false;
        finish_sweep(e); /* may start the next one */
    }
    return true;
}

void rw_engine_advance(struct rw_engine *e, int64_t t_ms)
{
    if (e->sweep_ms != RW_NO_TIME) {
        /* The sweep in progress stays; now follows after it, but not past the
         * next sweep time: that sweep comes first (finish_sweep). */
        int64_t cap = next_grid(e, e->sweep_ms) - 1;
        if (t_ms > e->target_ms)
            e->target_ms = t_ms < cap ? t_ms : cap;
        if (t_ms > cap && (e->wanted_ms == RW_NO_TIME || t_ms > e->wanted_ms))
            e->wanted_ms = t_ms;
        return;
    }
    if (e->now_ms != RW_NO_TIME && t_ms <= e->now_ms)
        return;
    int64_t g = e->grid_ms;
    int64_t last_grid = t_ms >= 0 ? t_ms / g * g : -((-t_ms + g - 1) / g) * g;
    if (e->now_ms == RW_NO_TIME || e->last_sweep_ms == RW_NO_TIME) {
        /* Nothing to sweep before the first event: the grid starts here. */
        e->now_ms = t_ms;
        e->last_sweep_ms = last_grid;
        return;
    }
    if (last_grid > e->last_sweep_ms) {
        start_sweep(e, last_grid, t_ms, false);
        return;
    }
    e->now_ms = t_ms;
}

void rw_engine_end_catch_up(struct rw_engine *e, int64_t wall_ms)
{
    e->alerting = true;
    e->replay = false;
    e->grid_ms = e->cfg->sweep_interval_ms;
    int64_t t = e->now_ms == RW_NO_TIME || wall_ms > e->now_ms ? wall_ms : e->now_ms;
    start_sweep(e, t, t, true);
    int64_t g = e->grid_ms;
    int64_t last_grid = t >= 0 ? t / g * g : -((-t + g - 1) / g) * g;
    if (e->last_sweep_ms == RW_NO_TIME || last_grid > e->last_sweep_ms)
        e->last_sweep_ms = last_grid;
}

/* ---- events ---- */

static void merge_metadata(struct rw_engine *e, struct rw_account *a, const struct rw_event *ev)
{
    unsigned set = ev->meta_set, clr = ev->meta_null;
    if (set & RW_META_NAME)
        rw_store_set_name(e->st, a, ev->name, strlen(ev->name));
    else if (clr & RW_META_NAME)
        rw_store_set_name(e->st, a, NULL, 0);
    if (set & RW_META_OWNER)
        a->owner = rw_store_intern(e->st, ev->owner, strlen(ev->owner));
    else if (clr & RW_META_OWNER)
        a->owner = NULL;
    if (set & RW_META_TIER)
        a->tier = rw_store_intern(e->st, ev->tier, strlen(ev->tier));
    else if (clr & RW_META_TIER)
        a->tier = NULL;
    if (set & RW_META_ARR)
        rw_store_set_arr(e->st, a, ev->arr);
    else if (clr & RW_META_ARR)
        rw_store_set_arr(e->st, a, NAN);
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

void rw_engine_apply(struct rw_engine *e, const struct rw_event *ev, int64_t agg_ts_ms)
{
    if (e->now_ms == RW_NO_TIME)
        rw_engine_advance(e, ev->ts_ms);
    bool created;
    struct rw_account *a = rw_store_upsert(e->st, ev->account, ev->account_len, &created);
    if (!a)
        return; /* the parser keeps ids to 1..128 bytes: cannot happen */
    /* Between the slices of a sweep (rw_engine_interleaves): the sweep must not
     * see this later event, so A is looked at at the sweep's time first, out of
     * turn (the sweep then skips it), and the event is evaluated where now goes
     * after the sweep, as if the sweep had ended before it. */
    bool mid_sweep = e->sweep_ms != RW_NO_TIME;
    if (mid_sweep) {
        if (!created && sweep_pending(e, a))
            sweep_one(e, a);
        rw_ordinal_set_add(&e->ahead, a->ordinal);
        e->now_ms = e->target_ms;
    }
    double *agg = rw_account_agg(a);
    if (created)
        rw_scorer_reset(e->sc, agg);
    if (ev->is_account)
        merge_metadata(e, a, ev);
    rw_scorer_apply(e->sc, agg, &a->ref_ms, ev->type, ev->type_len, agg_ts_ms, ev->value);
    int64_t ts = ev->ts_ms;
    if (a->first_seen_ms == RW_NO_TIME || ts < a->first_seen_ms)
        a->first_seen_ms = ts;
    if (a->last_event_ms == RW_NO_TIME || ts > a->last_event_ms)
        a->last_event_ms = ts;
    rw_store_mark_dirty(e->st, a);
    struct rw_score_eval sev;
    evaluate(e, a, e->alerting, &sev);
    e->stats.event_evaluations++;
    mark_stale(e, a);
    if (mid_sweep)
        e->now_ms = e->sweep_ms;
}

bool rw_engine_refresh(struct rw_engine *e, size_t budget, bool start)
{
    int64_t now = e->now_ms;
    if (now == RW_NO_TIME || e->sweep_ms != RW_NO_TIME)
        return e->refresh_at == RW_NO_TIME;
    if (e->refresh_at == RW_NO_TIME) {
        if (!start)
            return true;
        e->refresh_at = now;
        e->refresh_cursor = 0;
    }
    uint32_t end = rw_store_ordinal_end(e->st);
    struct rw_score_eval ev;
    for (size_t k = 0; k < budget && e->refresh_cursor < end; k++) {
        struct rw_account *a = rw_store_by_ordinal(e->st, e->refresh_cursor++);
        if (!a)
            continue;
        struct rw_score_input in;
        score_input(a, &in);
        rw_scorer_eval(e->sc, &in, now, &ev);
        a->score = ev.has_score ? (float)ev.score : NAN;
    }
    if (e->refresh_cursor < end)
        return false;
    e->refreshed_at = e->refresh_at;
    e->refresh_at = RW_NO_TIME;
    return true;
}

int64_t rw_engine_refreshed_at(const struct rw_engine *e)
{
    return e->refreshed_at;
}

void rw_engine_touch(struct rw_engine *e, struct rw_account *a)
{
    struct rw_score_eval sev;
    evaluate(e, a, e->alerting, &sev);
    mark_stale(e, a);
}
