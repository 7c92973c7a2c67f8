/* alert_rules.c - band_change and renewal_window transitions, once each. */
#include "renewald/alert_rules.h"

#include <math.h>
#include <stdio.h>

#include "renewald/alert.h"
#include "renewald/timeutil.h"

static void emit_alert(const struct rw_rules_ctx *ctx, struct rw_account *a,
                       const struct rw_score_eval *ev, enum rw_alert_kind kind,
                       enum rw_band previous, int window, const char *discriminator,
                       rw_alert_sink_fn emit, void *arg)
{
    struct rw_alert_signal sigs[RW_MAX_SIGNALS];
    int n = rw_scorer_nsignals(ctx->scorer);
    for (int i = 0; i < n; i++) {
        const struct rw_signal_conf *sc = rw_scorer_signal(ctx->scorer, i);
        sigs[i].name = sc->name;
        sigs[i].present = !ev->sig[i].absent;
        sigs[i].x = ev->sig[i].x;
        sigs[i].score = ev->sig[i].score;
        sigs[i].weight = sc->weight;
    }
    char id[RW_ALERT_ID_LEN + 1];
    rw_alert_id(a->id, kind, discriminator, id);
    int32_t days = rw_account_days_to_renewal(a, ctx->now_ms);
    struct rw_alert_input in = {
        .id = id,
        .kind = kind,
        .ts_ms = ctx->now_ms,
        .account = a->id,
        .name = a->name,
        .owner = a->owner,
        .tier = a->tier,
        .arr = a->arr,
        .has_score = ev->has_score,
        .score = ev->score,
        .band = (enum rw_band)a->band,
        .previous_band = previous,
        .signals = sigs,
        .nsignals = n,
        .has_renewal = a->renewal_day != RW_NO_DAY,
        .renewal_day = a->renewal_day,
        .has_days_to_renewal = days != INT32_MIN,
        .days_to_renewal = days,
        .window = window,
    };
    emit(arg, id, rw_alert_build(&in), a, kind, days);
}

/* The smallest window that DAYS has crossed, or 0 (windows sorted descending). */
static int crossed_window(const struct rw_config *cfg, int32_t days)
{
    int w = 0;
    for (int i = 0; i < cfg->nwindows; i++)
        if (days <= cfg->renewal_windows[i])
            w = cfg->renewal_windows[i];
    return w;
}

static bool band_rules(const struct rw_rules_ctx *ctx, struct rw_account *a,
                       const struct rw_score_eval *ev, rw_alert_sink_fn emit, void *arg)
{
    enum rw_band band = (enum rw_band)a->band;
    enum rw_band notified = (enum rw_band)a->notified_band;
    if (band == notified)
        return false;
    int now_sev = rw_band_severity(band), was_sev = rw_band_severity(notified);
    enum rw_band_policy policy = ctx->cfg->on_band_change;
    bool alert = (now_sev > was_sev && policy != RW_ON_BAND_NONE) ||
                 (now_sev < was_sev && policy == RW_ON_BAND_ANY);
    if (alert) {
        a->band_seq++;
        char disc[16];
        snprintf(disc, sizeof disc, "%u", a->band_seq);
        emit_alert(ctx, a, ev, RW_ALERT_BAND_CHANGE, notified, 0, disc, emit, arg);
    }
    a->notified_band = (uint8_t)band;
    return true;
}

static bool window_rules(const struct rw_rules_ctx *ctx, struct rw_account *a,
                         const struct rw_score_eval *ev, rw_alert_sink_fn emit, void *arg)
{
    int32_t days = rw_account_days_to_renewal(a, ctx->now_ms);
    if (days == INT32_MIN || days < 0)
        return false;
    int w = crossed_window(ctx->cfg, days);
    if (w == 0 || (a->window_alerted != 0 && w >= a->window_alerted))
        return false;
    char date[RW_DATE_MAX], disc[RW_DATE_MAX + 16];
    rw_format_date(a->renewal_day, date);
    snprintf(disc, sizeof disc, "%s:%d", date, w);
    a->window_alerted = (int16_t)w;
    emit_alert(ctx, a, ev, RW_ALERT_RENEWAL_WINDOW, RW_BAND_UNKNOWN, w, disc, emit, arg);
    return true;
}

bool rw_rules_evaluate(const struct rw_rules_ctx *ctx, struct rw_account *a, rw_alert_sink_fn emit,
                       void *arg)
{
    const struct rw_config *cfg = ctx->cfg;
    struct rw_score_eval ev;
    rw_scorer_eval(ctx->scorer, a->agg, a->ref_ms, a->seats, ctx->now_ms, &ev);
    a->score = ev.has_score ? (float)ev.score : NAN;

    bool onboarding = rw_score_onboarding(cfg, a->first_seen_ms, ctx->now_ms);
    uint8_t old_band = a->band;
    int64_t old_wait = a->below_since_ms;
    a->band = (uint8_t)rw_band_step(cfg, (enum rw_band)a->band, &a->below_since_ms, onboarding,
                                    ev.has_score, ev.score, ctx->now_ms);
    bool changed = a->band != old_band || a->below_since_ms != old_wait;
    /* While onboarding, or catching up, bands move but nobody is told. */
    if (!ctx->alerting || onboarding)
        return changed;
    changed |= band_rules(ctx, a, &ev, emit, arg);
    changed |= window_rules(ctx, a, &ev, emit, arg);
    return changed;
}
