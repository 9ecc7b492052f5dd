/* libFuzzer target: a whole .npy file through cvg_npy_open and row reads (every dtype
 * conversion, Fortran order gathering, size checks). */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convergent.h"

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
                free(buf);
            }
        }
        cvg_npy_close(npy);
    } else {
        assert(strstr(cvg_last_error(), path) != NULL || strstr(cvg_last_error(), "memory"));
    }
    unlink(path);
    return 0;
}
