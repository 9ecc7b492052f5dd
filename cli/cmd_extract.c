/* convergent extract: one layer's activations over a dataset split, to .npy. */
#include <stdio.h>
#include <stdlib.h>

#include <omp.h>

#include "cli.h"

static const char extract_description[] =
    "Runs the network over a split of the dataset and writes one layer's activations as\n"
    "float32 .npy: (N, C, H, W) for convolutional layers, (N, S) for fully connected\n"
    "ones. Values are taken after the layer's ReLU, before pooling (as Caffe's in-place\n"
    "ReLU leaves them); the last layer gives the logits. Streamed in batches of 256.";

static const char *const splits[] = {"train", "test", NULL};

int cmd_extract(int argc, char **argv)
{
    const char *net_path = NULL, *layer = NULL, *out = NULL, *data = NULL;
    int64_t limit = 0;
    int split = 1, threads = 0, quiet = 0, npos;
    const cli_option rows[] = {
        {.name = "layer", .type = CLI_STRING, .dest = &layer, .metavar = "L",
         .help = "layer name, e.g. conv2 or fc6 (required)"},
        {.name = "out", .short_name = 'o', .type = CLI_STRING, .dest = &out, .metavar = "PATH",
         .help = "output .npy (required)"},
        {.name = "split", .type = CLI_CHOICE, .dest = &split, .choices = splits, .metavar = "S",
         .help = "the dataset split"},
        {.name = "data", .type = CLI_STRING, .dest = &data, .metavar = "DIR", .help = "IDX dataset directory",
         .default_text = CVG_DEFAULT_DATA_DIR},
        {.name = "limit", .type = CLI_INT64, .dest = &limit, .min = 1, .max = CLI_NO_MAX, .metavar = "N",
         .help = "only the first N images of the split", .default_text = "all"},
        {.name = "threads", .type = CLI_INT, .dest = &threads, .min = 0, .max = CVG_MAX_THREADS, .metavar = "T",
         .help = "OpenMP/BLAS threads, 0: OMP_NUM_THREADS or all cores"},
        {.name = "quiet", .short_name = 'q', .type = CLI_FLAG, .dest = &quiet, .help = "no progress bar"},
    };
    const cli_spec spec = {"extract", "NET.safetensors --layer L -o L.npy [options]", extract_description,
                           "network", 1, rows, CLI_COUNT(rows)};
    int rc = cli_parse(&spec, argc, argv, &net_path, &npos);
    if (rc == CLI_HELP_SHOWN) return 0;
    if (rc == 0 && !net_path) rc = cli_usage_error("extract", "missing NET.safetensors");
    if (rc == 0 && !layer) rc = cli_usage_error("extract", "missing --layer L");
    if (rc == 0 && !out) rc = cli_usage_error("extract", "missing -o PATH");
    if (rc != 0) return rc;
    cli_install_log(quiet);
    if (threads > 0) omp_set_num_threads(threads);
    cvg_net *net;
    cvg_status st = cvg_net_load(net_path, &net);
    if (st != CVG_OK) return cli_fail(st);
    cvg_dataset ds;
    if ((st = cvg_dataset_load(data, splits[split], limit, &ds)) != CVG_OK) {
        cvg_net_free(net);
        return cli_fail(st);
    }
    st = cvg_net_extract(net, &ds, layer, out, quiet ? NULL : cli_progress, NULL);
    cli_progress_end();
    if (st == CVG_OK && !quiet) {
        int64_t shape[3];
        cvg_net_layer_shape(net, cvg_net_layer_index(net, layer), shape);
        printf("wrote %s: %s activations of %lld %s images, %lld x %lld x %lld each\n", out,
               layer, (long long)ds.count, splits[split], (long long)shape[0], (long long)shape[1],
               (long long)shape[2]);
    }
    cvg_net_free(net);
    cvg_dataset_free(&ds);
    return st == CVG_OK ? 0 : cli_fail(st);
}
