/* score.c - signals, the account score and the band state machine (SPEC §2). */
#include "renewald/score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/account_store.h"

#define TYPE_TABLE 512 /* power of two, > 2 * RW_MAX_SIGNALS * RW_MAX_SIGNAL_TYPES */
#define MAX_SLOTS  (2 * RW_MAX_SIGNALS)
#define FP_VERSION 1u /* bump when the meaning of a slot changes */

/* Run-time form of one signal. */
struct sig_rt {
    enum rw_aggregate agg;
    size_t off;    /* first slot */
    double h_ms;   /* half-life */
    double b_ms;   /* baseline half-life (trend) */
    double k_rate; /* ln 2 / H in days: turns a decayed sum into events per day */
};

/* One event type and the signals it feeds (in config order). */
struct type_ent {
    const char *type; /* points into rw_scorer.sigs; NULL = empty entry */
    size_t len;
    int nsig;
    uint8_t sig[RW_MAX_SIGNALS];
};

struct rw_scorer {
    struct rw_signal_conf sigs[RW_MAX_SIGNALS];
    struct sig_rt rt[RW_MAX_SIGNALS];
    int nsig;
    size_t nslots;
    uint32_t fp;
    struct type_ent types[TYPE_TABLE];
};

static uint32_t fnv1a(uint32_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 16777619u;
    }
    return h;
}

static uint32_t fnv_i64(uint32_t h, int64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)v >> (8 * i));
    return fnv1a(h, b, sizeof(b));
}

static struct type_ent *type_slot(const struct rw_scorer *sc, const char *type, size_t len)
{
    size_t i = fnv1a(2166136261u, type, len) & (TYPE_TABLE - 1);
    for (;;) {
        const struct type_ent *e = &sc->types[i];
        if (!e->type || (e->len == len && memcmp(e->type, type, len) == 0))
            return (struct type_ent *)e;
        i = (i + 1) & (TYPE_TABLE - 1);
    }
}

static void index_type(struct rw_scorer *sc, int sig, const char *type)
{
    size_t len = strlen(type);
    struct type_ent *e = type_slot(sc, type, len);
    if (!e->type) {
        e->type = type;
        e->len = len;
    }
    /* A type listed twice in one signal must not count twice. */
    if (e->nsig > 0 && e->sig[e->nsig - 1] == sig)
        return;
    e->sig[e->nsig++] = (uint8_t)sig;
}

static uint32_t fingerprint(const struct rw_scorer *sc)
{
    uint32_t h = fnv_i64(2166136261u, FP_VERSION);
    for (int i = 0; i < sc->nsig; i++) {
        const struct rw_signal_conf *c = &sc->sigs[i];
        h = fnv1a(h, c->name, strlen(c->name) + 1);
        h = fnv_i64(h, c->aggregate);
        h = fnv_i64(h, c->ntypes);
        for (int t = 0; t < c->ntypes; t++)
            h = fnv1a(h, c->types[t], strlen(c->types[t]) + 1);
        h = fnv_i64(h, c->half_life_ms);
        h = fnv_i64(h, c->aggregate == RW_AGG_TREND ? c->baseline_ms : 0);
    }
    return h;
}

struct rw_scorer *rw_scorer_new(const struct rw_config *cfg)
{
    if (cfg->nsignals < 0 || cfg->nsignals > RW_MAX_SIGNALS)
        return NULL;
    struct rw_scorer *sc = rw_xcalloc(1, sizeof(*sc));
    sc->nsig = cfg->nsignals;
    size_t off = 0;
    for (int i = 0; i < sc->nsig; i++) {
        const struct rw_signal_conf *c = &cfg->signals[i];
        struct sig_rt *rt = &sc->rt[i];
        if (c->half_life_ms <= 0 || c->ntypes < 0 || c->ntypes > RW_MAX_SIGNAL_TYPES ||
            (unsigned)c->aggregate > RW_AGG_RECENCY ||
            (c->aggregate == RW_AGG_TREND && c->baseline_ms <= 0)) {
            free(sc);
            return NULL;
        }
        sc->sigs[i] = *c;
        /* The config's arrays are fixed-size; make sure every type is terminated. */
        for (int t = 0; t < c->ntypes; t++)
            sc->sigs[i].types[t][RW_TYPE_MAX] = '\0';
        rt->agg = c->aggregate;
        rt->off = off;
        rt->h_ms = (double)c->half_life_ms;
        rt->b_ms = (double)c->baseline_ms;
        rt->k_rate = M_LN2 / (rt->h_ms / (double)RW_MS_PER_DAY);
        off += (c->aggregate == RW_AGG_MEAN || c->aggregate == RW_AGG_TREND) ? 2 : 1;
        for (int t = 0; t < c->ntypes; t++)
            index_type(sc, i, sc->sigs[i].types[t]);
    }
    sc->nslots = off;
    sc->fp = fingerprint(sc);
    return sc;
}

void rw_scorer_free(struct rw_scorer *sc)
{
    free(sc);
}

size_t rw_scorer_nslots(const struct rw_scorer *sc)
{
    return sc->nslots;
}

uint32_t rw_scorer_fingerprint(const struct rw_scorer *sc)
{
    return sc->fp;
}

const struct rw_signal_conf *rw_scorer_signal(const struct rw_scorer *sc, int i)
{
    return i >= 0 && i < sc->nsig ? &sc->sigs[i] : NULL;
}

int rw_scorer_nsignals(const struct rw_scorer *sc)
{
    return sc->nsig;
}

void rw_scorer_reset(const struct rw_scorer *sc, double *agg)
{
    for (size_t i = 0; i < sc->nslots; i++)
        agg[i] = 0.0;
    for (int i = 0; i < sc->nsig; i++)
        if (sc->rt[i].agg == RW_AGG_RECENCY)
            agg[sc->rt[i].off] = -INFINITY;
}

/* Moves every decayed slot's reference time DT_MS later. */
static void rebase(const struct rw_scorer *sc, double *agg, double dt_ms)
{
    for (int i = 0; i < sc->nsig; i++) {
        const struct sig_rt *rt = &sc->rt[i];
        double *s = agg + rt->off;
        switch (rt->agg) {
        case RW_AGG_RATE:
            s[0] *= exp2(-dt_ms / rt->h_ms);
            break;
        case RW_AGG_MEAN: {
            double f = exp2(-dt_ms / rt->h_ms);
            s[0] *= f;
            s[1] *= f;
            break;
        }
        case RW_AGG_TREND:
            s[0] *= exp2(-dt_ms / rt->h_ms);
            s[1] *= exp2(-dt_ms / rt->b_ms);
            break;
        case RW_AGG_RECENCY:
            break;
        }
    }
}

bool rw_scorer_apply(const struct rw_scorer *sc, double *agg, int64_t *ref_ms, const char *type,
                     size_t type_len, int64_t ts_ms, double value)
{
    if (type_len == 0 || type_len > RW_TYPE_MAX)
        return false;
    const struct type_ent *e = type_slot(sc, type, type_len);
    if (!e->type)
        return false;
    if (*ref_ms == RW_NO_TIME) {
        *ref_ms = ts_ms;
    } else if (ts_ms > *ref_ms) {
        rebase(sc, agg, (double)ts_ms - (double)*ref_ms);
        *ref_ms = ts_ms;
    }
    double age_ms = (double)*ref_ms - (double)ts_ms; /* >= 0 */
    for (int k = 0; k < e->nsig; k++) {
        const struct sig_rt *rt = &sc->rt[e->sig[k]];
        double *s = agg + rt->off;
        switch (rt->agg) {
        case RW_AGG_RATE:
            s[0] += value * exp2(-age_ms / rt->h_ms);
            break;
        case RW_AGG_MEAN: {
            double w = exp2(-age_ms / rt->h_ms);
            s[0] += value * w;
            s[1] += w;
            break;
        }
        case RW_AGG_TREND:
            s[0] += value * exp2(-age_ms / rt->h_ms);
            s[1] += value * exp2(-age_ms / rt->b_ms);
            break;
        case RW_AGG_RECENCY:
            if ((double)ts_ms > s[0])
                s[0] = (double)ts_ms;
            break;
        }
    }
    return true;
}

/* x of one signal at NOW; false when absent. */
static bool signal_x(const struct sig_rt *rt, const struct rw_signal_conf *c, const double *s,
                     int64_t ref_ms, double seats, int64_t now_ms, double *x)
{
    bool any = ref_ms != RW_NO_TIME;
    double dref = any && now_ms > ref_ms ? (double)now_ms - (double)ref_ms : 0.0;
    switch (rt->agg) {
    case RW_AGG_RATE: {
        double v = any ? rt->k_rate * s[0] * exp2(-dref / rt->h_ms) : 0.0;
        if (c->normalize_seats && seats > 1.0) /* NAN and < 1 count as 1 */
            v /= seats;
        *x = v;
        return !isnan(v);
    }
    case RW_AGG_MEAN:
        /* The decay of Σv·w and Σw cancels out: the ratio of the stored sums. */
        if (!any || !(s[1] > 0.0))
            return false;
        *x = s[0] / s[1];
        return !isnan(*x);
    case RW_AGG_TREND: {
        if (!any || s[1] == 0.0 || isnan(s[1]))
            return false;
        /* rate(H)/rate(B) = (B/H)·(ΣH/ΣB)·2^(−Δ(1/H − 1/B)): no underflow of both rates. */
        double e = -dref * (1.0 / rt->h_ms - 1.0 / rt->b_ms);
        *x = (rt->b_ms / rt->h_ms) * (s[0] / s[1]) * exp2(e);
        return !isnan(*x);
    }
    case RW_AGG_RECENCY:
        if (!any || !(s[0] > -INFINITY)) {
            *x = INFINITY;
            return true;
        }
        *x = fmax(0.0, (double)now_ms - s[0]) / (double)RW_MS_PER_DAY;
        return !isnan(*x);
    }
    return false;
}

static double signal_score(const struct rw_signal_conf *c, double x)
{
    double span = c->high - c->low;
    double t;
    if (span == 0.0 || isnan(span))
        t = x >= c->high ? 1.0 : 0.0;
    else
        t = (x - c->low) / span;
    if (isnan(t)) /* only ∞/∞: an infinite x with an infinite bound */
        t = 0.0;
    if (t < 0.0)
        t = 0.0;
    if (t > 1.0)
        t = 1.0;
    return 100.0 * t;
}

void rw_scorer_eval(const struct rw_scorer *sc, const double *agg, int64_t ref_ms, double seats,
                    int64_t now_ms, struct rw_score_eval *out)
{
    double wsum = 0.0, wssum = 0.0, ssum = 0.0;
    int present = 0;
    out->nsignals = sc->nsig;
    for (int i = 0; i < sc->nsig; i++) {
        const struct rw_signal_conf *c = &sc->sigs[i];
        struct rw_signal_eval *e = &out->sig[i];
        double x = 0.0;
        if (!signal_x(&sc->rt[i], c, agg + sc->rt[i].off, ref_ms, seats, now_ms, &x)) {
            e->absent = true;
            e->x = 0.0;
            e->score = 0.0;
            continue;
        }
        e->absent = false;
        e->x = x;
        e->score = signal_score(c, x);
        double w = isfinite(c->weight) && c->weight > 0.0 ? c->weight : 0.0;
        wsum += w;
        wssum += w * e->score;
        ssum += e->score;
        present++;
    }
    if (present == 0) {
        out->has_score = false;
        out->score = 0.0;
        return;
    }
    double s = wsum > 0.0 ? wssum / wsum : ssum / present;
    if (isnan(s)) /* weights so large that Σ weight·s overflowed */
        s = ssum / present;
    for (int i = 0; i < sc->nsig; i++)
        if (sc->sigs[i].critical && !out->sig[i].absent && out->sig[i].score < s)
            s = out->sig[i].score;
    out->has_score = true;
    out->score = fmin(100.0, fmax(0.0, s));
}

/* TO − FROM, 0 when TO is earlier; no overflow whatever a restored record holds. */
static uint64_t elapsed_ms(int64_t from, int64_t to)
{
    return to > from ? (uint64_t)to - (uint64_t)from : 0;
}

bool rw_score_onboarding(const struct rw_config *cfg, int64_t first_seen_ms, int64_t now_ms)
{
    if (first_seen_ms == RW_NO_TIME)
        return true;
    if (now_ms < first_seen_ms)
        return true;
    return cfg->min_history_ms > 0 &&
           elapsed_ms(first_seen_ms, now_ms) < (uint64_t)cfg->min_history_ms;
}

enum rw_band rw_band_of_score(const struct rw_config *cfg, double score)
{
    if (score >= cfg->healthy)
        return RW_BAND_HEALTHY;
    if (score >= cfg->watch)
        return RW_BAND_WATCH;
    return RW_BAND_AT_RISK;
}

enum rw_band rw_band_step(const struct rw_config *cfg, enum rw_band current,
                          int64_t *below_since_ms, bool onboarding, bool has_score, double score,
                          int64_t now_ms)
{
    if (onboarding || !has_score || isnan(score)) {
        *below_since_ms = RW_NO_TIME;
        return RW_BAND_UNKNOWN;
    }
    if (current != RW_BAND_HEALTHY && current != RW_BAND_WATCH && current != RW_BAND_AT_RISK) {
        *below_since_ms = RW_NO_TIME;
        return rw_band_of_score(cfg, score);
    }
    double lower = current == RW_BAND_HEALTHY ? cfg->healthy
                   : current == RW_BAND_WATCH ? cfg->watch
                                              : -INFINITY;
    if (score < lower) {
        if (*below_since_ms == RW_NO_TIME)
            *below_since_ms = now_ms;
        if (cfg->confirm_ms <= 0 ||
            elapsed_ms(*below_since_ms, now_ms) >= (uint64_t)cfg->confirm_ms) {
            *below_since_ms = RW_NO_TIME;
            return rw_band_of_score(cfg, score);
        }
        return current;
    }
    *below_since_ms = RW_NO_TIME;
    if (current != RW_BAND_HEALTHY && score >= cfg->healthy + cfg->hysteresis)
        return RW_BAND_HEALTHY;
    if (current == RW_BAND_AT_RISK && score >= cfg->watch + cfg->hysteresis)
        return RW_BAND_WATCH;
    return current;
}
