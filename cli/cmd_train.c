/* convergent train: train one network of the paper's structure on an IDX image dataset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void help(const cvg_train_options *d)
{
    printf("usage: convergent train -o NET.safetensors [options]\n\n"
           "Trains one network (paper section 2: conv1..conv5, fc6..fc8, ReLU, max pooling, LRN\n"
           "after pooling, dropout on fc6 and fc7) with SGD + momentum on Fashion-MNIST (or any\n"
           "dataset in the same IDX layout). After every epoch it writes, atomically, the\n"
           "checkpoint NET.safetensors (weights, momentum, settings) and NET.json (architecture,\n"
           "settings and per epoch the training loss, test accuracy and seconds). Networks that\n"
           "differ only in --seed differ only in their initialization and dropout masks, as in\n"
           "the paper.\n\n"
           "options:\n"
           "  -o, --out NET          checkpoint to write (required)\n"
           "  --arch A               architecture description or preset (default: default)\n"
           "                         presets: default, wide, tiny; default is\n"
           "                         %s\n"
           "  --epochs E             epochs (default %d)\n"
           "  --seed S               initialization and dropout seed (default %llu)\n"
           "  --data-seed D          order of the training images (default %llu, the same for\n"
           "                         every network)\n"
           "  --batch B              images per batch (default %d)\n"
           "  --lr X                 base learning rate (default %g)\n"
           "  --schedule S           cosine (per batch, to 0 at the end), step (lr * gamma every\n"
           "                         --lr-step epochs) or constant (default cosine)\n"
           "  --lr-gamma G           step schedule factor (default %g)\n"
           "  --lr-step N            step schedule period in epochs (default %d)\n"
           "  --momentum M           (default %g)\n"
           "  --weight-decay W       L2 on weights, not biases (default %g)\n"
           "  --threads T            OpenMP/BLAS threads (default: OMP_NUM_THREADS or all cores)\n"
           "  --data DIR             IDX dataset directory (default %s)\n"
           "  --train-limit N        use only the first N training images (default: all)\n"
           "  --test-limit N         test on only the first N test images (default: all)\n"
           "  --resume               continue from NET.safetensors if it exists (same settings);\n"
           "                         ends with exactly the weights of an uninterrupted run\n"
           "  --history PATH         the JSON history (default: NET with .json for .safetensors)\n"
           "  -q, --quiet            no progress or per-epoch lines\n",
           cvg_net_preset("default"), d->epochs, (unsigned long long)d->seed,
           (unsigned long long)d->data_seed, d->batch, d->lr, d->lr_gamma, d->lr_step_epochs,
           d->momentum, d->weight_decay, CVG_DEFAULT_DATA_DIR);
}

static int print_epoch(const cvg_epoch_report *r, void *user)
{
    if (*(int *)user) return 0;
    cli_progress_end();
    if (r->test_accuracy >= 0)
        printf("epoch %d/%d: training loss %.4f, test accuracy %.2f%%, lr %.3g, %.1f s\n", r->epoch,
               r->epochs, r->train_loss, 100 * r->test_accuracy, r->lr, r->seconds);
    else
        printf("epoch %d/%d: training loss %.4f, lr %.3g, %.1f s\n", r->epoch, r->epochs,
               r->train_loss, r->lr, r->seconds);
    fflush(stdout);
    return 0;
}

/* NET.safetensors -> NET.json; anything else -> NAME.json */
static char *history_path(const char *out)
{
    size_t n = strlen(out);
    const char *ext = ".safetensors";
    size_t e = strlen(ext);
    char *p = malloc(n + 8);
    if (!p) return NULL;
    if (n > e && strcmp(out + n - e, ext) == 0) {
        memcpy(p, out, n - e);
        strcpy(p + n - e, ".json");
    } else {
        sprintf(p, "%s.json", out);
    }
    return p;
}

int cmd_train(int argc, char **argv)
{
    cvg_train_options o;
    cvg_train_options_init(&o);
    const char *arch = "default", *out = NULL, *data = NULL, *history = NULL, *v;
    int64_t iv, train_limit = 0, test_limit = 0;
    uint64_t uv;
    int quiet = 0, rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
#define VALUE() (v = cli_option_value("train", argc, argv, &i))
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            help(&o);
            return 0;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--out") == 0) {
            rc = !(out = cli_option_value("train", argc, argv, &i)) ? 2 : 0;
        } else if (strcmp(a, "--arch") == 0) {
            rc = !(arch = cli_option_value("train", argc, argv, &i)) ? 2 : 0;
        } else if (strcmp(a, "--data") == 0) {
            rc = !(data = cli_option_value("train", argc, argv, &i)) ? 2 : 0;
        } else if (strcmp(a, "--history") == 0) {
            rc = !(history = cli_option_value("train", argc, argv, &i)) ? 2 : 0;
        } else if (strcmp(a, "--epochs") == 0) {
            rc = !VALUE() ? 2 : cli_parse_int64("train", a, v, 1, &iv);
            if (!rc) o.epochs = iv > 100000 ? 100000 : (int)iv;
        } else if (strcmp(a, "--batch") == 0) {
            rc = !VALUE() ? 2 : cli_parse_int64("train", a, v, 1, &iv);
            if (!rc) o.batch = iv > 65536 ? 65536 : (int)iv;
        } else if (strcmp(a, "--lr-step") == 0) {
            rc = !VALUE() ? 2 : cli_parse_int64("train", a, v, 1, &iv);
            if (!rc) o.lr_step_epochs = iv > 100000 ? 100000 : (int)iv;
        } else if (strcmp(a, "--threads") == 0) {
            rc = !VALUE() ? 2 : cli_parse_int64("train", a, v, 1, &iv);
            if (!rc) o.threads = iv > 1024 ? 1024 : (int)iv;
        } else if (strcmp(a, "--train-limit") == 0) {
            rc = !VALUE() ? 2 : cli_parse_int64("train", a, v, 1, &train_limit);
        } else if (strcmp(a, "--test-limit") == 0) {
            rc = !VALUE() ? 2 : cli_parse_int64("train", a, v, 1, &test_limit);
        } else if (strcmp(a, "--seed") == 0) {
            rc = !VALUE() ? 2 : cli_parse_uint64("train", a, v, UINT64_MAX, &uv);
            if (!rc) o.seed = uv;
        } else if (strcmp(a, "--data-seed") == 0) {
            rc = !VALUE() ? 2 : cli_parse_uint64("train", a, v, UINT64_MAX, &uv);
            if (!rc) o.data_seed = uv;
        } else if (strcmp(a, "--lr") == 0) {
            rc = !VALUE() ? 2 : cli_parse_double("train", a, v, &o.lr);
            if (!rc && !(o.lr > 0)) rc = cli_usage_error("train", "--lr must be positive");
        } else if (strcmp(a, "--lr-gamma") == 0) {
            rc = !VALUE() ? 2 : cli_parse_double("train", a, v, &o.lr_gamma);
        } else if (strcmp(a, "--momentum") == 0) {
            rc = !VALUE() ? 2 : cli_parse_double("train", a, v, &o.momentum);
            if (!rc && !(o.momentum >= 0 && o.momentum < 1))
                rc = cli_usage_error("train", "--momentum must be in [0, 1)");
        } else if (strcmp(a, "--weight-decay") == 0) {
            rc = !VALUE() ? 2 : cli_parse_double("train", a, v, &o.weight_decay);
            if (!rc && !(o.weight_decay >= 0)) rc = cli_usage_error("train", "--weight-decay must be >= 0");
        } else if (strcmp(a, "--schedule") == 0) {
            if (!VALUE()) rc = 2;
            else if (strcmp(v, "cosine") == 0) o.schedule = CVG_LR_COSINE;
            else if (strcmp(v, "step") == 0) o.schedule = CVG_LR_STEP;
            else if (strcmp(v, "constant") == 0) o.schedule = CVG_LR_CONSTANT;
            else rc = cli_usage_error("train", "--schedule expects cosine, step or constant, got '%s'", v);
        } else if (strcmp(a, "--resume") == 0) {
            o.resume = 1;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else {
            rc = cli_usage_error("train", "unknown argument '%s'", a);
        }
#undef VALUE
    }
    if (rc == 0 && !out) rc = cli_usage_error("train", "missing -o NET.safetensors");
    if (rc != 0) return rc;
    cli_install_log(quiet);

    cvg_dataset train, test;
    cvg_status st = cvg_dataset_load(data, "train", train_limit, &train);
    if (st != CVG_OK) return cli_fail(st);
    if ((st = cvg_dataset_load(data, "test", test_limit, &test)) != CVG_OK) {
        cvg_dataset_free(&train);
        return cli_fail(st);
    }
    char *hist = history ? NULL : history_path(out);
    o.checkpoint = out;
    o.history = history ? history : hist;
    o.on_epoch = print_epoch;
    o.epoch_user = &quiet;
    if (!quiet) {
        o.progress = cli_progress;
        const char *pre = cvg_net_preset(arch);
        printf("training %s on %lld images (%dx%dx%d, %d classes), testing on %lld\n",
               pre ? pre : arch, (long long)train.count, train.channels, train.height,
               train.width, train.classes, (long long)test.count);
        fflush(stdout);
    }
    cvg_net *net = NULL;
    st = cvg_train(arch, &train, &test, &o, &net);
    cli_progress_end();
    if (st == CVG_OK) {
        double acc;
        st = cvg_net_evaluate(net, &test, &acc, NULL);
        if (st == CVG_OK)
            printf("test accuracy: %.2f%% (%lld images); wrote %s and %s\n", 100 * acc,
                   (long long)test.count, out, o.history);
    }
    cvg_net_free(net);
    free(hist);
    cvg_dataset_free(&train);
    cvg_dataset_free(&test);
    return st == CVG_OK ? 0 : cli_fail(st);
}
