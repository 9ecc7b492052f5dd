/* Max pooling over independent planes (C*B planes of H x W in CNHW). */
#include <string.h>

#include "nn/layers.h"

void nn_maxpool_forward_serial(float *y, int32_t *arg, const float *x, int64_t planes, int H,
                               int W, int K, int S, int P, int OH, int OW)
{
    const int64_t in_plane = (int64_t)H * W, out_plane = (int64_t)OH * OW;
    for (int64_t pl = 0; pl < planes; pl++) {
        const float *xp = x + pl * in_plane;
        float *yp = y + pl * out_plane;
        int32_t *ap = arg + pl * out_plane;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                /* the window clipped to the plane (padding never wins) */
                int y0 = oy * S - P, x0 = ox * S - P;
                int ya = y0 < 0 ? 0 : y0, yb = y0 + K > H ? H : y0 + K;
                int xa = x0 < 0 ? 0 : x0, xb = x0 + K > W ? W : x0 + K;
                int32_t where = ya * W + xa;
                float best = xp[where];
                for (int iy = ya; iy < yb; iy++)
                    for (int ix = xa; ix < xb; ix++) {
                        const int32_t at = iy * W + ix;
                        const float v = xp[at];
                        /* strictly greater: the first maximum wins; selects, not branches (which
                         * way a comparison goes is not predictable) */
                        const int gt = v > best;
                        where = gt ? at : where;
                        best = gt ? v : best;
                    }
                yp[oy * OW + ox] = best;
                ap[oy * OW + ox] = where;
            }
    }
}

void nn_maxpool_backward_serial(float *dx, const float *dy, const int32_t *arg, int64_t planes,
                                int H, int W, int OH, int OW)
{
    const int64_t in_plane = (int64_t)H * W, out_plane = (int64_t)OH * OW;
    for (int64_t pl = 0; pl < planes; pl++) {
        float *dxp = dx + pl * in_plane;
        memset(dxp, 0, (size_t)in_plane * sizeof *dxp);
        const float *dyp = dy + pl * out_plane;
        const int32_t *ap = arg + pl * out_plane;
        for (int64_t i = 0; i < out_plane; i++) dxp[ap[i]] += dyp[i];
    }
}

/* The whole set of planes, in parallel over planes (each plane from one thread). */
void nn_maxpool_forward(float *y, int32_t *arg, const float *x, int64_t planes, int H, int W,
                        int K, int S, int P, int OH, int OW)
{
    const int64_t in_plane = (int64_t)H * W, out_plane = (int64_t)OH * OW;
#pragma omp parallel for schedule(static) if (planes * out_plane * K * K > NN_PAR_MIN)
    for (int64_t pl = 0; pl < planes; pl++)
        nn_maxpool_forward_serial(y + pl * out_plane, arg + pl * out_plane, x + pl * in_plane, 1,
                                  H, W, K, S, P, OH, OW);
}

void nn_maxpool_backward(float *dx, const float *dy, const int32_t *arg, int64_t planes, int H,
                         int W, int OH, int OW)
{
    const int64_t in_plane = (int64_t)H * W, out_plane = (int64_t)OH * OW;
#pragma omp parallel for schedule(static) if (planes * in_plane > NN_PAR_MIN)
    for (int64_t pl = 0; pl < planes; pl++)
        nn_maxpool_backward_serial(dx + pl * in_plane, dy + pl * out_plane, arg + pl * out_plane,
                                   1, H, W, OH, OW);
}
