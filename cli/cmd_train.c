/* convergent train: train one network of the paper's structure on an IDX image dataset. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char train_description[] =
    "Trains one network (paper section 2: conv1..conv5, fc6..fc8, ReLU, max pooling, LRN\n"
    "after pooling, dropout on fc6 and fc7) with SGD + momentum on Fashion-MNIST (or any\n"
    "dataset in the same IDX layout). After every epoch it writes, atomically, the\n"
    "checkpoint NET.safetensors (weights, momentum, settings) and NET.json (architecture,\n"
    "settings and per epoch the training loss, test accuracy and seconds). Networks that\n"
    "differ only in --seed differ only in their initialization and dropout masks, as in\n"
    "the paper.\n\n"
    "--arch takes an architecture description or a preset: default, wide, tiny,\n"
    "paper (AlexNet's widths; see docs/training.md).\n"
    "--schedule: cosine (per batch, to 0 at the end), step (lr * gamma every --lr-step\n"
    "epochs) or constant. --resume continues from NET.safetensors if it exists (same\n"
    "settings) and ends with exactly the weights of an uninterrupted run.";

/* The schedules by name, in the order of cvg_lr_schedule. */
static const char *const schedules[] = {"step", "cosine", "constant", NULL};

/* "LABEL: " before a line of a job that runs beside others, else nothing */
static void print_label(const cli_train_job *job)
{
    if (job->label) printf("%s: ", job->label);
}

static int print_epoch(const cvg_epoch_report *r, void *user)
{
    const cli_train_job *job = user;
    if (job->quiet) return 0;
    cli_progress_end();
    print_label(job);
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

void cli_train_job_init(cli_train_job *job)
{
    memset(job, 0, sizeof *job);
    cvg_train_options_init(&job->opt);
    job->arch = "default";
}

int cmd_train(int argc, char **argv)
{
    cli_train_job job;
    cli_train_job_init(&job);
    cvg_train_options *o = &job.opt;
    int schedule = (int)o->schedule, npos;
    const char *extra = NULL;
    /* Counts are bounded well above any use so that they stay ints and a typo is caught. */
    const cli_option rows[] = {
        {.name = "out", .short_name = 'o', .type = CLI_STRING, .dest = &job.out, .metavar = "NET",
         .help = "checkpoint to write (required)"},
        {.name = "arch", .type = CLI_STRING, .dest = &job.arch, .metavar = "A", .help = "architecture"},
        {.name = "epochs", .type = CLI_INT, .dest = &o->epochs, .min = 1, .max = 100000, .metavar = "E",
         .help = "epochs"},
        {.name = "seed", .type = CLI_UINT64, .dest = &o->seed, .max = CLI_NO_MAX, .metavar = "S",
         .help = "initialization and dropout seed"},
        {.name = "data-seed", .type = CLI_UINT64, .dest = &o->data_seed, .max = CLI_NO_MAX, .metavar = "D",
         .help = "order of the training images, the same for every network"},
        {.name = "batch", .type = CLI_INT, .dest = &o->batch, .min = 1, .max = 65536, .metavar = "B",
         .help = "images per batch"},
        {.name = "lr", .type = CLI_DOUBLE, .dest = &o->lr, .min = 0, .min_open = 1, .max = HUGE_VAL,
         .metavar = "X", .help = "base learning rate"},
        {.name = "schedule", .type = CLI_CHOICE, .dest = &schedule, .choices = schedules, .metavar = "S",
         .help = "learning-rate schedule"},
        {.name = "lr-gamma", .type = CLI_DOUBLE, .dest = &o->lr_gamma, .min = 0, .max = HUGE_VAL,
         .metavar = "G", .help = "step schedule factor"},
        {.name = "lr-step", .type = CLI_INT, .dest = &o->lr_step_epochs, .min = 1, .max = 100000,
         .metavar = "N", .help = "step schedule period in epochs"},
        {.name = "momentum", .type = CLI_DOUBLE, .dest = &o->momentum, .min = 0, .max = 1, .max_open = 1,
         .metavar = "M", .help = "SGD momentum"},
        {.name = "weight-decay", .type = CLI_DOUBLE, .dest = &o->weight_decay, .min = 0, .max = HUGE_VAL,
         .metavar = "W", .help = "L2 on weights, not biases"},
        {.name = "threads", .type = CLI_INT, .dest = &o->threads, .min = 0, .max = CVG_MAX_THREADS, .metavar = "T",
         .help = "OpenMP/BLAS threads, 0: OMP_NUM_THREADS or all cores"},
        {.name = "data", .type = CLI_STRING, .dest = &job.data, .metavar = "DIR",
         .help = "IDX dataset directory", .default_text = CVG_DEFAULT_DATA_DIR},
        {.name = "train-limit", .type = CLI_INT64, .dest = &job.train_limit, .min = 1, .max = CLI_NO_MAX,
         .metavar = "N", .help = "use only the first N training images", .default_text = "all"},
        {.name = "test-limit", .type = CLI_INT64, .dest = &job.test_limit, .min = 1, .max = CLI_NO_MAX,
         .metavar = "N", .help = "test on only the first N test images", .default_text = "all"},
        {.name = "resume", .type = CLI_FLAG, .dest = &o->resume, .help = "continue from NET if it exists"},
        {.name = "history", .type = CLI_STRING, .dest = &job.history, .metavar = "PATH",
         .help = "the JSON history", .default_text = "NET with .json for .safetensors"},
        {.name = "quiet", .short_name = 'q', .type = CLI_FLAG, .dest = &job.quiet,
         .help = "no progress or per-epoch lines"},
    };
    const cli_spec spec = {"train", "-o NET.safetensors [options]", train_description, "argument", 0,
                           rows, CLI_COUNT(rows)};
    int rc = cli_parse(&spec, argc, argv, &extra, &npos);
    if (rc == CLI_HELP_SHOWN) return 0;
    if (rc == 0 && !job.out) rc = cli_usage_error("train", "missing -o NET.safetensors");
    if (rc != 0) return rc;
    o->schedule = (cvg_lr_schedule)schedule;
    return cli_train(&job);
}

int cli_train(cli_train_job *job)
{
    cvg_train_options o = job->opt;
    const char *arch = job->arch, *out = job->out, *data = job->data, *history = job->history;
    const int64_t train_limit = job->train_limit, test_limit = job->test_limit;
    int quiet = job->quiet;
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
    o.epoch_user = job;
    if (!quiet) {
        if (!job->label) o.progress = cli_progress; /* one bar per terminal line: not beside other jobs */
        const char *pre = cvg_net_preset(arch);
        print_label(job);
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
        if (st == CVG_OK) {
            print_label(job);
            printf("test accuracy: %.2f%% (%lld images); wrote %s and %s\n", 100 * acc,
                   (long long)test.count, out, o.history);
        }
    }
    cvg_net_free(net);
    free(hist);
    cvg_dataset_free(&train);
    cvg_dataset_free(&test);
    return st == CVG_OK ? 0 : cli_fail(st);
}
