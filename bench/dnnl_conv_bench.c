/* Our convolutions against oneDNN's (Debian's libdnnl-dev, 2.6), layer by layer, one thread,
 * in the same run: for each leading convolution layer of a preset, the time of forward +
 * input gradient + weight gradient on 8 images, ours (the path the engine takes: Winograd or
 * im2col; bench_conv_layers gives each separately) and oneDNN's (convolution primitives with
 * the algorithm "direct" and, where oneDNN has it, "winograd"; batches of 8 and of 64 images
 * divided by 8). oneDNN is timed with its tensors already in the layouts it chose
 * (format_tag_any; reorders from and to plain NCHW are not counted): its best case.
 * Min over repeats of the thread's CPU time, microseconds. Built only when CMake finds dnnl.
 *   dnnl_conv_bench [ARCH] [REPEATS] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include "nn/net_internal.h"
#include "conv_bench_inputs.h"

#define CHECK(call)                                                                           \
    do {                                                                                      \
        dnnl_status_t st_ = (call);                                                           \
        if (st_ != dnnl_success) {                                                            \
            fprintf(stderr, "%s: status %d\n", #call, (int)st_);                              \
            return -1.0;                                                                      \
        }                                                                                     \
    } while (0)

/* a memory in the layout the primitive chose for its argument (what, index: 1 = bias) */
static dnnl_memory_t memory_at(const_dnnl_primitive_desc_t pd, dnnl_query_t what, int index,
                               dnnl_engine_t eng)
{
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, what, index);
    if (!md) return NULL;
    dnnl_memory_t m = NULL;
    if (dnnl_memory_create(&m, md, eng, DNNL_MEMORY_ALLOCATE) != dnnl_success) return NULL;
    void *h = NULL;
    dnnl_memory_get_data_handle(m, &h);
    size_t bytes = dnnl_memory_desc_get_size(md);
    for (size_t i = 0; i < bytes / 4; i++) ((float *)h)[i] = (float)(i % 997) / 500.0f - 1.0f;
    return m;
}

/* oneDNN: forward (training) + backward data + backward weights (with bias) on B images;
 * returns the min time in seconds, or -1 when oneDNN has no implementation for alg. */
static double time_dnnl(const nn_conv_shape *s, int B, dnnl_alg_kind_t alg, int with_dx, int reps)
{
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags));
    dnnl_memory_desc_t src, wei, bia, dst;
    dnnl_dims_t ds = {B, s->C, s->H, s->W}, dw = {s->OC, s->C, s->K, s->K}, db = {s->OC},
                dd = {B, s->OC, s->OH, s->OW}, strides = {1, 1}, pad = {s->P, s->P};
    CHECK(dnnl_memory_desc_init_by_tag(&src, 4, ds, dnnl_f32, dnnl_format_tag_any));
    CHECK(dnnl_memory_desc_init_by_tag(&wei, 4, dw, dnnl_f32, dnnl_format_tag_any));
    CHECK(dnnl_memory_desc_init_by_tag(&bia, 1, db, dnnl_f32, dnnl_x));
    CHECK(dnnl_memory_desc_init_by_tag(&dst, 4, dd, dnnl_f32, dnnl_format_tag_any));
    dnnl_convolution_desc_t fd, bdd, bwd;
    CHECK(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, alg, &src, &wei, &bia,
                                             &dst, strides, pad, pad));
    CHECK(dnnl_convolution_backward_data_desc_init(&bdd, alg, &src, &wei, &dst, strides, pad, pad));
    CHECK(dnnl_convolution_backward_weights_desc_init(&bwd, alg, &src, &wei, &bia, &dst, strides,
                                                      pad, pad));
    dnnl_primitive_desc_t fpd, dpd, wpd;
    if (dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL) != dnnl_success) return -1.0;
    if (dnnl_primitive_desc_create(&dpd, &bdd, NULL, eng, fpd) != dnnl_success) return -1.0;
    if (dnnl_primitive_desc_create(&wpd, &bwd, NULL, eng, fpd) != dnnl_success) return -1.0;
    dnnl_memory_t m_src = memory_at(fpd, dnnl_query_src_md, 0, eng);
    dnnl_memory_t m_wei = memory_at(fpd, dnnl_query_weights_md, 0, eng);
    dnnl_memory_t m_bia = memory_at(fpd, dnnl_query_weights_md, 1, eng);
    dnnl_memory_t m_dst = memory_at(fpd, dnnl_query_dst_md, 0, eng);
    dnnl_memory_t m_ddst = memory_at(dpd, dnnl_query_diff_dst_md, 0, eng);
    dnnl_memory_t m_dsrc = memory_at(dpd, dnnl_query_diff_src_md, 0, eng);
    dnnl_memory_t m_wsrc = memory_at(wpd, dnnl_query_src_md, 0, eng);
    dnnl_memory_t m_wddst = memory_at(wpd, dnnl_query_diff_dst_md, 0, eng);
    dnnl_memory_t m_dwei = memory_at(wpd, dnnl_query_diff_weights_md, 0, eng);
    dnnl_memory_t m_dbia = memory_at(wpd, dnnl_query_diff_weights_md, 1, eng);
    dnnl_memory_t m_dwei_in = memory_at(dpd, dnnl_query_weights_md, 0, eng);
    if (!m_src || !m_wei || !m_bia || !m_dst || !m_ddst || !m_dsrc || !m_wsrc || !m_wddst ||
        !m_dwei || !m_dbia || !m_dwei_in)
        return -1.0;
    dnnl_primitive_t pf, pdd, pdw;
    CHECK(dnnl_primitive_create(&pf, fpd));
    CHECK(dnnl_primitive_create(&pdd, dpd));
    CHECK(dnnl_primitive_create(&pdw, wpd));
    dnnl_exec_arg_t af[4] = {{DNNL_ARG_SRC, m_src}, {DNNL_ARG_WEIGHTS, m_wei}, {DNNL_ARG_BIAS, m_bia},
                             {DNNL_ARG_DST, m_dst}};
    dnnl_exec_arg_t ad[3] = {{DNNL_ARG_DIFF_DST, m_ddst}, {DNNL_ARG_WEIGHTS, m_dwei_in},
                             {DNNL_ARG_DIFF_SRC, m_dsrc}};
    dnnl_exec_arg_t aw[4] = {{DNNL_ARG_SRC, m_wsrc}, {DNNL_ARG_DIFF_DST, m_wddst},
                             {DNNL_ARG_DIFF_WEIGHTS, m_dwei}, {DNNL_ARG_DIFF_BIAS, m_dbia}};
    double best = 1e9;
    for (int r = 0; r < reps; r++) {
        double t0 = cpu();
        CHECK(dnnl_primitive_execute(pf, stream, 4, af));
        if (with_dx) CHECK(dnnl_primitive_execute(pdd, stream, 3, ad));
        CHECK(dnnl_primitive_execute(pdw, stream, 4, aw));
        CHECK(dnnl_stream_wait(stream));
        double t = cpu() - t0;
        best = t < best ? t : best;
    }
    dnnl_primitive_destroy(pf), dnnl_primitive_destroy(pdd), dnnl_primitive_destroy(pdw);
    dnnl_memory_t all[11] = {m_src, m_wei, m_bia, m_dst, m_ddst, m_dsrc, m_wsrc, m_wddst, m_dwei,
                             m_dbia, m_dwei_in};
    for (int i = 0; i < 11; i++) dnnl_memory_destroy(all[i]);
    dnnl_primitive_desc_destroy(fpd), dnnl_primitive_desc_destroy(dpd), dnnl_primitive_desc_destroy(wpd);
    dnnl_stream_destroy(stream), dnnl_engine_destroy(eng);
    return best;
}

/* ours on one slab of 8 images: forward + backward, the engine's path for this layer */
static double time_ours(const nn_layer *L, const nn_conv_shape *s, int with_dx, int reps)
{
    const int B = s->B;
    const int64_t nx = (int64_t)s->C * B * s->H * s->W, ny = (int64_t)s->OC * B * s->OH * s->OW;
    float *x = filled(nx), *dx = filled(nx), *y = filled(ny), *dy = filled(ny);
    float *dw = filled(L->nw), *db = filled(L->nb);
    double best = 1e9;
    if (nn_wino_tile(s)) {
        const int64_t nu = nn_wino_weight_floats(s);
        float *u = filled(nu), *ut = filled(nu), *room = filled(nn_wino_scratch_floats(s));
        for (int r = 0; r < reps; r++) {
            double t0 = cpu();
            nn_wino_weights(u, ut, L->w, s, 0, s->OC);
            const double tw = (cpu() - t0) * 7 / 8; /* once per batch of 64: 1/8 per slab */
            nn_wino_forward_range(y, room, x, u, L->b, s, 0, B, 1);
            nn_wino_backward_range(with_dx ? dx : NULL, dw, db, room, dy, x, u, ut, s, 0, B);
            const double t = cpu() - t0 - tw;
            best = t < best ? t : best;
        }
        free(u), free(ut), free(room);
    } else {
        const int64_t r8 = nn_conv_range_scratch_floats(s, B);
        float *room = filled(r8), *dcol = calloc((size_t)r8, sizeof *dcol);
        for (int r = 0; r < reps; r++) {
            double t0 = cpu();
            nn_conv_forward_range(y, NULL, room, x, L->w, L->b, s, 0, B, 1);
            nn_conv_backward_range(with_dx ? dx : NULL, dw, db, dcol, room, dy, NULL, x, L->w, s, 0, B);
            const double t = cpu() - t0;
            best = t < best ? t : best;
        }
        free(room), free(dcol);
    }
    free(x), free(dx), free(y), free(dy), free(dw), free(db);
    return best;
}

int main(int argc, char **argv)
{
    const char *arch = argc > 1 ? argv[1] : "default";
    const int reps = argc > 2 ? atoi(argv[2]) : 20;
    omp_set_num_threads(1);
    cvg_net *net;
    if (cvg_net_create(arch, 1, 28, 28, 1, &net) != CVG_OK) return 1;
    double sum_ours = 0, sum_best = 0;
    printf("per 8 images, fwd + dx + dw, us (one thread)\n");
    for (int i = 0; i < net->nl && net->L[i].kind == NN_CONV; i++) {
        const nn_layer *L = &net->L[i];
        nn_conv_shape s = {L->in_c, L->in_h, L->in_w, L->width, L->oh, L->ow, L->K, L->S, L->P, NN_SLAB};
        const int with_dx = i > 0; /* the first layer needs no input gradient */
        const double ours = time_ours(L, &s, with_dx, reps);
        double d8 = time_dnnl(&s, 8, dnnl_convolution_direct, with_dx, reps);
        double d64 = time_dnnl(&s, 64, dnnl_convolution_direct, with_dx, reps / 4 + 1) / 8;
        double w64 = time_dnnl(&s, 64, dnnl_convolution_winograd, with_dx, reps / 4 + 1);
        w64 = w64 > 0 ? w64 / 8 : -1;
        double best = d8 < d64 ? d8 : d64;
        if (w64 > 0 && w64 < best) best = w64;
        printf("%-6s C %3d -> %3d %2dx%2d k%d: ours (%s) %8.1f | oneDNN direct B8 %8.1f, B64/8 %8.1f, "
               "winograd B64/8 %s%8.1f | ours / best oneDNN time %.2f\n",
               L->name, s.C, s.OC, s.H, s.W, s.K, nn_wino_tile(&s) ? "winograd" : "im2col",
               ours * 1e6, d8 * 1e6, d64 * 1e6, w64 > 0 ? "" : "(none)", w64 > 0 ? w64 * 1e6 : 0.0,
               ours / best);
        sum_ours += ours, sum_best += best;
    }
    printf("all layers: ours %.1f us, best oneDNN %.1f us: oneDNN / ours = %.2fx (ours faster above 1)\n",
           sum_ours * 1e6, sum_best * 1e6, sum_best / sum_ours);
    cvg_net_free(net);
    return 0;
}
