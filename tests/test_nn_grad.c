/* Gradients of every layer of the network engine against central finite differences.
 *
 * For a layer y = f(x, w, b) and a fixed random r, the scalar L = sum(r .* y) has
 * dL/dy = r; the backward pass given dy = r must return dL/dx, dL/dw, dL/db. Each is compared
 * with (L(v + eps) - L(v - eps)) / (2 eps), L summed in double from the float32 outputs.
 *
 * Tolerances, honestly chosen for float32: with eps = 1e-2 the truncation error of the central
 * difference is O(eps^2 f''') ~ 1e-4 for these smooth layers, and float32 rounding of L
 * (|L| ~ 10, ulp ~ 1e-6) divided by 2 eps adds ~1e-4. We accept
 * |numeric - analytic| <= 2e-3 + 1e-2 |analytic|. Kinks (ReLU at 0, ties in max pooling) are
 * kept away from the perturbation: inputs are drawn at least 4 eps from 0 and pooling windows
 * hold distinct values spaced 8 eps apart. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"
#include "nn/layers.h"
#include "nn/net_internal.h"

#define EPS 1e-2
#define ATOL 2e-3
#define RTOL 1e-2
#define MAX_CHECKS 80 /* entries checked per variable (all of them when fewer) */

typedef struct gradcheck {
    void (*forward)(struct gradcheck *g);
    void (*backward)(struct gradcheck *g, const float *dy);
    float *y;
    int64_t ny;
    int nv;
    float *var[4], *grad[4];
    int64_t n[4];
    const char *name[4];
    void *ctx;
} gradcheck;

static uint64_t rng_state = 12345;

static void fill_normal(float *v, int64_t n, double scale)
{
    for (int64_t i = 0; i < n; i++) v[i] = (float)(scale * test_rand_normal(&rng_state));
}

/* Values with |v| >= 4 eps (ReLU never flips under the perturbation). */
static void fill_away_from_zero(float *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        double x;
        do x = test_rand_normal(&rng_state);
        while (fabs(x) < 4 * EPS);
        v[i] = (float)x;
    }
}

static double dot(const float *a, const float *r, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)a[i] * r[i];
    return s;
}

static double eps = EPS;

static void check(gradcheck *g, const char *what)
{
    float *r = malloc((size_t)g->ny * sizeof *r);
    fill_normal(r, g->ny, 1.0);
    g->forward(g);
    g->backward(g, r);
    int worst_v = -1;
    int64_t worst_i = -1;
    double worst = 0, worst_num = 0, worst_ana = 0;
    for (int v = 0; v < g->nv; v++) {
        float *ana = malloc((size_t)g->n[v] * sizeof *ana);
        memcpy(ana, g->grad[v], (size_t)g->n[v] * sizeof *ana);
        int64_t step = g->n[v] > MAX_CHECKS ? g->n[v] / MAX_CHECKS : 1;
        for (int64_t i = 0; i < g->n[v]; i += step) {
            float saved = g->var[v][i];
            g->var[v][i] = (float)(saved + eps);
            g->forward(g);
            double lp = dot(g->y, r, g->ny);
            g->var[v][i] = (float)(saved - eps);
            g->forward(g);
            double lm = dot(g->y, r, g->ny);
            g->var[v][i] = saved;
            /* the perturbation actually applied, in float */
            double h = ((double)(float)(saved + eps) - (double)(float)(saved - eps));
            double num = (lp - lm) / h;
            double excess = fabs(num - ana[i]) - (ATOL + RTOL * fabs(ana[i]));
            if (excess > worst) {
                worst = excess;
                worst_v = v, worst_i = i, worst_num = num, worst_ana = ana[i];
            }
        }
        free(ana);
    }
    free(r);
    if (worst_v >= 0)
        fail_msg("%s: d/d%s[%lld]: numeric %.6g, analytic %.6g", what, g->name[worst_v],
                 (long long)worst_i, worst_num, worst_ana);
}

/* ---- convolution */
typedef struct conv_ctx {
    nn_conv_shape s;
    float *x, *w, *b, *col, *dcol, *dx, *dw, *db;
} conv_ctx;

static void conv_fwd(gradcheck *g)
{
    conv_ctx *c = g->ctx;
    nn_conv_forward(g->y, c->col, c->x, c->w, c->b, &c->s);
}

static void conv_bwd(gradcheck *g, const float *dy)
{
    conv_ctx *c = g->ctx;
    nn_conv_backward(c->dx, c->dw, c->db, c->dcol, dy, c->col, c->w, &c->s);
}

static void run_conv(int C, int H, int W, int OC, int K, int S, int P, int B)
{
    conv_ctx c;
    c.s = (nn_conv_shape){C, H, W, OC, nn_conv_out(H, K, S, P), nn_conv_out(W, K, S, P), K, S, P, B};
    int64_t nx = (int64_t)C * B * H * W, nw = (int64_t)OC * C * K * K;
    int64_t ncol = (int64_t)C * K * K * B * c.s.OH * c.s.OW, ny = (int64_t)OC * B * c.s.OH * c.s.OW;
    c.x = malloc(nx * 4), c.dx = malloc(nx * 4), c.w = malloc(nw * 4), c.dw = malloc(nw * 4);
    c.b = malloc(OC * 4), c.db = malloc(OC * 4), c.col = malloc(ncol * 4);
    c.dcol = malloc((size_t)nn_conv_scratch_floats(&c.s) * 4);
    fill_normal(c.x, nx, 1), fill_normal(c.w, nw, 0.5), fill_normal(c.b, OC, 0.5);
    gradcheck g = {conv_fwd, conv_bwd, malloc(ny * 4), ny, 3,
                   {c.x, c.w, c.b}, {c.dx, c.dw, c.db}, {nx, nw, OC}, {"x", "w", "b"}, &c};
    char what[128];
    snprintf(what, sizeof what, "conv C%d %dx%d OC%d k%d s%d p%d B%d", C, H, W, OC, K, S, P, B);
    check(&g, what);
    free(g.y), free(c.x), free(c.dx), free(c.w), free(c.dw), free(c.b), free(c.db), free(c.col), free(c.dcol);
}

static void test_conv(void **state)
{
    (void)state;
    const int64_t saved = nn_conv_chunk_floats;
    /* the whole batch in one chunk, then chunks of one image (parallel chunks, partial weight
     * gradients summed over chunks) */
    for (int pass = 0; pass < 2; pass++) {
        nn_conv_chunk_floats = pass ? 1 : saved;
        run_conv(2, 5, 6, 3, 3, 1, 1, 2);  /* stride 1: the contiguous im2col path */
        run_conv(2, 7, 6, 3, 5, 1, 2, 3);  /* kernel 5, padding 2 (as conv1, conv2) */
        run_conv(3, 7, 7, 2, 3, 2, 1, 2);  /* stride 2: the general path */
        run_conv(1, 4, 4, 2, 2, 1, 0, 3);  /* no padding */
        run_conv(2, 3, 3, 2, 3, 1, 3, 1);  /* padding beyond the kernel's reach */
        run_conv(1, 66, 65, 2, 3, 1, 1, 1); /* a plane too large for the padded copy: row by row */
        run_conv(1, 66, 65, 2, 3, 2, 1, 1);
    }
    nn_conv_chunk_floats = saved;
}

/* ---- Winograd convolution (winograd.c): its own forward and backward, on a range of images */
typedef struct wino_ctx {
    nn_conv_shape s;
    float *x, *w, *b, *u, *ut, *room, *dx, *dw, *db;
    int b0, nb;
} wino_ctx;

static void wino_fwd(gradcheck *g)
{
    wino_ctx *c = g->ctx;
    nn_wino_weights(c->u, c->ut, c->w, &c->s, 0, c->s.OC);
    nn_wino_forward_range(g->y, c->room, c->x, c->u, c->b, &c->s, c->b0, c->nb, 0);
}

static void wino_bwd(gradcheck *g, const float *dy)
{
    wino_ctx *c = g->ctx;
    nn_wino_backward_range(c->dx, c->dw, c->db, c->room, dy, c->x, c->u, c->ut, &c->s, c->b0, c->nb);
}

static void run_wino(int m, int C, int H, int W, int OC, int K, int P, int B)
{
    nn_conv_winograd = m;
    wino_ctx c;
    c.s = (nn_conv_shape){C, H, W, OC, nn_conv_out(H, K, 1, P), nn_conv_out(W, K, 1, P), K, 1, P, B};
    c.b0 = 0, c.nb = B;
    assert_true(nn_wino_tile(&c.s) > 0);
    int64_t nx = (int64_t)C * B * H * W, nw = (int64_t)OC * C * K * K, ny = (int64_t)OC * B * c.s.OH * c.s.OW;
    c.x = malloc(nx * 4), c.dx = malloc(nx * 4), c.w = malloc(nw * 4), c.dw = malloc(nw * 4);
    c.b = malloc(OC * 4), c.db = malloc(OC * 4);
    c.u = malloc(nn_wino_weight_floats(&c.s) * 4), c.ut = malloc(nn_wino_weight_floats(&c.s) * 4);
    c.room = malloc(nn_wino_scratch_floats(&c.s) * 4);
    fill_normal(c.x, nx, 1), fill_normal(c.w, nw, 0.5), fill_normal(c.b, OC, 0.5);
    gradcheck g = {wino_fwd, wino_bwd, malloc(ny * 4), ny, 3,
                   {c.x, c.w, c.b}, {c.dx, c.dw, c.db}, {nx, nw, OC}, {"x", "w", "b"}, &c};
    char what[128];
    snprintf(what, sizeof what, "Winograd F(%d) C%d %dx%d OC%d k%d p%d B%d", nn_wino_tile(&c.s), C,
             H, W, OC, K, P, B);
    check(&g, what);
    free(g.y), free(c.x), free(c.dx), free(c.w), free(c.dw), free(c.b), free(c.db), free(c.u);
    free(c.ut), free(c.room);
}

static void test_winograd(void **state)
{
    (void)state;
    const int saved = nn_conv_winograd;
    for (int m = 2; m <= 4; m += 2) {
        run_wino(m, 8, 7, 7, 3, 3, 1, 9);  /* 7x7 as conv3-conv5; groups of 8 and 1 images */
        run_wino(m, 8, 5, 6, 2, 3, 0, 2);  /* no padding */
    }
    run_wino(2, 8, 6, 7, 2, 5, 2, 2);      /* 5x5, padding 2 (as conv2) */
    nn_conv_winograd = saved;
}

/* ---- fully connected */
typedef struct fc_ctx {
    int O, F, B;
    float *x, *w, *b, *dx, *dw, *db;
} fc_ctx;

static void fc_fwd(gradcheck *g)
{
    fc_ctx *c = g->ctx;
    nn_fc_forward(g->y, c->x, c->w, c->b, c->O, c->F, c->B);
}

static void fc_bwd(gradcheck *g, const float *dy)
{
    fc_ctx *c = g->ctx;
    nn_fc_backward(c->dx, c->dw, c->db, dy, c->x, c->w, c->O, c->F, c->B);
}

static void test_fc(void **state)
{
    (void)state;
    fc_ctx c = {.O = 5, .F = 7, .B = 3};
    int64_t nx = c.F * c.B, nw = c.O * c.F, ny = c.O * c.B;
    c.x = malloc(nx * 4), c.dx = malloc(nx * 4), c.w = malloc(nw * 4), c.dw = malloc(nw * 4);
    c.b = malloc(c.O * 4), c.db = malloc(c.O * 4);
    fill_normal(c.x, nx, 1), fill_normal(c.w, nw, 0.5), fill_normal(c.b, c.O, 0.5);
    gradcheck g = {fc_fwd, fc_bwd, malloc(ny * 4), ny, 3, {c.x, c.w, c.b}, {c.dx, c.dw, c.db},
                   {nx, nw, c.O}, {"x", "w", "b"}, &c};
    check(&g, "fc");
    free(g.y), free(c.x), free(c.dx), free(c.w), free(c.dw), free(c.b), free(c.db);
}

/* ---- max pooling */
typedef struct pool_ctx {
    int64_t planes;
    int H, W, K, S, P, OH, OW;
    float *x, *dx;
    int32_t *arg;
} pool_ctx;

static void pool_fwd(gradcheck *g)
{
    pool_ctx *c = g->ctx;
    nn_maxpool_forward(g->y, c->arg, c->x, c->planes, c->H, c->W, c->K, c->S, c->P, c->OH, c->OW);
}

static void pool_bwd(gradcheck *g, const float *dy)
{
    pool_ctx *c = g->ctx;
    nn_maxpool_backward(c->dx, dy, c->arg, c->planes, c->H, c->W, c->OH, c->OW);
}

static void run_pool(int64_t planes, int H, int W, int K, int S, int P)
{
    pool_ctx c = {.planes = planes, .H = H, .W = W, .K = K, .S = S, .P = P,
                  .OH = nn_conv_out(H, K, S, P), .OW = nn_conv_out(W, K, S, P)};
    int64_t nx = planes * H * W, ny = planes * c.OH * c.OW;
    c.x = malloc(nx * 4), c.dx = malloc(nx * 4), c.arg = malloc(ny * 4);
    /* distinct values 8 eps apart in random order: no near-ties */
    int64_t *perm = malloc(nx * sizeof *perm);
    for (int64_t i = 0; i < nx; i++) perm[i] = i;
    for (int64_t i = nx - 1; i > 0; i--) {
        int64_t j = (int64_t)(test_rand_u64(&rng_state) % (uint64_t)(i + 1)), t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    for (int64_t i = 0; i < nx; i++) c.x[i] = (float)(8 * EPS * (perm[i] - nx / 2));
    free(perm);
    gradcheck g = {pool_fwd, pool_bwd, malloc(ny * 4), ny, 1, {c.x}, {c.dx}, {nx}, {"x"}, &c};
    char what[96];
    snprintf(what, sizeof what, "maxpool %dx%d k%d s%d p%d", H, W, K, S, P);
    check(&g, what);
    free(g.y), free(c.x), free(c.dx), free(c.arg);
}

static void test_maxpool(void **state)
{
    (void)state;
    run_pool(3, 7, 7, 3, 2, 1); /* overlapping windows, as the default architecture */
    run_pool(2, 6, 5, 2, 2, 0);
    run_pool(2, 5, 5, 3, 1, 0);
}

/* The first maximum wins ties, and padding never wins (all-negative inputs). */
static void test_maxpool_ties(void **state)
{
    (void)state;
    float x[4] = {-3, -3, -5, -3}, y[4];
    int32_t arg[4];
    nn_maxpool_forward(y, arg, x, 1, 2, 2, 3, 2, 1, 1, 1);
    assert_true(y[0] == -3.0f);
    assert_int_equal(arg[0], 0);
}

/* ---- LRN */
typedef struct lrn_ctx {
    int C;
    int64_t M;
    nn_lrn_param p;
    float *x, *dx, *scale;
} lrn_ctx;

static void lrn_fwd(gradcheck *g)
{
    lrn_ctx *c = g->ctx;
    nn_lrn_forward(g->y, c->scale, c->x, c->C, c->M, &c->p);
}

static void lrn_bwd(gradcheck *g, const float *dy)
{
    lrn_ctx *c = g->ctx;
    nn_lrn_backward(c->dx, dy, c->x, g->y, c->scale, c->C, c->M, &c->p);
}

static void run_lrn(int C, int64_t M, nn_lrn_param p)
{
    lrn_ctx c = {.C = C, .M = M, .p = p};
    int64_t n = C * M;
    c.x = malloc(n * 4), c.dx = malloc(n * 4), c.scale = malloc(n * 4);
    fill_normal(c.x, n, 1.0);
    gradcheck g = {lrn_fwd, lrn_bwd, malloc(n * 4), n, 1, {c.x}, {c.dx}, {n}, {"x"}, &c};
    char what[96];
    snprintf(what, sizeof what, "lrn C%d M%lld size %d alpha %g beta %g k %g", C, (long long)M,
             p.size, p.alpha, p.beta, p.k);
    check(&g, what);
    free(g.y), free(c.x), free(c.dx), free(c.scale);
}

static void test_lrn(void **state)
{
    (void)state;
    /* a large alpha makes the normalization matter (Caffe's 1e-4 is nearly the identity) */
    run_lrn(7, 5, (nn_lrn_param){5, 2.0f, 0.75f, 1.0f});
    run_lrn(3, 4, (nn_lrn_param){5, 2.0f, 0.75f, 1.0f});   /* window wider than the channels */
    run_lrn(6, 3, (nn_lrn_param){4, 1.5f, 0.6f, 2.0f});    /* even size, general beta (powf) */
    run_lrn(9, 300, (nn_lrn_param){5, 1e-4f, 0.75f, 1.0f}); /* the defaults, several chunks */
}

/* ---- ReLU and dropout */
typedef struct elt_ctx {
    int64_t n;
    float *x, *dx, *mask;
} elt_ctx;

static void relu_fwd(gradcheck *g)
{
    elt_ctx *c = g->ctx;
    memcpy(g->y, c->x, (size_t)c->n * 4);
    nn_relu_forward(g->y, c->n);
}

static void relu_bwd(gradcheck *g, const float *dy)
{
    elt_ctx *c = g->ctx;
    nn_relu_backward(c->dx, dy, g->y, c->n);
}

static void drop_fwd(gradcheck *g)
{
    elt_ctx *c = g->ctx;
    memcpy(g->y, c->x, (size_t)c->n * 4);
    nn_dropout_forward(g->y, c->mask, c->n);
}

static void drop_bwd(gradcheck *g, const float *dy)
{
    elt_ctx *c = g->ctx;
    nn_dropout_backward(c->dx, dy, c->mask, c->n);
}

static void test_relu_dropout(void **state)
{
    (void)state;
    elt_ctx c = {.n = 50};
    c.x = malloc(50 * 4), c.dx = malloc(50 * 4), c.mask = malloc(50 * 4);
    fill_away_from_zero(c.x, 50);
    gradcheck g = {relu_fwd, relu_bwd, malloc(50 * 4), 50, 1, {c.x}, {c.dx}, {50}, {"x"}, &c};
    check(&g, "relu");
    nn_dropout_mask(c.mask, 50, 0.5f, 7);
    g.forward = drop_fwd, g.backward = drop_bwd;
    check(&g, "dropout");
    free(g.y), free(c.x), free(c.dx), free(c.mask);
}

/* The mask keeps about 1 - p of the entries, each scaled by 1 / (1 - p), and depends only on
 * the key. */
static void test_dropout_mask(void **state)
{
    (void)state;
    enum { N = 20000 };
    float *m = malloc(N * 4), *m2 = malloc(N * 4);
    nn_dropout_mask(m, N, 0.3f, 99);
    nn_dropout_mask(m2, N, 0.3f, 99);
    assert_memory_equal(m, m2, N * 4);
    int kept = 0;
    for (int i = 0; i < N; i++) {
        assert_true(m[i] == 0.0f || fabsf(m[i] - 1.0f / 0.7f) < 1e-6f);
        kept += m[i] != 0.0f;
    }
    /* binomial(20000, 0.7): sd ~ 65; allow 5 sd */
    assert_true(abs(kept - 14000) < 325);
    nn_dropout_mask(m2, N, 0.3f, 100);
    assert_true(memcmp(m, m2, N * 4) != 0);
    free(m), free(m2);
}

/* ---- softmax cross-entropy: the gradient of the mean loss */
typedef struct xent_ctx {
    int K, B;
    float *logits, *d;
    uint8_t *labels;
} xent_ctx;

static void xent_fwd(gradcheck *g)
{
    xent_ctx *c = g->ctx;
    g->y[0] = (float)(nn_softmax_xent(NULL, NULL, c->logits, c->labels, c->K, c->B) / c->B);
}

static void xent_bwd(gradcheck *g, const float *dy)
{
    xent_ctx *c = g->ctx;
    nn_softmax_xent(c->d, NULL, c->logits, c->labels, c->K, c->B);
    for (int i = 0; i < c->K * c->B; i++) c->d[i] *= dy[0];
}

static void test_softmax_xent(void **state)
{
    (void)state;
    xent_ctx c = {.K = 4, .B = 3};
    float logits[12], d[12], y[1];
    uint8_t labels[3] = {0, 3, 1};
    fill_normal(logits, 12, 2.0);
    c.logits = logits, c.d = d, c.labels = labels;
    gradcheck g = {xent_fwd, xent_bwd, y, 1, 1, {logits}, {d}, {12}, {"logits"}, &c};
    check(&g, "softmax cross-entropy");
    /* the loss of uniform logits is log K; a confident right answer costs ~0 */
    float flat[6] = {0, 0, 0, 0, 0, 0};
    uint8_t l2[2] = {1, 2};
    assert_true(fabs(nn_softmax_xent(NULL, NULL, flat, l2, 3, 2) - 2 * log(3.0)) < 1e-9);
    float sure[3] = {-50, 50, -50};
    int ok;
    assert_true(nn_softmax_xent(NULL, &ok, sure, l2, 3, 1) < 1e-12);
    assert_int_equal(ok, 1);
}

/* ---- a whole network, dropout and pooling and LRN included: parameters and input */
typedef struct net_ctx {
    cvg_net *net;
    float *images;
    uint8_t *labels;
    int B;
} net_ctx;

static void net_fwd(gradcheck *g)
{
    net_ctx *c = g->ctx;
    nn_net_forward(c->net, c->images, c->B, 1, 42);
    const nn_layer *L = &c->net->L[c->net->nl - 1];
    g->y[0] = (float)(nn_softmax_xent(NULL, NULL, L->act, c->labels, L->width, c->B) / c->B);
}

static void net_bwd(gradcheck *g, const float *dy)
{
    net_ctx *c = g->ctx;
    nn_layer *L = &c->net->L[c->net->nl - 1];
    nn_softmax_xent(L->dout, NULL, L->act, c->labels, L->width, c->B);
    for (int64_t i = 0; i < (int64_t)L->width * c->B; i++) L->dout[i] *= dy[0];
    nn_net_backward(c->net, 1);
}

static void test_network(void **state)
{
    (void)state;
    /* every kind of layer and op; conv after conv, fc after conv (the permute), fc after fc.
     * LRN's alpha is the default: the test checks the wiring, test_lrn the formula. */
    cvg_net *net;
    assert_cvg_ok(cvg_net_create("conv1:3k3p1,pool3s2p1,lrn5;conv2:4k3s2p1,lrn3;"
                                 "fc3:6,drop0.3;fc4:5", 2, 6, 6, 7, &net));
    assert_cvg_ok(nn_net_reserve(net, 3));
    net_ctx c = {net, malloc(3 * 72 * 4), (uint8_t[]){0, 4, 2}, 3};
    fill_normal(c.images, 3 * 72, 1.0);
    /* the loss is only piecewise smooth in the parameters: eps = 1e-2 moved a pre-activation
     * across a ReLU kink (seen on an fc3 weight); 1e-3 keeps clear of kinks here, and float32
     * rounding of L ~ 2 (ulp 2.4e-7) / 2e-3 is still ~1e-4, well inside the tolerance */
    float y[1];
    gradcheck g = {net_fwd, net_bwd, y, 1, 1, {net->params}, {net->grads}, {net->nparams},
                   {"params"}, &c};
    eps = 1e-3;
    check(&g, "network parameters");
    eps = EPS;
    free(c.images);
    cvg_net_free(net);
}

/* the Winograd layers inside a network (slab engine: two slabs, 8 + 1 images), both tile sizes */
static void test_network_winograd(void **state)
{
    (void)state;
    const int saved = nn_conv_winograd;
    for (int m = 2; m <= 4; m += 2) {
        nn_conv_winograd = m; /* read when the buffers are reserved */
        cvg_net *net;
        assert_cvg_ok(cvg_net_create("conv1:8k3p1;conv2:8k5p2,pool3s2p1;conv3:8k3p1;fc4:5", 2, 6,
                                     6, 11, &net));
        assert_cvg_ok(nn_net_reserve(net, 9));
        assert_int_equal(net->L[0].wino, 0); /* 2 input channels: im2col */
        assert_int_equal(net->L[1].wino, 2); /* 5x5: F(2x2, 5x5) */
        assert_int_equal(net->L[2].wino, m);
        net_ctx c = {net, malloc(9 * 72 * 4), (uint8_t[]){0, 4, 2, 1, 3, 0, 4, 2, 1}, 9};
        /* the same images for both tile sizes: with another draw a pooling or ReLU kink within
         * eps moved one conv2 weight's numeric gradient by 5%, identically for both (0.05696 vs
         * 0.06003): a kink, not the algorithm */
        uint64_t saved_rng = rng_state;
        rng_state = 9090;
        fill_normal(c.images, 9 * 72, 1.0);
        rng_state = saved_rng;
        float y[1];
        gradcheck g = {net_fwd, net_bwd, y, 1, 1, {net->params}, {net->grads}, {net->nparams},
                       {"params"}, &c};
        eps = 1e-3; /* as test_network: clear of ReLU kinks */
        check(&g, m == 2 ? "network, Winograd F(2x2)" : "network, Winograd F(4x4)");
        eps = EPS;
        free(c.images);
        cvg_net_free(net);
    }
    nn_conv_winograd = saved;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv),         cmocka_unit_test(test_winograd),
        cmocka_unit_test(test_fc),
        cmocka_unit_test(test_maxpool),      cmocka_unit_test(test_maxpool_ties),
        cmocka_unit_test(test_lrn),          cmocka_unit_test(test_relu_dropout),
        cmocka_unit_test(test_dropout_mask), cmocka_unit_test(test_softmax_xent),
        cmocka_unit_test(test_network),      cmocka_unit_test(test_network_winograd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
