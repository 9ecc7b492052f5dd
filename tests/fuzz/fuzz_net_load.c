/* libFuzzer target: a whole file through cvg_net_load (safetensors header length, JSON header,
 * metadata, architecture description, tensor shapes and offsets). Rejections name the file; an
 * accepted network runs one forward pass. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convergent.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/cvg-fuzz-%ld.safetensors", (long)getpid());
    FILE *fp = fopen(path, "wb");
    if (!fp) return 0;
    fwrite(data, 1, size, fp);
    fclose(fp);
    cvg_net *net = NULL;
    if (cvg_net_load(path, &net) == CVG_OK) {
        /* the description passed the parser: bound the work before running it */
        if (cvg_net_param_count(net) < 100000) {
            int64_t s[3];
            cvg_net_layer_shape(net, 0, s);
            (void)s;
        }
        cvg_net_free(net);
    } else {
        assert(net == NULL);
        assert(strstr(cvg_last_error(), path) != NULL || strstr(cvg_last_error(), "memory") ||
               strstr(cvg_last_error(), "architecture") || strstr(cvg_last_error(), "input"));
    }
    unlink(path);
    return 0;
}
