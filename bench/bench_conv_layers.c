/* Time of each leading convolution layer of a preset on one slab of 8 images, one core:
 * forward (product, bias, ReLU) and backward (weight, bias and input gradients) through
 * im2col + products and through Winograd F(2x2, 3x3) and F(4x4, 3x3) where they apply.
 * The Winograd forward time includes 1/8 of the weight transform (once per batch of 64).
 * Min over repeats of the thread's CPU time, in microseconds.
 *   bench_conv_layers [ARCH] [REPEATS]
 * Used for the per-layer figures in docs/training.md. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nn/net_internal.h"
#include "conv_bench_inputs.h"

int main(int argc, char **argv)
{
    const char *arch = argc > 1 ? argv[1] : "default";
    const int reps = argc > 2 ? atoi(argv[2]) : 20, B = NN_SLAB;
    cvg_net *net;
    if (cvg_net_create(arch, 1, 28, 28, 1, &net) != CVG_OK) return 1;
    double total[3][2] = {{0}};
    for (int i = 0; i < net->nl && net->L[i].kind == NN_CONV; i++) {
        const nn_layer *L = &net->L[i];
        const nn_conv_shape s = {L->in_c, L->in_h, L->in_w, L->width, L->oh, L->ow, L->K, L->S, L->P, B};
        const int64_t nx = (int64_t)s.C * B * s.H * s.W, ny = (int64_t)s.OC * B * s.OH * s.OW;
        float *x = filled(nx), *dx = filled(nx), *y = filled(ny), *dy = filled(ny);
        float *dw = filled(L->nw), *db = filled(L->nb);
        printf("%-6s C %3d -> %3d, %2dx%2d k%d:", L->name, s.C, s.OC, s.H, s.W, s.K);
        double got[3][2];
        for (int mode = 0; mode < 3; mode++) { /* im2col, F(2x2), F(4x4) */
            nn_conv_winograd = mode * 2;
            if (mode && !nn_wino_tile(&s)) continue;
            double best_f = 1e9, best_b = 1e9;
            if (mode == 0) {
                const int64_t r = nn_conv_range_scratch_floats(&s, B);
                float *room = filled(r), *dcol = calloc((size_t)r, sizeof *dcol);
                for (int k = 0; k < reps; k++) {
                    double t0 = cpu();
                    nn_conv_forward_range(y, NULL, room, x, L->w, L->b, &s, 0, B, 1);
                    double t1 = cpu();
                    nn_conv_backward_range(i ? dx : NULL, dw, db, dcol, room, dy, NULL, x, L->w, &s, 0, B);
                    double t2 = cpu();
                    best_f = t1 - t0 < best_f ? t1 - t0 : best_f;
                    best_b = t2 - t1 < best_b ? t2 - t1 : best_b;
                }
                free(room), free(dcol);
            } else {
                const int64_t nu = nn_wino_weight_floats(&s);
                float *u = filled(nu), *ut = filled(nu), *room = filled(nn_wino_scratch_floats(&s));
                for (int k = 0; k < reps; k++) {
                    /* the weight transform is once per batch: its share of one slab of 8 in 64 */
                    double tw = cpu();
                    nn_wino_weights(u, ut, L->w, &s, 0, s.OC);
                    tw = (cpu() - tw) / 8;
                    double t0 = cpu() - tw;
                    nn_wino_forward_range(y, room, x, u, L->b, &s, 0, B, 1);
                    double t1 = cpu();
                    nn_wino_backward_range(i ? dx : NULL, dw, db, room, dy, x, u, ut, &s, 0, B);
                    double t2 = cpu();
                    best_f = t1 - t0 < best_f ? t1 - t0 : best_f;
                    best_b = t2 - t1 < best_b ? t2 - t1 : best_b;
                }
                free(u), free(ut), free(room);
            }
            printf("  %s fwd %7.1f bwd %7.1f", mode == 0 ? "im2col" : mode == 1 ? "F2" : "F4",
                   best_f * 1e6, best_b * 1e6);
            for (int m2 = mode; m2 < 3; m2++) /* a mode that does not apply counts as im2col */
                got[m2][0] = best_f, got[m2][1] = best_b;
        }
        for (int m2 = 0; m2 < 3; m2++) total[m2][0] += got[m2][0], total[m2][1] += got[m2][1];
        printf("\n");
        free(x), free(dx), free(y), free(dy), free(dw), free(db);
    }
    printf("all layers, one slab (us): im2col %.1f, F2 %.1f, F4 %.1f (fwd + bwd)\n",
           (total[0][0] + total[0][1]) * 1e6, (total[1][0] + total[1][1]) * 1e6,
           (total[2][0] + total[2][1]) * 1e6);
    cvg_net_free(net);
    return 0;
}
