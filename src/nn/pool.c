/* Max pooling over independent planes (C*B planes of H x W in CNHW). */
#include <math.h>
#include <string.h>

#include "nn/layers.h"

/* The presets' pooling, 3x3 windows with stride 2 and padding 1. Each row of the plane is first
 * split into its padded even and odd columns (padded column 2k+1 is pixel 2k), with -inf for
 * the padding: the window of output ox then reads e[ox], o[ox], e[ox + 1] of three rows, all
 * with unit stride across ox, so the loop over ox vectorizes (selects, no branches). Same
 * results as the general loop for any input without NaN: padding never wins (-inf > best is
 * false), the window's first pixel inside the plane is the default, a later one is taken only
 * when strictly greater. */
#define POOL_ROW_MAX 64
static inline __attribute__((always_inline)) void
pool_3s2p1(float *y, int32_t *arg, const float *x, int64_t planes, int H, const int W, int OH,
           const int OW)
{
    float ev[POOL_ROW_MAX + 2][POOL_ROW_MAX / 2 + 2], od[POOL_ROW_MAX + 2][POOL_ROW_MAX / 2 + 2];
    const int Hp = H + 2, half = W / 2 + 2;
    for (int r = 0; r < Hp; r++)
        for (int k = 0; k < half; k++) ev[r][k] = od[r][k] = -INFINITY;
    for (int64_t pl = 0; pl < planes; pl++) {
        const float *xp = x + pl * H * W;
        for (int iy = 0; iy < H; iy++) {
            float *e = ev[iy + 1], *o = od[iy + 1];
            const float *xr = xp + iy * W;
            for (int k = 0; 2 * k < W; k++) o[k] = xr[2 * k];          /* padded col 2k+1 */
            for (int k = 1; 2 * k - 1 < W; k++) e[k] = xr[2 * k - 1];  /* padded col 2k */
        }
        float *yp = y + pl * OH * OW;
        int32_t *ap = arg + pl * OH * OW;
        for (int oy = 0; oy < OH; oy++) {
            const int ya = oy ? 2 * oy - 1 : 0;
            float *yr = yp + oy * OW;
            int32_t *ar = ap + oy * OW;
            for (int ox = 0; ox < OW; ox++) {
                int32_t where = ya * W + (ox ? 2 * ox - 1 : 0);
                float best = -INFINITY;
                for (int i = 0; i < 3; i++) {
                    const float *e = ev[2 * oy + i], *o = od[2 * oy + i];
                    const int32_t row = (2 * oy - 1 + i) * W + 2 * ox - 1;
                    const float v0 = e[ox], v1 = o[ox], v2 = e[ox + 1];
                    int gt = v0 > best;
                    where = gt ? row : where, best = gt ? v0 : best;
                    gt = v1 > best;
                    where = gt ? row + 1 : where, best = gt ? v1 : best;
                    gt = v2 > best;
                    where = gt ? row + 2 : where, best = gt ? v2 : best;
                }
                yr[ox] = best;
                ar[ox] = where;
            }
        }
    }
}

NN_VECTOR_CLONES void nn_maxpool_forward_serial(float *y, int32_t *arg, const float *x, int64_t planes, int H,
                               int W, int K, int S, int P, int OH, int OW)
{
    const int64_t in_plane = (int64_t)H * W, out_plane = (int64_t)OH * OW;
    if (K == 3 && S == 2 && P == 1 && H <= POOL_ROW_MAX && W <= POOL_ROW_MAX) {
        switch (W) { /* the presets' maps */
        case 28: pool_3s2p1(y, arg, x, planes, H, 28, OH, 14); return;
        case 14: pool_3s2p1(y, arg, x, planes, H, 14, OH, 7); return;
        case 7: pool_3s2p1(y, arg, x, planes, H, 7, OH, 4); return;
        default: pool_3s2p1(y, arg, x, planes, H, W, OH, OW); return;
        }
    }
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

NN_VECTOR_CLONES void nn_maxpool_backward_serial(float *dx, const float *dy, const int32_t *arg, int64_t planes,
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
