/* What a sample of a convolutional activation is (cvg_conv_samples): the names, and the one
 * conversion the library makes itself, the spatial mean of the "mean" mode. The "flatten" mode
 * needs no conversion: an image's C*H*W values, in the file's order, are its row. */
#include <string.h>

#include "core/internal.h"
#include "stats/conv_samples.h"

static const char *const names[] = {"positions", "mean", "flatten"};

const char *cvg_conv_samples_name(cvg_conv_samples mode)
{
    return mode >= CVG_CONV_POSITIONS && mode <= CVG_CONV_FLATTEN ? names[mode] : NULL;
}

cvg_status cvg_conv_samples_parse(const char *name, cvg_conv_samples *mode)
{
    if (!mode) return cvg__fail(CVG_ERR_ARG, "cvg_conv_samples_parse: NULL output");
    for (int m = CVG_CONV_POSITIONS; name && m <= CVG_CONV_FLATTEN; m++)
        if (strcmp(name, names[m]) == 0) {
            *mode = (cvg_conv_samples)m;
            return CVG_OK;
        }
    return cvg__fail(CVG_ERR_ARG, "conv samples '%s' is not one of positions, mean, flatten",
                     name ? name : "(null)");
}

/* The sum runs in double whatever the element type (a float32 sum over thousands of positions
 * loses digits the co-moments then keep); the mean is rounded once to the row's type. */
#define DEFINE_POOL(NAME, T)                                                                  \
    void NAME(const T *image, int64_t C, int64_t P, int channels_first, T *out)               \
    {                                                                                         \
        if (channels_first) {                                                                 \
            for (int64_t c = 0; c < C; c++) {                                                 \
                double sum = 0;                                                               \
                for (int64_t p = 0; p < P; p++) sum += image[c * P + p];                      \
                out[c] = (T)(sum / (double)P);                                                \
            }                                                                                 \
            return;                                                                           \
        }                                                                                     \
        double sums[256];                                                                     \
        for (int64_t c0 = 0; c0 < C; c0 += 256) { /* channels last: a strip of sums at once */ \
            const int64_t c1 = c0 + 256 < C ? c0 + 256 : C;                                   \
            memset(sums, 0, sizeof sums);                                                     \
            for (int64_t p = 0; p < P; p++)                                                   \
                for (int64_t c = c0; c < c1; c++) sums[c - c0] += image[p * C + c];           \
            for (int64_t c = c0; c < c1; c++) out[c] = (T)(sums[c - c0] / (double)P);          \
        }                                                                                     \
    }
DEFINE_POOL(conv_pool_mean_f32, float)
DEFINE_POOL(conv_pool_mean_f64, double)
