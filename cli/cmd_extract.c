/* convergent extract: one layer's activations over a dataset split, to .npy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "cli.h"

static void help(void)
{
    printf("usage: convergent extract NET.safetensors --layer L -o L.npy [options]\n\n"
           "Runs the network over a split of the dataset and writes one layer's activations as\n"
           "float32 .npy: (N, C, H, W) for convolutional layers, (N, S) for fully connected\n"
           "ones. Values are taken after the layer's ReLU, before pooling (as Caffe's in-place\n"
           "ReLU leaves them); the last layer gives the logits. Streamed in batches of 256.\n\n"
           "options:\n"
           "  --layer L          layer name, e.g. conv2 or fc6 (required)\n"
           "  -o, --out PATH     output .npy (required)\n"
           "  --split S          train or test (default test)\n"
           "  --data DIR         IDX dataset directory (default %s)\n"
           "  --limit N          only the first N images of the split (default: all)\n"
           "  --threads T        OpenMP/BLAS threads (default: OMP_NUM_THREADS or all cores)\n"
           "  -q, --quiet        no progress bar\n", CVG_DEFAULT_DATA_DIR);
}

int cmd_extract(int argc, char **argv)
{
    const char *net_path = NULL, *layer = NULL, *out = NULL, *split = "test", *data = NULL, *v;
    int64_t limit = 0, threads = 0;
    int quiet = 0, rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            help();
            return 0;
        } else if (strcmp(a, "--layer") == 0) {
            rc = !(layer = cli_option_value("extract", argc, argv, &i)) ? 2 : 0;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--out") == 0) {
            rc = !(out = cli_option_value("extract", argc, argv, &i)) ? 2 : 0;
        } else if (strcmp(a, "--split") == 0) {
            if (!(split = cli_option_value("extract", argc, argv, &i))) rc = 2;
            else if (strcmp(split, "train") != 0 && strcmp(split, "test") != 0)
                rc = cli_usage_error("extract", "--split expects train or test, got '%s'", split);
        } else if (strcmp(a, "--data") == 0) {
            rc = !(data = cli_option_value("extract", argc, argv, &i)) ? 2 : 0;
        } else if (strcmp(a, "--limit") == 0) {
            rc = !(v = cli_option_value("extract", argc, argv, &i)) ? 2
                 : cli_parse_int64("extract", a, v, 1, &limit);
        } else if (strcmp(a, "--threads") == 0) {
            rc = !(v = cli_option_value("extract", argc, argv, &i)) ? 2
                 : cli_parse_int64("extract", a, v, 1, &threads);
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else {
            rc = cli_single_argument("extract", a, &net_path, "network");
        }
    }
    if (rc == 0 && !net_path) rc = cli_usage_error("extract", "missing NET.safetensors");
    if (rc == 0 && !layer) rc = cli_usage_error("extract", "missing --layer L");
    if (rc == 0 && !out) rc = cli_usage_error("extract", "missing -o PATH");
    if (rc != 0) return rc;
    cli_install_log(quiet);
    if (threads > 0) omp_set_num_threads((int)threads);
    cvg_net *net;
    cvg_status st = cvg_net_load(net_path, &net);
    if (st != CVG_OK) return cli_fail(st);
    cvg_dataset ds;
    if ((st = cvg_dataset_load(data, split, limit, &ds)) != CVG_OK) {
        cvg_net_free(net);
        return cli_fail(st);
    }
    st = cvg_net_extract(net, &ds, layer, out, quiet ? NULL : cli_progress, NULL);
    cli_progress_end();
    if (st == CVG_OK && !quiet) {
        int64_t shape[3];
        cvg_net_layer_shape(net, cvg_net_layer_index(net, layer), shape);
        printf("wrote %s: %s activations of %lld %s images, %lld x %lld x %lld each\n", out,
               layer, (long long)ds.count, split, (long long)shape[0], (long long)shape[1],
               (long long)shape[2]);
    }
    cvg_net_free(net);
    cvg_dataset_free(&ds);
    return st == CVG_OK ? 0 : cli_fail(st);
}
