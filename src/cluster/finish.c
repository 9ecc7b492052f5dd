/* After the tree is built: depth-first leaf numbering, the block-diagonal permutation, the
 * per-node similarity metrics of appendix 6.6 and the ranking by between-net similarity. */
#include <stdlib.h>
#include <string.h>

#include "cluster/clustering.h"
#include "core/internal.h"

/* Appendix 6.6 on one node's units u[0..m) (net A: index < S_a):
 *   between  = sum_{p in A, q in B} corr(A,B)_pq / (|A| |B|)
 *   within_X = sum_{p, q in X} corr(X,X)_pq / |X|^2   (p == q included, as the formula reads)
 *   within   = (within_A + within_B) / 2, or the one defined if a net has no unit here. */
static void node_metrics(cvg_cluster_node *nd, const double *corr, int64_t n, int64_t S_a,
                         const int64_t *u, int64_t m)
{
    int64_t na = 0;
    while (na < m && u[na] < S_a) na++; /* u is grouped: net A's units first (see order) */
    int64_t nb = m - na;
    double saa = 0.0, sbb = 0.0, sab = 0.0;
    for (int64_t x = 0; x < m; x++) {
        const double *row = corr + u[x] * n;
        double s_same = 0.0, s_other = 0.0;
        if (x < na) {
            for (int64_t y = 0; y < na; y++) s_same += row[u[y]];
            for (int64_t y = na; y < m; y++) s_other += row[u[y]];
            saa += s_same;
            sab += s_other;
        } else {
            for (int64_t y = na; y < m; y++) s_same += row[u[y]];
            sbb += s_same;
        }
    }
    nd->size_a = na;
    nd->size_b = nb;
    nd->between = (na && nb) ? sab / ((double)na * (double)nb) : 0.0;
    nd->within_a = na ? saa / ((double)na * (double)na) : 0.0;
    nd->within_b = nb ? sbb / ((double)nb * (double)nb) : 0.0;
    if (na && nb)
        nd->within = 0.5 * (nd->within_a + nd->within_b);
    else
        nd->within = na ? nd->within_a : nd->within_b;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

typedef struct rank_item {
    double between;
    int64_t size;
    int32_t leaf;
} rank_item;

static int cmp_rank(const void *a, const void *b)
{
    const rank_item *x = a, *y = b;
    if (x->between != y->between) return x->between > y->between ? -1 : 1;
    if (x->size != y->size) return x->size > y->size ? -1 : 1;
    return (x->leaf > y->leaf) - (x->leaf < y->leaf);
}

cvg_status cvg__clustering_finish(cvg_clustering *c, const double *corr, int64_t **leaf_units)
{
    int64_t n = c->n;
    c->labels = cvg__malloc(sizeof(int32_t) * (size_t)n, "cluster labels");
    c->order = cvg__malloc(sizeof(int64_t) * (size_t)n, "cluster order");
    int32_t *stack = cvg__malloc(sizeof(int32_t) * (size_t)c->n_nodes, "cluster tree walk");
    int64_t *scratch = cvg__malloc(sizeof(int64_t) * (size_t)n, "cluster metrics");
    if (!c->labels || !c->order || !stack || !scratch) {
        free(stack);
        free(scratch);
        return CVG_ERR_NOMEM;
    }
    /* Depth-first, children in their stored order (lowest unit first). */
    int top = 0, leaves = 0;
    int64_t pos = 0;
    stack[top++] = 0;
    while (top > 0) {
        int id = stack[--top];
        cvg_cluster_node *nd = &c->nodes[id];
        nd->offset = pos;
        if (nd->n_children == 0) {
            nd->leaf = leaves++;
            memcpy(c->order + pos, leaf_units[id], sizeof(int64_t) * (size_t)nd->size);
            for (int64_t x = 0; x < nd->size; x++) c->labels[leaf_units[id][x]] = nd->leaf;
            pos += nd->size;
        } else {
            nd->leaf = -1;
            for (int ch = nd->n_children - 1; ch >= 0; ch--) stack[top++] = nd->first_child + ch;
        }
    }
    /* Inner nodes' offsets: the offset of their first child (set after the children). */
    for (int id = c->n_nodes - 1; id >= 0; id--) {
        cvg_cluster_node *nd = &c->nodes[id];
        if (nd->n_children) nd->offset = c->nodes[nd->first_child].offset;
    }
    c->n_leaves = leaves;
    c->leaf_node = cvg__malloc(sizeof(int32_t) * (size_t)leaves, "cluster leaves");
    c->ranking = cvg__malloc(sizeof(int32_t) * (size_t)leaves, "cluster ranking");
    if (!c->leaf_node || !c->ranking) {
        free(stack);
        free(scratch);
        return CVG_ERR_NOMEM;
    }
    for (int id = 0; id < c->n_nodes; id++) {
        cvg_cluster_node *nd = &c->nodes[id];
        if (nd->leaf >= 0) c->leaf_node[nd->leaf] = id;
        memcpy(scratch, c->order + nd->offset, sizeof(int64_t) * (size_t)nd->size);
        qsort(scratch, (size_t)nd->size, sizeof(int64_t), cmp_i64);
        node_metrics(nd, corr, n, c->S_a, scratch, nd->size);
    }
    rank_item *items = cvg__malloc(sizeof(rank_item) * (size_t)leaves, "cluster ranking");
    if (!items) {
        free(stack);
        free(scratch);
        return CVG_ERR_NOMEM;
    }
    for (int l = 0; l < leaves; l++) {
        const cvg_cluster_node *nd = &c->nodes[c->leaf_node[l]];
        items[l] = (rank_item){nd->between, nd->size, l};
    }
    qsort(items, (size_t)leaves, sizeof(rank_item), cmp_rank);
    for (int l = 0; l < leaves; l++) c->ranking[l] = items[l].leaf;
    free(items);
    free(stack);
    free(scratch);
    return CVG_OK;
}
