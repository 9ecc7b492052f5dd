/* Running a command over MPI ranks (docs/distributed.md). Built with MPI when CMake found it
 * (CVG_WITH_MPI); MPI is started only when the process was launched by mpirun (an Open MPI,
 * PMI or PMIx rank variable is set), so the plain tool never touches it. Without MPI, or in one
 * process, every function here is the single-process path.
 *
 * The statistics pass: every rank reads its part of the inputs (whole chunks,
 * cvg_stats_split_inputs), then the parts are merged in a binary tree, rank r receiving from
 * r + 2^i at step i, the state travelling as cvg_stats_pack bytes; rank 0 holds the result.
 * A failing rank aborts the job (MPI_Abort) after printing its message, so no rank waits for
 * a partner that will never send. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "distributed.h"

#ifdef CVG_WITH_MPI
#include <mpi.h>
#endif

static int rank_ = 0, size_ = 1;
#ifdef CVG_WITH_MPI
static int started_ = 0;
#endif

int cli_dist_rank(void) { return rank_; }
int cli_dist_size(void) { return size_; }

static int launched_by_mpirun(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

void cli_dist_start(int *argc, char ***argv)
{
#ifdef CVG_WITH_MPI
    if (!launched_by_mpirun()) return;
    MPI_Init(argc, argv);
    started_ = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    if (size_ > 1) {
        static char prefix[64];
        snprintf(prefix, sizeof prefix, "convergent (rank %d of %d): ", rank_, size_);
        cli_set_message_prefix(prefix);
    }
#else
    (void)argc, (void)argv;
    /* P copies of a tool without MPI would each do the whole job into the same output */
    const char *size = getenv("OMPI_COMM_WORLD_SIZE") ? getenv("OMPI_COMM_WORLD_SIZE") : getenv("PMI_SIZE");
    if (launched_by_mpirun() && size && atoi(size) > 1) {
        fprintf(stderr, "convergent: this build has no MPI (built with -DCVG_MPI=OFF or without "
                        "libopenmpi-dev): run it without mpirun, or rebuild with MPI\n");
        exit(2);
    }
#endif
}

int cli_dist_finish(int rc)
{
#ifdef CVG_WITH_MPI
    if (!started_) return rc;
    fflush(stdout);
    fflush(stderr);
    if (rc != 0 && size_ > 1) MPI_Abort(MPI_COMM_WORLD, rc); /* the others may wait on us */
    MPI_Finalize();
#endif
    return rc;
}

#ifdef CVG_WITH_MPI
/* Messages carry at most 1 GiB each: MPI counts are int. */
enum { PIECE = 1 << 30 };

static void send_bytes(const void *data, int64_t size, int to)
{
    MPI_Send(&size, 1, MPI_INT64_T, to, 0, MPI_COMM_WORLD);
    for (int64_t at = 0; at < size; at += PIECE) {
        const int n = (int)(size - at < PIECE ? size - at : PIECE);
        MPI_Send((const char *)data + at, n, MPI_BYTE, to, 1, MPI_COMM_WORLD);
    }
}

/* The bytes from rank `from` (malloc'd; *size 0 and NULL for an empty part). */
static cvg_status recv_bytes(int from, void **data, int64_t *size)
{
    MPI_Recv(size, 1, MPI_INT64_T, from, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    *data = NULL;
    if (*size == 0) return CVG_OK;
    if (!(*data = malloc((size_t)*size))) {
        cli_error("out of memory for %lld bytes of statistics from rank %d", (long long)*size, from);
        return CVG_ERR_NOMEM;
    }
    for (int64_t at = 0; at < *size; at += PIECE) {
        const int n = (int)(*size - at < PIECE ? *size - at : PIECE);
        MPI_Recv((char *)*data + at, n, MPI_BYTE, from, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
    return CVG_OK;
}

cvg_status cli_dist_reduce(cvg_stats **s)
{
    cvg_status st = CVG_OK;
    const double t0 = MPI_Wtime();
    int64_t received = 0;
    for (int step = 1; step < size_ && st == CVG_OK; step *= 2) {
        if (rank_ % (2 * step) == step) {
            void *bytes = NULL;
            size_t n = 0;
            if (*s && (st = cvg_stats_pack(*s, &bytes, &n)) != CVG_OK) return st;
            send_bytes(bytes, (int64_t)n, rank_ - step);
            cvg_free(bytes);
            cvg_stats_free(*s);
            *s = NULL;
            return CVG_OK;
        }
        if (rank_ % (2 * step) != 0 || rank_ + step >= size_) continue;
        void *bytes;
        int64_t n;
        if ((st = recv_bytes(rank_ + step, &bytes, &n)) != CVG_OK || n == 0) continue;
        received += n;
        cvg_stats *part = NULL;
        st = cvg_stats_unpack(bytes, (size_t)n, &part);
        free(bytes);
        if (st == CVG_OK && !*s) *s = part, part = NULL;
        else if (st == CVG_OK) st = cvg_stats_merge(*s, part);
        cvg_stats_free(part);
    }
    if (rank_ == 0 && getenv("CVG_MPI_TIMING"))
        fprintf(stderr, "convergent: mpi: the tree merge took %.3f s on rank 0, %lld bytes received\n",
                MPI_Wtime() - t0, (long long)received);
    return st;
}
#else
cvg_status cli_dist_reduce(cvg_stats **s)
{
    (void)s;
    return CVG_OK;
}
#endif

cvg_status cli_dist_mi_matrix(const float *samples, int64_t rows, int64_t dim,
                              const cvg_mi_options *options, double *out)
{
    if (size_ == 1) return cvg_mi_matrix(samples, rows, dim, options, out);
#ifdef CVG_WITH_MPI
    cvg_mi_options opt = *options;
    opt.part = rank_;
    opt.parts = size_;
    if (rank_ != 0) opt.progress = NULL;
    cvg_status st = cvg_mi_matrix(samples, rows, dim, &opt, out);
    if (st != CVG_OK) return st; /* reported by the caller; the job is aborted */
    /* each entry is nonzero in one part only: the sum is exact. In pieces: counts are int. */
    const int64_t n = dim * dim, piece = 1 << 27;
    for (int64_t at = 0; at < n; at += piece) {
        const int c = (int)(n - at < piece ? n - at : piece);
        MPI_Reduce(rank_ == 0 ? MPI_IN_PLACE : out + at, rank_ == 0 ? out + at : NULL, c, MPI_DOUBLE,
                   MPI_SUM, 0, MPI_COMM_WORLD);
    }
    return CVG_OK;
#else
    return CVG_ERR_ARG;
#endif
}

void cli_dist_part(int64_t total, int64_t *first, int64_t *count)
{
    *first = total * rank_ / size_;
    *count = total * (rank_ + 1) / size_ - *first;
}

/* Where rank r of P keeps its checkpoint: its own, as its part is its own pass. */
static void checkpoint_path(const char *base, char *out, size_t cap)
{
    if (size_ > 1) snprintf(out, cap, "%s.rank%d-of-%d", base, rank_, size_);
    else snprintf(out, cap, "%s", base);
}

cvg_status cli_dist_stats(const char *const *files, int nfiles, const char *layer,
                          const cvg_stats_options *options, const char *checkpoint, cvg_stats **out)
{
    cvg_stats_options opt = *options;
    char ckpt[4200];
    if (checkpoint) {
        checkpoint_path(checkpoint, ckpt, sizeof ckpt);
        opt.checkpoint = ckpt;
    }
    *out = NULL;
    if (size_ == 1) return cvg_stats_compute(files, nfiles, layer, &opt, out);
#ifdef CVG_WITH_MPI
    int64_t *first = malloc((size_t)size_ * sizeof *first), *count = malloc((size_t)size_ * sizeof *count);
    cvg_status st = first && count ? cvg_stats_split_inputs(files, nfiles, &opt, size_, first, count)
                                   : CVG_ERR_NOMEM;
    if (st == CVG_OK) {
        if (rank_ != 0) opt.progress = NULL; /* one progress line: rank 0's part */
        opt.first_input = first[rank_];
        opt.input_count = count[rank_];
        if (count[rank_] > 0) st = cvg_stats_compute(files, nfiles, layer, &opt, out);
    }
    free(first), free(count);
    if (st != CVG_OK) return st; /* the caller reports it and cli_dist_finish aborts the job */
    return cli_dist_reduce(out);
#else
    return CVG_ERR_ARG;
#endif
}
