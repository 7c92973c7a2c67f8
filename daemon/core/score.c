/* score.c - signals, the account score, rounding to tenths, bounds over time (SPEC §2). */
#include "renewald/core/score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "renewald/core/account_store.h"

#define TYPE_TABLE 512  /* power of two, > 2 * RW_MAX_SIGNALS * RW_MAX_SIGNAL_TYPES */
#define FP_VERSION 2u   /* bump when the meaning of a slot changes */
#define S_MARGIN   1e-6 /* score noise covered by bounds: far above float error, far below 0.05 */

/* Run-time form of one signal. */
struct sig_rt {
    enum rw_aggregate agg;
    size_t off, nslots; /* first slot, slots used */
    double h_ms;        /* half-life */
    double b_ms;        /* baseline half-life (trend) */
    double k_rate;      /* ln 2 / H in days: turns a decayed sum into events per day */
    double weight;      /* >= 0 and finite */
    uint32_t fp;        /* the signal's own fingerprint */
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

/* What the slots of one signal mean: weights, bounds and the like may change freely. */
static uint32_t signal_fingerprint(const struct rw_signal_conf *c)
{
    uint32_t h = fnv_i64(2166136261u, FP_VERSION);
    h = fnv1a(h, c->name, strlen(c->name) + 1);
    h = fnv_i64(h, c->aggregate);
    h = fnv_i64(h, c->ntypes);
    for (int t = 0; t < c->ntypes; t++)
        h = fnv1a(h, c->types[t], strlen(c->types[t]) + 1);
    h = fnv_i64(h, c->half_life_ms);
    return fnv_i64(h, c->aggregate == RW_AGG_TREND ? c->baseline_ms : 0);
}

struct rw_scorer *rw_scorer_new(const struct rw_config *cfg)
{
    if (cfg->nsignals < 0 || cfg->nsignals > RW_MAX_SIGNALS)
        return NULL;
    struct rw_scorer *sc = rw_xcalloc(1, sizeof(*sc));
    sc->nsig = cfg->nsignals;
    size_t off = 0;
    uint32_t fp = fnv_i64(2166136261u, FP_VERSION);
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
        rt->nslots = (c->aggregate == RW_AGG_MEAN || c->aggregate == RW_AGG_TREND) ? 2 : 1;
        rt->h_ms = (double)c->half_life_ms;
        rt->b_ms = (double)c->baseline_ms;
        rt->k_rate = M_LN2 / (rt->h_ms / (double)RW_MS_PER_DAY);
        rt->weight = isfinite(c->weight) && c->weight > 0.0 ? c->weight : 0.0;
        rt->fp = signal_fingerprint(&sc->sigs[i]);
        fp = fnv_i64(fp, rt->fp);
        off += rt->nslots;
        for (int t = 0; t < c->ntypes; t++)
            index_type(sc, i, sc->sigs[i].types[t]);
    }
    sc->nslots = off;
    sc->fp = fp;
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

size_t rw_scorer_slot_offset(const struct rw_scorer *sc, int i)
{
    return sc->rt[i].off;
}

size_t rw_scorer_slot_count(const struct rw_scorer *sc, int i)
{
    return sc->rt[i].nslots;
}

uint32_t rw_scorer_signal_fingerprint(const struct rw_scorer *sc, int i)
{
    return sc->rt[i].fp;
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

/* Δ from the reference time to T in ms (0 when T is not later). */
static double since_ref(int64_t ref_ms, int64_t t_ms)
{
    return t_ms > ref_ms ? (double)t_ms - (double)ref_ms : 0.0;
}

/* 1 − 2^(−a/h) for an age A and a half-life H (same unit), precise for small a. */
static double covered(double a, double h)
{
    return -expm1(-a * M_LN2 / h);
}

/* The short-history correction of a trend at account age A_MS (> 0). */
static double trend_correction(const struct sig_rt *rt, double a_ms)
{
    return covered(a_ms, rt->b_ms) / covered(a_ms, rt->h_ms);
}

/* x of one signal at NOW; false when absent. */
static bool signal_x(const struct sig_rt *rt, const struct rw_signal_conf *c, const double *s,
                     const struct rw_score_input *in, int64_t now_ms, double *x)
{
    bool any = in->ref_ms != RW_NO_TIME;
    double dref = any ? since_ref(in->ref_ms, now_ms) : 0.0;
    switch (rt->agg) {
    case RW_AGG_RATE: {
        double v = any ? rt->k_rate * s[0] * exp2(-dref / rt->h_ms) : 0.0;
        if (c->normalize_seats && in->seats > 1.0) /* NAN and < 1 count as 1 */
            v /= in->seats;
        *x = v;
        return !isnan(v);
    }
    case RW_AGG_MEAN:
        /* The decay of Σv·w and Σw cancels out: the ratio of the stored sums. */
        if (!any || !(s[1] > 0.0))
            return false;
        if (c->min_samples > 0.0 && s[1] * exp2(-dref / rt->h_ms) < c->min_samples)
            return false;
        *x = s[0] / s[1];
        return !isnan(*x);
    case RW_AGG_TREND: {
        if (!any || s[1] == 0.0 || isnan(s[1]) || in->first_seen_ms == RW_NO_TIME ||
            now_ms <= in->first_seen_ms)
            return false;
        /* rate(H)/rate(B) = (B/H)·(ΣH/ΣB)·2^(−Δ(1/H − 1/B)): no underflow of both rates. */
        double e = -dref * (1.0 / rt->h_ms - 1.0 / rt->b_ms);
        double a = (double)now_ms - (double)in->first_seen_ms;
        *x = (rt->b_ms / rt->h_ms) * (s[0] / s[1]) * exp2(e) * trend_correction(rt, a);
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

int rw_score_tenths(double score)
{
    if (!(score > 0.0))
        return 0;
    if (score >= 100.0)
        return 1000;
    return (int)lround(score * 10.0);
}

int rw_score_bound_tenths(double bound)
{
    /* Bounds are written with a few decimals: 40, 40.5, 70.25.  Their tenths,
     * rounded up, with a tolerance for the binary form of the decimal. */
    double t = bound * 10.0;
    double r = round(t);
    if (fabs(t - r) < 1e-7)
        return (int)r;
    return (int)ceil(t);
}

/* The account score from signal scores: weighted mean, then critical minimums. */
static bool combine(const struct rw_scorer *sc, const struct rw_signal_eval *sig, double *out)
{
    double wsum = 0.0, wssum = 0.0, ssum = 0.0;
    int present = 0;
    for (int i = 0; i < sc->nsig; i++) {
        if (sig[i].absent)
            continue;
        double w = sc->rt[i].weight;
        wsum += w;
        wssum += w * sig[i].score;
        ssum += sig[i].score;
        present++;
    }
    if (present == 0)
        return false;
    double s = wsum > 0.0 ? wssum / wsum : ssum / present;
    if (isnan(s)) /* weights so large that Σ weight·s overflowed */
        s = ssum / present;
    for (int i = 0; i < sc->nsig; i++)
        if (sc->sigs[i].critical && !sig[i].absent && sig[i].score < s)
            s = sig[i].score;
    *out = fmin(100.0, fmax(0.0, s));
    return true;
}

void rw_scorer_eval(const struct rw_scorer *sc, const struct rw_score_input *in, int64_t now_ms,
                    struct rw_score_eval *out)
{
    out->nsignals = sc->nsig;
    for (int i = 0; i < sc->nsig; i++) {
        struct rw_signal_eval *e = &out->sig[i];
        double x = 0.0;
        if (!signal_x(&sc->rt[i], &sc->sigs[i], in->agg + sc->rt[i].off, in, now_ms, &x)) {
            e->absent = true;
            e->x = 0.0;
            e->score = 0.0;
            continue;
        }
        e->absent = false;
        e->x = x;
        e->score = signal_score(&sc->sigs[i], x);
    }
    out->has_score = combine(sc, out->sig, &out->score);
    if (!out->has_score)
        out->score = 0.0;
    out->tenths = out->has_score ? rw_score_tenths(out->score) : 0;
}

/* ---- bounds over an interval without events ---- */

/* When a mean with min_samples stops being present (INT64_MAX: never). */
static int64_t mean_absent_at(const struct sig_rt *rt, const struct rw_signal_conf *c,
                              const double *s, int64_t ref_ms)
{
    if (!(c->min_samples > 0.0) || !(s[1] > 0.0))
        return INT64_MAX;
    double ratio = s[1] / c->min_samples;
    if (ratio <= 1.0)
        return ref_ms; /* already at (or below) the threshold at its reference time */
    double dt = rt->h_ms * log2(ratio);
    if (!(dt < 4e15))
        return INT64_MAX;
    return ref_ms + (int64_t)dt;
}

/* Lowest and highest x of a present signal over [T0, T1]. */
static void x_range(const struct sig_rt *rt, const struct rw_signal_conf *c, const double *s,
                    const struct rw_score_input *in, int64_t t0, int64_t t1, double *lo, double *hi)
{
    double a, b;
    switch (rt->agg) {
    case RW_AGG_RATE:
    case RW_AGG_MEAN:
    case RW_AGG_RECENCY:
        /* Monotone in time (or constant): the ends bound it.  (Present at T0;
         * a mean may be absent at T1, past the caller's stable_until.) */
        a = 0.0;
        (void)signal_x(rt, c, s, in, t0, &a);
        b = a;
        (void)signal_x(rt, c, s, in, t1, &b);
        break;
    case RW_AGG_TREND: {
        /* x = K·D(t)·C(t): D falls, C rises, both positive: bound by the four products. */
        double d0 = exp2(-since_ref(in->ref_ms, t0) * (1.0 / rt->h_ms - 1.0 / rt->b_ms));
        double d1 = exp2(-since_ref(in->ref_ms, t1) * (1.0 / rt->h_ms - 1.0 / rt->b_ms));
        double c0 = trend_correction(rt, (double)t0 - (double)in->first_seen_ms);
        double c1 = trend_correction(rt, (double)t1 - (double)in->first_seen_ms);
        double k = (rt->b_ms / rt->h_ms) * (s[0] / s[1]);
        double p[4] = {k * d0 * c0, k * d0 * c1, k * d1 * c0, k * d1 * c1};
        a = fmin(fmin(p[0], p[1]), fmin(p[2], p[3]));
        b = fmax(fmax(p[0], p[1]), fmax(p[2], p[3]));
        break;
    }
    default:
        a = b = 0.0;
    }
    *lo = fmin(a, b);
    *hi = fmax(a, b);
}

bool rw_scorer_bounds(const struct rw_scorer *sc, const struct rw_score_input *in, int64_t t0_ms,
                      int64_t t1_ms, int *lo_tenths, int *hi_tenths, int64_t *stable_until_ms)
{
    struct rw_signal_eval lo[RW_MAX_SIGNALS], hi[RW_MAX_SIGNALS];
    int64_t stable = INT64_MAX;
    for (int i = 0; i < sc->nsig; i++) {
        const struct sig_rt *rt = &sc->rt[i];
        const struct rw_signal_conf *c = &sc->sigs[i];
        const double *s = in->agg + rt->off;
        double x;
        bool present = signal_x(rt, c, s, in, t0_ms, &x);
        lo[i].absent = hi[i].absent = !present;
        if (rt->agg == RW_AGG_MEAN) {
            int64_t t = mean_absent_at(rt, c, s, in->ref_ms);
            if (present && t < stable)
                stable = t;
        }
        /* A trend appears once the account has any history (age > 0). */
        if (rt->agg == RW_AGG_TREND && !present && in->ref_ms != RW_NO_TIME && s[1] != 0.0 &&
            in->first_seen_ms != RW_NO_TIME && t0_ms <= in->first_seen_ms &&
            in->first_seen_ms + 1 < stable)
            stable = in->first_seen_ms + 1;
        if (!present)
            continue;
        double xl, xh;
        x_range(rt, c, s, in, t0_ms, t1_ms, &xl, &xh);
        double sa = signal_score(c, xl), sb = signal_score(c, xh);
        lo[i].score = fmin(sa, sb);
        hi[i].score = fmax(sa, sb);
    }
    *stable_until_ms = stable;
    double slo, shi;
    if (!combine(sc, lo, &slo) || !combine(sc, hi, &shi))
        return false;
    *lo_tenths = rw_score_tenths(slo - S_MARGIN);
    *hi_tenths = rw_score_tenths(shi + S_MARGIN);
    return true;
}
