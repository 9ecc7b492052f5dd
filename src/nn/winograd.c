/* Winograd convolution (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
 * 2016) for stride-1 layers with at least WINO_MIN_C input channels: F(4x4, 3x3) (or F(2x2,
 * 3x3): nn_conv_winograd = 2) for 3x3 kernels, F(2x2, 5x5) for 5x5; forward, input gradient
 * and weight gradient, on the images of one slab.
 *
 * Each m x m block ("tile") of outputs is computed from the a x a input patch above it
 * (a = m + r - 1, r the kernel) as  Y = A^T [ (G g G^T) . (B^T d B) ] A  (. : element-wise),
 * so over channels the a*a element positions ("xi") become a*a independent matrix products
 *   M[xi] (OC, T) = U[xi] (OC, C) @ V[xi] (C, T),   U = G g G^T, V = B^T d B, T = tiles.
 * Multiplications per output and input channel: a^2 / m^2 instead of r^2: 4 (F(2x2, 3x3)),
 * 2.25 (F(4x4, 3x3)) instead of 9, 9 (F(2x2, 5x5)) instead of 25. On the presets' 7x7 maps
 * F(4x4) tiles cover 8x8, so 3.06x fewer products than im2col; on 14x14, F(2x2, 5x5) 2.78x.
 *
 * The backward pass is the exact adjoint of this linear map (not a second Winograd
 * algorithm): dM = A dY A^T per tile, dU[xi] = dM[xi] @ V[xi]^T, dg = G^T dU G, and
 * dV[xi] = U[xi]^T @ dM[xi], dd = B dV B^T added into the overlapping input patches. So the
 * gradients are those of the function the forward pass computes, whatever its rounding.
 *
 * Lanes: the transforms work on 8 images at once (a group; the slab is 8 images): every
 * tile element is a vector of the 8 images' values, so the transforms are vector code
 * whatever the map size. The group's inputs are first repacked "pixel-major", (C, Hp, Wp, 8),
 * zero-padded. The tile columns of V and M are (tile, image) pairs, T = tiles * 8.
 *
 * Rounding: the transforms' larger coefficients (the points +-2 of F(4x4, 3x3) and F(2x2,
 * 5x5)) cost precision: errors relative to the sums' scale ~1e-6, against ~1e-7 for im2col
 * and F(2x2, 3x3) (test_nn_winograd prints them).
 *
 * Every sum runs in an order fixed by the shapes, so results depend neither on threads nor on
 * which thread took which slab. */
#include <string.h>

#include "nn/layers.h"

int nn_conv_winograd = 4;

#define WL 8 /* images per group: the vector lanes of the transforms */

/* 8 floats; the _u type for loads and stores at any float-aligned address */
typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4)));

/* F(2x2, 3x3): interpolation points 0, 1, -1, infinity */
static const float BT2[4 * 4] = {1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1};
static const float G2[4 * 3] = {1, 0, 0, 0.5f, 0.5f, 0.5f, 0.5f, -0.5f, 0.5f, 0, 0, 1};
static const float AT2[2 * 4] = {1, 1, 1, 0, 0, 1, -1, -1};

/* F(4x4, 3x3): points 0, 1, -1, 2, -2, infinity */
static const float BT4[6 * 6] = {
    4, 0, -5, 0, 1, 0,
    0, -4, -4, 1, 1, 0,
    0, 4, -4, -1, 1, 0,
    0, -2, -1, 2, 1, 0,
    0, 2, -1, -2, 1, 0,
    0, 4, 0, -5, 0, 1,
};
static const float G4[6 * 3] = {
    1.0f / 4, 0, 0,
    -1.0f / 6, -1.0f / 6, -1.0f / 6,
    -1.0f / 6, 1.0f / 6, -1.0f / 6,
    1.0f / 24, 1.0f / 12, 1.0f / 6,
    1.0f / 24, -1.0f / 12, 1.0f / 6,
    0, 0, 1,
};
static const float AT4[4 * 6] = {
    1, 1, 1, 1, 1, 0,
    0, 1, -1, 2, -2, 0,
    0, 1, 1, 4, 4, 0,
    0, 1, -1, 8, -8, 1,
};

/* F(2x2, 5x5): the same points as F(4x4, 3x3), so the same B^T */
static const float G25[6 * 5] = {
    1.0f / 4, 0, 0, 0, 0,
    -1.0f / 6, -1.0f / 6, -1.0f / 6, -1.0f / 6, -1.0f / 6,
    -1.0f / 6, 1.0f / 6, -1.0f / 6, 1.0f / 6, -1.0f / 6,
    1.0f / 24, 1.0f / 12, 1.0f / 6, 1.0f / 3, 2.0f / 3,
    1.0f / 24, -1.0f / 12, 1.0f / 6, -1.0f / 3, 2.0f / 3,
    0, 0, 0, 0, 1,
};
static const float AT25[2 * 6] = {1, 1, 1, 1, 1, 0, 0, 1, -1, 2, -2, 1};

/* Layers with fewer input channels stay with im2col: their products are too short for the
 * transforms to pay (conv1, one channel, 5x5 on 28x28: 0.27 ms per slab by im2col, ~2 ms by
 * F(2x2, 5x5); bench_conv_layers). */
#define WINO_MIN_C 8

int nn_wino_tile(const nn_conv_shape *s)
{
    if (s->S != 1 || s->C < WINO_MIN_C || (nn_conv_winograd != 2 && nn_conv_winograd != 4))
        return 0;
    return s->K == 3 ? nn_conv_winograd : s->K == 5 ? 2 : 0;
}

/* The sizes of one tiling: m, r (kernel), a = m + r - 1, tiles per row and column, the padded
 * plane (Hp, Wp) that holds every tile's patch, T (columns of one group's products), and the
 * algorithm's matrices (kind 0: F(2x2, 3x3), 1: F(4x4, 3x3), 2: F(2x2, 5x5)). */
typedef struct wino_dims {
    int m, r, a, TH, TW, Hp, Wp, T, kind;
    const float *BT, *G, *AT;
} wino_dims;

static wino_dims dims(const nn_conv_shape *s, int m)
{
    wino_dims d;
    d.m = m, d.r = s->K, d.a = m + s->K - 1;
    d.TH = (s->OH + m - 1) / m, d.TW = (s->OW + m - 1) / m;
    /* TH*m + r - 1 >= OH + r - 1 = H + 2P: every padded pixel is inside */
    d.Hp = d.TH * m + d.r - 1, d.Wp = d.TW * m + d.r - 1;
    d.T = d.TH * d.TW * WL;
    d.kind = d.r == 5 ? 2 : m == 4 ? 1 : 0;
    d.BT = d.kind ? BT4 : BT2;
    d.G = d.kind == 2 ? G25 : d.kind == 1 ? G4 : G2;
    d.AT = d.kind == 2 ? AT25 : d.kind == 1 ? AT4 : AT2;
    return d;
}

/* The room's parts, in floats: xp (C, Hp, Wp, 8) (the input gradient's padded planes in the
 * backward pass), V (a*a, C, T) (then dV), M (a*a, OC, T) (then dM), yp (OC, TH*m, TW*m, 8)
 * (dy repacked), dU (OC, C) (one xi at a time), dwT (r*r, OC, C) (the weight gradient
 * summed xi by xi). */
typedef struct wino_room {
    float *xp, *V, *M, *yp, *dU, *dwT;
} wino_room;

static int64_t room_parts(const nn_conv_shape *s, int m, float *base, wino_room *r)
{
    const wino_dims d = dims(s, m);
    const int64_t aa = (int64_t)d.a * d.a;
    const int64_t sz[6] = {(int64_t)s->C * d.Hp * d.Wp * WL, aa * s->C * d.T, aa * s->OC * d.T,
                           (int64_t)s->OC * d.TH * m * d.TW * m * WL, (int64_t)s->OC * s->C,
                           (int64_t)d.r * d.r * s->OC * s->C};
    float **part[6] = {&r->xp, &r->V, &r->M, &r->yp, &r->dU, &r->dwT};
    int64_t off = 0;
    for (int i = 0; i < 6; i++) {
        if (base) *part[i] = base + off;
        off += (sz[i] + 15) & ~(int64_t)15; /* each part starts 64-byte aligned if base is */
    }
    return off;
}

int64_t nn_wino_scratch_floats(const nn_conv_shape *s)
{
    const int m = nn_wino_tile(s);
    return m ? room_parts(s, m, NULL, &(wino_room){0}) : 0;
}

int64_t nn_wino_weight_floats(const nn_conv_shape *s)
{
    const int m = nn_wino_tile(s);
    return m ? (int64_t)(m + s->K - 1) * (m + s->K - 1) * s->OC * s->C : 0;
}

/* ---- weights: U = G g G^T ---- */

/* 16 input channels at a time (the inner loops run over them: vector code) */
static inline __attribute__((always_inline)) void
weights_rows(float *u, float *ut, const float *w, int OC, int C, int oc0, int oc1,
             const float *G, const int r, const int a)
{
    for (int oc = oc0; oc < oc1; oc++)
        for (int c0 = 0; c0 < C; c0 += 16) {
            const int cn = C - c0 < 16 ? C - c0 : 16;
            float g[25][16] = {{0}}, t[6][5][16], U[16];
            for (int c = 0; c < cn; c++)
                for (int kl = 0; kl < r * r; kl++) g[kl][c] = w[((int64_t)oc * C + c0 + c) * r * r + kl];
            for (int i = 0; i < a; i++) /* t = G g: (a, r) */
                for (int l = 0; l < r; l++)
                    for (int c = 0; c < 16; c++) {
                        float acc = 0;
                        for (int k = 0; k < r; k++) acc += G[i * r + k] * g[k * r + l][c];
                        t[i][l][c] = acc;
                    }
            for (int i = 0; i < a; i++) /* U = t G^T: (a, a) */
                for (int j = 0; j < a; j++) {
                    const int xi = i * a + j;
                    for (int c = 0; c < 16; c++) {
                        float acc = 0;
                        for (int l = 0; l < r; l++) acc += t[i][l][c] * G[j * r + l];
                        U[c] = acc;
                    }
                    float *du = u + ((int64_t)xi * OC + oc) * C + c0;
                    for (int c = 0; c < cn; c++) du[c] = U[c];
                }
        }
    /* ut = u transposed, for these output channels: runs of oc1 - oc0 contiguous floats (one
     * float per row of ut, as the rows were computed, missed the cache at every store: 5% of
     * the paper preset's step) */
    for (int xi = 0; xi < a * a; xi++)
        for (int c = 0; c < C; c++)
            for (int oc = oc0; oc < oc1; oc++)
                ut[((int64_t)xi * C + c) * OC + oc] = u[((int64_t)xi * OC + oc) * C + c];
}

NN_VECTOR_CLONES void nn_wino_weights(float *u, float *ut, const float *w, const nn_conv_shape *s,
                                      int oc0, int oc1)
{
    const wino_dims d = dims(s, nn_wino_tile(s));
    if (d.kind == 0) weights_rows(u, ut, w, s->OC, s->C, oc0, oc1, G2, 3, 4);
    else if (d.kind == 1) weights_rows(u, ut, w, s->OC, s->C, oc0, oc1, G4, 3, 6);
    else weights_rows(u, ut, w, s->OC, s->C, oc0, oc1, G25, 5, 6);
}

/* ---- repacking between (C, B, H, W) and the group's pixel-major planes ---- */

/* xp (C, Hp, Wp, 8) = images [g0, g0 + ng) of x at offset (P, P), zeros elsewhere */
static void pack_input(float *xp, const float *x, const nn_conv_shape *s, const wino_dims *d,
                       int g0, int ng)
{
    const int64_t plane = (int64_t)s->H * s->W, chan = (int64_t)s->B * plane;
    memset(xp, 0, (size_t)s->C * d->Hp * d->Wp * WL * sizeof *xp);
    for (int c = 0; c < s->C; c++)
        for (int b = 0; b < ng; b++) {
            const float *src = x + c * chan + (g0 + b) * plane;
            float *dst = xp + ((int64_t)c * d->Hp + s->P) * d->Wp * WL + (int64_t)s->P * WL + b;
            for (int y = 0; y < s->H; y++)
                for (int xx = 0; xx < s->W; xx++)
                    dst[((int64_t)y * d->Wp + xx) * WL] = src[y * s->W + xx];
        }
}

/* ---- the transforms, 8 images per vector ---- */

/* V[xi][c][tile*8 + lane] = (B^T d B)[xi] for every channel and tile of the group */
static inline __attribute__((always_inline)) void
input_transform(float *V, const float *xp, const nn_conv_shape *s, const wino_dims *d,
                const float *BT, const int m, const int a)
{
    for (int c = 0; c < s->C; c++)
        for (int ty = 0; ty < d->TH; ty++)
            for (int tx = 0; tx < d->TW; tx++) {
                const float *p = xp + (((int64_t)c * d->Hp + ty * m) * d->Wp + tx * m) * WL;
                v8 t[6][6];
                _Pragma("GCC unroll 8")
                for (int i = 0; i < a; i++)
                    _Pragma("GCC unroll 8")
                    for (int j = 0; j < a; j++) {
                        v8 acc = {0};
                        _Pragma("GCC unroll 8")
                        for (int k = 0; k < a; k++)
                            if (BT[i * a + k] != 0.0f)
                                acc += BT[i * a + k] * *(const v8u *)(p + ((int64_t)k * d->Wp + j) * WL);
                        t[i][j] = acc;
                    }
                float *dst = V + (int64_t)c * d->T + (ty * d->TW + tx) * WL;
                const int64_t step = (int64_t)s->C * d->T; /* from one xi to the next */
                _Pragma("GCC unroll 8")
                for (int i = 0; i < a; i++)
                    _Pragma("GCC unroll 8")
                    for (int j = 0; j < a; j++) {
                        v8 acc = {0};
                        _Pragma("GCC unroll 8")
                        for (int k = 0; k < a; k++)
                            if (BT[j * a + k] != 0.0f) acc += BT[j * a + k] * t[i][k];
                        *(v8u *)(dst + (i * a + j) * step) = acc;
                    }
            }
}

/* y of images [g0, g0 + ng) = A^T M A (+ bias, ReLU), the outputs inside OH x OW only */
static inline __attribute__((always_inline)) void
output_transform(float *y, const float *M, const float *bias, int relu, const nn_conv_shape *s,
                 const wino_dims *d, int g0, int ng, const float *AT, const int m, const int a)
{
    const int64_t P = (int64_t)s->OH * s->OW, step = (int64_t)s->OC * d->T;
    for (int oc = 0; oc < s->OC; oc++)
        for (int ty = 0; ty < d->TH; ty++)
            for (int tx = 0; tx < d->TW; tx++) {
                const float *src = M + (int64_t)oc * d->T + (ty * d->TW + tx) * WL;
                v8 t[4][6];
                _Pragma("GCC unroll 8")
                for (int i = 0; i < m; i++)
                    _Pragma("GCC unroll 8")
                    for (int l = 0; l < a; l++) {
                        v8 acc = {0};
                        _Pragma("GCC unroll 8")
                        for (int k = 0; k < a; k++)
                            if (AT[i * a + k] != 0.0f)
                                acc += AT[i * a + k] * *(const v8u *)(src + (k * a + l) * step);
                        t[i][l] = acc;
                    }
                _Pragma("GCC unroll 8")
                for (int i = 0; i < m; i++) {
                    const int oy = ty * m + i;
                    if (oy >= s->OH) break;
                    _Pragma("GCC unroll 8")
                    for (int j = 0; j < m; j++) {
                        const int ox = tx * m + j;
                        if (ox >= s->OW) break;
                        v8 acc = {0};
                        _Pragma("GCC unroll 8")
                        for (int l = 0; l < a; l++)
                            if (AT[j * a + l] != 0.0f) acc += AT[j * a + l] * t[i][l];
                        acc += bias[oc];
                        float *dst = y + ((int64_t)oc * s->B + g0) * P + (int64_t)oy * s->OW + ox;
                        for (int b = 0; b < ng; b++) {
                            const float v = acc[b];
                            dst[b * P] = relu ? (v > 0.0f ? v : 0.0f) : v;
                        }
                    }
                }
            }
}

/* dM[xi][oc][tile*8 + lane] = (A dY A^T)[xi], dY the tile's m x m output gradients (yp) */
static inline __attribute__((always_inline)) void
output_adjoint(float *M, const float *yp, const nn_conv_shape *s, const wino_dims *d,
               const float *AT, const int m, const int a)
{
    const int Wm = d->TW * m;
    const int64_t step = (int64_t)s->OC * d->T;
    for (int oc = 0; oc < s->OC; oc++)
        for (int ty = 0; ty < d->TH; ty++)
            for (int tx = 0; tx < d->TW; tx++) {
                const float *p = yp + (((int64_t)oc * d->TH * m + ty * m) * Wm + tx * m) * WL;
                v8 t[6][4]; /* t = A dY: (a, m) */
                _Pragma("GCC unroll 8")
                for (int i = 0; i < a; i++)
                    _Pragma("GCC unroll 8")
                    for (int l = 0; l < m; l++) {
                        v8 acc = {0};
                        _Pragma("GCC unroll 8")
                        for (int k = 0; k < m; k++)
                            if (AT[k * a + i] != 0.0f)
                                acc += AT[k * a + i] * *(const v8u *)(p + ((int64_t)k * Wm + l) * WL);
                        t[i][l] = acc;
                    }
                float *dst = M + (int64_t)oc * d->T + (ty * d->TW + tx) * WL;
                _Pragma("GCC unroll 8")
                for (int i = 0; i < a; i++)
                    _Pragma("GCC unroll 8")
                    for (int j = 0; j < a; j++) {
                        v8 acc = {0};
                        _Pragma("GCC unroll 8")
                        for (int l = 0; l < m; l++)
                            if (AT[l * a + j] != 0.0f) acc += AT[l * a + j] * t[i][l];
                        *(v8u *)(dst + (i * a + j) * step) = acc;
                    }
            }
}

/* dxp (C, Hp, Wp, 8) = the sum over tiles of B dV B^T placed at each tile's patch (patches
 * overlap by 2 rows and columns; added in tile order) */
static inline __attribute__((always_inline)) void
input_adjoint(float *dxp, const float *V, const nn_conv_shape *s, const wino_dims *d,
              const float *BT, const int m, const int a)
{
    const int64_t step = (int64_t)s->C * d->T;
    memset(dxp, 0, (size_t)s->C * d->Hp * d->Wp * WL * sizeof *dxp);
    for (int c = 0; c < s->C; c++)
        for (int ty = 0; ty < d->TH; ty++)
            for (int tx = 0; tx < d->TW; tx++) {
                const float *src = V + (int64_t)c * d->T + (ty * d->TW + tx) * WL;
                v8 t[6][6]; /* t = B dV: (a, a) */
                _Pragma("GCC unroll 8")
                for (int i = 0; i < a; i++)
                    _Pragma("GCC unroll 8")
                    for (int l = 0; l < a; l++) {
                        v8 acc = {0};
                        _Pragma("GCC unroll 8")
                        for (int k = 0; k < a; k++)
                            if (BT[k * a + i] != 0.0f)
                                acc += BT[k * a + i] * *(const v8u *)(src + (k * a + l) * step);
                        t[i][l] = acc;
                    }
                float *p = dxp + (((int64_t)c * d->Hp + ty * m) * d->Wp + tx * m) * WL;
                _Pragma("GCC unroll 8")
                for (int i = 0; i < a; i++)
                    _Pragma("GCC unroll 8")
                    for (int j = 0; j < a; j++) {
                        v8 acc = *(v8u *)(p + ((int64_t)i * d->Wp + j) * WL);
                        _Pragma("GCC unroll 8")
                        for (int l = 0; l < a; l++)
                            if (BT[l * a + j] != 0.0f) acc += BT[l * a + j] * t[i][l];
                        *(v8u *)(p + ((int64_t)i * d->Wp + j) * WL) = acc;
                    }
            }
}

/* FMA with AVX-512 (GCC's "avx512f" clone alone would not use it) */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define WINO_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define WINO_CLONES
#endif

WINO_CLONES static void input_transform_any(float *V, const float *xp, const nn_conv_shape *s,
                                                 const wino_dims *d)
{
    if (d->kind == 0) input_transform(V, xp, s, d, BT2, 2, 4);
    else if (d->kind == 1) input_transform(V, xp, s, d, BT4, 4, 6);
    else input_transform(V, xp, s, d, BT4, 2, 6);
}

WINO_CLONES static void output_transform_any(float *y, const float *M, const float *bias,
                                                  int relu, const nn_conv_shape *s,
                                                  const wino_dims *d, int g0, int ng)
{
    if (d->kind == 0) output_transform(y, M, bias, relu, s, d, g0, ng, AT2, 2, 4);
    else if (d->kind == 1) output_transform(y, M, bias, relu, s, d, g0, ng, AT4, 4, 6);
    else output_transform(y, M, bias, relu, s, d, g0, ng, AT25, 2, 6);
}

WINO_CLONES static void output_adjoint_any(float *M, const float *yp, const nn_conv_shape *s,
                                                const wino_dims *d)
{
    if (d->kind == 0) output_adjoint(M, yp, s, d, AT2, 2, 4);
    else if (d->kind == 1) output_adjoint(M, yp, s, d, AT4, 4, 6);
    else output_adjoint(M, yp, s, d, AT25, 2, 6);
}

WINO_CLONES static void input_adjoint_any(float *dxp, const float *V, const nn_conv_shape *s,
                                               const wino_dims *d)
{
    if (d->kind == 0) input_adjoint(dxp, V, s, d, BT2, 2, 4);
    else if (d->kind == 1) input_adjoint(dxp, V, s, d, BT4, 4, 6);
    else input_adjoint(dxp, V, s, d, BT4, 2, 6);
}

/* ---- the passes ---- */

void nn_wino_forward_range(float *y, float *room, const float *x, const float *u,
                           const float *bias, const nn_conv_shape *s, int b0, int nb, int relu)
{
    const int m = nn_wino_tile(s);
    const wino_dims d = dims(s, m);
    wino_room r;
    room_parts(s, m, room, &r);
    for (int g0 = b0; g0 < b0 + nb; g0 += WL) {
        const int ng = b0 + nb - g0 < WL ? b0 + nb - g0 : WL;
        pack_input(r.xp, x, s, &d, g0, ng);
        input_transform_any(r.V, r.xp, s, &d);
        for (int xi = 0; xi < d.a * d.a; xi++) /* M[xi] (OC, T) = U[xi] (OC, C) @ V[xi] (C, T) */
            nn_gemm_w_b_any_a(s->OC, d.T, s->C, u + (int64_t)xi * s->OC * s->C, s->C,
                              r.V + (int64_t)xi * s->C * d.T, d.T, r.M + (int64_t)xi * s->OC * d.T, d.T);
        output_transform_any(y, r.M, bias, relu, s, &d, g0, ng);
    }
}

/* yp (OC, TH*m, TW*m, 8) = dy of images [g0, g0 + ng), zeros beyond OH x OW and ng */
static void pack_output_grad(float *yp, const float *dy, const nn_conv_shape *s,
                             const wino_dims *d, int g0, int ng)
{
    const int Hm = d->TH * d->m, Wm = d->TW * d->m;
    const int64_t P = (int64_t)s->OH * s->OW;
    memset(yp, 0, (size_t)s->OC * Hm * Wm * WL * sizeof *yp);
    for (int oc = 0; oc < s->OC; oc++)
        for (int b = 0; b < ng; b++) {
            const float *src = dy + ((int64_t)oc * s->B + g0 + b) * P;
            float *dst = yp + (int64_t)oc * Hm * Wm * WL + b;
            for (int oy = 0; oy < s->OH; oy++)
                for (int ox = 0; ox < s->OW; ox++)
                    dst[((int64_t)oy * Wm + ox) * WL] = src[oy * s->OW + ox];
        }
}

/* dwT[k*r + l] += (G[i][k] G[j][l]) dU for xi = (i, j): the adjoint G^T dU G, one xi at a time */
NN_VECTOR_CLONES static void weight_adjoint_add(float *dwT, const float *dU, int64_t n, int xi,
                                                const wino_dims *d)
{
    const int a = d->a, r = d->r, i = xi / a, j = xi % a;
    const float *G = d->G;
    for (int k = 0; k < r; k++)
        for (int l = 0; l < r; l++) {
            const float coef = G[i * r + k] * G[j * r + l];
            if (coef == 0.0f) continue;
            float *dst = dwT + (k * r + l) * n;
            for (int64_t e = 0; e < n; e++) dst[e] += coef * dU[e];
        }
}

void nn_wino_backward_range(float *dx, float *dw, float *db, float *room, const float *dy,
                            const float *x, const float *u, const float *ut,
                            const nn_conv_shape *s, int b0, int nb)
{
    const int m = nn_wino_tile(s);
    const wino_dims d = dims(s, m);
    const int64_t n = (int64_t)s->OC * s->C, plane = (int64_t)s->H * s->W;
    const int64_t chan = (int64_t)s->B * plane;
    wino_room r;
    room_parts(s, m, room, &r);
    const int rr = d.r * d.r;
    memset(r.dwT, 0, (size_t)(rr * n) * sizeof *r.dwT);
    for (int g0 = b0; g0 < b0 + nb; g0 += WL) {
        const int ng = b0 + nb - g0 < WL ? b0 + nb - g0 : WL;
        pack_input(r.xp, x, s, &d, g0, ng);
        input_transform_any(r.V, r.xp, s, &d);
        pack_output_grad(r.yp, dy, s, &d, g0, ng);
        output_adjoint_any(r.M, r.yp, s, &d);
        for (int xi = 0; xi < d.a * d.a; xi++) {
            /* dU (OC, C) = dM[xi] (OC, T) @ V[xi]^T (T, C) */
            nn_gemm_a_bt(s->OC, s->C, d.T, r.M + (int64_t)xi * s->OC * d.T, d.T,
                         r.V + (int64_t)xi * s->C * d.T, d.T, r.dU, s->C, 0);
            weight_adjoint_add(r.dwT, r.dU, n, xi, &d);
        }
        if (!dx) continue;
        for (int xi = 0; xi < d.a * d.a; xi++) /* dV[xi] (C, T) = U[xi]^T (C, OC) @ dM[xi] */
            nn_gemm_w_b_any_a(s->C, d.T, s->OC, ut + (int64_t)xi * s->C * s->OC, s->OC,
                              r.M + (int64_t)xi * s->OC * d.T, d.T, r.V + (int64_t)xi * s->C * d.T, d.T);
        input_adjoint_any(r.xp, r.V, s, &d);
        for (int c = 0; c < s->C; c++)
            for (int b = 0; b < ng; b++) {
                float *dst = dx + c * chan + (g0 + b) * plane;
                const float *src = r.xp + ((int64_t)c * d.Hp + s->P) * d.Wp * WL + (int64_t)s->P * WL + b;
                for (int y = 0; y < s->H; y++)
                    for (int xx = 0; xx < s->W; xx++)
                        dst[y * s->W + xx] = src[((int64_t)y * d.Wp + xx) * WL];
            }
    }
    /* dw (OC, C, r, r) from dwT (r*r, OC, C) */
    for (int64_t e = 0; e < n; e++)
        for (int kl = 0; kl < rr; kl++) dw[e * rr + kl] = r.dwT[kl * n + e];
    if (db)
        for (int oc = 0; oc < s->OC; oc++)
            db[oc] = (float)nn_sum(dy + (oc * s->B + (int64_t)b0) * (int64_t)s->OH * s->OW,
                                   (int64_t)nb * s->OH * s->OW);
}
