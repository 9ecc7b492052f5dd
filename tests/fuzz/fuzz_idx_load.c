/* libFuzzer target: a whole file (plain or gzip'd IDX) through cvg_idx_load. Every rejection
 * must name the file; every acceptance must describe exactly the bytes returned. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convergent.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/cvg-fuzz-%ld.idx", (long)getpid());
    FILE *fp = fopen(path, "wb");
    if (!fp) return 0;
    fwrite(data, 1, size, fp);
    fclose(fp);
    int nd;
    int64_t dims[CVG_NPY_MAX_DIMS];
    uint8_t *out = NULL;
    if (cvg_idx_load(path, &nd, dims, &out) == CVG_OK) {
        assert(nd >= 1 && nd <= CVG_NPY_MAX_DIMS);
        int64_t count = 1;
        for (int i = 0; i < nd; i++) count *= dims[i];
        /* touch every byte: ASan catches a short buffer */
        unsigned sum = 0;
        for (int64_t i = 0; i < count; i++) sum += out[i];
        (void)sum;
        free(out);
    } else {
        assert(out == NULL);
        assert(strstr(cvg_last_error(), path) != NULL || strstr(cvg_last_error(), "memory"));
    }
    unlink(path);
    return 0;
}
