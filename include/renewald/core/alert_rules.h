/*
 * alert_rules.h - which transitions become alerts (SPEC §3): band_change
 * against the band last alerted (so that a catch-up, a snooze or the renewal
 * horizon ends with one alert, not a storm), and renewal windows once per
 * window per renewal date.  Pure: reads the account and writes only its alert
 * bookkeeping (notified band, band counter, windows alerted, an ended snooze).
 */
#ifndef RENEWALD_CORE_ALERT_RULES_H
#define RENEWALD_CORE_ALERT_RULES_H

#include "renewald/config.h"
#include "renewald/core/account_store.h"

/* One alert the rules call for; DISCRIMINATOR makes its id (see rw_alert_id). */
struct rw_rule_alert {
    enum rw_alert_kind kind;
    enum rw_band band, previous_band;
    int window;
    char discriminator[32];
};

typedef void (*rw_rules_emit_fn)(void *arg, struct rw_account *a, const struct rw_rule_alert *r);

/*
 * Runs the rules for A (of ST) just evaluated at NOW_MS (not onboarding, alerting on):
 * calls EMIT for each alert, in order (band_change first).  Returns true when
 * the account's persisted bookkeeping changed.
 */
bool rw_rules_run(const struct rw_config *cfg, struct rw_store *st, struct rw_account *a,
                  int64_t now_ms, rw_rules_emit_fn emit, void *arg);

/* True while band alerts of A are held back at NOW_MS: snoozed, or outside
 * [alerts] band_change_within of its renewal. */
bool rw_rules_band_held(const struct rw_config *cfg, const struct rw_store *st,
                        const struct rw_account *a, int64_t now_ms);

/*
 * The first time after NOW_MS at which the rules may decide differently with
 * no new event and an unchanged band (a snooze ending, the renewal horizon
 * entered, a renewal window reached); INT64_MAX when none.
 */
int64_t rw_rules_next_time(const struct rw_config *cfg, const struct rw_store *st,
                           const struct rw_account *a, int64_t now_ms);

#endif
