/* Element conversion from any supported .npy dtype (either byte order) to double. */
#include <math.h>
#include <string.h>

#include "io/npy_internal.h"

static double half_to_double(uint16_t h)
{
    int sign = (h >> 15) & 1, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    double v;
    if (exponent == 0) v = ldexp((double)mantissa, -24);                 /* subnormal or zero */
    else if (exponent == 31) v = mantissa ? NAN : INFINITY;
    else v = ldexp((double)(mantissa | 0x400), exponent - 25);
    return sign ? -v : v;
}

static void load_swapped(const unsigned char *src, int size, int swap, unsigned char *dst)
{
    if (!swap) {
        memcpy(dst, src, (size_t)size);
        return;
    }
    for (int i = 0; i < size; i++) dst[i] = src[size - 1 - i];
}

/* One loop per dtype keeps the common case (native float32) a straight conversion loop. */
#define CONVERT_LOOP(T)                                                                       \
    do {                                                                                      \
        for (int64_t i = 0; i < n; i++) {                                                     \
            T v;                                                                              \
            load_swapped(raw + i * (int64_t)sizeof(T), (int)sizeof(T), h->swap, (unsigned char *)&v); \
            dst[i] = (double)v;                                                               \
        }                                                                                     \
    } while (0)

void npy_convert_to_double(const npy_header *h, const unsigned char *raw, int64_t n, double *dst)
{
    switch (h->kind) {
    case NPY_KIND_FLOAT:
        if (h->item_size == 2) {
            for (int64_t i = 0; i < n; i++) {
                uint16_t v;
                load_swapped(raw + 2 * i, 2, h->swap, (unsigned char *)&v);
                dst[i] = half_to_double(v);
            }
        } else if (h->item_size == 4) {
            if (!h->swap) {
                const float *f = (const float *)(const void *)raw;
                if (((uintptr_t)raw & 3) == 0) {
                    for (int64_t i = 0; i < n; i++) dst[i] = f[i];
                    break;
                }
            }
            CONVERT_LOOP(float);
        } else {
            CONVERT_LOOP(double);
        }
        break;
    case NPY_KIND_INT:
        if (h->item_size == 1) CONVERT_LOOP(int8_t);
        else if (h->item_size == 2) CONVERT_LOOP(int16_t);
        else if (h->item_size == 4) CONVERT_LOOP(int32_t);
        else CONVERT_LOOP(int64_t);
        break;
    case NPY_KIND_UINT:
        if (h->item_size == 1) CONVERT_LOOP(uint8_t);
        else if (h->item_size == 2) CONVERT_LOOP(uint16_t);
        else if (h->item_size == 4) CONVERT_LOOP(uint32_t);
        else CONVERT_LOOP(uint64_t);
        break;
    case NPY_KIND_BOOL:
        for (int64_t i = 0; i < n; i++) dst[i] = raw[i] ? 1.0 : 0.0;
        break;
    }
}

void npy_convert_to_float(const npy_header *h, const unsigned char *raw, int64_t n, float *dst)
{
    if (h->kind == NPY_KIND_FLOAT && h->item_size == 4 && !h->swap) {
        memcpy(dst, raw, (size_t)n * sizeof *dst);
        return;
    }
    double tmp[512];
    for (int64_t i = 0; i < n; i += 512) {
        const int64_t m = n - i < 512 ? n - i : 512;
        npy_convert_to_double(h, raw + i * h->item_size, m, tmp);
        for (int64_t j = 0; j < m; j++) dst[i + j] = (float)tmp[j];
    }
}

int npy_exact_in_float(const npy_header *h)
{
    switch (h->kind) {
    case NPY_KIND_FLOAT: return h->item_size <= 4;
    case NPY_KIND_INT:
    case NPY_KIND_UINT: return h->item_size <= 2;
    case NPY_KIND_BOOL: return 1;
    }
    return 0;
}
