/*
 * alert_rules.h - transitions to alerts (SPEC §3): band_change and
 * renewal_window, with the band last notified kept in the account so that a
 * catch-up ends with one alert per account, not a storm.  Pure: it reads the
 * account and the evaluation and writes only the account's band bookkeeping.
 */
#ifndef RENEWALD_ALERT_RULES_H
#define RENEWALD_ALERT_RULES_H

#include <jansson.h>

#include "renewald/account_store.h"
#include "renewald/config.h"
#include "renewald/score.h"

struct rw_rules_ctx {
    const struct rw_config *cfg;
    const struct rw_scorer *scorer;
    int64_t now_ms;
    bool alerting; /* false while catching up: bands move, nothing is notified */
};

/* An alert produced by an evaluation; ALERT is owned by whoever receives it. */
typedef void (*rw_alert_sink_fn)(void *arg, const char *alert_id, json_t *alert,
                                 const struct rw_account *a, enum rw_alert_kind kind,
                                 int days_to_renewal);

/*
 * Evaluates A at ctx->now_ms: scores it (a->score), steps its band, and emits
 * the alerts its transitions call for through EMIT.  Returns true when state
 * that is persisted changed (band, confirm wait, notified band, windows).
 */
bool rw_rules_evaluate(const struct rw_rules_ctx *ctx, struct rw_account *a, rw_alert_sink_fn emit,
                       void *arg);

#endif
