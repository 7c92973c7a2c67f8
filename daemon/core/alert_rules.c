/* alert_rules.c - band_change and renewal_window transitions, once each. */
#include "renewald/core/alert_rules.h"

#include <stdio.h>

#include "renewald/core/timeutil.h"

/* The smallest window that DAYS has crossed, or 0 (windows sorted descending). */
static int crossed_window(const struct rw_config *cfg, int32_t days)
{
    int w = 0;
    for (int i = 0; i < cfg->nwindows; i++)
        if (days <= cfg->renewal_windows[i])
            w = cfg->renewal_windows[i];
    return w;
}

bool rw_rules_band_held(const struct rw_config *cfg, const struct rw_store *st,
                        const struct rw_account *a, int64_t now_ms)
{
    int64_t until = rw_store_snoozed_until(st, a);
    if (until != RW_NO_TIME && now_ms < until)
        return true;
    if (cfg->band_change_within >= 0 && a->renewal_day != RW_NO_DAY &&
        rw_account_days_to_renewal(a, now_ms) > cfg->band_change_within)
        return true;
    return false;
}

static bool band_rules(const struct rw_config *cfg, const struct rw_store *st, struct rw_account *a,
                       int64_t now_ms, rw_rules_emit_fn emit, void *arg)
{
    enum rw_band band = (enum rw_band)a->band;
    enum rw_band notified = (enum rw_band)a->notified_band;
    int now_sev = rw_band_severity(band), was_sev = rw_band_severity(notified);
    /* unknown and healthy weigh the same: keep "unknown" as what was last told,
     * so that a new account's first alert says so. */
    if (now_sev == was_sev)
        return false;
    bool worse = now_sev > was_sev;
    bool held = rw_rules_band_held(cfg, st, a, now_ms);
    enum rw_band_policy policy = cfg->on_band_change;
    if (worse && held && policy != RW_ON_BAND_NONE)
        return false; /* told once the snooze ends or the horizon is entered */
    bool alert =
        !held && ((worse && policy != RW_ON_BAND_NONE) || (!worse && policy == RW_ON_BAND_ANY));
    if (alert) {
        a->band_seq++;
        struct rw_rule_alert r = {
            .kind = RW_ALERT_BAND_CHANGE, .band = band, .previous_band = notified};
        snprintf(r.discriminator, sizeof r.discriminator, "%u", a->band_seq);
        emit(arg, a, &r);
    }
    a->notified_band = (uint8_t)band;
    return true;
}

static bool window_rules(const struct rw_config *cfg, struct rw_account *a, int64_t now_ms,
                         rw_rules_emit_fn emit, void *arg)
{
    int32_t days = rw_account_days_to_renewal(a, now_ms);
    if (days == INT32_MIN || days < 0)
        return false;
    int w = crossed_window(cfg, days);
    if (w == 0 || (a->window_alerted != 0 && w >= a->window_alerted))
        return false;
    struct rw_rule_alert r = {.kind = RW_ALERT_RENEWAL_WINDOW,
                              .band = (enum rw_band)a->band,
                              .previous_band = RW_BAND_UNKNOWN,
                              .window = w};
    char date[RW_DATE_MAX];
    rw_format_date(a->renewal_day, date);
    snprintf(r.discriminator, sizeof r.discriminator, "%s:%d", date, w);
    a->window_alerted = (int16_t)w;
    emit(arg, a, &r);
    return true;
}

bool rw_rules_run(const struct rw_config *cfg, struct rw_store *st, struct rw_account *a,
                  int64_t now_ms, rw_rules_emit_fn emit, void *arg)
{
    bool changed = false;
    int64_t until = rw_store_snoozed_until(st, a);
    if (until != RW_NO_TIME && now_ms >= until) {
        rw_store_set_snooze(st, a, RW_NO_TIME, NULL, NULL);
        changed = true;
    }
    changed |= band_rules(cfg, st, a, now_ms, emit, arg);
    changed |= window_rules(cfg, a, now_ms, emit, arg);
    return changed;
}

int64_t rw_rules_next_time(const struct rw_config *cfg, const struct rw_store *st,
                           const struct rw_account *a, int64_t now_ms)
{
    int64_t t = INT64_MAX;
    int64_t until = rw_store_snoozed_until(st, a);
    if (until != RW_NO_TIME && until > now_ms)
        t = until;
    if (a->renewal_day == RW_NO_DAY)
        return t;
    int32_t days = rw_account_days_to_renewal(a, now_ms);
    /* Day D starts at D * 1 day (UTC): a count of days to renewal reaches N on day renewal − N. */
    for (int i = 0; i < cfg->nwindows; i++) {
        int w = cfg->renewal_windows[i];
        if (days > w) {
            int64_t at = ((int64_t)a->renewal_day - w) * RW_MS_PER_DAY;
            if (at > now_ms && at < t)
                t = at;
        }
    }
    if (cfg->band_change_within >= 0 && days > cfg->band_change_within) {
        int64_t at = ((int64_t)a->renewal_day - cfg->band_change_within) * RW_MS_PER_DAY;
        if (at > now_ms && at < t)
            t = at;
    }
    return t;
}
