/* xoshiro256** (Blackman and Vigna) seeded with splitmix64: small, fast, reproducible. */
#include <math.h>

#include "cluster/cluster_internal.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void cvg__rng_seed(cvg__rng *r, uint64_t seed, uint64_t stream)
{
    /* Mix the stream number in before expansion so that streams are unrelated. */
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
    splitmix64(&x);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t v, int k) { return (v << k) | (v >> (64 - k)); }

uint64_t cvg__rng_next(cvg__rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double cvg__rng_uniform(cvg__rng *r) { return (double)(cvg__rng_next(r) >> 11) * 0x1.0p-53; }

double cvg__rng_normal(cvg__rng *r)
{
    double u1 = cvg__rng_uniform(r), u2 = cvg__rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
