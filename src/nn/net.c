/* The network: shapes, buffers, initialization, forward and backward passes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "core/internal.h"
#include "nn/net_internal.h"

/* Shapes of every layer from the input shape; fails when a map shrinks to nothing. */
static cvg_status layout(cvg_net *net)
{
    int c = net->in_c, h = net->in_h, w = net->in_w;
    int64_t off = 0;
    for (int i = 0; i < net->nl; i++) {
        nn_layer *L = &net->L[i];
        L->in_c = c, L->in_h = h, L->in_w = w;
        if (L->kind == NN_CONV) {
            L->oh = nn_conv_out(h, L->K, L->S, L->P);
            L->ow = nn_conv_out(w, L->K, L->S, L->P);
            if (h + 2 * L->P < L->K || w + 2 * L->P < L->K || L->oh < 1 || L->ow < 1)
                return cvg__fail(CVG_ERR_SHAPE, "architecture: %s's %dx%d kernel does not fit its "
                                 "%dx%d input (padding %d)", L->name, L->K, L->K, h, w, L->P);
            L->nw = (int64_t)L->width * c * L->K * L->K;
        } else {
            L->fc_spatial = h * w > 1;
            L->oh = L->ow = 1;
            L->nw = (int64_t)L->width * c * h * w;
        }
        L->nb = L->width;
        L->ph = L->oh, L->pw = L->ow;
        if (L->pool) {
            L->ph = nn_conv_out(L->oh, L->pool_k, L->pool_s, L->pool_p);
            L->pw = nn_conv_out(L->ow, L->pool_k, L->pool_s, L->pool_p);
            if (L->oh + 2 * L->pool_p < L->pool_k || L->ow + 2 * L->pool_p < L->pool_k ||
                L->ph < 1 || L->pw < 1)
                return cvg__fail(CVG_ERR_SHAPE, "architecture: %s's pooling window %d does not "
                                 "fit its %dx%d map", L->name, L->pool_k, L->oh, L->ow);
        }
        L->act_size = (int64_t)L->width * L->oh * L->ow;
        L->out_size = (int64_t)L->width * L->ph * L->pw;
        off += L->nw + L->nb;
        c = L->width, h = L->ph, w = L->pw;
    }
    net->nparams = off;
    return CVG_OK;
}

cvg_status nn_net_create(const char *arch, int c, int h, int w, int64_t max_params, cvg_net **out)
{
    *out = NULL;
    if (c < 1 || h < 1 || w < 1)
        return cvg__fail(CVG_ERR_ARG, "network input %dx%dx%d: every size must be >= 1", c, h, w);
    cvg_net *net = cvg__calloc(1, sizeof *net, "a network");
    if (!net) return CVG_ERR_NOMEM;
    net->in_c = c, net->in_h = h, net->in_w = w;
    cvg_status st = nn_arch_parse(arch, &net->L, &net->nl);
    if (st == CVG_OK) st = layout(net);
    if (st == CVG_OK && net->nparams > max_params)
        st = cvg__fail(CVG_ERR_SHAPE, "architecture: %lld parameters for a %dx%dx%d input, more "
                       "than the %lld there is room for", (long long)net->nparams, c, h, w,
                       (long long)max_params);
    if (st == CVG_OK && !(net->arch = nn_arch_format(net->L, net->nl)))
        st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
    if (st == CVG_OK) {
        net->params = cvg__calloc((size_t)net->nparams, sizeof(float), "parameters");
        net->grads = cvg__calloc((size_t)net->nparams, sizeof(float), "gradients");
        if (!net->params || !net->grads) st = CVG_ERR_NOMEM;
    }
    if (st != CVG_OK) {
        cvg_net_free(net);
        return st;
    }
    int64_t off = 0;
    for (int i = 0; i < net->nl; i++) {
        nn_layer *L = &net->L[i];
        L->w = net->params + off, L->gw = net->grads + off;
        off += L->nw;
        L->b = net->params + off, L->gb = net->grads + off;
        off += L->nb;
    }
    *out = net;
    return CVG_OK;
}

void nn_net_init(cvg_net *net, uint64_t seed)
{
    cvg__rng r;
    cvg__rng_seed(&r, seed);
    for (int i = 0; i < net->nl; i++) {
        nn_layer *L = &net->L[i];
        int64_t fan_in = L->nw / L->width;
        /* He et al. (2015) for layers followed by ReLU: std sqrt(2 / fan_in); the logits layer
         * gets sqrt(1 / fan_in). Biases start at 0. */
        double std = sqrt((L->relu ? 2.0 : 1.0) / (double)fan_in);
        for (int64_t j = 0; j < L->nw; j++) L->w[j] = (float)(std * cvg__rng_normal(&r));
        memset(L->b, 0, (size_t)L->nb * sizeof(float));
    }
}

cvg_status cvg_net_create(const char *arch, int channels, int height, int width, uint64_t seed,
                          cvg_net **out)
{
    if (!out) return cvg__fail(CVG_ERR_ARG, "cvg_net_create: NULL out");
    cvg_status st = nn_net_create(arch, channels, height, width, INT64_MAX, out);
    if (st == CVG_OK) nn_net_init(*out, seed);
    return st;
}

/* The number of leading convolution layers (the slab-wise part of the passes). */
static int conv_prefix(const cvg_net *net)
{
    int n = 0;
    while (n < net->nl && net->L[n].kind == NN_CONV) n++;
    return n;
}

static int slab_count(int B)
{
    return (B + NN_SLAB - 1) / NN_SLAB;
}

cvg_status nn_net_reserve(cvg_net *net, int B)
{
    if (B <= net->cap) return CVG_OK;
    /* sizes in floats of every buffer, then one block */
    int64_t total = (int64_t)net->in_c * net->in_h * net->in_w * B;
    const int ncv = conv_prefix(net);
    for (int i = 0; i < net->nl; i++) {
        nn_layer *L = &net->L[i];
        int64_t a = L->act_size * B, o = L->out_size * B;
        if (L->kind == NN_CONV) {
            nn_conv_shape s = {L->in_c, L->in_h, L->in_w, L->width, L->oh, L->ow, L->K, L->S, L->P, B};
            if (i < ncv && nn_wino_tile(&s)) /* Winograd: part, wu, wut, wscr */
                total += slab_count(B) * ((L->nw + L->nb) + nn_wino_scratch_floats(&s)) +
                         2 * nn_wino_weight_floats(&s);
            else if (i < ncv) /* slab-wise: part, dscr (two rooms per slab) */
                total += slab_count(B) * ((L->nw + L->nb) + 2 * nn_conv_range_scratch_floats(&s, NN_SLAB));
            else /* whole-batch: col, dcol */
                total += (int64_t)L->in_c * L->K * L->K * L->oh * L->ow * B + nn_conv_scratch_floats(&s);
        }
        if (L->fc_spatial) total += 2 * (int64_t)L->in_c * L->in_h * L->in_w * B;
        total += 2 * a;                              /* act, d_act */
        if (L->drop > 0) total += a;                 /* mask */
        if (L->pool) total += 3 * o;                 /* pooled, d_pooled, arg */
        if (L->lrn) total += 3 * o;                  /* normed, scale, d_normed */
    }
    float *block = cvg__malloc((size_t)total * sizeof(float), "activation buffers");
    if (!block) return CVG_ERR_NOMEM;
    free(net->buf_block);
    net->buf_block = block;
    float *p = block;
#define TAKE(n) (p += (n), p - (n))
    net->x0 = TAKE((int64_t)net->in_c * net->in_h * net->in_w * B);
    for (int i = 0; i < net->nl; i++) {
        nn_layer *L = &net->L[i];
        int64_t a = L->act_size * B, o = L->out_size * B;
        L->col = L->dcol = L->fcin = L->dfcin = L->mask = NULL;
        L->pooled = L->d_pooled = L->normed = L->scale = L->d_normed = NULL;
        L->arg = NULL;
        L->part = L->dscr = L->wu = L->wut = L->wscr = NULL;
        L->wino = 0;
        if (L->kind == NN_CONV) {
            nn_conv_shape s = {L->in_c, L->in_h, L->in_w, L->width, L->oh, L->ow, L->K, L->S, L->P, B};
            if (i < ncv && nn_wino_tile(&s)) {
                L->wino = nn_wino_tile(&s);
                L->part = TAKE(slab_count(B) * (L->nw + L->nb));
                L->wu = TAKE(nn_wino_weight_floats(&s));
                L->wut = TAKE(nn_wino_weight_floats(&s));
                L->wscr = TAKE(slab_count(B) * nn_wino_scratch_floats(&s));
            } else if (i < ncv) {
                L->part = TAKE(slab_count(B) * (L->nw + L->nb));
                const int64_t nd = slab_count(B) * 2 * nn_conv_range_scratch_floats(&s, NN_SLAB);
                L->dscr = TAKE(nd);
                memset(L->dscr, 0, (size_t)nd * sizeof *L->dscr); /* dcol rooms start zeroed */
            } else {
                L->col = TAKE((int64_t)L->in_c * L->K * L->K * L->oh * L->ow * B);
                L->dcol = TAKE(nn_conv_scratch_floats(&s));
            }
        }
        if (L->fc_spatial) {
            int64_t fs = (int64_t)L->in_c * L->in_h * L->in_w * B;
            L->fcin = TAKE(fs);
            L->dfcin = TAKE(fs);
        }
        L->act = TAKE(a);
        L->d_act = TAKE(a);
        if (L->drop > 0) L->mask = TAKE(a);
        if (L->pool) {
            L->pooled = TAKE(o);
            L->d_pooled = TAKE(o);
            L->arg = (int32_t *)TAKE(o);
        }
        if (L->lrn) {
            L->normed = TAKE(o);
            L->scale = TAKE(o);
            L->d_normed = TAKE(o);
        }
        L->out = L->lrn ? L->normed : L->pool ? L->pooled : L->act;
        L->dout = L->lrn ? L->d_normed : L->pool ? L->d_pooled : L->d_act;
    }
#undef TAKE
    net->cap = B;
    return CVG_OK;
}

/* (C, B, Q) <-> (C, Q, B): a spatial map as the (F, B) input of a fully connected layer. */
static void to_features(float *dst, const float *src, int C, int B, int Q)
{
#pragma omp parallel for schedule(static) if ((int64_t)C * B * Q > NN_PAR_MIN)
    for (int c = 0; c < C; c++)
        for (int b = 0; b < B; b++)
            for (int q = 0; q < Q; q++)
                dst[((int64_t)c * Q + q) * B + b] = src[((int64_t)c * B + b) * Q + q];
}

static void from_features(float *dst, const float *src, int C, int B, int Q)
{
#pragma omp parallel for schedule(static) if ((int64_t)C * B * Q > NN_PAR_MIN)
    for (int c = 0; c < C; c++)
        for (int b = 0; b < B; b++)
            for (int q = 0; q < Q; q++)
                dst[((int64_t)c * B + b) * Q + q] = src[((int64_t)c * Q + q) * B + b];
}

static nn_conv_shape conv_shape(const nn_layer *L, int B)
{
    return (nn_conv_shape){L->in_c, L->in_h, L->in_w, L->width, L->oh, L->ow, L->K, L->S, L->P, B};
}

/* Images [b0, b0 + nb) of a batch of B through conv layer L (input x), serially: product and
 * ReLU, dropout (masks already drawn), pooling, LRN; the same operations as the whole-batch
 * path below, on these images' part of each channel. */
static void conv_layer_forward(nn_layer *L, const float *x, int B, int b0, int nb, int train,
                               int room)
{
    const nn_conv_shape s = conv_shape(L, B);
    const int64_t P = (int64_t)L->oh * L->ow, Q = (int64_t)L->ph * L->pw;
    if (L->wino)
        nn_wino_forward_range(L->act, L->wscr + room * nn_wino_scratch_floats(&s), x, L->wu, L->b,
                              &s, b0, nb, L->relu);
    /* no col blocks are kept (backward computes them again, chunk by chunk, in cache): im2col
     * goes to the thread's room in dscr */
    else nn_conv_forward_range(L->act, NULL,
                          L->dscr + (2 * room + 1) * nn_conv_range_scratch_floats(&s, NN_SLAB), x, L->w,
                          L->b, &s, b0, nb, L->relu);
    if (train && L->drop > 0)
        for (int c = 0; c < L->width; c++) {
            const int64_t o = ((int64_t)c * B + b0) * P;
            nn_dropout_forward(L->act + o, L->mask + o, nb * P);
        }
    if (L->pool)
        for (int c = 0; c < L->width; c++) {
            const int64_t o = ((int64_t)c * B + b0) * Q;
            nn_maxpool_forward_serial(L->pooled + o, L->arg + o, L->act + ((int64_t)c * B + b0) * P,
                                      nb, L->oh, L->ow, L->pool_k, L->pool_s, L->pool_p, L->ph, L->pw);
        }
    if (L->lrn)
        nn_lrn_forward_cols(L->normed, L->scale, L->pool ? L->pooled : L->act, L->width,
                            (int64_t)B * Q, b0 * Q, (b0 + nb) * Q, &L->lrn_p);
}

/* The adjoint of conv_layer_forward on images [b0, b0 + nb): from L->dout to dx (may be NULL),
 * the weight and bias gradients of these images into part (nw + nb floats). */
static void conv_layer_backward(nn_layer *L, const float *x, float *dx, float *part, float *dscr,
                                int room, int B, int b0, int nb, int train)
{
    const nn_conv_shape s = conv_shape(L, B);
    const int64_t P = (int64_t)L->oh * L->ow, Q = (int64_t)L->ph * L->pw;
    float *d = L->dout;
    if (L->lrn) {
        float *dst = L->pool ? L->d_pooled : L->d_act;
        nn_lrn_backward_cols(dst, d, L->pool ? L->pooled : L->act, L->normed, L->scale, L->width,
                             (int64_t)B * Q, b0 * Q, (b0 + nb) * Q, &L->lrn_p);
        d = dst;
    }
    if (L->pool) {
        for (int c = 0; c < L->width; c++) {
            const int64_t o = ((int64_t)c * B + b0) * Q;
            nn_maxpool_backward_serial(L->d_act + ((int64_t)c * B + b0) * P, d + o, L->arg + o, nb,
                                       L->oh, L->ow, L->ph, L->pw);
        }
        d = L->d_act;
    }
    for (int c = 0; c < L->width; c++) {
        const int64_t o = ((int64_t)c * B + b0) * P, n = nb * P;
        float *dc = d + o;
        const float *ac = L->act + o;
        if (train && L->drop > 0) nn_dropout_backward(dc, dc, L->mask + o, n);
        if (L->relu)
            for (int64_t i = 0; i < n; i++) { /* a select, as nn_relu_backward */
                const float g = dc[i];
                dc[i] = ac[i] > 0.0f ? g : 0.0f;
            }
    }
    if (L->wino) {
        nn_wino_backward_range(dx, part, part + L->nw, L->wscr + room * nn_wino_scratch_floats(&s),
                               d, x, L->wu, L->wut, &s, b0, nb);
        return;
    }
    /* dscr: the zeroed dcol room, then the room for col blocks */
    nn_conv_backward_range(dx, part, part + L->nw, dscr,
                           dscr + nn_conv_range_scratch_floats(&s, NN_SLAB), d, NULL, x, L->w, &s,
                           b0, nb);
}

void nn_net_forward(cvg_net *net, const float *images, int B, int train, uint64_t key)
{
    const int Q = net->in_h * net->in_w;
    /* NCHW images -> (C, B, H, W) */
    if (net->in_c == 1) memcpy(net->x0, images, (size_t)B * Q * sizeof(float));
    else
        for (int b = 0; b < B; b++)
            for (int c = 0; c < net->in_c; c++)
                memcpy(net->x0 + ((int64_t)c * B + b) * Q,
                       images + ((int64_t)b * net->in_c + c) * Q, (size_t)Q * sizeof(float));
    net->batch = B;
    /* the leading conv layers slab by slab, one parallel region (dropout masks drawn first) */
    const int ncv = conv_prefix(net), ns = slab_count(B);
    for (int i = 0; i < ncv; i++) {
        nn_layer *L = &net->L[i];
        if (train && L->drop > 0)
            nn_dropout_mask(L->mask, L->act_size * B, L->drop, cvg__hash64(key, (uint64_t)i));
    }
    /* the Winograd layers' transformed weights, split over the threads in blocks of
     * WINO_ROWS output channels */
    enum { WINO_ROWS = 16 };
    int nrows = 0;
    for (int i = 0; i < ncv; i++) nrows += net->L[i].wino ? (net->L[i].width + WINO_ROWS - 1) / WINO_ROWS : 0;
#pragma omp parallel if (ns > 1)
    {
        const int room = omp_get_num_threads() <= ns ? omp_get_thread_num() : -1;
#pragma omp for schedule(static)
        for (int row = 0; row < nrows; row++) {
            int i = 0, blk = row; /* block blk of layer i */
            while (!net->L[i].wino || blk >= (net->L[i].width + WINO_ROWS - 1) / WINO_ROWS)
                blk -= net->L[i].wino ? (net->L[i].width + WINO_ROWS - 1) / WINO_ROWS : 0, i++;
            const nn_conv_shape cs = conv_shape(&net->L[i], B);
            const int oc0 = blk * WINO_ROWS, oc1 = oc0 + WINO_ROWS < cs.OC ? oc0 + WINO_ROWS : cs.OC;
            nn_wino_weights(net->L[i].wu, net->L[i].wut, net->L[i].w, &cs, oc0, oc1);
        }
#pragma omp for schedule(dynamic, 1)
        for (int sl = 0; sl < ns; sl++) {
            const int b0 = sl * NN_SLAB, nb = B - b0 < NN_SLAB ? B - b0 : NN_SLAB;
            for (int i = 0; i < ncv; i++)
                conv_layer_forward(&net->L[i], i ? net->L[i - 1].out : net->x0, B, b0, nb, train,
                                   room >= 0 ? room : sl);
        }
    }
    const float *x = ncv ? net->L[ncv - 1].out : net->x0;
    for (int i = ncv; i < net->nl; i++) {
        nn_layer *L = &net->L[i];
        if (L->kind == NN_CONV) {
            nn_conv_shape s = {L->in_c, L->in_h, L->in_w, L->width, L->oh, L->ow, L->K, L->S, L->P, B};
            nn_conv_forward(L->act, L->col, x, L->w, L->b, &s);
        } else {
            const float *in = x;
            if (L->fc_spatial) {
                to_features(L->fcin, x, L->in_c, B, L->in_h * L->in_w);
                in = L->fcin;
            }
            nn_fc_forward(L->act, in, L->w, L->b, L->width, (int)(L->nw / L->width), B);
        }
        int64_t a = L->act_size * B;
        if (L->relu) nn_relu_forward(L->act, a);
        if (train && L->drop > 0) {
            nn_dropout_mask(L->mask, a, L->drop, cvg__hash64(key, (uint64_t)i));
            nn_dropout_forward(L->act, L->mask, a);
        }
        if (L->pool)
            nn_maxpool_forward(L->pooled, L->arg, L->act, (int64_t)L->width * B, L->oh, L->ow,
                               L->pool_k, L->pool_s, L->pool_p, L->ph, L->pw);
        if (L->lrn)
            nn_lrn_forward(L->normed, L->scale, L->pool ? L->pooled : L->act, L->width,
                           (int64_t)B * L->ph * L->pw, &L->lrn_p);
        x = L->out;
    }
}

void nn_net_backward(cvg_net *net, int train)
{
    const int B = net->batch, ncv = conv_prefix(net), ns = slab_count(B);
    for (int i = net->nl - 1; i >= ncv; i--) {
        nn_layer *L = &net->L[i];
        float *d = L->dout;
        if (L->lrn) {
            float *dst = L->pool ? L->d_pooled : L->d_act;
            nn_lrn_backward(dst, d, L->pool ? L->pooled : L->act, L->normed, L->scale, L->width,
                            (int64_t)B * L->ph * L->pw, &L->lrn_p);
            d = dst;
        }
        if (L->pool) {
            nn_maxpool_backward(L->d_act, d, L->arg, (int64_t)L->width * B, L->oh, L->ow, L->ph, L->pw);
            d = L->d_act;
        }
        int64_t a = L->act_size * B;
        /* dropout then ReLU, in reverse; act (after dropout) > 0 exactly where both passed */
        if (train && L->drop > 0) nn_dropout_backward(d, d, L->mask, a);
        if (L->relu) nn_relu_backward(d, d, L->act, a);
        const float *x = i ? net->L[i - 1].out : net->x0;
        float *dx = i ? net->L[i - 1].dout : NULL;
        if (L->kind == NN_CONV) {
            nn_conv_shape s = {L->in_c, L->in_h, L->in_w, L->width, L->oh, L->ow, L->K, L->S, L->P, B};
            nn_conv_backward(dx, L->gw, L->gb, L->dcol, d, L->col, L->w, &s);
        } else {
            int F = (int)(L->nw / L->width);
            const float *in = L->fc_spatial ? L->fcin : x;
            float *din = dx && L->fc_spatial ? L->dfcin : dx;
            nn_fc_backward(din, L->gw, L->gb, d, in, L->w, L->width, F, B);
            if (dx && L->fc_spatial) from_features(dx, din, L->in_c, B, L->in_h * L->in_w);
        }
    }
    /* the leading conv layers slab by slab, then each gradient = its slabs' parts summed in
     * slab order (each element by one thread): the same whatever thread took which slab */
#pragma omp parallel if (ns > 1)
    {
        /* the dcol scratch: one room per thread (reused slab after slab while it is in the
         * core's cache), or per slab when there are more threads than slabs */
        const int room = omp_get_num_threads() <= ns ? omp_get_thread_num() : -1;
#pragma omp for schedule(dynamic, 1)
        for (int sl = 0; sl < ns; sl++) {
            const int b0 = sl * NN_SLAB, nb = B - b0 < NN_SLAB ? B - b0 : NN_SLAB;
            for (int i = ncv - 1; i >= 0; i--) {
                nn_layer *L = &net->L[i];
                const nn_conv_shape cs = conv_shape(L, B);
                const int rm = room >= 0 ? room : sl;
                float *dscr = L->wino ? NULL : L->dscr + rm * 2 * nn_conv_range_scratch_floats(&cs, NN_SLAB);
                conv_layer_backward(L, i ? net->L[i - 1].out : net->x0, i ? net->L[i - 1].dout : NULL,
                                    L->part + sl * (L->nw + L->nb), dscr, rm, B, b0, nb, train);
            }
        }
        for (int i = 0; i < ncv; i++) {
            nn_layer *L = &net->L[i];
            const int64_t n = L->nw + L->nb;
            float *g = L->gw; /* gw, then gb right after it */
#pragma omp for schedule(static) nowait
            for (int64_t j = 0; j < n; j++) {
                float acc = L->part[j];
                for (int sl = 1; sl < ns; sl++) acc += L->part[sl * n + j];
                g[j] = acc;
            }
        }
    }
}

void cvg_net_free(cvg_net *net)
{
    if (!net) return;
    free(net->arch);
    free(net->L);
    free(net->params);
    free(net->grads);
    free(net->buf_block);
    free(net);
}

const char *cvg_net_arch(const cvg_net *net)
{
    return net ? net->arch : NULL;
}

int cvg_net_layers(const cvg_net *net)
{
    return net ? net->nl : 0;
}

const char *cvg_net_layer_name(const cvg_net *net, int layer)
{
    return net && layer >= 0 && layer < net->nl ? net->L[layer].name : NULL;
}

int cvg_net_layer_index(const cvg_net *net, const char *name)
{
    if (!net || !name) return -1;
    for (int i = 0; i < net->nl; i++)
        if (strcmp(net->L[i].name, name) == 0) return i;
    return -1;
}

void cvg_net_layer_shape(const cvg_net *net, int layer, int64_t shape[3])
{
    if (!net || layer < 0 || layer >= net->nl) {
        shape[0] = shape[1] = shape[2] = 0;
        return;
    }
    const nn_layer *L = &net->L[layer];
    shape[0] = L->width, shape[1] = L->oh, shape[2] = L->ow;
}

int64_t cvg_net_param_count(const cvg_net *net)
{
    return net ? net->nparams : 0;
}

cvg_status cvg_net_forward(cvg_net *net, const float *images, int64_t n)
{
    if (!net || (!images && n > 0) || n < 1 || n > (1 << 24))
        return cvg__fail(CVG_ERR_ARG, "cvg_net_forward: bad arguments (n = %lld)", (long long)n);
    cvg_status st = nn_net_reserve(net, (int)n);
    if (st != CVG_OK) return st;
    nn_net_forward(net, images, (int)n, 0, 0);
    return CVG_OK;
}

cvg_status cvg_net_activation(const cvg_net *net, int layer, float *dst)
{
    if (!net || !dst || layer < 0 || layer >= net->nl || net->batch < 1)
        return cvg__fail(CVG_ERR_ARG, "cvg_net_activation: bad layer or no forward pass yet");
    const nn_layer *L = &net->L[layer];
    const int B = net->batch, Q = L->oh * L->ow;
    /* (C, B, Q) -> (B, C, Q) */
    for (int b = 0; b < B; b++)
        for (int c = 0; c < L->width; c++)
            memcpy(dst + ((int64_t)b * L->width + c) * Q, L->act + ((int64_t)c * B + b) * Q,
                   (size_t)Q * sizeof(float));
    return CVG_OK;
}

cvg_status cvg_net_evaluate(cvg_net *net, const cvg_dataset *ds, double *accuracy, double *loss)
{
    if (!net || !ds || ds->count < 1)
        return cvg__fail(CVG_ERR_ARG, "cvg_net_evaluate: no network or empty dataset");
    if (ds->channels != net->in_c || ds->height != net->in_h || ds->width != net->in_w)
        return cvg__fail(CVG_ERR_SHAPE, "images are %dx%dx%d, the network takes %dx%dx%d",
                         ds->channels, ds->height, ds->width, net->in_c, net->in_h, net->in_w);
    const nn_layer *last = &net->L[net->nl - 1];
    if (ds->classes > last->width)
        return cvg__fail(CVG_ERR_SHAPE, "the data has %d classes, %s has %d outputs",
                         ds->classes, last->name, last->width);
    const int B = net->cap > 0 ? net->cap : 256;
    cvg_status st = nn_net_reserve(net, B);
    if (st != CVG_OK) return st;
    const int64_t per = (int64_t)ds->channels * ds->height * ds->width;
    double total = 0;
    int64_t right = 0;
    for (int64_t i = 0; i < ds->count; i += B) {
        int b = ds->count - i < B ? (int)(ds->count - i) : B;
        nn_net_forward(net, ds->images + i * per, b, 0, 0);
        int ok;
        total += nn_softmax_xent(NULL, &ok, last->act, ds->labels + i, last->width, b);
        right += ok;
    }
    if (accuracy) *accuracy = (double)right / (double)ds->count;
    if (loss) *loss = total / (double)ds->count;
    return CVG_OK;
}
