/* Winograd convolution (src/nn/winograd.c) against a brute-force double-precision convolution:
 * the forward output (with bias, with and without ReLU), the input gradient and the weight and
 * bias gradients, for F(2x2, 3x3), F(4x4, 3x3) and F(2x2, 5x5), on shapes with every kind of tail (maps not
 * a multiple of the tile, padding 0, 1 and 2, image ranges that do not start at 0 and are not
 * a multiple of the 8-image group) and on the `default` preset's conv3-conv5 shape.
 *
 * Error bound: Winograd's rounding error grows with the transforms' coefficients (F(4x4)'s
 * points +-2 give terms up to 8 x 8 / 4 times the inputs), so each element's error is measured
 * against the scale of its sum, S = sum |w| |x| (forward), sum |w| |dy| (dx), sum |dy| |x|
 * (dw), plus the mean S over the tensor (Winograd's error follows the size of the tile's
 * values, not of the one output's terms: an edge pixel of an unpadded map reached by a single
 * term is computed through the transforms' cancellations and carries their rounding):
 * |ours - ref| <= tol * (S + mean S) with tol 1e-6 (F(2x2, 3x3)) and 1e-5 (the others, whose
 * transforms have the points +-2). Observed maxima are printed (~3e-7 and ~2e-6, see
 * docs/training.md); an indexing or transform slip is off by ~S/10.
 *
 * And against PyTorch's conv2d and its autograd gradients (float64, fixtures from
 * tests/fixtures/make_wino_fixtures.py): |ours - torch| <= 1e-5 * max |torch| per tensor. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"
#include "nn/layers.h"

static uint64_t seed = 4242;

static float *random_floats(int64_t n)
{
    float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    assert_non_null(v);
    for (int64_t i = 0; i < n; i++) v[i] = (float)(2.0 * test_rand_uniform(&seed) - 1.0);
    return v;
}

/* scale[i] += the mean of scale (over the entries that have one) */
static void add_mean(double *scale, int64_t n)
{
    double sum = 0;
    int64_t used = 0;
    for (int64_t i = 0; i < n; i++) sum += scale[i], used += scale[i] > 0;
    for (int64_t i = 0; i < n; i++)
        if (scale[i] > 0) scale[i] += sum / (double)used;
}

typedef struct ref_conv {
    double *y, *ys, *dx, *dxs, *dw, *dws, *db; /* values and their scales (sums of |terms|) */
} ref_conv;

/* x (C, B, H, W), w (OC, C, 3, 3), dy (OC, B, OH, OW), images [b0, b0 + nb) only */
static ref_conv reference(const float *x, const float *w, const float *bias, const float *dy,
                          const nn_conv_shape *s, int b0, int nb)
{
    const int64_t ny = (int64_t)s->OC * s->B * s->OH * s->OW, nx = (int64_t)s->C * s->B * s->H * s->W;
    const int K = s->K;
    const int64_t nw = (int64_t)s->OC * s->C * K * K;
    ref_conv r = {calloc(ny, 8), calloc(ny, 8), calloc(nx, 8), calloc(nx, 8), calloc(nw, 8),
                  calloc(nw, 8), calloc(s->OC, 8)};
    assert_non_null(r.y), assert_non_null(r.ys), assert_non_null(r.dx), assert_non_null(r.dxs);
    assert_non_null(r.dw), assert_non_null(r.dws), assert_non_null(r.db);
    for (int oc = 0; oc < s->OC; oc++)
        for (int b = b0; b < b0 + nb; b++)
            for (int oy = 0; oy < s->OH; oy++)
                for (int ox = 0; ox < s->OW; ox++) {
                    const int64_t yi = (((int64_t)oc * s->B + b) * s->OH + oy) * s->OW + ox;
                    r.y[yi] = bias[oc], r.ys[yi] = fabs(bias[oc]);
                    r.db[oc] += dy[yi];
                    for (int c = 0; c < s->C; c++)
                        for (int ki = 0; ki < K; ki++)
                            for (int kj = 0; kj < K; kj++) {
                                const int iy = oy - s->P + ki, ix = ox - s->P + kj;
                                if (iy < 0 || iy >= s->H || ix < 0 || ix >= s->W) continue;
                                const int64_t xi = (((int64_t)c * s->B + b) * s->H + iy) * s->W + ix;
                                const int64_t wi = (((int64_t)oc * s->C + c) * K + ki) * K + kj;
                                r.y[yi] += (double)w[wi] * x[xi];
                                r.ys[yi] += fabs((double)w[wi] * x[xi]);
                                r.dx[xi] += (double)w[wi] * dy[yi];
                                r.dxs[xi] += fabs((double)w[wi] * dy[yi]);
                                r.dw[wi] += (double)dy[yi] * x[xi];
                                r.dws[wi] += fabs((double)dy[yi] * x[xi]);
                            }
                }
    add_mean(r.ys, ny), add_mean(r.dxs, nx), add_mean(r.dws, nw);
    return r;
}

static void free_ref(ref_conv *r)
{
    free(r->y), free(r->ys), free(r->dx), free(r->dxs), free(r->dw), free(r->dws), free(r->db);
}

/* the worst |got - want| / scale over n entries (0 scale: absolute error) */
static double worst(const float *got, const double *want, const double *scale, int64_t n,
                    int64_t *at)
{
    double e = 0;
    for (int64_t i = 0; i < n; i++) {
        const double d = fabs(got[i] - want[i]) / (scale[i] > 0 ? scale[i] : 1.0);
        if (d > e || isnan(d)) e = d, *at = i;
    }
    return e;
}

static double worst_seen[3][3]; /* [algorithm][y, dw, dx] */

static void check_shape(int m, int K, int C, int H, int W, int OC, int P, int B, int b0, int nb)
{
    nn_conv_winograd = m;
    const int OH = nn_conv_out(H, K, 1, P), OW = nn_conv_out(W, K, 1, P);
    const nn_conv_shape s = {C, H, W, OC, OH, OW, K, 1, P, B};
    if (K == 5) m = 2; /* 5x5: F(2x2, 5x5) whenever Winograd is on */
    assert_int_equal(nn_wino_tile(&s), m);
    const int64_t ny = (int64_t)OC * B * OH * OW, nx = (int64_t)C * B * H * W, nw = (int64_t)OC * C * K * K;
    float *x = random_floats(nx), *w = random_floats(nw), *bias = random_floats(OC);
    float *dy = random_floats(ny);
    float *u = random_floats(nn_wino_weight_floats(&s)), *ut = random_floats(nn_wino_weight_floats(&s));
    float *room = random_floats(nn_wino_scratch_floats(&s)); /* garbage: nothing may read it unwritten */
    float *y = random_floats(ny), *y0 = malloc((size_t)ny * sizeof *y0);
    float *dx = random_floats(nx), *dx0 = malloc((size_t)nx * sizeof *dx0);
    float *dw = random_floats(nw), *db = random_floats(OC);
    assert_non_null(y0), assert_non_null(dx0);
    memcpy(y0, y, (size_t)ny * sizeof *y);
    memcpy(dx0, dx, (size_t)nx * sizeof *dx);
    nn_wino_weights(u, ut, w, &s, 0, OC / 2); /* in two calls, as the threads split it */
    nn_wino_weights(u, ut, w, &s, OC / 2, OC);
    ref_conv r = reference(x, w, bias, dy, &s, b0, nb);
    const double tol = K == 3 && m == 2 ? 1e-6 : 1e-5;
    const int slot = K == 5 ? 2 : m == 2 ? 0 : 1; /* worst_seen: F(2x2,3x3), F(4x4,3x3), F(2x2,5x5) */
    char what[160];
    snprintf(what, sizeof what, "F(%dx%d, %dx%d) C%d %dx%d OC%d p%d B%d [%d, +%d)", m, m, K, K, C, H, W, OC, P,
             B, b0, nb);
    const int64_t P2 = (int64_t)OH * OW, plane = (int64_t)H * W;
    for (int relu = 0; relu < 2; relu++) {
        nn_wino_forward_range(y, room, x, u, bias, &s, b0, nb, relu);
        for (int oc = 0; oc < OC; oc++)
            for (int b = 0; b < B; b++)
                for (int64_t q = 0; q < P2; q++) {
                    const int64_t i = ((int64_t)oc * B + b) * P2 + q;
                    if (b < b0 || b >= b0 + nb) { /* other images are not touched */
                        if (memcmp(&y[i], &y0[i], sizeof *y)) fail_msg("%s: y[%lld] written", what, (long long)i);
                        continue;
                    }
                    const double want = relu && r.y[i] < 0 ? 0 : r.y[i];
                    const double e = fabs(y[i] - want) / r.ys[i];
                    if (e > tol || isnan(e))
                        fail_msg("%s relu %d: y[%lld] = %.8g, want %.8g (scale %.3g)", what, relu,
                                 (long long)i, y[i], want, r.ys[i]);
                    if (e > worst_seen[slot][0]) worst_seen[slot][0] = e;
                }
    }
    nn_wino_backward_range(dx, dw, db, room, dy, x, u, ut, &s, b0, nb);
    int64_t at = 0;
    double e = worst(dw, r.dw, r.dws, nw, &at);
    if (e > tol) fail_msg("%s: dw[%lld] = %.8g, want %.8g", what, (long long)at, dw[at], r.dw[at]);
    if (e > worst_seen[slot][1]) worst_seen[slot][1] = e;
    for (int oc = 0; oc < OC; oc++)
        if (fabs(db[oc] - r.db[oc]) > 1e-5 * (nb * P2))
            fail_msg("%s: db[%d] = %.8g, want %.8g", what, oc, db[oc], r.db[oc]);
    for (int c = 0; c < C; c++)
        for (int b = 0; b < B; b++)
            for (int64_t q = 0; q < plane; q++) {
                const int64_t i = ((int64_t)c * B + b) * plane + q;
                if (b < b0 || b >= b0 + nb) {
                    if (memcmp(&dx[i], &dx0[i], sizeof *dx)) fail_msg("%s: dx[%lld] written", what, (long long)i);
                    continue;
                }
                const double d = fabs(dx[i] - r.dx[i]) / (r.dxs[i] > 0 ? r.dxs[i] : 1.0);
                if (d > tol || isnan(d))
                    fail_msg("%s: dx[%lld] = %.8g, want %.8g", what, (long long)i, dx[i], r.dx[i]);
                if (d > worst_seen[slot][2]) worst_seen[slot][2] = d;
            }
    /* no input gradient asked: the weight gradient is the same */
    float *dw2 = malloc((size_t)nw * sizeof *dw2);
    assert_non_null(dw2);
    nn_wino_backward_range(NULL, dw2, NULL, room, dy, x, u, ut, &s, b0, nb);
    if (memcmp(dw, dw2, (size_t)nw * sizeof *dw)) fail_msg("%s: dw differs without dx", what);
    free(dw2);
    free_ref(&r);
    free(x), free(w), free(bias), free(dy), free(u), free(ut), free(room), free(y), free(y0);
    free(dx), free(dx0), free(dw), free(db);
}

static void test_against_brute_force(void **state)
{
    (void)state;
    const int saved = nn_conv_winograd;
    for (int m = 2; m <= 4; m += 2) {
        check_shape(m, 3, 48, 7, 7, 48, 1, 8, 0, 8);   /* default's conv3-conv5: 7x7, same padding */
        check_shape(m, 3, 8, 7, 7, 5, 1, 19, 2, 17);   /* groups of 8, 8 and 1 images, from image 2 */
        check_shape(m, 3, 9, 14, 14, 4, 1, 3, 0, 3);   /* 14x14 (tiles exact for m = 2) */
        check_shape(m, 3, 8, 9, 6, 2, 0, 5, 1, 4);     /* no padding: 7x4 outputs */
        check_shape(m, 3, 10, 5, 8, 3, 2, 2, 0, 2);    /* padding 2: 7x10 outputs */
        check_shape(m, 3, 8, 3, 3, 1, 1, 1, 0, 1);     /* one output channel, a map < a tile */
        check_shape(m, 3, 17, 4, 11, 9, 1, 9, 0, 9);   /* odd channel counts, 8 + 1 images */
    }
    check_shape(2, 5, 32, 14, 14, 32, 2, 8, 0, 8);     /* default's conv2 */
    check_shape(2, 5, 11, 13, 9, 5, 2, 11, 1, 10);     /* odd maps, 8 + 2 images from image 1 */
    check_shape(4, 5, 8, 6, 7, 3, 0, 2, 0, 2);         /* no padding: 2x3 outputs */
    nn_conv_winograd = saved;
    print_message("worst error / scale (y, dw, dx): F(2x2,3x3) %.2g %.2g %.2g; F(4x4,3x3) %.2g "
                  "%.2g %.2g; F(2x2,5x5) %.2g %.2g %.2g\n", worst_seen[0][0], worst_seen[0][1],
                  worst_seen[0][2], worst_seen[1][0], worst_seen[1][1], worst_seen[1][2],
                  worst_seen[2][0], worst_seen[2][1], worst_seen[2][2]);
}

/* ---- against PyTorch (tests/fixtures/make_wino_fixtures.py) ---- */

static double *load_npy(const char *fmt_case, const char *key, int64_t expect_count)
{
    char path[512];
    snprintf(path, sizeof path, "%s/nn/wino/%s_%s.npy", CVG_FIXTURE_DIR, fmt_case, key);
    int nd;
    int64_t shape[CVG_NPY_MAX_DIMS], count = 1;
    double *v;
    assert_cvg_ok(cvg_npy_load(path, &nd, shape, &v));
    for (int i = 0; i < nd; i++) count *= shape[i];
    assert_int_equal(count, expect_count);
    return v;
}

/* (N, C, Q) float64 <-> (C, N, Q) float32 */
static float *to_cnq(const double *v, int N, int C, int64_t Q)
{
    float *o = malloc((size_t)(N * C * Q) * sizeof *o);
    assert_non_null(o);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int64_t q = 0; q < Q; q++) o[((int64_t)c * N + n) * Q + q] = (float)v[((int64_t)n * C + c) * Q + q];
    return o;
}

/* the worst |ours - torch| / max |torch| of a (C, N, Q) result against torch's (N, C, Q) */
static double normwise(const float *ours, const double *ref, int N, int C, int64_t Q)
{
    double top = 0, e = 0;
    for (int64_t i = 0; i < (int64_t)N * C * Q; i++) top = fabs(ref[i]) > top ? fabs(ref[i]) : top;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int64_t q = 0; q < Q; q++) {
                const double d = fabs(ours[((int64_t)c * N + n) * Q + q] - ref[((int64_t)n * C + c) * Q + q]);
                if (d > e || isnan(d)) e = d;
            }
    return e / top;
}

static void check_pytorch_case(const char *name, int B, int C, int OC, int H, int W, int K, int P, int m)
{
    nn_conv_winograd = m;
    const int OH = nn_conv_out(H, K, 1, P), OW = nn_conv_out(W, K, 1, P);
    const nn_conv_shape s = {C, H, W, OC, OH, OW, K, 1, P, B};
    assert_true(nn_wino_tile(&s) > 0);
    const int64_t Q = (int64_t)H * W, OQ = (int64_t)OH * OW, KK = (int64_t)K * K;
    double *x64 = load_npy(name, "x", B * C * Q), *w64 = load_npy(name, "w", OC * C * KK);
    double *b64 = load_npy(name, "b", OC), *dy64 = load_npy(name, "dy", B * OC * OQ);
    double *y64 = load_npy(name, "y", B * OC * OQ), *dx64 = load_npy(name, "dx", B * C * Q);
    double *dw64 = load_npy(name, "dw", OC * C * KK), *db64 = load_npy(name, "db", OC);
    float *x = to_cnq(x64, B, C, Q), *dy = to_cnq(dy64, B, OC, OQ);
    float *w = to_cnq(w64, 1, OC * C, KK), *bias = to_cnq(b64, 1, OC, 1);
    float *u = random_floats(nn_wino_weight_floats(&s)), *ut = random_floats(nn_wino_weight_floats(&s));
    float *room = random_floats(nn_wino_scratch_floats(&s)), *y = random_floats(B * OC * OQ);
    float *dx = random_floats(B * C * Q), *dw = random_floats(OC * C * KK), *db = random_floats(OC);
    nn_wino_weights(u, ut, w, &s, 0, OC);
    nn_wino_forward_range(y, room, x, u, bias, &s, 0, B, 0);
    nn_wino_backward_range(dx, dw, db, room, dy, x, u, ut, &s, 0, B);
    const double e[4] = {normwise(y, y64, B, OC, OQ), normwise(dx, dx64, B, C, Q),
                         normwise(dw, dw64, 1, OC * C, KK), normwise(db, db64, 1, OC, 1)};
    print_message("%s F(%dx%d): |error| / max |torch|: y %.2g, dx %.2g, dw %.2g, db %.2g\n", name,
                  nn_wino_tile(&s), nn_wino_tile(&s), e[0], e[1], e[2], e[3]);
    for (int i = 0; i < 4; i++)
        if (!(e[i] <= 1e-5)) fail_msg("%s F(%d): %s differs from PyTorch by %.3g of its largest value", name,
                                     m, (const char *[]){"y", "dx", "dw", "db"}[i], e[i]);
    free(x64), free(w64), free(b64), free(dy64), free(y64), free(dx64), free(dw64), free(db64);
    free(x), free(dy), free(w), free(bias), free(u), free(ut), free(room), free(y), free(dx);
    free(dw), free(db);
}

static void test_against_pytorch(void **state)
{
    (void)state;
    const int saved = nn_conv_winograd;
    for (int m = 2; m <= 4; m += 2) { /* the cases of make_wino_fixtures.py */
        check_pytorch_case("k3", 10, 12, 10, 7, 7, 3, 1, m);
        check_pytorch_case("k3p0", 3, 8, 3, 9, 6, 3, 0, m);
        check_pytorch_case("k5", 9, 8, 6, 12, 10, 5, 2, m);
    }
    nn_conv_winograd = saved;
}

static void test_applies(void **state)
{
    (void)state;
    const int saved = nn_conv_winograd;
    nn_conv_winograd = 2;
    nn_conv_shape s = {8, 7, 7, 4, 7, 7, 3, 1, 1, 8};
    assert_int_equal(nn_wino_tile(&s), 2);
    s.S = 2;
    assert_int_equal(nn_wino_tile(&s), 0); /* stride 2: im2col */
    s.S = 1, s.K = 5;
    assert_int_equal(nn_wino_tile(&s), 2); /* 5x5: F(2x2, 5x5) */
    s.K = 7;
    assert_int_equal(nn_wino_tile(&s), 0); /* 7x7: im2col */
    s.K = 3, s.C = 7;
    assert_int_equal(nn_wino_tile(&s), 0); /* under 8 input channels: im2col */
    s.C = 8;
    nn_conv_winograd = 0;
    assert_int_equal(nn_wino_tile(&s), 0); /* switched off */
    assert_int_equal(nn_wino_scratch_floats(&s), 0);
    nn_conv_winograd = saved;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_brute_force),
        cmocka_unit_test(test_against_pytorch),
        cmocka_unit_test(test_applies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
