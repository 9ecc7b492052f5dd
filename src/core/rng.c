/* The library's one random number generator: xoshiro256** (Blackman and Vigna) for streams,
 * splitmix64 for seeding and hashing. Our own, so results never depend on rand() or the libc. */
#include <math.h>

#include "core/internal.h"

static const uint64_t golden = 0x9E3779B97F4A7C15ull;

uint64_t cvg__mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t cvg__splitmix64(uint64_t *state) { return cvg__mix64(*state += golden); }

uint64_t cvg__hash64(uint64_t a, uint64_t b)
{
    uint64_t s = a * 0xD1B54A32D192ED03ull ^ b;
    cvg__splitmix64(&s);
    return cvg__splitmix64(&s);
}

void cvg__rng_seed(cvg__rng *r, uint64_t seed)
{
    uint64_t s = seed;
    for (int i = 0; i < 4; i++) r->s[i] = cvg__splitmix64(&s);
}

void cvg__rng_seed_stream(cvg__rng *r, uint64_t seed, uint64_t stream)
{
    /* The stream is mixed in before expansion so that streams are unrelated; the extra golden
     * step keeps the sequences the clustering drew before the two generators became one. */
    cvg__rng_seed(r, (seed ^ (stream * 0xD1B54A32D192ED03ull)) + golden);
}


uint64_t cvg__rng_next(cvg__rng *r)
{
    uint64_t *s = r->s;
    const uint64_t out = cvg__rotl64(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = cvg__rotl64(s[3], 45);
    return out;
}

double cvg__rng_uniform(cvg__rng *r) { return (double)(cvg__rng_next(r) >> 11) * 0x1.0p-53; }

double cvg__rng_normal(cvg__rng *r)
{
    double u1 = cvg__rng_uniform(r), u2 = cvg__rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
