/* libFuzzer target: the .npy header parser on arbitrary bytes. It must never read past the
 * buffer, never crash, and either fail with a message or return a self-consistent header. */
#include <assert.h>
#include <string.h>

#include "io/npy_internal.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    npy_header h;
    if (npy_header_parse(data, size, "fuzz.npy", &h) != CVG_OK) {
        assert(strstr(cvg_last_error(), "fuzz.npy") != NULL);
        return 0;
    }
    assert(h.ndim >= 0 && h.ndim <= CVG_NPY_MAX_DIMS);
    assert(h.data_offset <= (int64_t)size);
    assert(h.item_size == 1 || h.item_size == 2 || h.item_size == 4 || h.item_size == 8);
    int64_t count = 1;
    for (int i = 0; i < h.ndim; i++) count *= h.shape[i];
    assert(count == h.count);
    return 0;
}
