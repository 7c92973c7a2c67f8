/*
 * route.h - which sinks an alert goes to (SPEC §4): the union of the sinks of
 * every [route] whose matchers all match; no [route] sections -> every sink.
 *
 * Pure functions over a borrowed config; nothing is allocated or kept.
 */
#ifndef RENEWALD_ROUTE_H
#define RENEWALD_ROUTE_H

#include "renewald/core/common.h"
#include "renewald/config.h"

#include <jansson.h>

/* What routes look at, taken from an alert. */
struct rw_route_alert {
    enum rw_alert_kind kind;
    enum rw_band band;
    const char *tier;         /* NULL: matches no route that names tiers */
    double arr;               /* NAN: matches no route with min_arr */
    bool has_days_to_renewal; /* false: matches no route with within_days */
    int32_t days_to_renewal;
};

/* True when every matcher ROUTE has accepts A (a route with none matches all). */
bool rw_route_matches(const struct rw_route_conf *route, const struct rw_route_alert *a);

/*
 * Bit i set = deliver to cfg->sinks[i] (cfg->nsinks <= RW_MAX_SINKS = 32).
 * Sink indexes out of range in a route are ignored.
 */
uint32_t rw_route_sinks(const struct rw_config *cfg, const struct rw_route_alert *a);

/*
 * Fills *OUT from an alert object (rw_alert_build's keys).  Returns false when
 * `kind` or `band` is missing or unknown.  OUT->tier borrows from ALERT.
 */
bool rw_route_alert_from_json(const json_t *alert, struct rw_route_alert *out) RW_NODISCARD;

#endif
