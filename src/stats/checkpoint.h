/* Checkpoints of a statistics pass over files (see checkpoint.c for the layout and guarantees). */
#ifndef CVG_STATS_CHECKPOINT_H
#define CVG_STATS_CHECKPOINT_H

#include <stdint.h>

#include "convergent.h"

/* Save s, whose pass goes on at input next_image, as the checkpoint in directory ckpt. */
cvg_status checkpoint_save(const char *ckpt, const cvg_stats *s, const char *const *paths,
                           int nets, const cvg_stats_options *opt, int64_t chunk_rows,
                           int64_t next_image);
/* The saved statistics and the next input, or *out = NULL when ckpt holds no checkpoint; an
 * error when it holds one made from other inputs or options. */
cvg_status checkpoint_resume(const char *ckpt, const char *layer, const char *const *paths,
                             int nets, const cvg_stats_options *opt, int64_t chunk_rows,
                             cvg_stats **out, int64_t *next_image);

#endif
