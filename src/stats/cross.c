/* Cross-layer statistics: one streaming pass over every layer of every network at once, the
 * samples being the N inputs. Convolutional layers are averaged over their positions (global
 * average pooling) so that layers of different spatial sizes share the same samples. The
 * concatenated vector is [net1: layer1 | layer2 | ... | net2: layer1 | ...] (net-major); its
 * co-moment holds every layer-by-layer block, and the HSIC sums use one block per (net, layer). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <omp.h>

#include "core/internal.h"
#include "stats/cross_internal.h"
#include "stats/stats_internal.h"
#include "stats/stats_range.h"

void cvg_cross_free(cvg_cross *c)
{
    if (!c) return;
    for (int l = 0; c->names && l < c->layers; l++) free(c->names[l]);
    for (int i = 0; c->sources && i < c->source_count; i++) free(c->sources[i]);
    free(c->origin);
    free(c->names), free(c->sources), free(c->units), free(c->positions), free(c->offset);
    cvg_moments_free(c->moments);
    sqnorm_free(&c->hsic);
    free(c);
}

/* Units and positions of one file; 2-D (N, S) or 4-D in the given layout. */
static cvg_status geometry(const cvg_npy *f, cvg_layout layout, int64_t *units, int64_t *pos)
{
    const int64_t *sh = cvg_npy_shape(f);
    if (cvg_npy_ndim(f) == 2) {
        *units = sh[1];
        *pos = 1;
    } else if (cvg_npy_ndim(f) == 4) {
        *units = layout == CVG_LAYOUT_NCHW ? sh[1] : sh[3];
        *pos = layout == CVG_LAYOUT_NCHW ? sh[2] * sh[3] : sh[1] * sh[2];
    } else {
        return cvg__fail(CVG_ERR_SHAPE, "%s: expected a 2-D (N, S) or 4-D (N, C, H, W) array, got "
                         "%d dimensions", cvg_npy_path(f), cvg_npy_ndim(f));
    }
    if (sh[0] == 0 || *units == 0 || *pos == 0)
        return cvg__fail(CVG_ERR_EMPTY, "%s: no inputs, units or positions", cvg_npy_path(f));
    return CVG_OK;
}

/* Average each image's positions: raw (b images of S*P values) -> columns [col0, col0+S) of X. */
static void pool(const double *raw, int64_t b, int64_t S, int64_t P, int nhwc, double *X,
                 int64_t D, int64_t col0)
{
    for (int64_t img = 0; img < b; img++) {
        const double *src = raw + img * S * P;
        double *dst = X + img * D + col0;
        if (P == 1) {
            memcpy(dst, src, (size_t)S * sizeof *dst);
        } else if (nhwc) {
            for (int64_t c = 0; c < S; c++) dst[c] = 0;
            for (int64_t p = 0; p < P; p++)
                for (int64_t c = 0; c < S; c++) dst[c] += src[p * S + c];
            for (int64_t c = 0; c < S; c++) dst[c] /= (double)P;
        } else {
            for (int64_t c = 0; c < S; c++) {
                double acc = 0;
                for (int64_t p = 0; p < P; p++) acc += src[c * P + p];
                dst[c] = acc / (double)P;
            }
        }
    }
}

cvg_status cvg_cross_compute(const char *const *paths, int nets, int layers,
                             const char *const *layer_names, const cvg_stats_options *options,
                             cvg_cross **out)
{
    if (!out) return cvg__fail(CVG_ERR_ARG, "cvg_cross_compute: NULL output");
    *out = NULL;
    if (!paths || !layer_names || nets < 1 || layers < 1)
        return cvg__fail(CVG_ERR_ARG, "cvg_cross_compute: need at least one net and one layer");
    cvg_stats_options defaults;
    cvg_stats_options_init(&defaults);
    const cvg_stats_options *opt = options ? options : &defaults;
    if (cvg__check_threads(opt->threads, "cvg_cross_compute") != CVG_OK) return CVG_ERR_ARG;
    if (opt->threads > 0) omp_set_num_threads(opt->threads);
    const int F = nets * layers;
    cvg_status st = CVG_OK;
    cvg_npy **files = calloc((size_t)F, sizeof *files);
    cvg_cross *c = cvg__calloc(1, sizeof *c, "cross-layer statistics");
    double *X = NULL, *raw = NULL;
    if (!files || !c) {
        free(files);
        free(c);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    }
    c->nets = nets;
    c->layers = layers;
    c->names = calloc((size_t)layers, sizeof *c->names);
    c->units = calloc((size_t)layers, sizeof *c->units);
    c->positions = calloc((size_t)layers, sizeof *c->positions);
    c->offset = calloc((size_t)F + 1, sizeof *c->offset);
    c->sources = calloc((size_t)F, sizeof *c->sources);
    c->source_count = c->sources ? F : 0;
    c->has_hsic = 1;
    if (!c->names || !c->units || !c->positions || !c->offset || !c->sources) {
        st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int l = 0; l < layers; l++)
        if (!layer_names[l] || !*layer_names[l] || !(c->names[l] = strdup(layer_names[l]))) {
            st = cvg__fail(CVG_ERR_ARG, "cvg_cross_compute: layer %d has no name", l + 1);
            goto done;
        }
    int64_t N = 0, max_row = 0;
    for (int k = 0; k < nets; k++)
        for (int l = 0; l < layers; l++) {
            const int i = k * layers + l;
            int64_t S = 0, P = 0;
            if ((st = cvg_npy_open(paths[i], &files[i])) != CVG_OK) goto done;
            if (!(c->sources[i] = strdup(paths[i]))) {
                st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
                goto done;
            }
            if ((st = geometry(files[i], opt->layout, &S, &P)) != CVG_OK) goto done;
            const int64_t rows = cvg_npy_rows(files[i]);
            if (i == 0) N = rows;
            if (rows != N) {
                st = cvg__fail(CVG_ERR_SHAPE, "%s: %lld inputs, but %lld in %s (every layer of every "
                               "network must see the same inputs)", paths[i], (long long)rows,
                               (long long)N, paths[0]);
                goto done;
            }
            if (k == 0) {
                c->units[l] = S;
                c->positions[l] = P;
            } else if (S != c->units[l]) {
                st = cvg__fail(CVG_ERR_SHAPE, "%s: layer '%s' has %lld units, but %lld in %s",
                               paths[i], c->names[l], (long long)S, (long long)c->units[l], paths[l]);
                goto done;
            }
            c->offset[i + 1] = c->offset[i] + S;
            if (S * P > max_row) max_row = S * P;
        }
    const int64_t D = c->offset[F];
    if ((st = cvg_moments_create(D, opt->kernel, &c->moments)) != CVG_OK) goto done;
    if ((st = sqnorm_init(&c->hsic, F, c->offset)) != CVG_OK) goto done;
    /* per input: the pooled row (D doubles) and the raw rows of the widest file */
    const int64_t per_chunk = stats_chunk_inputs(opt->chunk_rows, 8 * (D + max_row), 1);
    X = malloc((size_t)(per_chunk * D) * sizeof *X);
    raw = malloc((size_t)(per_chunk * max_row) * sizeof *raw);
    if (!X || !raw) {
        st = cvg__fail(CVG_ERR_NOMEM, "out of memory for a chunk of %lld inputs x %lld units",
                       (long long)per_chunk, (long long)D);
        goto done;
    }
    for (int64_t first = 0; first < N && st == CVG_OK; first += per_chunk) {
        const int64_t b = N - first < per_chunk ? N - first : per_chunk;
        for (int i = 0; i < F && st == CVG_OK; i++) {
            const int l = i % layers;
            st = cvg_npy_read_rows(files[i], first, b, raw);
            if (st == CVG_OK)
                pool(raw, b, c->units[l], c->positions[l],
                     cvg_npy_ndim(files[i]) == 4 && opt->layout == CVG_LAYOUT_NHWC, X, D, c->offset[i]);
        }
        if (st != CVG_OK) break;
        int64_t kept = 0;
        for (int64_t r = 0; r < b && st == CVG_OK; r++) {
            int64_t col = -1;
            for (int64_t j = 0; j < D && col < 0; j++)
                if (!isfinite(X[r * D + j])) col = j;
            if (col < 0) {
                if (kept != r) memmove(X + kept * D, X + r * D, (size_t)D * sizeof *X);
                kept++;
                continue;
            }
            if (opt->skip_nonfinite) continue;
            int i = 0;
            while (c->offset[i + 1] <= col) i++;
            st = cvg__fail(CVG_ERR_NONFINITE, "%s: NaN or Inf at input %lld, unit %lld (after "
                           "spatial averaging; use --skip-nonfinite to drop such inputs)",
                           paths[i], (long long)(first + r), (long long)(col - c->offset[i]));
        }
        if (st != CVG_OK) break;
        c->skipped += b - kept;
        c->images += b;
        if (kept > 0) st = sqnorm_add(&c->hsic, c->moments, X, 0, kept, D);
        if (kept > 0 && st == CVG_OK) st = cvg_moments_add(c->moments, X, kept, D);
        if (st == CVG_OK && opt->progress &&
            opt->progress("cross-layer stats", (uint64_t)(first + b), (uint64_t)N, opt->progress_user))
            st = cvg__fail(CVG_ERR_CANCELLED, "cross-layer statistics cancelled");
    }
    if (st == CVG_OK && cvg_moments_count(c->moments) < 2)
        st = cvg__fail(CVG_ERR_EMPTY, "cross-layer statistics: fewer than 2 usable inputs (first "
                       "file %s)", paths[0]);
done:
    for (int i = 0; i < F; i++) cvg_npy_free(files[i]);
    free(files), free(X), free(raw);
    if (st != CVG_OK) {
        cvg_cross_free(c);
        return st;
    }
    *out = c;
    return CVG_OK;
}

static cvg_status save(const char *dir, const char *name, int64_t r, int64_t cols, const double *d)
{
    char *path = cvg__path_join(dir, name);
    if (!path) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    const int64_t shape[2] = {r, cols};
    cvg_status st = cvg_npy_save(path, CVG_F64, cols > 0 ? 2 : 1, shape, d);
    free(path);
    return st;
}

/* No inf or NaN is written (docs/statistics.md, values outside float32's range): a float32
 * kernel's co-moment that overflowed, or values beyond float64's squares, are refused naming
 * the column's layer and net. (Unlike the per-layer pass, the cross-layer pass is not measured
 * again in float64 by itself: the message says how.) */
static cvg_status cross_check_range(const cvg_cross *c, const char *name, const double *M, int64_t D, int F)
{
    int in_mean;
    const int64_t bad = stats_first_nonfinite_unit(cvg_moments_mean(c->moments), M, D,
                                                   c->has_hsic ? &c->hsic : NULL, &in_mean);
    if (bad < 0) return CVG_OK;
    int f = 0;
    while (f + 1 < F && c->offset[f + 1] <= bad) f++;
    return cvg__fail(CVG_ERR_NUMERIC, "cross-layer '%s': unit %lld of layer '%s' of net %d (%s) has "
                     "values too large for the float32 kernel (its co-moment or HSIC sums are not "
                     "finite); measure with --kernel dsyrk (float64), or rescale the activations",
                     name, (long long)(bad - c->offset[f]), c->names[f % c->layers], f / c->layers + 1,
                     f < c->source_count ? c->sources[f] : "in memory");
}

/* The directory's fingerprint (docs/reliability.md), as a stats layer's: the inputs' names,
 * the shape and the results (means, co-moments D x D). */
static void cross_fingerprint(const cvg_cross *c, const double *M, char hex[17])
{
    const int64_t D = c->offset[c->nets * c->layers];
    cvg__fingerprint f;
    cvg__fp_init(&f);
    cvg__fp_add_str(&f, "convergent stats cross 1");
    cvg__fp_add_u64(&f, (uint64_t)c->nets);
    for (int l = 0; l < c->layers; l++) {
        cvg__fp_add_str(&f, c->names[l]);
        cvg__fp_add_u64(&f, (uint64_t)c->units[l]);
        cvg__fp_add_u64(&f, (uint64_t)c->positions[l]);
    }
    cvg__fp_add_u64(&f, (uint64_t)c->images);
    cvg__fp_add_u64(&f, (uint64_t)c->skipped);
    cvg__fp_add_u64(&f, (uint64_t)cvg_moments_count(c->moments));
    for (int i = 0; i < c->source_count; i++) cvg__fp_add_str(&f, c->sources[i]);
    cvg__fp_add(&f, cvg_moments_mean(c->moments), (size_t)D * sizeof(double));
    cvg__fp_add(&f, M, (size_t)(D * D) * sizeof(double));
    cvg__fp_hex(&f, hex);
}

cvg_status cvg_cross_save(const cvg_cross *c, const char *out_dir, const char *name)
{
    if (!c || !out_dir || !name || !*name || strchr(name, '/'))
        return cvg__fail(CVG_ERR_ARG, "cvg_cross_save: invalid arguments (the name is a directory: no '/')");
    char *dir = cvg__path_join(out_dir, name), *manifest = NULL;
    const int F = c->nets * c->layers;
    const int64_t D = c->offset[F];
    double *M = malloc((size_t)(D * D) * sizeof *M);
    cJSON *j = NULL;
    cvg_status st = CVG_OK;
    if (!dir || !M) {
        st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
        goto done;
    }
    cvg_moments_comoment(c->moments, M);
    if ((st = cross_check_range(c, name, M, D, F)) != CVG_OK) goto done;
    if ((st = cvg_mkdirs(dir)) != CVG_OK) goto done;
    if ((st = save(dir, "mean.npy", D, 0, cvg_moments_mean(c->moments))) != CVG_OK) goto done;
    if ((st = save(dir, "comoment.npy", D, D, M)) != CVG_OK) goto done;
    if (c->has_hsic && (st = save(dir, "sqnorm_q.npy", F, F, c->hsic.Q)) != CVG_OK) goto done;
    if (c->has_hsic && (st = save(dir, "sqnorm_g.npy", F, D, c->hsic.G)) != CVG_OK) goto done;
    j = cJSON_CreateObject();
    char fp[17];
    cross_fingerprint(c, M, fp);
    cJSON_AddStringToObject(j, "fingerprint", fp);
    cJSON_AddStringToObject(j, "tool", "convergent");
    cJSON_AddStringToObject(j, "version", cvg_version());
    cJSON_AddStringToObject(j, "kind", "cross");
    cJSON_AddStringToObject(j, "samples_are", "inputs; convolutional layers averaged over positions");
    cJSON_AddNumberToObject(j, "nets", c->nets);
    cJSON_AddNumberToObject(j, "samples", (double)cvg_moments_count(c->moments));
    cJSON_AddNumberToObject(j, "inputs", (double)c->images);
    cJSON_AddNumberToObject(j, "skipped_nonfinite_inputs", (double)c->skipped);
    cJSON_AddBoolToObject(j, "hsic_sums", c->has_hsic);
    cJSON *layers = cJSON_AddArrayToObject(j, "layers");
    for (int l = 0; l < c->layers; l++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", c->names[l]);
        cJSON_AddNumberToObject(e, "units", (double)c->units[l]);
        cJSON_AddNumberToObject(e, "positions_averaged", (double)c->positions[l]);
        cJSON_AddItemToArray(layers, e);
    }
    cJSON *src = cJSON_AddArrayToObject(j, "sources");
    for (int i = 0; i < c->source_count; i++) cJSON_AddItemToArray(src, cJSON_CreateString(c->sources[i]));
    manifest = cvg__path_join(dir, "cross.json");
    if (!manifest) {
        st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
        goto done;
    }
    st = cvg__json_write(manifest, j, "cross.json");
    j = NULL; /* deleted by the writer */
done:
    cJSON_Delete(j);
    free(manifest), free(dir), free(M);
    return st;
}
