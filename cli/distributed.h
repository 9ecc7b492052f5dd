/* The same commands over MPI ranks (cli/distributed.c, docs/distributed.md). */
#ifndef CVG_CLI_DISTRIBUTED_H
#define CVG_CLI_DISTRIBUTED_H

#include "convergent.h"

/* Start MPI when launched by mpirun (else nothing: one process, rank 0 of 1). */
void cli_dist_start(int *argc, char ***argv);
/* End MPI: with rc != 0 in a job of several ranks, abort every rank (they may be waiting for
 * this one). Returns rc. */
int cli_dist_finish(int rc);
int cli_dist_rank(void);
int cli_dist_size(void);

/* The statistics pass over files, its inputs split between the ranks and the parts merged on
 * rank 0: *out is the whole pass on rank 0, NULL elsewhere. checkpoint (may be NULL): the
 * checkpoint directory of a single-process pass; each rank keeps its own beside it. */
cvg_status cli_dist_stats(const char *const *files, int nfiles, const char *layer,
                          const cvg_stats_options *opt, const char *checkpoint, cvg_stats **out);
/* Merge every rank's statistics (*s; NULL for a rank without any) into rank 0's, in a binary
 * tree; *s is NULL on the other ranks afterwards. Every rank must call it. */
cvg_status cli_dist_reduce(cvg_stats **s);
/* The MI matrix (cvg_mi_matrix) with the pairs of units shared between the ranks and summed
 * on rank 0 (each pair computed by one rank: bit for bit the single process's matrix); out is
 * the whole matrix on rank 0 only. */
cvg_status cli_dist_mi_matrix(const float *samples, int64_t rows, int64_t dim,
                              const cvg_mi_options *opt, double *out);
/* This rank's share [*first, *first + *count) of total items, as equal as can be. */
void cli_dist_part(int64_t total, int64_t *first, int64_t *count);

#endif
