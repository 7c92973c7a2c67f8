/* route.c - alert -> set of sinks. */
#include "renewald/core/route.h"

#include <math.h>
#include <string.h>

bool rw_route_matches(const struct rw_route_conf *route, const struct rw_route_alert *a)
{
    if (route->kinds && !((unsigned)a->kind < 32 && (route->kinds & (1u << a->kind))))
        return false;
    if (route->bands && !((unsigned)a->band < 32 && (route->bands & (1u << a->band))))
        return false;
    if (route->ntiers > 0) {
        bool found = false;
        for (int i = 0; a->tier && i < route->ntiers && !found; i++)
            found = route->tiers[i] && strcmp(route->tiers[i], a->tier) == 0;
        if (!found)
            return false;
    }
    /* NAN compares false, so an unknown ARR never passes min_arr. */
    if (route->has_min_arr && !(isfinite(a->arr) && a->arr >= route->min_arr))
        return false;
    if (route->has_within_days &&
        !(a->has_days_to_renewal && a->days_to_renewal <= route->within_days))
        return false;
    return true;
}

uint32_t rw_route_sinks(const struct rw_config *cfg, const struct rw_route_alert *a)
{
    int nsinks = cfg->nsinks > RW_MAX_SINKS ? RW_MAX_SINKS : cfg->nsinks < 0 ? 0 : cfg->nsinks;
    uint32_t all = nsinks == 0 ? 0 : UINT32_MAX >> (32 - nsinks); /* the low NSINKS bits */
    if (cfg->nroutes == 0)
        return all;
    uint32_t set = 0;
    for (int r = 0; r < cfg->nroutes; r++) {
        const struct rw_route_conf *route = &cfg->routes[r];
        if (!rw_route_matches(route, a))
            continue;
        for (int i = 0; i < route->nsinks; i++) {
            if (route->sinks[i] >= 0 && route->sinks[i] < nsinks)
                set |= UINT32_C(1) << route->sinks[i];
        }
    }
    return set;
}

bool rw_route_alert_from_json(const json_t *alert, struct rw_route_alert *out)
{
    const char *kind = json_string_value(json_object_get(alert, "kind"));
    const char *band = json_string_value(json_object_get(alert, "band"));
    if (!kind || !band || !rw_alert_kind_parse(kind, &out->kind) ||
        !rw_band_parse(band, &out->band))
        return false;
    out->tier = json_string_value(json_object_get(alert, "tier"));
    const json_t *arr = json_object_get(alert, "arr");
    out->arr = json_is_number(arr) ? json_number_value(arr) : NAN;
    const json_t *days = json_object_get(alert, "days_to_renewal");
    out->has_days_to_renewal = json_is_integer(days);
    out->days_to_renewal = 0;
    if (out->has_days_to_renewal) {
        json_int_t d = json_integer_value(days);
        out->days_to_renewal = d > INT32_MAX ? INT32_MAX : d < INT32_MIN ? INT32_MIN : (int32_t)d;
    }
    return true;
}
