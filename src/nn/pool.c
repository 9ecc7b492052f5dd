/* Max pooling over independent planes (C*B planes of H x W in CNHW). */
#include <float.h>
#include <string.h>

#include "nn/layers.h"

void nn_maxpool_forward(float *y, int32_t *arg, const float *x, int64_t planes, int H, int W,
                        int K, int S, int P, int OH, int OW)
{
    const int64_t in_plane = (int64_t)H * W, out_plane = (int64_t)OH * OW;
#pragma omp parallel for schedule(static)
    for (int64_t pl = 0; pl < planes; pl++) {
        const float *xp = x + pl * in_plane;
        float *yp = y + pl * out_plane;
        int32_t *ap = arg + pl * out_plane;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                int y0 = oy * S - P, x0 = ox * S - P;
                float best = -FLT_MAX;
                int32_t where = -1;
                for (int ky = 0; ky < K; ky++) {
                    int iy = y0 + ky;
                    if (iy < 0 || iy >= H) continue;
                    for (int kx = 0; kx < K; kx++) {
                        int ix = x0 + kx;
                        if (ix < 0 || ix >= W) continue;
                        float v = xp[iy * W + ix];
                        /* strictly greater: the first maximum wins (NaN never wins here) */
                        if (where < 0 || v > best) {
                            best = v;
                            where = iy * W + ix;
                        }
                    }
                }
                yp[oy * OW + ox] = best;
                ap[oy * OW + ox] = where;
            }
    }
}

void nn_maxpool_backward(float *dx, const float *dy, const int32_t *arg, int64_t planes, int H,
                         int W, int OH, int OW)
{
    const int64_t in_plane = (int64_t)H * W, out_plane = (int64_t)OH * OW;
#pragma omp parallel for schedule(static)
    for (int64_t pl = 0; pl < planes; pl++) {
        float *dxp = dx + pl * in_plane;
        memset(dxp, 0, (size_t)in_plane * sizeof *dxp);
        const float *dyp = dy + pl * out_plane;
        const int32_t *ap = arg + pl * out_plane;
        for (int64_t i = 0; i < out_plane; i++) dxp[ap[i]] += dyp[i];
    }
}
