/* The report's cross-layer similarity heatmaps (report/cross_layer.h). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/cross_layer.h"

/* One cross_<a>_<b>.json of similarity/<name>/: its linear-CKA heatmap drawn beside the page's
 * figures from the saved matrices (cvg_layer_similarity_load), with a caption. */
static cvg_status one_pair(report *r, const char *name, const char *file)
{
    int a, b;
    char extra;
    if (sscanf(file, "cross_%d_%d.jso%c", &a, &b, &extra) != 3 || extra != 'n') return CVG_OK;
    char path[4600], fig[600], caption[1024];
    snprintf(path, sizeof path, "%s/similarity/%s/%s", r->results, name, file);
    cvg_layer_similarity ls;
    cvg_status st = cvg_layer_similarity_load(path, &ls);
    if (st != CVG_OK) return st;
    snprintf(fig, sizeof fig, "cross_%s_cka_%d_%d.png", name, a, b);
    char *png = fig_path(r, fig);
    st = png ? cvg_layer_similarity_heatmap(png, &ls, CVG_SIM_CKA) : cvg__fail(CVG_ERR_NOMEM, "out of memory");
    free(png);
    cvg_layer_similarity_free(&ls);
    if (st != CVG_OK) return st;
    snprintf(caption, sizeof caption,
             "Cross-layer similarity (%s; beyond the paper, which has no such figure): linear CKA "
             "of every layer of net %d (rows) against every layer of net %d (columns), from "
             "spatially averaged activations. A bright diagonal means each layer's representation "
             "is most like the same layer of the other network.", name, a, b);
    put_figure(r, fig, caption);
    return CVG_OK;
}

/* Every similarity/<name>/cross_<a>_<b>.json that `convergent similarity` wrote for
 * cross-layer statistics; a file that does not load is an error naming it. */
cvg_status section_cross_layer(report *r)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/similarity", r->results);
    DIR *d = opendir(dir);
    if (!d) return CVG_OK; /* similarity not run */
    cvg_status st = CVG_OK;
    struct dirent *e;
    while (st == CVG_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char sub[4500];
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        DIR *s = opendir(sub);
        if (!s) continue; /* a file, not a layer's directory */
        struct dirent *f;
        while (st == CVG_OK && (f = readdir(s)) != NULL)
            if (strncmp(f->d_name, "cross_", 6) == 0) st = one_pair(r, e->d_name, f->d_name);
        closedir(s);
    }
    closedir(d);
    return st;
}
