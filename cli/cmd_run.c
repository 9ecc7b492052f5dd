/* convergent run: the main job. The paper's experiment end to end at one machine's scale: train
 * K networks that differ only in their random initialization, measure every layer on the test
 * set, align them one-to-one (correlation and mutual information), cluster them many-to-many,
 * write the report and print Table 1. Each step is the code of the subcommand of the same name,
 * called with the settings its options would set; finished checkpoints are reused, so an
 * interrupted run continues where it stopped. */
#define _GNU_SOURCE /* sched_getaffinity */
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

typedef struct run_config {
    const char *out, *arch, *data;
    int nets, epochs, quiet, jobs;
    double lr;
    int64_t train_limit, test_limit, reservoir;
} run_config;

static void defaults(run_config *c, int quick)
{
    c->arch = "default";
    cvg_train_options t;
    cvg_train_options_init(&t);
    c->lr = t.lr; /* train's own */
    c->epochs = quick ? 1 : 5; /* 5: every default network past 89% (4 left one at 88.99%; docs/training.md) */
    c->train_limit = quick ? 12000 : 0;
    c->test_limit = quick ? 1000 : 0;
    c->reservoir = quick ? 20000 : 60000;
}

static const char run_description[] =
    "The paper's experiment end to end: trains K networks of one architecture on\n"
    "Fashion-MNIST from different random initializations (same data order), measures every\n"
    "layer on the test set, aligns the units one-to-one by correlation and by mutual\n"
    "information, clusters them many-to-many, writes DIR/report.html and prints Table 1.\n"
    "Finished checkpoints in DIR/nets are reused; an interrupted run continues.\n\n"
    "DIR holds nets/ (checkpoints and training histories), stats/ (statistics and MI),\n"
    "match/ and match_mi/ (one-to-one alignment), cluster/ and similarity/ (pair 1-2),\n"
    "report.html.";

/* Parse argv into c (its defaults set); 0, CLI_HELP_SHOWN or a usage error (2). */
static int parse_run(run_config *c, int *quick, int argc, char **argv)
{
    run_config q;
    defaults(&q, 1);
    char quick_help[256];
    snprintf(quick_help, sizeof quick_help, "a first look in a few minutes: architecture '%s', %d epoch "
             "on %lld training images, %lld test images measured", q.arch, q.epochs,
             (long long)q.train_limit, (long long)q.test_limit);
    const char *extra = NULL;
    int npos;
    const cli_option rows[] = {
        {.name = "out", .short_name = 'o', .type = CLI_STRING, .dest = &c->out, .metavar = "DIR",
         .help = "results directory"},
        /* 16 networks: the checkpoints and pairs stay within one machine's day */
        {.name = "nets", .type = CLI_INT, .dest = &c->nets, .min = 2, .max = 16, .metavar = "K",
         .help = "networks"},
        {.name = "quick", .type = CLI_FLAG, .dest = quick, .help = quick_help},
        {.name = "arch", .type = CLI_STRING, .dest = &c->arch, .metavar = "A", .help = "architecture"},
        {.name = "epochs", .type = CLI_INT, .dest = &c->epochs, .min = 1, .max = 100000, .metavar = "E",
         .help = "training epochs per network"},
        {.name = "lr", .type = CLI_DOUBLE, .dest = &c->lr, .min = 0, .min_open = 1, .max = HUGE_VAL,
         .metavar = "X", .help = "base learning rate (paper preset: 0.005, docs/training.md)"},
        {.name = "train-limit", .type = CLI_INT64, .dest = &c->train_limit, .min = 0, .max = CLI_NO_MAX,
         .metavar = "N", .help = "training images, 0: all 60,000"},
        {.name = "test-limit", .type = CLI_INT64, .dest = &c->test_limit, .min = 0, .max = CLI_NO_MAX,
         .metavar = "N", .help = "test images measured, 0: all 10,000"},
        {.name = "data", .type = CLI_STRING, .dest = &c->data, .metavar = "DIR",
         .help = "IDX dataset directory", .default_text = CVG_DEFAULT_DATA_DIR},
        {.name = "jobs", .type = CLI_INT, .dest = &c->jobs, .min = 0, .max = 16, .metavar = "J",
         .help = "networks trained at once, each on cores / J threads; 0: one per core, at most K"},
        {.name = "quiet", .short_name = 'q', .type = CLI_FLAG, .dest = &c->quiet, .help = "only Table 1"},
    };
    const cli_spec spec = {"run", "[-o DIR] [--nets K] [--quick] [options]", run_description, "argument", 0,
                           rows, CLI_COUNT(rows)};
    return cli_parse(&spec, argc, argv, &extra, &npos);
}

/* A walk over the layers of STATS for one of the commands, writing to out (may be NULL),
 * for the pair of networks 1-2 or (pair 0) every pair. */
static void walk(cli_walk *w, const char *command, const char *stats, const char *out, int pair)
{
    cli_walk_init(w, command, 0, NULL);
    w->stats = stats;
    w->out = out;
    if (pair) w->pa = 0, w->pb = 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void step(const run_config *c, const char *what, double t0)
{
    if (!c->quiet) printf("\n== %s (%.0f s so far)\n", what, now() - t0);
    fflush(stdout);
}

/* The cores this process may run on (its affinity mask, as under taskset or a batch system). */
static int usable_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* Net k (0-based) as `convergent train` would train it for this run; checkpoints are resumed. */
static void net_job(const run_config *c, const char *ckpt, const char *data, int k, cli_train_job *job)
{
    cli_train_job_init(job);
    job->out = ckpt;
    job->arch = c->arch;
    job->data = data;
    job->opt.epochs = c->epochs;
    job->opt.lr = c->lr;
    job->opt.seed = (uint64_t)k + 1; /* the networks differ in their initialization only */
    job->opt.data_seed = 1;
    job->opt.resume = 1;
    job->train_limit = c->train_limit;
    job->test_limit = c->test_limit;
    job->quiet = c->quiet;
}

/* Train the K networks, J at a time, each in a child process on cores / J threads. The engine
 * gives the same weights for any thread count (docs/training.md), so the networks are those of
 * one-after-another training; what changes is the speed: two 1-thread trainings on 2 cores go
 * through more images per second than one 2-thread training, whose parallel regions wait at
 * barriers (docs/training.md, Speed). The children are forked before this process has used
 * OpenMP (training is the run's first step). 0, or 1 after printing an error. */
static int train_nets(const run_config *c, char **ckpt, const char *data, double t0)
{
    const int cores = usable_cores();
    int jobs = c->jobs ? c->jobs : cores;
    if (jobs > c->nets) jobs = c->nets;
    if (jobs <= 1) {
        for (int k = 0; k < c->nets; k++) {
            char what[64];
            snprintf(what, sizeof what, "training net %d of %d", k + 1, c->nets);
            step(c, what, t0);
            cli_train_job job;
            net_job(c, ckpt[k], data, k, &job);
            int rc = cli_train(&job);
            if (rc != 0) return rc;
        }
        return 0;
    }
    const int threads = cores / jobs > 0 ? cores / jobs : 1;
    char what[96];
    snprintf(what, sizeof what, "training %d nets, %d at a time on %d thread%s each", c->nets, jobs,
             threads, threads == 1 ? "" : "s");
    step(c, what, t0);
    pid_t pid[16] = {0};
    int running = 0, failed = 0, next = 0;
    while ((next < c->nets && !failed) || running > 0) {
        if (next < c->nets && !failed && running < jobs) {
            fflush(NULL); /* nothing buffered may be written twice */
            const pid_t parent = getpid();
            pid_t p = fork();
            if (p == 0) {
                /* A run killed (SIGKILL leaves no handler to stop us) takes its trainings with it:
                 * none may go on writing checkpoints into the directory after the run is gone. */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(1);
                char label[16];
                snprintf(label, sizeof label, "net%d", next + 1);
                cli_train_job job;
                net_job(c, ckpt[next], data, next, &job);
                job.opt.threads = threads;
                job.label = label;
                int rc = cli_train(&job);
                fflush(NULL);
                _exit(rc);
            }
            if (p < 0) {
                cli_error("cannot start the training of net %d: %s", next + 1, strerror(errno));
                failed = 1;
                continue;
            }
            pid[next++] = p, running++;
            continue;
        }
        int status;
        pid_t done = wait(&status);
        if (done < 0) break;
        running--;
        int k = 0;
        while (k < next && pid[k] != done) k++;
        if (k < next) pid[k] = 0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            if (!failed) { /* the others stop: their finished epochs stay in their checkpoints */
                if (WIFSIGNALED(status))
                    cli_error("training net %d was killed by signal %d", k + 1, WTERMSIG(status));
                for (int j = 0; j < next; j++)
                    if (pid[j] > 0) kill(pid[j], SIGTERM);
            }
            failed = 1;
        }
    }
    return failed ? 1 : 0;
}

int cmd_run(int argc, char **argv)
{
    run_config c = {.out = "convergent-run", .nets = 4, .data = NULL};
    int quick = 0;
    defaults(&c, 0);
    int rc = parse_run(&c, &quick, argc, argv);
    if (rc == 0 && quick) { /* --quick sets the defaults, the options given override them */
        defaults(&c, 1);
        rc = parse_run(&c, &quick, argc, argv);
    }
    if (rc == CLI_HELP_SHOWN) return 0;
    if (rc != 0) return rc;
    const double t0 = now();
    char nets_dir[4096], stats[4096], match[4096], match_mi[4096], cluster[4096];
    snprintf(nets_dir, sizeof nets_dir, "%s/nets", c.out);
    snprintf(stats, sizeof stats, "%s/stats", c.out);
    snprintf(match, sizeof match, "%s/match", c.out);
    snprintf(match_mi, sizeof match_mi, "%s/match_mi", c.out);
    snprintf(cluster, sizeof cluster, "%s/cluster", c.out);
    /* DIR is one result set, written by one run at a time: the lock is held from the start;
     * the networks are trained into the published DIR/nets (each checkpoint is one atomic
     * file, and an interrupted run reuses them), then every analysis goes into a new version
     * of DIR that is published whole at the end. */
    cvg_status lock = cvg_result_lock(c.out);
    if (lock != CVG_OK) return cli_fail(lock);
    if (cli_make_dirs(nets_dir) != 0) {
        cvg_result_unlock(c.out);
        return 1;
    }
    const char *data = c.data ? c.data : CVG_DEFAULT_DATA_DIR;

    char *ckpt[16] = {0};
    for (int k = 0; k < c.nets && rc == 0; k++) {
        if (!(ckpt[k] = malloc(4200))) rc = cli_fail(CVG_ERR_NOMEM);
        else snprintf(ckpt[k], 4200, "%s/net%d.safetensors", nets_dir, k + 1);
    }
    if (rc == 0) rc = train_nets(&c, ckpt, data, t0);
    if (rc != 0) {
        for (int k = 0; k < c.nets; k++) free(ckpt[k]);
        cvg_result_unlock(c.out);
        return rc;
    }
    cvg_result_set *rs = NULL;
    if (cli_output_begin(c.out, 1, &rs) != 0) rc = 1;
    else { /* the analyses write into the new version of DIR */
        snprintf(stats, sizeof stats, "%s/stats", cvg_result_dir(rs));
        snprintf(match, sizeof match, "%s/match", cvg_result_dir(rs));
        snprintf(match_mi, sizeof match_mi, "%s/match_mi", cvg_result_dir(rs));
        snprintf(cluster, sizeof cluster, "%s/cluster", cvg_result_dir(rs));
    }
    if (rc == 0) {
        step(&c, "measuring every layer on the test set", t0);
        cvg_stats_options so;
        cvg_stats_options_init(&so);
        so.reservoir = c.reservoir;
        rc = cli_measure_nets(ckpt, c.nets, data, "test", c.test_limit, &so, stats, 1);
    }
    for (int k = 0; k < c.nets; k++) free(ckpt[k]);
    /* Each step is the command's own code, given the settings its options would set. */
    cli_walk w;
    if (rc == 0) step(&c, "mutual information", t0);
    if (rc == 0) {
        cvg_mi_options mo;
        cvg_mi_options_init(&mo);
        walk(&w, "mi", stats, NULL, 0);
        rc = cli_mi(&w, &mo, 0, 1);
    }
    if (rc == 0) step(&c, "clustering (nets 1 and 2)", t0);
    if (rc == 0) {
        cvg_cluster_options co;
        cvg_cluster_options_init(&co);
        walk(&w, "cluster", stats, cluster, 1);
        rc = cli_cluster(&w, &co, 0, NULL, c.quiet);
    }
    char similarity[4096];
    snprintf(similarity, sizeof similarity, "%s/similarity", rs ? cvg_result_dir(rs) : c.out);
    if (rc == 0) step(&c, "linear similarity measures (nets 1 and 2)", t0);
    if (rc == 0) {
        cli_similarity_settings so;
        cli_similarity_settings_init(&so);
        so.pa = 0, so.pb = 1;
        so.lasso.path = 10; /* a short lasso path keeps this step to seconds */
        so.quiet = 1;
        rc = cli_similarity(stats, similarity, NULL, &so);
    }
    if (rc == 0) step(&c, "one-to-one alignment by mutual information", t0);
    if (rc == 0) {
        walk(&w, "match", stats, match_mi, 0);
        rc = cli_match(&w, "mi", 0, 1);
    }
    if (rc == 0) step(&c, "one-to-one alignment by correlation: Table 1", t0);
    if (rc == 0) {
        walk(&w, "match", stats, match, 0);
        rc = cli_match(&w, "corr", 0, 0);
    }
    char report[4200];
    snprintf(report, sizeof report, "%s/report.html", rs ? cvg_result_dir(rs) : c.out);
    if (rc == 0) rc = cli_report(cvg_result_dir(rs), report, 1);
    rc = cli_output_finish(rs, rc);
    cvg_result_unlock(c.out);
    if (rc == 0) printf("\nfinished in %.0f s; open %s/report.html\n", now() - t0, c.out);
    return rc;
}
