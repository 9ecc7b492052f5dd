/* The network object shared by the parser, the passes, training, checkpoints and extraction. */
#ifndef CVG_NN_NET_INTERNAL_H
#define CVG_NN_NET_INTERNAL_H

#include <stdint.h>

#include "convergent.h"
#include "nn/layers.h"

/* The leading convolution layers (every op of theirs acts on each image alone) process the
 * batch in slabs of this many images: one parallel region per pass hands out whole slabs, each
 * slab goes through every such layer on one thread (its activations stay in that core's cache),
 * and the weight gradients are summed over slabs in slab order. The slabs depend only on the
 * batch size, so results do not depend on the thread count. */
#define NN_SLAB 8

typedef enum nn_kind { NN_CONV, NN_FC } nn_kind;

/* One named layer: a convolution or fully connected product, then (in this order, as Caffe's
 * AlexNet) ReLU, dropout, max pooling, LRN. Shapes are per image; buffers hold a batch of up to
 * net->cap images in CNHW (see layers.h). */
typedef struct nn_layer {
    char name[32];
    nn_kind kind;
    int width;                  /* output channels (conv) or units (fc) */
    int K, S, P;                /* conv kernel, stride, padding */
    int relu;                   /* every layer but the last */
    float drop;                 /* dropout probability, 0: none */
    int pool, pool_k, pool_s, pool_p;
    int lrn;
    nn_lrn_param lrn_p;

    int in_c, in_h, in_w;       /* input per image (fc: in_c = F, in_h = in_w = 1 ...) */
    int fc_spatial;             /* fc whose input is a spatial (C, H, W) map: needs a permute */
    int oh, ow;                 /* conv output size (fc: 1, 1) */
    int ph, pw;                 /* after pooling (= oh, ow without pooling) */
    int64_t act_size, out_size; /* per image: width*oh*ow, width*ph*pw */

    float *w, *b, *gw, *gb;     /* into the net's parameter and gradient blocks */
    int64_t nw, nb;

    /* batch buffers */
    float *col, *dcol;          /* conv after an fc layer (whole-batch path): (C*K*K, B*OH*OW) */
    float *fcin, *dfcin;        /* fc_spatial: input as (F, B) */
    float *act, *d_act;         /* (width, B, oh, ow) after ReLU (and dropout) */
    float *mask;                /* dropout */
    float *pooled, *d_pooled;   /* (width, B, ph, pw) */
    int32_t *arg;
    float *normed, *scale, *d_normed;
    float *out, *dout;          /* the layer's result and its gradient (aliases of the above) */
    float *part;                /* leading conv layers: per slab weight and bias gradients,
                                 * (slabs, nw + nb) */
    float *dscr;                /* leading conv layers: per thread (or slab) two rooms of one
                                 * chunk's col block: dcol (all zeros between uses), then
                                 * im2col's */
    int wino;                   /* leading conv layer computed by Winograd F(wino x wino, 3x3)
                                 * (winograd.c), 0: im2col; fixed when the buffers are made */
    float *wu, *wut;            /* its transformed weights (a*a, OC, C) and (a*a, C, OC) */
    float *wscr;                /* its rooms, one per thread (or slab) as dscr */
} nn_layer;

struct cvg_net {
    char *arch;                 /* canonical description */
    int in_c, in_h, in_w;
    int nl;
    nn_layer *L;
    int64_t nparams;
    float *params, *grads;      /* nparams each; layer order, weight then bias */
    int cap;                    /* batch capacity of the buffers */
    int batch;                  /* images in the buffers after the last pass */
    float *x0;                  /* input batch, (C, B, H, W) */
    void *buf_block;            /* every batch buffer */
};

/* Parse a description (or preset name) into layers; shapes are not yet computed. */
cvg_status nn_arch_parse(const char *text, nn_layer **layers, int *count);
/* The canonical text of parsed layers (malloc'd). */
char *nn_arch_format(const nn_layer *layers, int count);

/* Create without initializing the weights (zeros): for loading. A description with more than
 * max_params parameters is refused (CVG_ERR_SHAPE) before anything is allocated: a checkpoint
 * passes what its file can hold, so a corrupt one cannot ask for gigabytes. */
cvg_status nn_net_create(const char *arch, int c, int h, int w, int64_t max_params, cvg_net **out);
/* Weights ~ He normal from seed, biases 0. */
void nn_net_init(cvg_net *net, uint64_t seed);
/* Make room for batches of B images. */
cvg_status nn_net_reserve(cvg_net *net, int B);
/* Forward B images (n x C*H*W, NCHW). train: dropout on with masks drawn from key. */
void nn_net_forward(cvg_net *net, const float *images, int B, int train, uint64_t key);
/* Backward from the gradient of the loss w.r.t. the logits, already in the last layer's dout;
 * fills net->grads. train must match the forward pass. */
void nn_net_backward(cvg_net *net, int train);

/* Checkpoints (safetensors). momentum: nparams floats or NULL; meta: extra "__metadata__"
 * string pairs (key, value, key, value, ..., NULL) or NULL. */
cvg_status nn_checkpoint_save(const cvg_net *net, const float *momentum, const char *const *meta,
                              const char *path);
/* Read: the network, and (if momentum_out) the momentum block (NULL if the file has none), and
 * (if meta_json) the "__metadata__" object as a cJSON tree (caller deletes). */
struct cJSON;
cvg_status nn_checkpoint_load(const char *path, cvg_net **out, float **momentum_out,
                              struct cJSON **meta_json);

#endif
