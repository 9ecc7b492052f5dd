/* The thresholded graph in compressed sparse rows (graph_csr.h). */
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_internal.h"
#include "cluster/graph_csr.h"
#include "core/internal.h"

void cvg__csr_free(cvg__csr *g)
{
    if (!g) return;
    free(g->start);
    free(g->col);
    free(g->w);
    free(g->degree);
    memset(g, 0, sizeof *g);
}

/* One edge found by the scan: vertices i < j, weight w. */
typedef struct edge {
    int32_t i, j;
    double w;
} edge;

/* Rows from an edge list: counts, prefix sums, then each edge written into both rows in the
 * order of the list (so the layout, and every sum over a row, is deterministic). */
static cvg_status csr_from_edges(int64_t n, const edge *e, int64_t ne, cvg__csr *g)
{
    memset(g, 0, sizeof *g);
    g->n = n;
    g->start = cvg__calloc((size_t)n + 1, sizeof(int64_t), "the sparse graph");
    g->degree = cvg__calloc((size_t)n ? (size_t)n : 1, sizeof(double), "degrees");
    g->col = cvg__malloc(sizeof(int32_t) * (size_t)(2 * ne + 1), "the sparse graph");
    g->w = cvg__malloc(sizeof(double) * (size_t)(2 * ne + 1), "the sparse graph");
    int64_t *cursor = cvg__malloc(sizeof(int64_t) * ((size_t)n + 1), "the sparse graph");
    if (!g->start || !g->degree || !g->col || !g->w || !cursor) {
        free(cursor);
        cvg__csr_free(g);
        return CVG_ERR_NOMEM;
    }
    for (int64_t t = 0; t < ne; t++) {
        g->start[e[t].i + 1]++;
        g->start[e[t].j + 1]++;
    }
    for (int64_t i = 0; i < n; i++) g->start[i + 1] += g->start[i];
    memcpy(cursor, g->start, sizeof(int64_t) * (size_t)n);
    for (int64_t t = 0; t < ne; t++) {
        int64_t a = cursor[e[t].i]++, b = cursor[e[t].j]++;
        g->col[a] = e[t].j, g->w[a] = e[t].w;
        g->col[b] = e[t].i, g->w[b] = e[t].w;
    }
    free(cursor);
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;
        for (int64_t p = g->start[i]; p < g->start[i + 1]; p++) s += g->w[p];
        g->degree[i] = s;
    }
    return CVG_OK;
}

cvg_status cvg__csr_build(const double *corr, int64_t n, const int64_t *u, int64_t m, double tau,
                          cvg__csr *g)
{
    memset(g, 0, sizeof *g);
    if (m > INT32_MAX) return cvg__fail(CVG_ERR_ARG, "sparse graph: %lld vertices", (long long)m);
    int64_t cap = 4 * m + 16, ne = 0;
    edge *e = cvg__malloc(sizeof(edge) * (size_t)cap, "the graph's edges");
    if (!e) return CVG_ERR_NOMEM;
    /* Tiles of the upper triangle, so that the transposed reads c_qp stay in cache. */
    const int64_t T = 64;
    for (int64_t j0 = 0; j0 < m; j0 += T) {
        int64_t j1 = j0 + T < m ? j0 + T : m;
        for (int64_t i0 = 0; i0 <= j0; i0 += T) {
            int64_t i1 = i0 + T < m ? i0 + T : m;
            for (int64_t j = j0; j < j1; j++) {
                int64_t iend = i1 < j ? i1 : j;
                for (int64_t i = i0; i < iend; i++) {
                    double w = cvg__edge(corr, n, u[i], u[j], tau);
                    if (w == 0.0) continue;
                    if (ne == cap) {
                        cap *= 2;
                        edge *p = realloc(e, sizeof(edge) * (size_t)cap);
                        if (!p) {
                            free(e);
                            return cvg__fail(CVG_ERR_NOMEM, "out of memory for %lld graph edges",
                                             (long long)cap);
                        }
                        e = p;
                    }
                    e[ne++] = (edge){(int32_t)i, (int32_t)j, w};
                }
            }
        }
    }
    cvg_status st = csr_from_edges(m, e, ne, g);
    free(e);
    return st;
}

cvg_status cvg__csr_subgraph(const cvg__csr *g, const int64_t *keep, int64_t m, cvg__csr *out)
{
    memset(out, 0, sizeof *out);
    int32_t *map = cvg__malloc(sizeof(int32_t) * ((size_t)g->n + 1), "the sparse graph");
    if (!map) return CVG_ERR_NOMEM;
    for (int64_t i = 0; i < g->n; i++) map[i] = -1;
    for (int64_t r = 0; r < m; r++) map[keep[r]] = (int32_t)r;
    int64_t ne = 0;
    for (int64_t r = 0; r < m; r++)
        for (int64_t p = g->start[keep[r]]; p < g->start[keep[r] + 1]; p++)
            ne += map[g->col[p]] > r;
    edge *e = cvg__malloc(sizeof(edge) * (size_t)(ne + 1), "the graph's edges");
    if (!e) {
        free(map);
        return CVG_ERR_NOMEM;
    }
    ne = 0;
    for (int64_t r = 0; r < m; r++)
        for (int64_t p = g->start[keep[r]]; p < g->start[keep[r] + 1]; p++)
            if (map[g->col[p]] > r) e[ne++] = (edge){(int32_t)r, map[g->col[p]], g->w[p]};
    cvg_status st = csr_from_edges(m, e, ne, out);
    free(e);
    free(map);
    return st;
}

int64_t cvg__csr_components(const cvg__csr *g, int32_t *comp)
{
    int64_t n = g->n, count = 0;
    int32_t *queue = cvg__malloc(sizeof(int32_t) * ((size_t)n + 1), "component search");
    if (!queue) return -1;
    for (int64_t i = 0; i < n; i++) comp[i] = -1;
    for (int64_t s = 0; s < n; s++) {
        if (comp[s] >= 0) continue;
        int64_t head = 0, tail = 0;
        queue[tail++] = (int32_t)s;
        comp[s] = (int32_t)count;
        while (head < tail) {
            int32_t v = queue[head++];
            for (int64_t p = g->start[v]; p < g->start[v + 1]; p++)
                if (comp[g->col[p]] < 0) {
                    comp[g->col[p]] = (int32_t)count;
                    queue[tail++] = g->col[p];
                }
        }
        count++;
    }
    free(queue);
    return count;
}

void cvg__csr_laplacian_mul(const cvg__csr *g, const double *s, double shift, const double *X,
                            double *Y, int cols)
{
    const int64_t n = g->n;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        double *y = Y + (size_t)i * cols;
        const double *xi = X + (size_t)i * cols;
        double si = s ? s[i] : 1.0, di = g->degree[i] * si;
        for (int c = 0; c < cols; c++) y[c] = di * xi[c];
        for (int64_t p = g->start[i]; p < g->start[i + 1]; p++) {
            const double *xj = X + (size_t)g->col[p] * cols;
            double w = s ? g->w[p] * s[g->col[p]] : g->w[p];
            for (int c = 0; c < cols; c++) y[c] -= w * xj[c];
        }
        for (int c = 0; c < cols; c++) y[c] = si * y[c] - shift * xi[c];
    }
}
