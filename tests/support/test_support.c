#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "test_support.h"

char *test_tmpdir(const char *tag)
{
    char *dir = malloc(strlen(CVG_TEST_TMP) + strlen(tag) + 2);
    sprintf(dir, "%s/%s", CVG_TEST_TMP, tag);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(cmd) != 0) fail_msg("cannot create %s", dir);
    return dir;
}

char *test_path(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

void test_write_bytes(const char *path, const void *data, size_t bytes)
{
    FILE *fp = fopen(path, "wb");
    if (!fp) fail_msg("cannot write %s", path);
    if (bytes) assert_int_equal(fwrite(data, 1, bytes, fp), bytes);
    fclose(fp);
}

int test_system(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return rc == -1 ? -1 : (rc >> 8) & 0xff;
}

uint64_t test_rand_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double test_rand_uniform(uint64_t *state) { return (test_rand_u64(state) >> 11) * 0x1.0p-53; }

double test_rand_normal(uint64_t *state)
{
    double u1 = test_rand_uniform(state), u2 = test_rand_uniform(state);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

char *test_read_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) fail_msg("cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    rewind(fp);
    char *buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, fp) != (size_t)n) fail_msg("cannot read %s", path);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

cJSON *test_read_json(const char *path)
{
    char *buf = test_read_text(path);
    cJSON *j = cJSON_Parse(buf);
    free(buf);
    if (!j) fail_msg("%s: not JSON", path);
    return j;
}

void test_synthetic_images(cvg_dataset *ds, int n, uint64_t seed)
{
    memset(ds, 0, sizeof *ds);
    ds->count = n, ds->channels = 1, ds->height = 28, ds->width = 28, ds->classes = 10;
    ds->images = malloc((size_t)n * 784 * sizeof(float));
    ds->labels = malloc((size_t)n);
    for (int i = 0; i < n; i++) {
        int k = (int)(test_rand_u64(&seed) % 10);
        ds->labels[i] = (uint8_t)k;
        for (int p = 0; p < 784; p++) {
            float v = (float)(0.3 * test_rand_uniform(&seed));
            if (p / 28 == 2 + 2 * k && p % 28 >= 4 && p % 28 < 24) v += 0.7f;
            ds->images[i * 784 + p] = v;
        }
    }
}

/* IDX header: 0, 0, type 0x08 (unsigned byte), number of dimensions, then big-endian uint32s. */
static void write_be32(FILE *fp, uint32_t v)
{
    const unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                                (unsigned char)(v >> 8), (unsigned char)v};
    fwrite(b, 1, 4, fp);
}

void test_write_idx(const char *dir, const char *prefix, const cvg_dataset *ds)
{
    char name[4096];
    snprintf(name, sizeof name, "%s/%s-images-idx3-ubyte", dir, prefix);
    FILE *fp = fopen(name, "wb");
    if (!fp) fail_msg("cannot write %s", name);
    fwrite((const unsigned char[]){0, 0, 8, 3}, 1, 4, fp);
    write_be32(fp, (uint32_t)ds->count);
    write_be32(fp, (uint32_t)ds->height);
    write_be32(fp, (uint32_t)ds->width);
    const int64_t n = ds->count * ds->channels * ds->height * ds->width;
    for (int64_t i = 0; i < n; i++) fputc((int)lrintf(ds->images[i] * 255), fp);
    fclose(fp);
    snprintf(name, sizeof name, "%s/%s-labels-idx1-ubyte", dir, prefix);
    if (!(fp = fopen(name, "wb"))) fail_msg("cannot write %s", name);
    fwrite((const unsigned char[]){0, 0, 8, 1}, 1, 4, fp);
    write_be32(fp, (uint32_t)ds->count);
    fwrite(ds->labels, 1, (size_t)ds->count, fp);
    fclose(fp);
}

void test_write_synthetic_dataset(const char *dir, int train, int test, uint64_t seed)
{
    cvg_dataset tr, te;
    test_synthetic_images(&tr, train, seed);
    test_synthetic_images(&te, test, seed + 1);
    test_write_idx(dir, "train", &tr);
    test_write_idx(dir, "t10k", &te);
    cvg_dataset_free(&tr);
    cvg_dataset_free(&te);
}
