/* libFuzzer target: a whole .npy file through cvg_npy_open and row reads (every dtype
 * conversion, Fortran order gathering, size checks, the statistics pass's mapped reads). */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convergent.h"
#include "io/npy_internal.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/cvg-fuzz-%ld.npy", (long)getpid());
    FILE *fp = fopen(path, "wb");
    if (!fp) return 0;
    fwrite(data, 1, size, fp);
    fclose(fp);
    cvg_npy *npy;
    if (cvg_npy_open(path, &npy) == CVG_OK) {
        int64_t rows = cvg_npy_rows(npy), rs = cvg_npy_row_size(npy);
        /* the file size was checked against the shape, so the data is at most size bytes,
         * but a zero-size dimension can make rows huge with rs == 0 */
        if (rs > 0 && rows > 0 && rows * rs <= (int64_t)size) {
            double *buf = malloc((size_t)(rows * rs) * sizeof *buf);
            if (buf) {
                cvg_status st = cvg_npy_read_rows(npy, 0, rows, buf);
                assert(st == CVG_OK);
                if (rows > 1) assert(cvg_npy_read_rows(npy, rows / 2, rows - rows / 2, buf) == CVG_OK);
                if (npy_is_native_f32(npy)) { /* the pass's in-place reads: rows spread apart */
                    float *spread = (float *)buf, *want = malloc((size_t)(rows * rs) * sizeof *want);
                    assert(cvg_npy_read_rows_f32(npy, 0, rows / 2, want) == CVG_OK);
                    assert(npy_read_runs_f32(npy, 0, rows / 2, rs, spread, 2 * rs) == CVG_OK);
                    for (int64_t i = 0; i < rows / 2 * rs; i++)
                        assert(memcmp(&spread[i / rs * 2 * rs + i % rs], &want[i], sizeof(float)) == 0);
                    /* the pass's mapped reads: the same values, from any first row */
                    npy_mapping map;
                    const int64_t first = rows / 3 * rs, count = rows * rs - first;
                    assert(npy_map_f32(npy, first, count, &map) == CVG_OK);
                    assert(cvg_npy_read_rows_f32(npy, rows / 3, rows - rows / 3, want) == CVG_OK);
                    assert(count == 0 || memcmp(map.values, want, (size_t)count * sizeof(float)) == 0);
                    npy_unmap(&map);
                    free(want);
                }
                free(buf);
            }
        }
        cvg_npy_free(npy);
    } else {
        assert(strstr(cvg_last_error(), path) != NULL || strstr(cvg_last_error(), "memory"));
    }
    unlink(path);
    return 0;
}
