/* The convolutions' products of one slab (8 images) of a preset, our AVX-512 kernels
 * (src/nn/gemm.c) against OpenBLAS's sgemm, alternating, min over repeats (microseconds):
 *   bench_nn_gemm [ARCH] [REPEATS]
 * Prints one line per conv layer and product (forward y = w col, dcol = w^T dy, dw = dy col^T)
 * with both times and their ratio. One thread (the slab engine's products run serially). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nn/net_internal.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float *filled(int64_t n)
{
    float *v = malloc((size_t)n * sizeof *v);
    if (!v) exit(1);
    for (int64_t i = 0; i < n; i++) v[i] = (float)((i * 2654435761u) >> 24) / 255.0f - 0.5f;
    return v;
}

int main(int argc, char **argv)
{
    const char *arch = argc > 1 ? argv[1] : "default";
    const int reps = argc > 2 ? atoi(argv[2]) : 30, nb = 8;
    cvg_net *net;
    if (cvg_net_create(arch, 1, 28, 28, 1, &net) != CVG_OK) return 1;
    printf("%-6s %-5s %5s %5s %6s %10s %10s %6s\n", "layer", "prod", "M", "K", "N", "ours us",
           "blas us", "ratio");
    for (int i = 0; i < net->nl && net->L[i].kind == NN_CONV; i++) {
        const nn_layer *L = &net->L[i];
        const int OC = L->width, CKK = L->in_c * L->K * L->K, N = nb * L->oh * L->ow;
        float *w = filled((int64_t)OC * CKK), *col = filled((int64_t)CKK * N);
        float *y = filled((int64_t)OC * N), *dw = filled((int64_t)OC * CKK);
        for (int p = 0; p < 3; p++) {
            double best[2] = {1e9, 1e9};
            for (int r = 0; r < reps; r++)
                for (int force = 0; force < 2; force++) {
                    nn_gemm_force_blas = force;
                    double t0 = now();
                    if (p == 0) nn_gemm_w_b(OC, N, CKK, w, 0, CKK, col, N, y, N, 0);
                    else if (p == 1) nn_gemm_w_b(CKK, N, OC, w, 1, CKK, y, N, col, N, NN_GEMM_ONTO_ZEROS);
                    else nn_gemm_a_bt(OC, CKK, N, y, N, col, N, dw, CKK, 0);
                    double t = now() - t0;
                    if (t < best[force]) best[force] = t;
                }
            static const char *names[3] = {"y", "dcol", "dw"};
            printf("%-6s %-5s %5d %5d %6d %10.1f %10.1f %5.2fx\n", L->name, names[p],
                   p == 1 ? CKK : OC, p == 2 ? N : p == 1 ? OC : CKK, p == 2 ? CKK : N,
                   best[0] * 1e6, best[1] * 1e6, best[1] / best[0]);
        }
        free(w), free(col), free(y), free(dw);
    }
    cvg_net_free(net);
    return 0;
}
