/* rng.h - the seeded generators of the tools (loadgen, the labelled book): xoshiro256** seeded by
 * splitmix64, one independent stream per (seed, a, b), and the few distributions they draw from.
 * Header-only (static inline): each tool is one program, nothing to link. */
#ifndef RENEWALD_TOOLS_RNG_H
#define RENEWALD_TOOLS_RNG_H

#include <math.h>
#include <stdint.h>

struct rng {
    uint64_t s[4];
};

static inline uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* A generator for (seed, a, b): independent streams per account and day keep the output
 * the same however the work is ordered. */
static inline void rng_init(struct rng *r, uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t x = seed ^ (a * UINT64_C(0xD1B54A32D192ED03)) ^ (b * UINT64_C(0x8CB92BA72F3D8DD7));
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static inline uint64_t rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** */
static inline uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rng_rotl(s[3], 45);
    return result;
}

static inline double rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static inline uint64_t rng_below(struct rng *r, uint64_t n)
{
    return n ? rng_next(r) % n : 0;
}

static inline double rng_uniform(struct rng *r, double lo, double hi)
{
    return lo + (hi - lo) * rng_unit(r);
}

static inline double rng_normal(struct rng *r)
{
    double u = rng_unit(r), v = rng_unit(r);
    if (u < 1e-300)
        u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* Knuth's method up to 30, a rounded normal above (counts that large hardly care). */
static inline unsigned rng_poisson(struct rng *r, double lambda)
{
    if (lambda <= 0)
        return 0;
    if (lambda > 30) {
        double x = lambda + sqrt(lambda) * rng_normal(r) + 0.5;
        return x < 0 ? 0 : (unsigned)x;
    }
    double l = exp(-lambda), p = 1.0;
    unsigned k = 0;
    do {
        k++;
        p *= rng_unit(r);
    } while (p > l && k < 1000);
    return k - 1;
}

#endif
