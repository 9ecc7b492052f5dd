/* The spatial mean of cvg_conv_samples' "mean" mode, shared by the file pass and the taps. */
#ifndef CVG_CONV_SAMPLES_H
#define CVG_CONV_SAMPLES_H

#include "convergent.h"

/* out[c] = the mean over the P positions of channel c of one image of C channels: image is
 * (C, P) when channels_first (NCHW), else (P, C). */
void conv_pool_mean_f32(const float *image, int64_t C, int64_t P, int channels_first, float *out);
void conv_pool_mean_f64(const double *image, int64_t C, int64_t P, int channels_first, double *out);

#endif
