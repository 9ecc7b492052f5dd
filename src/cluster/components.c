/* Connected components and the fixed basis of the Laplacian's null space (cluster_internal.h,
 * docs/clustering.md "Components and the null space"). With c components the eigenvalue 0 of
 * L = D - W has multiplicity c and any orthonormal basis of its eigenspace is as valid as any
 * other; the dense and sparse solvers would each return their own rotation of it. Replacing
 * it by the components' normalized indicators, in a fixed order, gives every path the same
 * embedding. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_internal.h"
#include "cluster/graph_csr.h"
#include "core/internal.h"

void cvg__components_free(cvg__components *c)
{
    if (!c) return;
    free(c->comp);
    free(c->size);
    free(c->rank);
    memset(c, 0, sizeof *c);
}

typedef struct ranked {
    int64_t size;
    int32_t id;
} ranked;

/* Larger first; equal sizes by id, i.e. by lowest vertex. */
static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->size != y->size) return x->size > y->size ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

cvg_status cvg__components_find(const cvg__csr *g, cvg__components *c)
{
    memset(c, 0, sizeof *c);
    c->comp = cvg__malloc(sizeof(int32_t) * ((size_t)g->n + 1), "graph components");
    if (!c->comp) return CVG_ERR_NOMEM;
    c->count = cvg__csr_components(g, c->comp);
    if (c->count < 0) {
        cvg__components_free(c);
        return CVG_ERR_NOMEM;
    }
    size_t cnt = (size_t)c->count + 1;
    c->size = cvg__calloc(cnt, sizeof(int64_t), "graph components");
    c->rank = cvg__malloc(sizeof(int32_t) * cnt, "graph components");
    ranked *r = cvg__malloc(sizeof(ranked) * cnt, "graph components");
    if (!c->size || !c->rank || !r) {
        free(r);
        cvg__components_free(c);
        return CVG_ERR_NOMEM;
    }
    for (int64_t i = 0; i < g->n; i++) c->size[c->comp[i]]++;
    for (int64_t j = 0; j < c->count; j++) r[j] = (ranked){c->size[j], (int32_t)j};
    qsort(r, (size_t)c->count, sizeof(ranked), cmp_ranked);
    for (int64_t j = 0; j < c->count; j++) c->rank[j] = r[j].id;
    free(r);
    return CVG_OK;
}

void cvg__null_space(int64_t n, const cvg__components *c, const double *weight, int nev,
                     double *vals, double *vecs)
{
    int64_t z = c->count < nev ? c->count : nev;
    for (int64_t j = 0; j < z; j++) {
        int32_t id = c->rank[j];
        double *v = vecs + (size_t)j * n, norm2 = 0.0;
        for (int64_t i = 0; i < n; i++) {
            v[i] = c->comp[i] == id ? (weight ? sqrt(weight[i]) : 1.0) : 0.0;
            norm2 += v[i] * v[i];
        }
        double inv = 1.0 / sqrt(norm2);
        for (int64_t i = 0; i < n; i++) v[i] *= inv;
        vals[j] = 0.0;
    }
}

void cvg__localize(int64_t n, const cvg__components *c, int first, int nev, double *vecs)
{
    if (c->count < 2) return;
    double *mass = cvg__calloc((size_t)c->count, sizeof(double), "graph components");
    if (!mass) return; /* only a cleanup: the vectors stay valid without it */
    for (int j = first; j < nev; j++) {
        double *v = vecs + (size_t)j * n, total = 0.0;
        memset(mass, 0, sizeof(double) * (size_t)c->count);
        for (int64_t i = 0; i < n; i++) mass[c->comp[i]] += v[i] * v[i];
        int64_t top = 0;
        for (int64_t t = 0; t < c->count; t++) {
            total += mass[t];
            if (mass[t] > mass[top]) top = t;
        }
        if (mass[top] < (1.0 - 1e-10) * total) continue; /* shared eigenvalue: leave it */
        double inv = 1.0 / sqrt(mass[top]);
        for (int64_t i = 0; i < n; i++) v[i] = c->comp[i] == top ? v[i] * inv : 0.0;
    }
    free(mass);
}
