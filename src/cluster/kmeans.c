/* k-means on the rows of the spectral embedding: restarts on independent RNG streams, the
 * lowest inertia wins. Many k-means (the nodes of one level of the cluster tree) run as one
 * batch: their restarts are the tasks of one parallel loop, so two threads share the work of
 * a level however it is split into nodes (a single large node and many small ones alike). The
 * result depends on neither the batch nor the number of threads: each restart depends only on
 * (points, k, seed, run), and the choice among restarts is made in run order. */
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "cluster/cluster_internal.h"
#include "cluster/kmeans_run.h"
#include "core/internal.h"

/* Work below which a batch runs on one thread, in multiply-adds (about 10 ms on one core): a
 * parallel region's start and barrier cost microseconds on an idle machine but can cost whole
 * time slices on a loaded one, and a lone small call gains little from a second thread. */
#define KM_PARALLEL_MIN 2e7

typedef struct task {
    int job, run;
    double cost;     /* multiply-adds of the seeding and one Lloyd iteration */
} task;

static int by_cost(const void *a, const void *b)
{
    const task *x = a, *y = b;
    if (x->cost != y->cost) return x->cost > y->cost ? -1 : 1;
    if (x->job != y->job) return x->job - y->job;
    return x->run - y->run;
}

static int check_job(const cvg__kmeans_job *j, int restarts, int max_iter)
{
    return j->n >= 1 && j->dim >= 1 && j->k >= 1 && j->k <= j->n && restarts >= 1 &&
           max_iter >= 1 && j->X && j->labels;
}

cvg_status cvg__kmeans_batch(cvg__kmeans_job *jobs, int count, int restarts, int max_iter)
{
    for (int j = 0; j < count; j++)
        if (!check_job(&jobs[j], restarts, max_iter))
            return cvg__fail(CVG_ERR_ARG, "k-means: bad arguments (n %lld, dim %d, k %d)",
                             (long long)jobs[j].n, jobs[j].dim, jobs[j].k);
    if (count == 0) return CVG_OK;
    int ntasks = count * restarts;
    cvg_status st = CVG_OK;
    task *tasks = cvg__malloc(sizeof(task) * (size_t)ntasks, "k-means tasks");
    double *score = cvg__malloc(sizeof(double) * (size_t)ntasks, "k-means inertia");
    double **xn = cvg__calloc((size_t)count, sizeof(double *), "k-means norms");
    int32_t **all = cvg__calloc((size_t)count, sizeof(int32_t *), "k-means labels");
    if (!tasks || !score || !xn || !all) {
        st = CVG_ERR_NOMEM;
        goto done;
    }
    double total = 0.0;
    for (int j = 0; j < count; j++) {
        const cvg__kmeans_job *jb = &jobs[j];
        xn[j] = cvg__malloc(sizeof(double) * (size_t)jb->n, "k-means norms");
        all[j] = cvg__malloc(sizeof(int32_t) * (size_t)jb->n * restarts, "k-means labels");
        if (!xn[j] || !all[j]) {
            st = CVG_ERR_NOMEM;
            goto done;
        }
        for (int64_t i = 0; i < jb->n; i++) {
            double s = 0.0;
            for (int c = 0; c < jb->dim; c++) s += jb->X[i * jb->dim + c] * jb->X[i * jb->dim + c];
            xn[j][i] = s;
        }
        double cost = (double)jb->n * jb->dim * jb->k * (1.0 + cvg__km_trials(jb->k));
        for (int r = 0; r < restarts; r++) tasks[j * restarts + r] = (task){j, r, cost};
        total += cost * restarts;
    }
    /* Longest first, so that the last tasks to start are short (the largest node's restarts
     * do not end up alone on one thread at the end). */
    qsort(tasks, (size_t)ntasks, sizeof(task), by_cost);
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    if (threads > ntasks) threads = ntasks;
    if (total < KM_PARALLEL_MIN) threads = 1;
    int failed = 0;
    /* BLAS is not called inside: the loop's threads are all the parallelism there is. */
#pragma omp parallel num_threads(threads) reduction(| : failed)
    {
        km_work w = {0};
        int64_t cap_n = 0;
        int cap_dim = 0, cap_k = 0;
#pragma omp for schedule(dynamic, 1)
        for (int t = 0; t < ntasks; t++) {
            const cvg__kmeans_job *jb = &jobs[tasks[t].job];
            if (failed) continue;
            if (jb->n > cap_n || jb->dim != cap_dim || jb->k > cap_k) {
                cvg__km_work_free(&w);
                memset(&w, 0, sizeof w);
                cap_n = jb->n;
                cap_dim = jb->dim;
                cap_k = jb->k;
                if (!cvg__km_work_alloc(&w, cap_n, cap_dim, cap_k)) {
                    failed = 1;
                    continue;
                }
            }
            int r = tasks[t].run;
            score[tasks[t].job * restarts + r] =
                cvg__km_restart(jb->n, jb->dim, jb->X, xn[tasks[t].job], jb->k, max_iter, jb->seed,
                                r, &w, all[tasks[t].job] + (size_t)r * jb->n);
        }
        cvg__km_work_free(&w);
    }
    if (failed) {
        st = cvg__fail(CVG_ERR_NOMEM, "out of memory for k-means workspace");
        goto done;
    }
    /* Inertias within 1e-9 of each other are a tie (the earlier run wins): a tied optimum
     * (e.g. six equidistant points split in two) must not be decided by the last bits of the
     * embedding, which differ between eigensolvers (docs/clustering.md, "Sparse path"). */
    for (int j = 0; j < count; j++) {
        const double *sc = score + (size_t)j * restarts;
        int best = 0;
        for (int r = 1; r < restarts; r++)
            if (sc[r] < sc[best] - 1e-9 * sc[best]) best = r;
        memcpy(jobs[j].labels, all[j] + (size_t)best * jobs[j].n, sizeof(int32_t) * (size_t)jobs[j].n);
        jobs[j].inertia = sc[best];
    }
done:
    if (xn)
        for (int j = 0; j < count; j++) free(xn[j]);
    if (all)
        for (int j = 0; j < count; j++) free(all[j]);
    free(xn);
    free(all);
    free(tasks);
    free(score);
    return st;
}

cvg_status cvg__kmeans(int64_t n, int dim, const double *X, int k, int restarts, int max_iter,
                       uint64_t seed, int32_t *labels, double *inertia)
{
    cvg__kmeans_job job = {.n = n, .dim = dim, .X = X, .k = k, .seed = seed, .labels = labels};
    cvg_status st = cvg__kmeans_batch(&job, 1, restarts, max_iter);
    if (st == CVG_OK && inertia) *inertia = job.inertia;
    return st;
}
