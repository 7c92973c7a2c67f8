/* scorer_test.h - hand-built configs for the tests that need a scorer (score,
 * store codec, band): only [score] and the signals are filled, the rest zero.
 * The caller frees the config with free() (it owns no strings). */
#ifndef RENEWALD_SCORER_TEST_H
#define RENEWALD_SCORER_TEST_H

#include <stdio.h>
#include <string.h>

#include "renewald/config.h"
#include "renewald/core/common.h"

#define SCORER_TEST_UNUSED __attribute__((unused))

/* The [score] defaults of SPEC §5, no signal. */
SCORER_TEST_UNUSED static struct rw_config *new_config(void)
{
    struct rw_config *cfg = rw_xcalloc(1, sizeof(*cfg));
    cfg->healthy = 70;
    cfg->watch = 40;
    cfg->hysteresis = 3;
    cfg->confirm_ms = 2 * RW_MS_PER_DAY;
    cfg->confirm_at_risk_ms = 2 * RW_MS_PER_DAY;
    cfg->min_history_ms = 14 * RW_MS_PER_DAY;
    return cfg;
}

/* Appends a signal of weight 1; TYPES is a comma-separated list. */
SCORER_TEST_UNUSED static struct rw_signal_conf *
add_signal(struct rw_config *cfg, const char *name, const char *types, enum rw_aggregate agg,
           double hl_days, double baseline_days, double low, double high)
{
    struct rw_signal_conf *c = &cfg->signals[cfg->nsignals++];
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", name);
    const char *p = types;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        memcpy(c->types[c->ntypes], p, n);
        c->types[c->ntypes++][n] = '\0';
        p += n + (e ? 1 : 0);
    }
    c->aggregate = agg;
    c->half_life_ms = (int64_t)(hl_days * (double)RW_MS_PER_DAY);
    c->baseline_ms = (int64_t)(baseline_days * (double)RW_MS_PER_DAY);
    c->low = low;
    c->high = high;
    c->weight = 1;
    return c;
}

/* A small deterministic generator (xorshift64) for property tests. */
SCORER_TEST_UNUSED static uint64_t xs_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

#endif
