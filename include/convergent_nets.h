/*
 * convergent networks: IDX datasets, the AlexNet-derived network engine, training with
 * checkpoints, and activation taps that feed the statistics pass directly.
 * Part of the public API of libconvergent; the conventions are in convergent_core.h.
 */
#ifndef CONVERGENT_NETS_H
#define CONVERGENT_NETS_H

#include "convergent_core.h"
#include "convergent_analysis.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- networks: data, layers, training, activations (paper section 2) */

/* Where Debian's dataset-fashion-mnist package puts Fashion-MNIST. */
#define CVG_DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"

/* Read one IDX file (gzip'd or plain, detected from its first bytes) of unsigned bytes
 * (type code 0x08): dims[0..ndim-1] from the header, *data (prod(dims) bytes),
 * the caller's (cvg_free). Errors name the file: bad magic, unsupported type, truncated data,
 * trailing bytes, corrupt gzip stream. */
CVG_API cvg_status cvg_idx_load(const char *path, int *ndim, int64_t dims[CVG_NPY_MAX_DIMS],
                                uint8_t **data);

/* A labelled image set. images: count x (channels*height*width) float32, pixel / 255, NCHW. */
typedef struct cvg_dataset {
    int64_t count;
    int channels, height, width;
    int classes;        /* 1 + the largest label */
    float *images;
    uint8_t *labels;    /* count */
} cvg_dataset;

/* Load split "train" (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz]) or "test"
 * (t10k-...) from dir (NULL: CVG_DEFAULT_DATA_DIR), the layout of MNIST, Fashion-MNIST and
 * EMNIST. limit > 0 keeps only the first limit images. A missing default directory gives an
 * error naming the Debian package to install. */
CVG_API cvg_status cvg_dataset_load(const char *dir, const char *split, int64_t limit, cvg_dataset *out);
CVG_API void cvg_dataset_free(cvg_dataset *ds);

/* A convolutional network: conv and fully connected layers, each followed by ReLU (except the
 * last), optionally max pooling, local response normalization and dropout. Described by text,
 *   "conv1:32k5p2,pool,lrn;conv2:64k5p2,pool,lrn;...;fc8:10"
 * (grammar and defaults in docs/training.md) or a preset name (see cvg_net_preset). */
typedef struct cvg_net cvg_net;

/* The description of a preset ("default", "wide", "tiny"), or NULL if there is no such name. */
CVG_API const char *cvg_net_preset(const char *name);

/* A network for inputs of channels x height x width, weights drawn from seed (He-normal
 * weights, zero biases). arch: description or preset name. The last layer's width is the
 * number of classes. */
CVG_API cvg_status cvg_net_create(const char *arch, int channels, int height, int width, uint64_t seed,
                                  cvg_net **out);
CVG_API void cvg_net_free(cvg_net *net);
/* The canonical description (every default spelled out). Owned by net. */
CVG_API const char *cvg_net_arch(const cvg_net *net);
/* Named layers (conv1 .. fc8): count, name, index of a name (-1 if none), and the shape of one
 * image's activation (C, H, W; H = W = 1 for fully connected layers). */
CVG_API int cvg_net_layers(const cvg_net *net);
CVG_API const char *cvg_net_layer_name(const cvg_net *net, int layer);
CVG_API int cvg_net_layer_index(const cvg_net *net, const char *name);
CVG_API void cvg_net_layer_shape(const cvg_net *net, int layer, int64_t shape[3]);
CVG_API int64_t cvg_net_param_count(const cvg_net *net);

/* Inference on n images (n x C*H*W float32); afterwards cvg_net_activation copies a layer's
 * activations (after its ReLU, before pooling, as Caffe's in-place ReLU leaves them; the last
 * layer gives logits) as (n, C, H, W) into dst. The buffers grow to n images (memory: a
 * batch of n through every layer; use batches of a few hundred). */
CVG_API cvg_status cvg_net_forward(cvg_net *net, const float *images, int64_t n);
CVG_API cvg_status cvg_net_activation(const cvg_net *net, int layer, float *dst);

/* Accuracy (fraction correct) and mean cross-entropy of net on ds (either may be NULL). */
CVG_API cvg_status cvg_net_evaluate(cvg_net *net, const cvg_dataset *ds, double *accuracy, double *loss);

/* Write the weights as safetensors (names "conv1.weight", "conv1.bias", ...; weights OIHW /
 * (out, in) as PyTorch). Atomic. Metadata: the description. */
CVG_API cvg_status cvg_net_save(const cvg_net *net, const char *path);
/* Read a checkpoint written by cvg_net_save or cvg_train (the optimizer state is ignored). */
CVG_API cvg_status cvg_net_load(const char *path, cvg_net **out);

/* One finished epoch of training. */
typedef struct cvg_epoch_report {
    int epoch;              /* 1-based */
    int epochs;
    double train_loss;      /* mean over the epoch's batches */
    double test_accuracy;   /* on the test set given to cvg_train (-1 if none) */
    double lr;              /* learning rate of the epoch's last batch */
    double seconds;         /* wall time of the epoch (training + testing) */
} cvg_epoch_report;

typedef int (*cvg_epoch_fn)(const cvg_epoch_report *report, void *user);

typedef enum cvg_lr_schedule {
    CVG_LR_STEP = 0,  /* lr * gamma^floor(epoch / step_epochs) */
    CVG_LR_COSINE,    /* lr * (1 + cos(pi * t)) / 2, t = fraction of all batches done */
    CVG_LR_CONSTANT
} cvg_lr_schedule;

typedef struct cvg_train_options {
    int epochs;                 /* default 8 */
    int batch;                  /* default 64 */
    double lr;                  /* base learning rate, default 0.02 */
    cvg_lr_schedule schedule;   /* default CVG_LR_COSINE */
    double lr_gamma;            /* step schedule factor, default 0.1 */
    int lr_step_epochs;         /* step schedule period, default 2 */
    double momentum;            /* default 0.9 */
    double weight_decay;        /* L2 on weights, not biases; default 5e-4 */
    uint64_t seed;              /* initialization and dropout; default 1 */
    uint64_t data_seed;         /* order of the training images; default 1 */
    int threads;                /* 0: the OpenMP default */
    const char *checkpoint;     /* safetensors written atomically after every epoch, or NULL */
    const char *history;        /* JSON written atomically after every epoch, or NULL */
    int resume;                 /* continue from checkpoint if it exists (same settings) */
    cvg_epoch_fn on_epoch;      /* after each epoch (may be NULL); nonzero: stop */
    void *epoch_user;
    cvg_progress_fn progress;   /* batches of the current epoch */
    void *progress_user;
} cvg_train_options;

CVG_API void cvg_train_options_init(cvg_train_options *opt);

/* Train a network of description arch (or preset) on train with SGD + momentum, testing on test
 * (may be NULL) after each epoch. With opt->resume and an existing checkpoint, the run continues
 * after the checkpoint's epoch and ends with exactly the weights of an uninterrupted run.
 * *out (may be NULL) receives the trained network. */
CVG_API cvg_status cvg_train(const char *arch, const cvg_dataset *train, const cvg_dataset *test,
                             const cvg_train_options *opt, cvg_net **out);

/* The receptive field of position (y, x) of a layer's activation map: box = {y0, x0, y1, x1},
 * inclusive input pixels, clipped to the image (a fully connected layer: the whole image). */
CVG_API void cvg_net_receptive_field(const cvg_net *net, int layer, int y, int x, int box[4]);

/* Activation taps: run the K networks (same architecture) over the first `limit` images of a
 * dataset and accumulate every named layer into one statistics object, in network order
 * (*out: nlayers of them, free each with cvg_stats_free and the array with free()). Each keeps
 * per unit the CVG_TOP_K (image, position) pairs of highest activation (saved as top9*.npy). */
typedef struct cvg_taps_options {
    cvg_stats_options stats; /* reservoir, seed, kernel (layout and chunking do not apply) */
    int64_t limit;           /* images to use; 0: all */
    int64_t first_image;     /* start at this image of those (a part of the images, e.g. an MPI
                                rank's): rows and top-9 entries keep their place among all
                                images, so the parts' statistics merge into the whole run's */
    int batch;               /* images per forward pass; default 100 */
    cvg_progress_fn progress; /* task "measure", images done / images */
    void *progress_user;
} cvg_taps_options;
CVG_API void cvg_taps_options_init(cvg_taps_options *opt);
CVG_API cvg_status cvg_taps_run(cvg_net *const *nets, int K, const cvg_dataset *ds,
                               const cvg_taps_options *opt, cvg_stats ***out, int *nlayers);

/* Run net over ds and write one layer's activations to path as float32 .npy, (N, C, H, W) for
 * convolutional layers and (N, S) for fully connected ones, streamed in batches. Atomic. */
CVG_API cvg_status cvg_net_extract(cvg_net *net, const cvg_dataset *ds, const char *layer,
                                   const char *path, cvg_progress_fn progress, void *progress_user);

#ifdef __cplusplus
}
#endif
#endif /* CONVERGENT_NETS_H */
