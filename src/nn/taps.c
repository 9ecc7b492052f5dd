/* Activation taps: run K networks over a dataset and stream every named layer's activations
 * (after ReLU, as Caffe's in-place ReLU leaves them) into one statistics accumulator per layer:
 * no activations on disk. Each accumulator also keeps, per unit, the CVG_TOP_K (image,
 * position) pairs of highest activation and their receptive-field boxes (the patch figures). */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "nn/net_internal.h"
#include "stats/stats_internal.h"

void cvg_taps_options_init(cvg_taps_options *opt)
{
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    cvg_stats_options_init(&opt->stats);
    opt->batch = 100;
}

/* The conv_samples modes other than positions (one row per image, no top list, as there is no
 * position to show): net k's activations of layer L, (C, B, Q), into row b and columns
 * [k*S, (k+1)*S) of X (B rows x D): S = C spatial means, or S = C*Q values in (c, y, x) order,
 * the order of an NCHW file flattened. */
static void tap_layer_per_image(const nn_layer *L, int B, int k, int64_t D, float *X, cvg_conv_samples mode)
{
    const int C = L->width, Q = L->oh * L->ow;
    const int64_t S = mode == CVG_CONV_MEAN ? C : (int64_t)C * Q;
    for (int c = 0; c < C; c++)
        for (int b = 0; b < B; b++) {
            const float *src = L->act + ((int64_t)c * B + b) * Q;
            float *row = X + (int64_t)b * D + (int64_t)k * S;
            if (mode == CVG_CONV_FLATTEN) {
                memcpy(row + (int64_t)c * Q, src, (size_t)Q * sizeof *src);
                continue;
            }
            double sum = 0; /* in double, as the file pass (stats/conv_samples.c) */
            for (int q = 0; q < Q; q++) sum += src[q];
            row[c] = (float)(sum / Q);
        }
}

/* Scatter net k's activations of layer L for B images, (C, B, Q) in the net's buffer, into the
 * rows (b * Q + q) and columns [k*C, (k+1)*C) of X (B*Q rows x D), and offer each value to its
 * unit's top list. Q = positions per image. */
static void tap_layer(const nn_layer *L, int B, int k, int64_t D, float *X, cvg_stats *s,
                      int64_t first_image, const cvg_net *net, int layer)
{
    const int C = L->width, Q = L->oh * L->ow;
    for (int c = 0; c < C; c++)
        for (int b = 0; b < B; b++) {
            const float *src = L->act + ((int64_t)c * B + b) * Q;
            float *dst = X + (int64_t)b * Q * D + (int64_t)k * C + c;
            for (int q = 0; q < Q; q++) dst[(int64_t)q * D] = src[q];
            top_unit *t = &s->top[(int64_t)k * C + c];
            for (int q = 0; q < Q; q++)
                if (t->count < CVG_TOP_K || src[q] > t->entry[CVG_TOP_K - 1].value) {
                    int box[4];
                    cvg_net_receptive_field(net, layer, q / L->ow, q % L->ow, box);
                    top_offer(t, src[q], first_image + b, q / L->ow, q % L->ow, box);
                }
        }
}

cvg_status cvg_taps_run(cvg_net *const *nets, int K, const cvg_dataset *ds,
                       const cvg_taps_options *options, cvg_stats ***out, int *nlayers)
{
    if (!out || !nlayers) return cvg__fail(CVG_ERR_ARG, "cvg_measure: NULL output");
    *out = NULL;
    *nlayers = 0;
    if (!nets || K < 1 || !ds || ds->count < 1)
        return cvg__fail(CVG_ERR_ARG, "cvg_measure: need networks and a non-empty dataset");
    cvg_taps_options defaults;
    cvg_taps_options_init(&defaults);
    const cvg_taps_options *opt = options ? options : &defaults;
    if (cvg__check_threads(opt->stats.threads, "cvg_taps_run") != CVG_OK) return CVG_ERR_ARG;
    const int NL = nets[0]->nl;
    for (int k = 0; k < K; k++) {
        if (!nets[k] || strcmp(nets[k]->arch, nets[0]->arch) != 0)
            return cvg__fail(CVG_ERR_SHAPE, "cvg_measure: network %d's architecture differs from "
                             "network 1's (%s vs %s)", k + 1, nets[k] ? nets[k]->arch : "none", nets[0]->arch);
        if (ds->channels != nets[k]->in_c || ds->height != nets[k]->in_h || ds->width != nets[k]->in_w)
            return cvg__fail(CVG_ERR_SHAPE, "cvg_measure: images are %dx%dx%d, the networks take %dx%dx%d",
                             ds->channels, ds->height, ds->width, nets[k]->in_c, nets[k]->in_h, nets[k]->in_w);
    }
    const int64_t N = opt->limit > 0 && opt->limit < ds->count ? opt->limit : ds->count;
    if (opt->first_image < 0 || opt->first_image >= N)
        return cvg__fail(CVG_ERR_ARG, "cvg_taps_run: first image %lld of %lld images",
                         (long long)opt->first_image, (long long)N);
    const int B = opt->batch > 0 ? opt->batch : 100;
    const int64_t image_size = (int64_t)ds->channels * ds->height * ds->width;
    const cvg_conv_samples mode = opt->stats.conv_samples;
    if (!cvg_conv_samples_name(mode))
        return cvg__fail(CVG_ERR_ARG, "cvg_taps_run: invalid conv_samples %d", (int)mode);
    cvg_stats **stats = calloc((size_t)NL, sizeof *stats);
    float **X = calloc((size_t)NL, sizeof *X);
    cvg_status st = stats && X ? CVG_OK : cvg__fail(CVG_ERR_NOMEM, "out of memory");
    for (int l = 0; l < NL && st == CVG_OK; l++) {
        const nn_layer *L = &nets[0]->L[l];
        const int is_conv = L->kind == NN_CONV, per_position = is_conv && mode == CVG_CONV_POSITIONS;
        const int64_t Q = (int64_t)L->oh * L->ow;
        cvg_stats_options so = opt->stats;
        if (!is_conv) so.conv_samples = CVG_CONV_POSITIONS; /* fc: one sample per image anyway */
        so.row_offset += opt->first_image * (per_position ? Q : 1); /* rows numbered among all images */
        const int64_t units = is_conv && mode == CVG_CONV_FLATTEN ? L->width * Q : L->width;
        st = cvg_stats_create(L->name, K, units, per_position ? L->oh : 0, per_position ? L->ow : 0,
                              &so, &stats[l]);
        if (st == CVG_OK && (per_position || !is_conv)) st = stats_enable_top(stats[l]);
        if (st == CVG_OK) stats[l]->position = l; /* meta.json's first_layer: cluster's default k */
        if (st == CVG_OK && !(X[l] = malloc((size_t)B * L->oh * L->ow * K * L->width * sizeof(float))))
            st = cvg__fail(CVG_ERR_NOMEM, "out of memory for layer %s's taps", L->name);
    }
    for (int64_t first = opt->first_image; first < N && st == CVG_OK; first += B) {
        const int b = N - first < B ? (int)(N - first) : B;
        for (int k = 0; k < K && st == CVG_OK; k++) {
            st = cvg_net_forward(nets[k], ds->images + first * image_size, b);
            for (int l = 0; l < NL && st == CVG_OK; l++) {
                const nn_layer *L = &nets[k]->L[l];
                if (L->kind == NN_CONV && mode != CVG_CONV_POSITIONS)
                    tap_layer_per_image(L, b, k, K * cvg_stats_units(stats[l]), X[l], mode);
                else
                    tap_layer(L, b, k, (int64_t)K * L->width, X[l], stats[l], first, nets[k], l);
            }
        }
        for (int l = 0; l < NL && st == CVG_OK; l++) {
            const nn_layer *L = &nets[0]->L[l];
            const int per_image = L->kind == NN_CONV && mode != CVG_CONV_POSITIONS;
            st = cvg_stats_add_rows(stats[l], X[l], (int64_t)b * (per_image ? 1 : L->oh * L->ow), b);
        }
        if (st == CVG_OK && opt->progress &&
            opt->progress("measure", (uint64_t)(first + b - opt->first_image),
                          (uint64_t)(N - opt->first_image), opt->progress_user))
            st = cvg__fail(CVG_ERR_CANCELLED, "measuring cancelled");
    }
    for (int l = 0; l < NL; l++) free(X ? X[l] : NULL);
    free(X);
    if (st != CVG_OK) {
        for (int l = 0; l < NL && stats; l++) cvg_stats_free(stats[l]);
        free(stats);
        return st;
    }
    *out = stats;
    *nlayers = NL;
    return CVG_OK;
}
