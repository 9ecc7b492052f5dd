/* cvg_cluster: the paper's hierarchical spectral clustering of the units of two networks
 * (section 4, appendix 6.5). The algorithm and its decisions are written up in
 * docs/clustering.md; this file builds the tree, the pieces live beside it:
 *   eigs.c    smallest eigenpairs of the Laplacian, kmeans.c    k-means,
 *   finish.c  leaf numbering, permutation, metrics,  rng.c    the seeded generator. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "cluster/cluster_internal.h"
#include "cluster/clustering.h"
#include "cluster/graph_csr.h"
#include "core/internal.h"

void cvg_cluster_options_init(cvg_cluster_options *opt)
{
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    opt->k = 0;
    opt->k_max = 0;
    opt->tau = 0.2;
    opt->alpha = 0.025;
    opt->min_split = 4;
    opt->restarts = 10;
    opt->max_iter = 300;
    opt->max_depth = 32;
    opt->seed = 1;
    opt->eigensolver = CVG_EIG_AUTO;
    opt->laplacian = CVG_LAPLACIAN_UNNORMALIZED;
    opt->refine = 0; /* the paper's k-means labels; refinement is beyond the paper, opt-in */
}

int cvg_cluster_paper_k(int first_layer, int64_t units_per_net, int nets, char *rule, size_t rule_size)
{
    /* the paper's layer width and units per cluster: conv1 96 units, k 40 (2*96/40 = 4.8);
       conv2 and conv5 256 units, k 100 (2*256/100 = 5.12) */
    const int64_t S_paper = first_layer ? 96 : 256;
    const double per_cluster = first_layer ? 4.8 : 5.12;
    const int64_t S = units_per_net > 0 ? units_per_net : 1;
    const int K = nets > 0 ? nets : 2;
    const int64_t S_used = S < S_paper ? S : S_paper;
    double k = floor((double)K * (double)S_used / per_cluster + 0.5);
    if (k > (double)S) k = (double)S;
    if (k < 1) k = 1;
    if (rule && rule_size) {
        if (S >= S_paper)
            snprintf(rule, rule_size, "paper: k = round(%d x %lld / %g) = %d (%s layer, S = %lld >= %lld "
                     "as wide as the paper's)", K, (long long)S_paper, per_cluster, (int)k,
                     first_layer ? "first" : "later", (long long)S, (long long)S_paper);
        else
            snprintf(rule, rule_size, "scaled: k = round(%d x %lld / %g) = %d (%s layer, S = %lld < %lld: "
                     "the paper's %g units per cluster)", K, (long long)S, per_cluster, (int)k,
                     first_layer ? "first" : "later", (long long)S, (long long)S_paper, per_cluster);
    }
    return (int)k;
}

int cvg_cluster_paper_k_widths(int first_layer, int nets, const int64_t *widths, char *rule,
                               size_t rule_size)
{
    const int K = nets > 0 && widths ? nets : 1;
    int64_t n = 0, narrowest = INT64_MAX;
    int equal = 1;
    for (int i = 0; i < K; i++) {
        const int64_t w = widths && widths[i] > 0 ? widths[i] : 1;
        n += w;
        narrowest = w < narrowest ? w : narrowest;
        equal &= !widths || widths[i] == widths[0];
    }
    if (equal) return cvg_cluster_paper_k(first_layer, narrowest, K, rule, rule_size);
    /* 2S (K S) becomes the number of vertices n = S_1 + ... + S_K: the paper's units per
       cluster kept, and its k where the graph has as many vertices as the paper's
       (K x 96 or K x 256), so that equal widths give cvg_cluster_paper_k's k */
    const int64_t S_paper = first_layer ? 96 : 256;
    const double per_cluster = first_layer ? 4.8 : 5.12;
    const int64_t n_paper = (int64_t)K * S_paper, n_used = n < n_paper ? n : n_paper;
    double k = floor((double)n_used / per_cluster + 0.5);
    if (k > (double)(n / K)) k = (double)(n / K);
    if (k < 1) k = 1;
    if (rule && rule_size) {
        char sum[96] = "";
        for (int i = 0, len = 0; i < K && len < (int)sizeof sum - 24; i++)
            len += snprintf(sum + len, sizeof sum - (size_t)len, "%s%lld", i ? " + " : "",
                            (long long)widths[i]);
        if (n >= n_paper)
            snprintf(rule, rule_size, "paper: k = round(%lld / %g) = %d (%s layer, widths %s = %lld "
                     "vertices >= %d x %lld, as many as the paper's)", (long long)n_paper, per_cluster,
                     (int)k, first_layer ? "first" : "later", sum, (long long)n, K, (long long)S_paper);
        else
            snprintf(rule, rule_size, "scaled: k = round((%s) / %g) = %d (%s layer, %lld vertices < "
                     "%d x %lld: the paper's %g units per cluster)", sum, per_cluster, (int)k,
                     first_layer ? "first" : "later", (long long)n, K, (long long)S_paper, per_cluster);
    }
    return (int)k;
}

int cvg_cluster_default_k(int layer_index, int64_t units_per_net)
{
    return cvg_cluster_paper_k(layer_index == 0, units_per_net, 2, NULL, 0);
}

/* ---- the tree under construction */

typedef struct bnode {
    int32_t parent, depth, first_child, n_children, k;
    int64_t size;
    int64_t *units; /* ascending; freed once an inner node is split */
} bnode;

typedef struct builder {
    const double *corr;
    int64_t n; /* vertices: units of net A, then of net B */
    const cvg_cluster_options *opt;
    bnode *nodes;
    int n_nodes, cap;
    cvg_clustering *res;
    double *degree; /* n: degrees in the top-level graph */
    double *degree_scale; /* n: D^{-1/2} of the active units (random-walk variant) */
    int64_t *row;   /* n: each unit's row in emb, -1 for isolated units */
    double *emb;    /* rows x dim: the top-level spectral embedding */
    int dim;
} builder;

static cvg_status add_node(builder *b, int32_t parent, int32_t depth, int64_t *units,
                           int64_t size)
{
    if (b->n_nodes == b->cap) {
        int cap = b->cap ? 2 * b->cap : 64;
        bnode *p = realloc(b->nodes, sizeof(bnode) * (size_t)cap);
        if (!p) return cvg__fail(CVG_ERR_NOMEM, "out of memory for the cluster tree");
        b->nodes = p;
        b->cap = cap;
    }
    b->nodes[b->n_nodes++] = (bnode){parent, depth, -1, 0, 0, size, units};
    return CVG_OK;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ull;
    return x ^ (x >> 33);
}

/* The sub-graph of units u[0..m) (ascending): A (m x m, column-major) gets W in its strict upper
 * triangle, d the degrees within the sub-graph. Tiled for the transposed reads of corr. */
static void build_graph(const double *corr, int64_t n, const int64_t *u, int64_t m, double tau,
                        double *A, double *d)
{
    const int64_t T = 64;
    memset(d, 0, sizeof(double) * (size_t)m);
    for (int64_t j0 = 0; j0 < m; j0 += T) {
        int64_t j1 = j0 + T < m ? j0 + T : m;
        for (int64_t i0 = 0; i0 <= j0; i0 += T) {
            int64_t i1 = i0 + T < m ? i0 + T : m;
            for (int64_t j = j0; j < j1; j++) {
                int64_t iend = i1 < j ? i1 : j;
                for (int64_t i = i0; i < iend; i++) {
                    double w = cvg__edge(corr, n, u[i], u[j], tau);
                    A[i + j * m] = w;
                    d[i] += w;
                    d[j] += w;
                }
            }
        }
    }
}

/* Canonical order for k-means: by degree (descending), which does not depend on the order the
 * units come in, so neither do the k-means++ draws (up to rounding of the degrees). */
typedef struct by_degree {
    double d;
    int64_t unit;
} by_degree;

static int cmp_degree(const void *a, const void *b)
{
    const by_degree *x = a, *y = b;
    if (x->d != y->d) return x->d > y->d ? -1 : 1;
    return (x->unit > y->unit) - (x->unit < y->unit);
}

typedef struct child {
    int64_t lowest;
    int32_t group; /* k-means label, or -1 for an isolated unit (a singleton) */
} child;

static int cmp_child(const void *a, const void *b)
{
    const child *x = a, *y = b;
    return (x->lowest > y->lowest) - (x->lowest < y->lowest);
}

/* Make node id's children: units[i] goes to group label[i] (>= 0, < k) or, for label -1, to a
 * singleton of its own. Children are ordered by their lowest unit. Fewer than two children:
 * the node stays a leaf. */
static cvg_status make_children(builder *b, int id, const int32_t *label, int k)
{
    bnode nd = b->nodes[id];
    int64_t m = nd.size;
    const int64_t *u = nd.units;
    cvg_status st = CVG_OK;
    child *kids = cvg__malloc(sizeof(child) * (size_t)m, "cluster workspace");
    int64_t *count = cvg__calloc((size_t)k + 1, sizeof(int64_t), "cluster workspace");
    int64_t *slot = cvg__calloc((size_t)k + 1, sizeof(int64_t), "cluster workspace");
    if (!kids || !count || !slot) {
        st = CVG_ERR_NOMEM;
        goto done;
    }
    int64_t nkids = 0;
    for (int64_t i = 0; i < m; i++) {
        if (label[i] < 0)
            kids[nkids++] = (child){u[i], -1};
        else if (count[label[i]]++ == 0)
            kids[nkids++] = (child){u[i], label[i]};
    }
    if (nkids < 2) goto done;
    qsort(kids, (size_t)nkids, sizeof(child), cmp_child);
    int32_t first = b->n_nodes;
    for (int64_t c = 0; c < nkids; c++) {
        int64_t size = kids[c].group >= 0 ? count[kids[c].group] : 1;
        int64_t *cu = cvg__malloc(sizeof(int64_t) * (size_t)size, "cluster units");
        if (!cu) {
            st = CVG_ERR_NOMEM;
            goto done;
        }
        if (kids[c].group < 0)
            cu[0] = kids[c].lowest;
        else
            slot[kids[c].group] = c;
        if ((st = add_node(b, id, nd.depth + 1, cu, size)) != CVG_OK) {
            free(cu);
            goto done;
        }
        if (kids[c].group >= 0) b->nodes[first + c].size = 0; /* refilled below */
    }
    for (int64_t i = 0; i < m; i++) { /* ascending within each child */
        if (label[i] < 0) continue;
        bnode *ch = &b->nodes[first + slot[label[i]]];
        ch->units[ch->size++] = u[i];
    }
    b->nodes[id].first_child = first;
    b->nodes[id].n_children = (int32_t)nkids;
    b->nodes[id].k = k;
done:
    free(kids);
    free(count);
    free(slot);
    return st;
}

/* pos[r] = the r-th of u[0..m) in the canonical order (degree descending, then index), so
 * that what follows does not depend on the order the units come in. */
static cvg_status degree_order(const builder *b, const int64_t *u, int64_t m, int64_t *pos)
{
    by_degree *canon = cvg__malloc(sizeof(by_degree) * (size_t)m, "cluster workspace");
    if (!canon) return CVG_ERR_NOMEM;
    for (int64_t i = 0; i < m; i++) canon[i] = (by_degree){b->degree[u[i]], i};
    qsort(canon, (size_t)m, sizeof(by_degree), cmp_degree);
    for (int64_t r = 0; r < m; r++) pos[r] = canon[r].unit;
    free(canon);
    return CVG_OK;
}

/* The rows of units u[0..m) (all with an embedding row) in the canonical order: X (m x dim)
 * row r = u[pos[r]]'s embedding. */
static cvg_status gather_rows(const builder *b, const int64_t *u, int64_t m, double *X,
                              int64_t *pos)
{
    cvg_status st = degree_order(b, u, m, pos);
    if (st != CVG_OK) return st;
    for (int64_t r = 0; r < m; r++)
        memcpy(X + r * b->dim, b->emb + b->row[u[pos[r]]] * b->dim, sizeof(double) * b->dim);
    return CVG_OK;
}

/* k-means of the units u[0..m) (all with an embedding row) into k groups; label[i] for u[i]. */
static cvg_status kmeans_units(builder *b, const int64_t *u, int64_t m, int k, uint64_t seed,
                               int32_t *label)
{
    if (k >= m) {
        for (int64_t i = 0; i < m; i++) label[i] = (int32_t)i;
        return CVG_OK;
    }
    int dim = b->dim;
    cvg_status st = CVG_OK;
    double *X = cvg__malloc(sizeof(double) * (size_t)m * dim, "the spectral embedding");
    int32_t *lab = cvg__malloc(sizeof(int32_t) * (size_t)m, "cluster workspace");
    int64_t *pos = cvg__malloc(sizeof(int64_t) * (size_t)m, "cluster workspace");
    if (!X || !lab || !pos) {
        st = CVG_ERR_NOMEM;
        goto done;
    }
    if ((st = gather_rows(b, u, m, X, pos)) != CVG_OK) goto done;
    st = cvg__kmeans(m, dim, X, k, b->opt->restarts, b->opt->max_iter, seed, lab, NULL);
    if (st == CVG_OK)
        for (int64_t r = 0; r < m; r++) label[pos[r]] = lab[r];
done:
    free(X);
    free(lab);
    free(pos);
    return st;
}

/* Which eigensolver path: the requested one, or for auto the sparse path where its cost model
 * says it wins (docs/clustering.md, "Sparse path": measured faster than the dense Laplacian at
 * every benchmarked size from 1024 vertices, and still 1.1-2x faster at 15% density with
 * entries * b = n^3 / 780), else the dense Laplacian (whose own auto picks dsyevr or
 * shift-invert Krylov). The model: per restart ~13 products of the sparse L with b columns
 * (entries * b each) against a Cholesky of n^3 / 3 flops at a several times higher rate. */
enum { SPARSE_FROM = 1024, SPARSE_MARGIN = 256 };

static int use_sparse(const cvg_cluster_options *opt, const cvg__csr *g, int nev)
{
    if (opt->eigensolver == CVG_EIG_SPARSE) return 1;
    if (opt->eigensolver != CVG_EIG_AUTO) return 0;
    double n = (double)g->n, b = (double)(nev + (nev / 4 > 8 ? nev / 4 : 8));
    return g->n >= SPARSE_FROM && (double)cvg__csr_entries(g) * b * SPARSE_MARGIN <= n * n * n;
}

/* The eigenpairs of the top-level graph g (the active units; rw: the random-walk form) by the
 * dense Laplacian: an ma x ma array built from corr, freed before returning. Its null space is
 * then replaced by the fixed component basis, as the sparse path's. */
static cvg_status dense_eigs(builder *b, const cvg__csr *g, const int64_t *active,
                             const cvg__components *comps, int rw, cvg__eig_request *rq,
                             double *vals, double *vecs)
{
    int64_t ma = g->n;
    double *A = cvg__calloc((size_t)ma * (size_t)ma, sizeof(double), "the similarity graph");
    double *d = cvg__malloc(sizeof(double) * (size_t)ma, "degrees");
    cvg_status st = CVG_ERR_NOMEM;
    if (A && d) {
        build_graph(b->corr, b->n, active, ma, b->opt->tau, A, d);
        memcpy(d, g->degree, sizeof(double) * (size_t)ma); /* one set of degrees for all paths */
        /* Random-walk variant: the eigenvectors of D^{-1/2} L D^{-1/2} = I - D^{-1/2} W
         * D^{-1/2} (the same "degrees minus upper triangle" form, with unit degrees). */
        if (rw) {
            for (int64_t j = 0; j < ma; j++)
                for (int64_t i = 0; i < j; i++) A[i + j * ma] /= sqrt(d[i] * d[j]);
            for (int64_t j = 0; j < ma; j++) d[j] = 1.0;
        }
        st = cvg__laplacian_eigs(ma, A, d, rq, vals, vecs, NULL);
        if (st == CVG_OK) {
            cvg__null_space(ma, comps, rw ? g->degree : NULL, rq->nev, vals, vecs);
            int z = comps->count < rq->nev ? (int)comps->count : rq->nev;
            cvg__localize(ma, comps, z, rq->nev, vecs);
        }
    }
    free(A);
    free(d);
    return st;
}

/* The top level: the graph on all 2S units, its isolated units (singletons), the Laplacian
 * eigenpairs of the rest, the eigen-gap suggestion, the embedding kept for the deeper splits,
 * and the k-means into k clusters. */
static cvg_status split_root(builder *b)
{
    const cvg_cluster_options *opt = b->opt;
    int64_t n = b->n;
    cvg_status st = CVG_OK;
    double *vals = NULL, *vecs = NULL;
    cvg__csr full = {0}, g = {0};
    cvg__components comps = {0};
    int64_t *active = cvg__malloc(sizeof(int64_t) * (size_t)n, "cluster workspace");
    int32_t *label = cvg__malloc(sizeof(int32_t) * (size_t)n, "cluster workspace");
    if (!active || !label) {
        st = CVG_ERR_NOMEM;
        goto done;
    }
    if ((st = cvg__csr_build(b->corr, n, b->nodes[0].units, n, opt->tau, &full)) != CVG_OK)
        goto done;
    memcpy(b->degree, full.degree, sizeof(double) * (size_t)n);

    /* Isolated units (no edge at all) cannot be placed by the embedding: their indicator
     * vectors all have eigenvalue 0. Each becomes a singleton leaf. */
    int64_t ma = 0;
    for (int64_t i = 0; i < n; i++) {
        b->row[i] = full.degree[i] > 0.0 ? ma : -1;
        if (full.degree[i] > 0.0) active[ma++] = i;
    }
    b->res->isolated = n - ma;
    st = cvg__csr_subgraph(&full, active, ma, &g);
    cvg__csr_free(&full);
    if (st != CVG_OK) goto done;
    int rw = opt->laplacian == CVG_LAPLACIAN_RANDOM_WALK;
    for (int64_t j = 0; j < ma; j++) b->degree_scale[j] = rw ? 1.0 / sqrt(g.degree[j]) : 1.0;
    int k = 0;
    if (ma >= 2) {
        if ((st = cvg__components_find(&g, &comps)) != CVG_OK) goto done;
        b->res->components = comps.count;
        if (opt->k > 0) k = opt->k < ma ? opt->k : (int)ma;
        int kmax = opt->k_max > 0 ? opt->k_max : (opt->k > 0 ? opt->k : 100);
        int hi = kmax < ma - 1 ? kmax : (int)(ma - 1);
        int nev = k > hi + 1 ? k : hi + 1;
        if (nev > ma) nev = (int)ma;
        vals = cvg__malloc(sizeof(double) * (size_t)nev, "eigenvalues");
        vecs = cvg__malloc(sizeof(double) * (size_t)ma * nev, "eigenvectors");
        if (!vals || !vecs) {
            st = CVG_ERR_NOMEM;
            goto done;
        }
        cvg_eigensolver used = CVG_EIG_SPARSE;
        cvg__eig_request rq = {.nev = nev,
                               .nvec = k,
                               .gap_lo = 2,
                               .gap_hi = hi,
                               .method = opt->eigensolver,
                               .seed = mix64(opt->seed),
                               .progress = opt->progress,
                               .progress_user = opt->progress_user,
                               .used = &used};
        if (use_sparse(opt, &g, nev))
            st = cvg__sparse_laplacian_eigs(&g, rw ? b->degree_scale : NULL, &comps, &rq, vals,
                                            vecs, NULL);
        else
            st = dense_eigs(b, &g, active, &comps, rw, &rq, vals, vecs);
        if (st != CVG_OK) goto done;
        b->res->eigensolver = used;
        int suggested = hi >= 2 ? cvg__eigengap_k(vals, nev, 2, hi) : (int)ma;
        if (k == 0) k = suggested;
        b->res->suggested_k = suggested;
        b->res->n_eigs = nev;
        b->res->eigs = vals;
        vals = NULL;
        /* The embedding: row r = active unit r's coordinates in the first k eigenvectors
         * (scaled back by D^{-1/2} for the random-walk variant: L v = lambda D v). */
        b->dim = k;
        b->emb = cvg__malloc(sizeof(double) * (size_t)ma * k, "the spectral embedding");
        if (!b->emb) {
            st = CVG_ERR_NOMEM;
            goto done;
        }
        for (int64_t r = 0; r < ma; r++)
            for (int c = 0; c < k; c++)
                b->emb[r * k + c] = vecs[r + (size_t)c * ma] * b->degree_scale[r];
        free(vecs);
        vecs = NULL;
        st = kmeans_units(b, active, ma, k, mix64(opt->seed), label);
        if (st != CVG_OK) goto done;
        /* Refinement (docs/clustering.md): single-unit moves that raise the ratio association
         * on W itself. */
        if (opt->refine && k >= 2 && k < ma) {
            int64_t *pos = cvg__malloc(sizeof(int64_t) * (size_t)ma, "cluster workspace");
            if (!pos) st = CVG_ERR_NOMEM;
            if (st == CVG_OK) st = degree_order(b, active, ma, pos);
            if (st == CVG_OK) st = cvg__refine_assoc(&g, pos, k, opt->max_iter, label, NULL);
            free(pos);
            if (st != CVG_OK) goto done;
        }
        /* label is indexed like active[]; spread it over all units (-1: isolated) */
        for (int64_t i = n - 1, r = ma - 1; i >= 0; i--)
            label[i] = (r >= 0 && active[r] == i) ? label[r--] : -1;
    } else {
        k = (int)ma; /* a single active unit cannot be: edges have two ends */
        for (int64_t i = 0; i < n; i++) label[i] = -1;
    }
    b->res->k = k;
    st = make_children(b, 0, label, k > 0 ? k : 1);
done:
    cvg__csr_free(&full);
    cvg__csr_free(&g);
    cvg__components_free(&comps);
    free(vals);
    free(vecs);
    free(active);
    free(label);
    return st;
}

/* Nodes larger than this are split again: 2*alpha*S units (alpha * n for n = S_a + S_b
 * vertices: the same number for equal widths), but never fewer than min_split. */
static double split_limit(const cvg_cluster_options *o, int64_t n)
{
    double limit = o->alpha * (double)n;
    return limit > (double)o->min_split ? limit : (double)o->min_split;
}

/* The nodes deeper than the root with more than alpha * n units (2*alpha*S; depth < max_depth) are
 * split: k-means again on the same (top-level) embedding rows of their units, with k =
 * max(2, ceil(size / (2*alpha*S))), the fewest parts that could all be under the limit.
 * Children still too large are split in turn. */
static int needs_split(const builder *b, int id)
{
    const bnode *nd = &b->nodes[id];
    return id > 0 && (double)nd->size > split_limit(b->opt, b->n) &&
           nd->depth < b->opt->max_depth && nd->size >= 2 && b->emb;
}

static int split_k(const builder *b, int64_t m)
{
    double limit = split_limit(b->opt, b->n);
    double need = limit > 0.0 ? ceil((double)m / limit) : (double)m;
    return need > 2.0 ? (need < (double)m ? (int)need : (int)m) : 2;
}

/* One split's k-means, prepared for the batch. */
typedef struct pending {
    int id, k;
    int64_t m;
    double *X;      /* m x dim rows in the canonical order */
    int64_t *pos;   /* m: row r is units[pos[r]] */
    int32_t *lab;   /* m: k-means labels of the rows */
} pending;

/* Split the nodes first .. end-1 that need it (the tree's nodes known at this point, none the
 * root): their k-means as one batch (cvg__kmeans_batch: restarts of all nodes spread over the
 * threads), then their children made in node order, as a node-by-node loop would (same ids,
 * same tree), the progress callback after each node. */
static cvg_status split_level(builder *b, int first, int end)
{
    int count = 0;
    cvg_status st = CVG_OK;
    pending *p = cvg__calloc((size_t)(end - first), sizeof(pending), "cluster workspace");
    cvg__kmeans_job *jobs = cvg__calloc((size_t)(end - first), sizeof(cvg__kmeans_job), "cluster workspace");
    int32_t *label = NULL;
    if (!p || !jobs) {
        st = CVG_ERR_NOMEM;
        goto done;
    }
    for (int id = first; id < end; id++) {
        if (!needs_split(b, id)) continue;
        const bnode *nd = &b->nodes[id];
        pending *q = &p[count];
        *q = (pending){.id = id, .k = split_k(b, nd->size), .m = nd->size};
        q->X = cvg__malloc(sizeof(double) * (size_t)q->m * b->dim, "the spectral embedding");
        q->pos = cvg__malloc(sizeof(int64_t) * (size_t)q->m, "cluster workspace");
        q->lab = cvg__malloc(sizeof(int32_t) * (size_t)q->m, "cluster workspace");
        count++;
        if (!q->X || !q->pos || !q->lab) {
            st = CVG_ERR_NOMEM;
            goto done;
        }
        if ((st = gather_rows(b, nd->units, q->m, q->X, q->pos)) != CVG_OK) goto done;
        if (q->k >= q->m) { /* each unit alone: nothing for k-means to do */
            for (int64_t r = 0; r < q->m; r++) q->lab[r] = (int32_t)r;
            continue;
        }
        uint64_t seed = mix64(b->opt->seed ^ mix64(((uint64_t)nd->depth << 40) ^ (uint64_t)q->m));
        jobs[count - 1] = (cvg__kmeans_job){.n = q->m, .dim = b->dim, .X = q->X, .k = q->k,
                                            .seed = seed, .labels = q->lab};
    }
    /* the jobs of the splits that need k-means, packed */
    int njobs = 0;
    for (int c = 0; c < count; c++)
        if (jobs[c].X) jobs[njobs++] = jobs[c];
    if ((st = cvg__kmeans_batch(jobs, njobs, b->opt->restarts, b->opt->max_iter)) != CVG_OK)
        goto done;
    int c = 0;
    for (int id = first; id < end; id++) {
        if (c < count && p[c].id == id) {
            free(label);
            label = cvg__malloc(sizeof(int32_t) * (size_t)p[c].m, "cluster workspace");
            if (!label) {
                st = CVG_ERR_NOMEM;
                goto done;
            }
            for (int64_t r = 0; r < p[c].m; r++) label[p[c].pos[r]] = p[c].lab[r];
            if ((st = make_children(b, id, label, p[c].k)) != CVG_OK) goto done;
            if (b->nodes[id].n_children > 0) {
                free(b->nodes[id].units);
                b->nodes[id].units = NULL;
            }
            c++;
        }
        const cvg_cluster_options *opt = b->opt;
        if (opt->progress &&
            opt->progress("cluster: splitting", (uint64_t)id + 1, (uint64_t)b->n_nodes,
                          opt->progress_user)) {
            st = cvg__fail(CVG_ERR_CANCELLED, "cluster: cancelled");
            goto done;
        }
    }
done:
    if (p)
        for (int q = 0; q < count; q++) {
            free(p[q].X);
            free(p[q].pos);
            free(p[q].lab);
        }
    free(p);
    free(jobs);
    free(label);
    return st;
}

static cvg_status check_options(const cvg_cluster_options *o)
{
    if (o->k < 0) return cvg__fail(CVG_ERR_ARG, "cluster: k must be >= 0 (0: automatic), got %d", o->k);
    if (o->k_max < 0 || o->k_max == 1)
        return cvg__fail(CVG_ERR_ARG, "cluster: k_max must be 0 (automatic) or >= 2, got %d", o->k_max);
    if (!(o->tau >= 0.0) || !isfinite(o->tau))
        return cvg__fail(CVG_ERR_ARG, "cluster: tau must be finite and >= 0 (so W >= 0), got %g", o->tau);
    if (!(o->alpha >= 0.0) || !isfinite(o->alpha))
        return cvg__fail(CVG_ERR_ARG, "cluster: alpha must be finite and >= 0, got %g", o->alpha);
    if (o->restarts < 1) return cvg__fail(CVG_ERR_ARG, "cluster: restarts must be >= 1, got %d", o->restarts);
    if (o->max_iter < 1) return cvg__fail(CVG_ERR_ARG, "cluster: max_iter must be >= 1, got %d", o->max_iter);
    if (o->max_depth < 1) return cvg__fail(CVG_ERR_ARG, "cluster: max_depth must be >= 1, got %d", o->max_depth);
    if (o->laplacian < CVG_LAPLACIAN_UNNORMALIZED || o->laplacian > CVG_LAPLACIAN_RANDOM_WALK)
        return cvg__fail(CVG_ERR_ARG, "cluster: unknown Laplacian %d", (int)o->laplacian);
    if (o->refine != 0 && o->refine != 1)
        return cvg__fail(CVG_ERR_ARG, "cluster: refine must be 0 or 1, got %d", o->refine);
    if (o->eigensolver < CVG_EIG_AUTO || o->eigensolver > CVG_EIG_SPARSE)
        return cvg__fail(CVG_ERR_ARG, "cluster: unknown eigensolver %d", (int)o->eigensolver);
    return CVG_OK;
}

static cvg_status cluster_run(const double *corr, int64_t units_a, int64_t units_b,
                              const cvg_cluster_options *opt, cvg_clustering **out);

cvg_status cvg_cluster(const double *corr, int64_t units_per_net, const cvg_cluster_options *opt,
                       cvg_clustering **out)
{
    return cvg_cluster_widths(corr, units_per_net, units_per_net, opt, out);
}

cvg_status cvg_cluster_widths(const double *corr, int64_t units_a, int64_t units_b,
                              const cvg_cluster_options *opt, cvg_clustering **out)
{
    cvg_cluster_options defaults;
    if (!opt) {
        cvg_cluster_options_init(&defaults);
        opt = &defaults;
    }
    if (cvg__check_threads(opt->threads, "cluster") != CVG_OK) return CVG_ERR_ARG;
    /* Graphs below 4096 vertices run on one thread: their many small BLAS and LAPACK calls
     * (QR panels, dsyevr's reduction) each pay an OpenMP barrier, which on a loaded machine
     * costs more than a second thread gains (docs/clustering.md). */
    const int small = units_a > 0 && units_b > 0 && units_a + units_b < 4096;
    int threads = opt->threads > 0 ? opt->threads : (small ? 1 : 0);
    if (threads == 0) return cluster_run(corr, units_a, units_b, opt, out);
    cvg_status st = CVG_OK;
    /* An inactive one-thread region whose thread count for what runs inside is `threads`: the
     * OpenMP build of OpenBLAS sizes its calls by omp_get_max_threads(), and k-means' restart
     * loop by the same. The setting ends with the region; the caller's is untouched. */
#pragma omp parallel num_threads(1)
    {
#ifdef _OPENMP
        omp_set_num_threads(threads);
#endif
        st = cluster_run(corr, units_a, units_b, opt, out);
    }
    return st;
}

static cvg_status cluster_run(const double *corr, int64_t units_a, int64_t units_b,
                              const cvg_cluster_options *opt, cvg_clustering **out)
{
    if (!out) return cvg__fail(CVG_ERR_ARG, "cluster: out is NULL");
    *out = NULL;
    if (!corr) return cvg__fail(CVG_ERR_ARG, "cluster: corr is NULL");
    if (units_a < 1 || units_b < 1)
        return cvg__fail(CVG_ERR_EMPTY, "cluster: no units in net %s (widths %lld and %lld)",
                         units_a < 1 ? "A" : "B", (long long)units_a, (long long)units_b);
    if (units_a > (1 << 19) || units_b > (1 << 19))
        return cvg__fail(CVG_ERR_ARG, "cluster: %lld + %lld units is beyond a dense graph of "
                         "2 x 2^19 vertices", (long long)units_a, (long long)units_b);
    cvg_cluster_options defaults;
    if (!opt) {
        cvg_cluster_options_init(&defaults);
        opt = &defaults;
    }
    cvg_status st = check_options(opt);
    if (st != CVG_OK) return st;
    int64_t n = units_a + units_b;
    for (int64_t i = 0; i < n * n; i++)
        if (!isfinite(corr[i]))
            return cvg__fail(CVG_ERR_NONFINITE, "cluster: corr[%lld][%lld] is not finite",
                             (long long)(i / n), (long long)(i % n));

    cvg_clustering *res = cvg__calloc(1, sizeof *res, "the clustering");
    if (!res) return CVG_ERR_NOMEM;
    res->n = n;
    res->S_a = units_a;
    res->S_b = units_b;
    builder b = {.corr = corr, .n = n, .opt = opt, .res = res};
    int64_t **leaf_units = NULL;
    int64_t *all = cvg__malloc(sizeof(int64_t) * (size_t)n, "cluster units");
    b.degree = cvg__malloc(sizeof(double) * (size_t)n, "degrees");
    b.row = cvg__malloc(sizeof(int64_t) * (size_t)n, "cluster workspace");
    b.degree_scale = cvg__malloc(sizeof(double) * (size_t)n, "degrees");
    if (!all || !b.degree || !b.row || !b.degree_scale) {
        free(all);
        st = CVG_ERR_NOMEM;
        goto fail;
    }
    for (int64_t i = 0; i < n; i++) all[i] = i;
    if ((st = add_node(&b, -1, 0, all, n)) != CVG_OK) {
        free(all);
        goto fail;
    }
    /* Breadth-first: children are appended, so this loop visits them after their parent and
     * every split strictly shrinks the pieces: it terminates. The nodes known when a level
     * starts are split as one batch (split_level). */
    if ((st = split_root(&b)) != CVG_OK) goto fail;
    if (b.nodes[0].n_children > 0) {
        free(b.nodes[0].units);
        b.nodes[0].units = NULL;
    }
    if (opt->progress &&
        opt->progress("cluster: splitting", 1, (uint64_t)b.n_nodes, opt->progress_user)) {
        st = cvg__fail(CVG_ERR_CANCELLED, "cluster: cancelled");
        goto fail;
    }
    for (int id = 1; id < b.n_nodes;) {
        int end = b.n_nodes;
        if ((st = split_level(&b, id, end)) != CVG_OK) goto fail;
        id = end;
    }

    res->n_nodes = b.n_nodes;
    res->nodes = cvg__calloc((size_t)b.n_nodes, sizeof(cvg_cluster_node), "the cluster tree");
    leaf_units = cvg__calloc((size_t)b.n_nodes, sizeof(int64_t *), "the cluster tree");
    if (!res->nodes || !leaf_units) {
        st = CVG_ERR_NOMEM;
        goto fail;
    }
    for (int id = 0; id < b.n_nodes; id++) {
        const bnode *nd = &b.nodes[id];
        res->nodes[id] = (cvg_cluster_node){.parent = nd->parent,
                                            .depth = nd->depth,
                                            .first_child = nd->first_child,
                                            .n_children = nd->n_children,
                                            .k = nd->k,
                                            .size = nd->size};
        leaf_units[id] = nd->units;
    }
    if ((st = cvg__clustering_finish(res, corr, leaf_units)) != CVG_OK) goto fail;
    for (int id = 0; id < b.n_nodes; id++) free(b.nodes[id].units);
    free(b.nodes);
    free(leaf_units);
    free(b.degree);
    free(b.row);
    free(b.degree_scale);
    free(b.emb);
    *out = res;
    return CVG_OK;

fail:
    for (int id = 0; id < b.n_nodes; id++) free(b.nodes[id].units);
    free(b.nodes);
    free(leaf_units);
    free(b.degree);
    free(b.row);
    free(b.degree_scale);
    free(b.emb);
    cvg_clustering_free(res);
    return st;
}

/* ---- accessors */

void cvg_clustering_free(cvg_clustering *c)
{
    if (!c) return;
    free(c->eigs);
    free(c->nodes);
    free(c->labels);
    free(c->order);
    free(c->leaf_node);
    free(c->ranking);
    free(c);
}

int64_t cvg_clustering_units(const cvg_clustering *c) { return c ? c->n : 0; }

int64_t cvg_clustering_net_units(const cvg_clustering *c, int net)
{
    if (!c || net < 0 || net > 1) return 0;
    return net == 0 ? c->S_a : c->S_b;
}
int cvg_clustering_k(const cvg_clustering *c) { return c ? c->k : 0; }
int cvg_clustering_suggested_k(const cvg_clustering *c) { return c ? c->suggested_k : 0; }

const double *cvg_clustering_eigenvalues(const cvg_clustering *c, int *count)
{
    if (count) *count = c ? c->n_eigs : 0;
    return c ? c->eigs : NULL;
}

int64_t cvg_clustering_isolated(const cvg_clustering *c) { return c ? c->isolated : 0; }
int cvg_clustering_leaves(const cvg_clustering *c) { return c ? c->n_leaves : 0; }
const int32_t *cvg_clustering_labels(const cvg_clustering *c) { return c ? c->labels : NULL; }
const int64_t *cvg_clustering_order(const cvg_clustering *c) { return c ? c->order : NULL; }
int cvg_clustering_nodes(const cvg_clustering *c) { return c ? c->n_nodes : 0; }

const cvg_cluster_node *cvg_clustering_node(const cvg_clustering *c, int node)
{
    if (!c || node < 0 || node >= c->n_nodes) return NULL;
    return &c->nodes[node];
}

int cvg_clustering_leaf_node(const cvg_clustering *c, int leaf)
{
    if (!c || leaf < 0 || leaf >= c->n_leaves) return -1;
    return c->leaf_node[leaf];
}

const int32_t *cvg_clustering_ranking(const cvg_clustering *c) { return c ? c->ranking : NULL; }
cvg_eigensolver cvg_clustering_eigensolver(const cvg_clustering *c)
{
    return c ? c->eigensolver : CVG_EIG_AUTO;
}
int64_t cvg_clustering_components(const cvg_clustering *c) { return c ? c->components : 0; }
