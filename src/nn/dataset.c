/* Labelled image sets in the MNIST directory layout: {train,t10k}-{images-idx3,labels-idx1}-ubyte
 * (.gz or not). Images become float32 pixel / 255 (as torchvision's ToTensor), shape (N, 1, H, W). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/internal.h"

/* dir/base.gz if present, else dir/base; NULL (error recorded) if neither exists. */
static char *find_file(const char *dir, const char *base)
{
    char name[256];
    snprintf(name, sizeof name, "%s.gz", base);
    struct stat sb;
    char *p = cvg__path_join(dir, name);
    if (p && stat(p, &sb) == 0) return p;
    free(p);
    p = cvg__path_join(dir, base);
    if (p && stat(p, &sb) == 0) return p;
    free(p);
    cvg__fail(CVG_ERR_IO, "%s: no %s.gz or %s", dir, base, base);
    return NULL;
}

cvg_status cvg_dataset_load(const char *dir, const char *split, int64_t limit, cvg_dataset *out)
{
    if (!split || !out) return cvg__fail(CVG_ERR_ARG, "cvg_dataset_load: NULL argument");
    memset(out, 0, sizeof *out);
    const char *prefix;
    if (strcmp(split, "train") == 0) prefix = "train";
    else if (strcmp(split, "test") == 0) prefix = "t10k";
    else return cvg__fail(CVG_ERR_ARG, "unknown split '%s' (train or test)", split);
    int is_default = dir == NULL;
    if (!dir) dir = CVG_DEFAULT_DATA_DIR;
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        if (is_default)
            return cvg__fail(CVG_ERR_IO, "%s: no such directory: install Fashion-MNIST with "
                             "'apt-get install dataset-fashion-mnist' (Debian package "
                             "dataset-fashion-mnist), or give --data DIR", dir);
        return cvg__fail(CVG_ERR_IO, "%s: no such directory", dir);
    }
    char base[64];
    snprintf(base, sizeof base, "%s-images-idx3-ubyte", prefix);
    char *ipath = find_file(dir, base);
    snprintf(base, sizeof base, "%s-labels-idx1-ubyte", prefix);
    char *lpath = ipath ? find_file(dir, base) : NULL;
    if (!ipath || !lpath) {
        free(ipath);
        free(lpath);
        if (is_default) {
            char detail[512];
            snprintf(detail, sizeof detail, "%s", cvg_last_error());
            return cvg__fail(CVG_ERR_IO, "%s: reinstall the Debian package "
                             "dataset-fashion-mnist", detail);
        }
        return CVG_ERR_IO;
    }
    int nd_i, nd_l;
    int64_t di[CVG_NPY_MAX_DIMS], dl[CVG_NPY_MAX_DIMS];
    uint8_t *pix = NULL, *lab = NULL;
    cvg_status st = cvg_idx_load(ipath, &nd_i, di, &pix);
    if (st == CVG_OK) st = cvg_idx_load(lpath, &nd_l, dl, &lab);
    if (st != CVG_OK) goto done;
    if (nd_i != 3 || di[1] == 0 || di[2] == 0) {
        st = cvg__fail(CVG_ERR_SHAPE, "%s: expected 3 dimensions (N, H, W) with H, W > 0", ipath);
        goto done;
    }
    if (nd_l != 1 || dl[0] != di[0]) {
        st = cvg__fail(CVG_ERR_SHAPE, "%s: expected 1 dimension of %lld labels, one per image "
                       "of %s", lpath, (long long)di[0], ipath);
        goto done;
    }
    if (di[0] == 0) {
        st = cvg__fail(CVG_ERR_EMPTY, "%s: no images", ipath);
        goto done;
    }
    int64_t n = di[0];
    if (limit > 0 && limit < n) n = limit;
    int64_t per = di[1] * di[2];
    out->images = cvg__malloc((size_t)(n * per) * sizeof(float), "images");
    out->labels = cvg__malloc((size_t)n, "labels");
    if (!out->images || !out->labels) {
        st = CVG_ERR_NOMEM;
        goto done;
    }
    for (int64_t i = 0; i < n * per; i++) out->images[i] = (float)pix[i] / 255.0f;
    int maxl = 0;
    for (int64_t i = 0; i < n; i++) {
        out->labels[i] = lab[i];
        if (lab[i] > maxl) maxl = lab[i];
    }
    out->count = n;
    out->channels = 1;
    out->height = (int)di[1];
    out->width = (int)di[2];
    out->classes = maxl + 1;
done:
    if (st != CVG_OK) cvg_dataset_free(out);
    free(pix);
    free(lab);
    free(ipath);
    free(lpath);
    return st;
}

void cvg_dataset_free(cvg_dataset *ds)
{
    if (!ds) return;
    free(ds->images);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}
