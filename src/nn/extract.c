/* One layer's activations over a dataset to a float32 .npy file, streamed batch by batch: the
 * shape is known up front, so the header goes first and rows are appended. */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "nn/net_internal.h"

/* Images per forward pass while extracting. */
#define EXTRACT_BATCH 256

/* A version 1.0 header for '<f4', C order, padded so the data starts 64-byte aligned. */
static size_t npy_f32_header(unsigned char *head, size_t cap, int ndim, const int64_t *shape)
{
    char dict[256];
    int len = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < ndim; i++)
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%lld%s", (long long)shape[i],
                        ndim == 1 ? "," : (i + 1 < ndim ? ", " : ""));
    len += snprintf(dict + len, sizeof dict - (size_t)len, "), }");
    size_t header_len = (size_t)len + 1;
    header_len += (64 - (10 + header_len) % 64) % 64;
    if (10 + header_len > cap) return 0;
    memcpy(head, "\x93NUMPY\x01\x00", 8);
    head[8] = (unsigned char)(header_len & 0xff);
    head[9] = (unsigned char)(header_len >> 8);
    memset(head + 10, ' ', header_len);
    memcpy(head + 10, dict, (size_t)len);
    head[10 + header_len - 1] = '\n';
    return 10 + header_len;
}

cvg_status cvg_net_extract(cvg_net *net, const cvg_dataset *ds, const char *layer,
                           const char *path, cvg_progress_fn progress, void *progress_user)
{
    if (!net || !ds || !layer || !path || ds->count < 1)
        return cvg__fail(CVG_ERR_ARG, "cvg_net_extract: bad arguments");
    int li = cvg_net_layer_index(net, layer);
    if (li < 0) {
        char names[512] = "";
        size_t n = 0;
        for (int i = 0; i < net->nl && n < sizeof names - 40; i++)
            n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "", net->L[i].name);
        return cvg__fail(CVG_ERR_ARG, "no layer '%s' in the network (layers: %s)", layer, names);
    }
    if (ds->channels != net->in_c || ds->height != net->in_h || ds->width != net->in_w)
        return cvg__fail(CVG_ERR_SHAPE, "images are %dx%dx%d, the network takes %dx%dx%d",
                         ds->channels, ds->height, ds->width, net->in_c, net->in_h, net->in_w);
    const nn_layer *L = &net->L[li];
    int64_t shape[4] = {ds->count, L->width, L->oh, L->ow};
    int ndim = L->kind == NN_CONV ? 4 : 2;
    unsigned char head[512];
    size_t hl = npy_f32_header(head, sizeof head, ndim, shape);
    const int64_t row = L->act_size, per = (int64_t)ds->channels * ds->height * ds->width;
    const int B = EXTRACT_BATCH;
    cvg_status st = nn_net_reserve(net, B);
    if (st != CVG_OK) return st;
    float *buf = cvg__malloc((size_t)(B * row) * sizeof *buf, "an activation batch");
    if (!buf) return CVG_ERR_NOMEM;
    cvg__atomic_file af;
    if ((st = cvg__atomic_open(&af, path)) != CVG_OK) {
        free(buf);
        return st;
    }
    fwrite(head, 1, hl, af.fp);
    for (int64_t i = 0; i < ds->count; i += B) {
        int b = ds->count - i < B ? (int)(ds->count - i) : B;
        nn_net_forward(net, ds->images + i * per, b, 0, 0);
        cvg_net_activation(net, li, buf);
        /* float32 little-endian; the library targets little-endian hosts for .npy output */
        if (fwrite(buf, sizeof *buf, (size_t)(b * row), af.fp) != (size_t)(b * row)) break;
        if (progress && progress(layer, (uint64_t)(i + b), (uint64_t)ds->count, progress_user)) {
            free(buf);
            cvg__atomic_abort(&af);
            return cvg__fail(CVG_ERR_CANCELLED, "extraction cancelled");
        }
    }
    free(buf);
    return cvg__atomic_commit(&af);
}
