/* test_route.c - route matchers, union of routes, no routes = every sink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "renewald/core/alert.h"
#include "renewald/core/route.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static struct rw_config *cfg_new(int nsinks)
{
    struct rw_config *cfg = calloc(1, sizeof *cfg);
    assert_non_null(cfg);
    cfg->nsinks = nsinks;
    return cfg;
}

static struct rw_route_conf *add_route(struct rw_config *cfg, int s0, int s1)
{
    struct rw_route_conf *r = &cfg->routes[cfg->nroutes++];
    r->sinks[r->nsinks++] = s0;
    if (s1 >= 0)
        r->sinks[r->nsinks++] = s1;
    return r;
}

static const struct rw_route_alert base = {
    .kind = RW_ALERT_BAND_CHANGE,
    .band = RW_BAND_AT_RISK,
    .tier = "enterprise",
    .arr = 50000,
    .has_days_to_renewal = true,
    .days_to_renewal = 45,
};

static void test_no_routes(void **state)
{
    (void)state;
    struct rw_config *cfg = cfg_new(3);
    assert_int_equal(rw_route_sinks(cfg, &base), 0x7);
    cfg->nsinks = 32;
    assert_int_equal(rw_route_sinks(cfg, &base), UINT32_MAX);
    cfg->nsinks = 0;
    assert_int_equal(rw_route_sinks(cfg, &base), 0);
    free(cfg);
}

static void test_kinds_bands(void **state)
{
    (void)state;
    struct rw_route_conf r = {0};
    assert_true(rw_route_matches(&r, &base)); /* no matcher: everything */
    r.kinds = 1u << RW_ALERT_RENEWAL_WINDOW;
    assert_false(rw_route_matches(&r, &base));
    r.kinds |= 1u << RW_ALERT_BAND_CHANGE;
    assert_true(rw_route_matches(&r, &base));
    r.bands = (1u << RW_BAND_WATCH);
    assert_false(rw_route_matches(&r, &base));
    r.bands |= (1u << RW_BAND_AT_RISK);
    assert_true(rw_route_matches(&r, &base));
}

static void test_tiers(void **state)
{
    (void)state;
    char smb[] = "smb", ent[] = "enterprise", entc[] = "Enterprise";
    struct rw_route_conf r = {0};
    r.tiers[r.ntiers++] = smb;
    assert_false(rw_route_matches(&r, &base));
    r.tiers[r.ntiers++] = entc; /* exact match: case matters */
    assert_false(rw_route_matches(&r, &base));
    r.tiers[r.ntiers++] = ent;
    assert_true(rw_route_matches(&r, &base));
    struct rw_route_alert a = base;
    a.tier = NULL; /* unknown tier never matches a route that names tiers */
    assert_false(rw_route_matches(&r, &a));
    r.ntiers = 0;
    assert_true(rw_route_matches(&r, &a));
}

static void test_min_arr(void **state)
{
    (void)state;
    struct rw_route_conf r = {.has_min_arr = true, .min_arr = 50000};
    struct rw_route_alert a = base;
    assert_true(rw_route_matches(&r, &a)); /* >= */
    a.arr = 49999.99;
    assert_false(rw_route_matches(&r, &a));
    a.arr = NAN;
    assert_false(rw_route_matches(&r, &a));
    r.min_arr = 0;
    assert_false(rw_route_matches(&r, &a));
    r.has_min_arr = false;
    assert_true(rw_route_matches(&r, &a));
}

static void test_within_days(void **state)
{
    (void)state;
    struct rw_route_conf r = {.has_within_days = true, .within_days = 45};
    struct rw_route_alert a = base;
    assert_true(rw_route_matches(&r, &a)); /* <= */
    a.days_to_renewal = 46;
    assert_false(rw_route_matches(&r, &a));
    a.days_to_renewal = -3; /* past renewal date */
    assert_true(rw_route_matches(&r, &a));
    a.has_days_to_renewal = false;
    assert_false(rw_route_matches(&r, &a));
}

static void test_union(void **state)
{
    (void)state;
    struct rw_config *cfg = cfg_new(4);
    struct rw_route_conf *r1 = add_route(cfg, 0, 1);
    r1->kinds = 1u << RW_ALERT_BAND_CHANGE;
    r1->bands = 1u << RW_BAND_AT_RISK;
    struct rw_route_conf *r2 = add_route(cfg, 1, 3);
    r2->kinds = 1u << RW_ALERT_RENEWAL_WINDOW;
    struct rw_route_conf *r3 = add_route(cfg, 2, -1);
    r3->has_min_arr = true;
    r3->min_arr = 100000;
    struct rw_route_conf *r4 = add_route(cfg, 3, 31); /* 31 is out of range: ignored */
    r4->has_within_days = true;
    r4->within_days = 30;

    assert_int_equal(rw_route_sinks(cfg, &base), 0x3);
    struct rw_route_alert a = base;
    a.arr = 200000;
    assert_int_equal(rw_route_sinks(cfg, &a), 0x7);
    a.days_to_renewal = 10;
    assert_int_equal(rw_route_sinks(cfg, &a), 0xf);
    a.kind = RW_ALERT_RENEWAL_WINDOW;
    a.arr = NAN;
    assert_int_equal(rw_route_sinks(cfg, &a), 0xa);
    a.kind = RW_ALERT_BAND_CHANGE;
    a.band = RW_BAND_WATCH;
    a.has_days_to_renewal = false;
    assert_int_equal(rw_route_sinks(cfg, &a), 0); /* routes exist, none match: nothing */
    free(cfg);
}

static void test_from_json(void **state)
{
    (void)state;
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:n, s:s, s:i, s:i}", "id", "i", "kind",
                          "renewal_window", "account", "a", "tier", "smb", "arr", "band", "watch",
                          "days_to_renewal", 29, "window", 30);
    struct rw_route_alert a;
    assert_true(rw_route_alert_from_json(j, &a));
    assert_int_equal(a.kind, RW_ALERT_RENEWAL_WINDOW);
    assert_int_equal(a.band, RW_BAND_WATCH);
    assert_string_equal(a.tier, "smb");
    assert_true(isnan(a.arr));
    assert_true(a.has_days_to_renewal);
    assert_int_equal(a.days_to_renewal, 29);
    json_object_set_new(j, "band", json_string("purple"));
    assert_false(rw_route_alert_from_json(j, &a));
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_routes),   cmocka_unit_test(test_kinds_bands),
        cmocka_unit_test(test_tiers),       cmocka_unit_test(test_min_arr),
        cmocka_unit_test(test_within_days), cmocka_unit_test(test_union),
        cmocka_unit_test(test_from_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
