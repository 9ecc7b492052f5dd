/* What the convolution benches (bench_conv_layers, dnnl_conv_bench) share: the calling thread's
 * CPU clock and deterministic operands, so both time the same data the same way. */
#ifndef CVG_BENCH_CONV_BENCH_INPUTS_H
#define CVG_BENCH_CONV_BENCH_INPUTS_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* CPU seconds of the calling thread (the benches run one thread: wall time would count load) */
static inline double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* n floats in [-1, 1), a fixed multiplicative-hash pattern; exits on out of memory */
static inline float *filled(int64_t n)
{
    float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    if (!v) exit(1);
    for (int64_t i = 0; i < n; i++) v[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    return v;
}

#endif
