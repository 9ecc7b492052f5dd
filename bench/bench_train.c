/* Timing driver for bench/train_bench.py: training and inference images per second of one
 * architecture on the first N training images.
 *   bench_train ARCH BATCH THREADS N [DATA_DIR] [EPOCHS]
 * Prints one JSON line: {"train_img_s": ..., "infer_img_s": ..., "train_s": ..., ...}. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <omp.h>

#include "convergent.h"
#include "nn/layers.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: bench_train ARCH BATCH THREADS N [DATA_DIR] [EPOCHS]\n");
        return 2;
    }
    const char *arch = argv[1], *dir = argc > 5 && *argv[5] ? argv[5] : NULL;
    int batch = atoi(argv[2]), threads = atoi(argv[3]), epochs = argc > 6 ? atoi(argv[6]) : 1;
    long long n = atoll(argv[4]);
    omp_set_num_threads(threads);
    /* experiments: CVG_CONV_CHUNK=<floats> sets the im2col chunk size (docs/training.md) */
    if (getenv("CVG_CONV_CHUNK")) nn_conv_chunk_floats = atoll(getenv("CVG_CONV_CHUNK"));
    cvg_dataset ds;
    if (cvg_dataset_load(dir, "train", n, &ds) != CVG_OK) {
        fprintf(stderr, "%s\n", cvg_last_error());
        return 1;
    }
    cvg_train_options o;
    cvg_train_options_init(&o);
    o.epochs = epochs;
    o.batch = batch;
    o.threads = threads;
    cvg_net *net;
    double t0 = now();
    if (cvg_train(arch, &ds, NULL, &o, &net) != CVG_OK) {
        fprintf(stderr, "%s\n", cvg_last_error());
        return 1;
    }
    double train_s = now() - t0;
    /* inference in batches of the same size */
    t0 = now();
    int64_t per = (int64_t)ds.channels * ds.height * ds.width;
    for (long long i = 0; i < ds.count; i += batch) {
        long long b = ds.count - i < batch ? ds.count - i : batch;
        cvg_net_forward(net, ds.images + i * per, b);
    }
    double infer_s = now() - t0;
    double acc;
    cvg_net_evaluate(net, &ds, &acc, NULL);
    printf("{\"train_img_s\": %.2f, \"infer_img_s\": %.2f, \"train_s\": %.3f, \"infer_s\": %.3f, "
           "\"images\": %lld, \"epochs\": %d, \"train_accuracy\": %.4f}\n",
           (double)ds.count * epochs / train_s, (double)ds.count / infer_s, train_s, infer_s,
           (long long)ds.count, epochs, acc);
    cvg_net_free(net);
    cvg_dataset_free(&ds);
    return 0;
}
