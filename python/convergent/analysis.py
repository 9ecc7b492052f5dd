"""The analyses of the CLI as functions returning numpy and plain Python values, with the
CLI's defaults: match (paper 3.1), mi (3.2), cluster (4), similarity and lasso (beyond the
paper), report."""
import ctypes as C
import os

import numpy as np

from . import _structs as T
from ._arrays import c_array
from ._lib import check, encode, fail, lib
from .stats import LayerStats

_dbl = C.POINTER(C.c_double)


def _ptr(a, ctype=C.c_double):
    return a.ctypes.data_as(C.POINTER(ctype))




def _set_options(struct, options, what, allowed=None):
    names = [f[0] for f in struct._fields_ if not f[0].startswith("progress")]
    for key, value in options.items():
        if key not in names or (allowed is not None and key not in allowed):
            raise fail("%s: unknown option %r (options: %s)" % (what, key, ", ".join(allowed or names)))
        setattr(struct, key, int(value) if isinstance(value, bool) else value)


# ---------------------------------------------------------------- one-to-one matching

class Match:
    """The alignment of net i's units (rows) to net j's (columns), paper section 3.1.
    semi (S,): net j's unit most similar to each unit of net i, semi_value its similarity;
    match (S,): the one-to-one max-weight assignment (-1 when rows > cols), match_value;
    a dead unit left out (the default on layer statistics) has semi = match = -1 and NaN values;
    permuted: the (i, j) block with net j's units reordered by the matching (Fig. 1d; None when
    some unit has no match); semi_mean, match_mean, overlap: the numbers of the paper's Table 1
    (over the live units); excluded_rows, excluded_cols: the dead units left out."""

    def __init__(self, r, sim):
        self.semi = c_array(r.semi, r.rows, np.int64)
        self.semi_value = c_array(r.semi_value, r.rows, np.float64)
        self.match = c_array(r.match, r.rows, np.int64)
        self.match_value = c_array(r.match_value, r.rows, np.float64)
        self.semi_mean, self.match_mean, self.overlap = r.semi_mean, r.match_mean, r.overlap
        self.excluded_rows, self.excluded_cols = r.excluded_rows, r.excluded_cols
        if sim.shape[0] <= sim.shape[1] and (self.match >= 0).all():
            self.permuted = sim[:, self.match]
        else:
            self.permuted = None

    def __repr__(self):
        return "<convergent.Match semi_mean=%.4f match_mean=%.4f overlap=%.3f>" % (
            self.semi_mean, self.match_mean, self.overlap)


def _similarity_block(r, i, j, metric):
    if isinstance(r, LayerStats):
        if metric == "corr":
            return np.ascontiguousarray(r.block(i, j))
        if metric == "mi":
            if r._mi is None:
                r._mi = mi(r)
            return np.ascontiguousarray(r.block(i, j, r._mi))
        raise fail("match: metric must be 'corr' or 'mi', got %r" % (metric,))
    m = np.asarray(r)
    if m.ndim != 2 or m.dtype.kind not in "biuf":
        raise fail("match: expected a LayerStats or a 2-D real similarity matrix, got %s"
                   % (type(r).__name__ if m.ndim != 2 else "dtype %s" % m.dtype))
    return np.ascontiguousarray(m, dtype=np.float64)


def _dead_masks(r, i, j, include_dead):
    """The dead units of nets i and j (uint8 masks) to leave out, or (None, None)."""
    if include_dead or not isinstance(r, LayerStats) or not (r.dead[i].any() or r.dead[j].any()):
        return None, None
    return (np.ascontiguousarray(r.dead[i], dtype=np.uint8),
            np.ascontiguousarray(r.dead[j], dtype=np.uint8))


def match(r, i=0, j=1, metric="corr", include_dead=False):
    """Semi-matching and exact one-to-one matching of net i's units to net j's (0-based) on
    layer statistics r by correlation ("corr", the default) or mutual information ("mi"),
    as `convergent match`: dead units (zero variance) are left out unless include_dead=True
    (`--include-dead`). r may also be a 2-D similarity matrix (rows: units of net i)."""
    sim = _similarity_block(r, i, j, metric)
    skip_a, skip_b = _dead_masks(r, i, j, include_dead)
    out = T.MatchResult()
    if skip_a is None:
        check(lib.cvg_match(_ptr(sim), sim.shape[0], sim.shape[1], C.byref(out)))
    else:
        check(lib.cvg_match_excluding(_ptr(sim), sim.shape[0], sim.shape[1], _ptr(skip_a, C.c_uint8),
                                      _ptr(skip_b, C.c_uint8), C.byref(out)))
    try:
        return Match(out, sim)
    finally:
        lib.cvg_match_result_free(C.byref(out))


def table1(st, metric="corr", include_dead=False):
    """The paper's Table 1 for a Stats (or a list of LayerStats), as `convergent match` writes
    it in table1.json: per layer, in natural order, the number of pairs of nets (i < j), the
    headline pair (nets 1-2, "headline_nets" numbered from 1) and per number (the mean
    semi-matching similarity, the mean matching similarity, the overlap ratio) the headline
    pair's value and the mean, min and max over every pair; dead units left out unless
    include_dead=True, and counted per net ("dead_units"). A list of dicts with the keys of
    table1.json's "layers"."""
    results = [st.result(l) for l in st.layers] if hasattr(st, "layers") else list(st)
    rows = []
    for r in results:
        cells = {"semi_matching": [], "matching": [], "overlap_ratio": []}
        for i in range(r.nets):
            for j in range(i + 1, r.nets):
                m = match(r, i, j, metric, include_dead)
                cells["semi_matching"].append(m.semi_mean)
                cells["matching"].append(m.match_mean)
                cells["overlap_ratio"].append(m.overlap)
        row = {"layer": r.layer, "pairs": len(cells["matching"]), "headline_nets": [1, 2]}
        for name, values in cells.items():
            row[name] = ({"headline": values[0], "mean": sum(values) / len(values),
                          "min": min(values), "max": max(values)} if values else None)
        row["dead_units"] = [int(d.sum()) for d in r.dead]
        rows.append(row)
    return rows


def compare_semi_matchings(sim_a, sim_b, top=8, skip_rows=None, skip_cols=None):
    """How two similarity matrices of the same units agree on the semi-matching: (agree, rho):
    how many of the `top` best semi-matched pairs under sim_a are among the `top` best under
    sim_b, and the Spearman correlation of the two semi-matching values (as `convergent mi`,
    which leaves the dead units out: give them as boolean masks skip_rows, skip_cols)."""
    a = np.ascontiguousarray(sim_a, dtype=np.float64)
    b = np.ascontiguousarray(sim_b, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise fail("compare_semi_matchings: two 2-D matrices of one shape expected, got %s and %s"
                   % (a.shape, b.shape))
    masks, keep = [], []
    for mask, n in ((skip_rows, a.shape[0]), (skip_cols, a.shape[1])):
        m = None if mask is None else np.ascontiguousarray(mask, dtype=np.uint8)
        if m is not None and m.shape != (n,):
            raise fail("compare_semi_matchings: a mask of %d entries expected, got shape %s" % (n, m.shape))
        keep.append(m)
        masks.append(None if m is None else _ptr(m, C.c_uint8))
    agree, rho = C.c_int(), C.c_double()
    check(lib.cvg_compare_semi_matchings_excluding(_ptr(a), _ptr(b), a.shape[0], a.shape[1],
                                                   masks[0], masks[1], top, C.byref(agree),
                                                   C.byref(rho)))
    return agree.value, rho.value


# ---------------------------------------------------------------- mutual information

def mi(r, bins=20, zero_threshold=1e-6, bias_correction=False, bits=False, threads=0):
    """Mutual information of every pair of units, (K*S, K*S) like corr, from the reservoir rows
    of layer statistics r (or a (rows, units) array of samples), as `convergent mi`: one bin for
    values <= zero_threshold, `bins` equal-mass bins over the rest, plug-in estimate in nats
    (bias_correction: Miller-Madow; bits: log base 2). The diagonal holds each unit's entropy."""
    samples = r.samples if isinstance(r, LayerStats) else np.asarray(r)
    if samples.ndim != 2:
        raise fail("mi: samples must be 2-D (rows, units), got shape %s" % (samples.shape,))
    if samples.shape[0] < 2:
        raise fail("mi: needs at least 2 reservoir rows, got %d (were the statistics made with "
                   "reservoir=0?)" % samples.shape[0])
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    opt = T.MiOptions()
    lib.cvg_mi_options_init(C.byref(opt))
    _set_options(opt, dict(bins=bins, zero_threshold=zero_threshold,
                           bias_correction=bias_correction, bits=bits, threads=threads), "mi")
    D = samples.shape[1]
    out = np.empty((D, D))
    check(lib.cvg_mi_matrix(_ptr(samples, C.c_float), samples.shape[0], D, C.byref(opt), _ptr(out)))
    return out


# ---------------------------------------------------------------- clustering

class Clustering:
    """Hierarchical spectral clustering of the units of nets i and j (2S units, net i's first;
    S_i + S_j for nets of different widths), paper section 4. widths: (S_i, S_j); labels (n,)
    leaf of each unit; order (n,) units ordered by leaf (W permuted by it is block-diagonal,
    Fig. 13); k, suggested_k (eigen-gap), eigenvalues, isolated, leaves; nodes: a list of dicts
    (parent, depth, first_child, n_children, leaf, k, offset, size, size_a, size_b, between,
    within_a, within_b, within); ranking: leaves by between-net similarity, highest first
    (Fig. 14). k_rule: the sentence saying how k was chosen (as the CLI's JSON)."""

    def __init__(self, c, k_rule=""):
        self.widths = (lib.cvg_clustering_net_units(c, 0), lib.cvg_clustering_net_units(c, 1))
        self.k_rule = k_rule
        self.k = lib.cvg_clustering_k(c)
        self.suggested_k = lib.cvg_clustering_suggested_k(c)
        count = C.c_int()
        self.eigenvalues = c_array(lib.cvg_clustering_eigenvalues(c, C.byref(count)), count.value,
                                  np.float64)
        self.isolated = lib.cvg_clustering_isolated(c)
        self.leaves = lib.cvg_clustering_leaves(c)
        nodes = lib.cvg_clustering_nodes(c)
        self.nodes = []
        for i in range(nodes):
            nd = lib.cvg_clustering_node(c, i).contents
            self.nodes.append({f: getattr(nd, f) for f, _ in T.ClusterNode._fields_})
        n = self.nodes[0]["size"] if self.nodes else 0
        self.labels = c_array(lib.cvg_clustering_labels(c), n, np.int32)
        self.order = c_array(lib.cvg_clustering_order(c), n, np.int64)
        self.ranking = c_array(lib.cvg_clustering_ranking(c), self.leaves, np.int32)
        self.leaf_nodes = [lib.cvg_clustering_leaf_node(c, i) for i in range(self.leaves)]

    def __repr__(self):
        return "<convergent.Clustering k=%d (eigen-gap %d), %d leaves, %d isolated>" % (
            self.k, self.suggested_k, self.leaves, self.isolated)


_EIGENSOLVERS = ("auto", "dense", "krylov", "sparse")
_LAPLACIANS = ("unnormalized", "random-walk")


def cluster(r, i=0, j=1, k=None, tau=0.2, alpha=0.025, min_split=4, restarts=10, seed=1,
            laplacian="unnormalized", refine=False, first_layer=False, widths=None, **more):
    """Hierarchical spectral clustering of nets i and j of layer statistics r, as
    `convergent cluster`, with the paper's defaults. k=None: the paper's rule
    (cvg_cluster_paper_k: k = 40 for a first layer of 96 or more units, 100 for a later layer
    of 256 or more, else the paper's units per cluster kept, 2S/4.8 or 2S/5.12, with 2S the
    S_i + S_j vertices for nets of different widths; first_layer says which, as
    `--first-layer`); k="auto": the eigen-gap suggestion; an int: that k. refine=True adds the
    top-level refinement that is beyond the paper (`--refine`). Other options (max_iter,
    max_depth, k_max, eigensolver, threads) as in cvg_cluster_options. r may also be a
    combined correlation matrix: 2S x 2S, or (S_a + S_b) x (S_a + S_b) with widths=(S_a, S_b).
    Nets of different widths: the graph of S_i + S_j vertices (docs/clustering.md); a net
    whose units are all dead is refused, as by the CLI."""
    if isinstance(r, LayerStats):
        for net in (i, j):
            if not 0 <= net < r.nets:
                raise fail("cluster: net %r out of range (0..%d)" % (net, r.nets - 1))
        for net, other in ((i, j), (j, i)):
            if r.dead[net].all():
                raise fail("cluster: layer '%s': every unit of net %d (%d) is dead (zero "
                           "variance): nothing to cluster with net %d"
                           % (r.layer, net, r.widths[net], other))
        o = r.offsets
        idx = np.r_[o[i]:o[i + 1], o[j]:o[j + 1]]
        w = np.ascontiguousarray(r.corr[np.ix_(idx, idx)])
        pair = (r.widths[i], r.widths[j])
        if widths is not None and tuple(widths) != pair:
            raise fail("cluster: widths=%r, but nets %d and %d have %s units" % (widths, i, j, pair))
    else:
        w = np.ascontiguousarray(r, dtype=np.float64)
        if w.ndim != 2 or w.shape[0] != w.shape[1]:
            raise fail("cluster: expected a LayerStats or a square combined correlation matrix, "
                       "got shape %s" % (w.shape,))
        if widths is None:
            if w.shape[0] % 2:
                raise fail("cluster: a %d x %d matrix is not 2S x 2S; give widths=(S_a, S_b) for "
                           "nets of different widths" % w.shape)
            pair = (w.shape[0] // 2,) * 2
        else:
            pair = tuple(int(v) for v in widths)
            if len(pair) != 2 or min(pair) < 1 or sum(pair) != w.shape[0]:
                raise fail("cluster: widths=%r must be two counts >= 1 adding up to the matrix's "
                           "%d rows" % (widths, w.shape[0]))
    opt = T.ClusterOptions()
    lib.cvg_cluster_options_init(C.byref(opt))
    if laplacian not in _LAPLACIANS:
        raise fail("cluster: laplacian must be one of %s, got %r" % (", ".join(_LAPLACIANS), laplacian))
    if "eigensolver" in more:
        if more["eigensolver"] not in _EIGENSOLVERS:
            raise fail("cluster: eigensolver must be one of %s" % ", ".join(_EIGENSOLVERS))
        more["eigensolver"] = _EIGENSOLVERS.index(more["eigensolver"])
    _set_options(opt, dict(tau=tau, alpha=alpha, min_split=min_split, restarts=restarts,
                           seed=seed, refine=refine, laplacian=_LAPLACIANS.index(laplacian), **more),
                 "cluster")
    if k is None:
        rule = C.create_string_buffer(256)
        opt.k = lib.cvg_cluster_paper_k_widths(int(bool(first_layer)), 2,
                                               (C.c_int64 * 2)(*pair), rule, len(rule))
        k_rule = rule.value.decode()
    elif k == "auto":
        opt.k, k_rule = 0, "eigen-gap suggestion (k='auto')"
    elif isinstance(k, (int, np.integer)) and k >= 1:
        opt.k, k_rule = int(k), "given (k=%d)" % k
    else:
        raise fail("cluster: k must be None (the paper's), 'auto' or an integer >= 1, got %r" % (k,))
    handle = C.c_void_p()
    check(lib.cvg_cluster_widths(_ptr(w), pair[0], pair[1], C.byref(opt), C.byref(handle)))
    try:
        return Clustering(handle, k_rule)
    finally:
        lib.cvg_clustering_free(handle)


# ---------------------------------------------------------------- similarity measures

MEASURES = tuple(lib.cvg_measure_name(m).decode() for m in range(T.SIM_MEASURES))


class SimilarityResult:
    """The measures between nets i and j: values (dict measure -> float, None where the measure
    is not defined for these statistics, with the reason in why), rho (canonical correlations,
    descending), pwcca_weight, units, live (units with nonzero variance), svcca_dims.
    Measures: %s. result["cka"] is values["cka"].""" % ", ".join(MEASURES)

    def __init__(self, s):
        self.values, self.why = {}, {}
        for m, name in enumerate(MEASURES):
            self.values[name] = s.value[m] if s.defined[m] else None
            if not s.defined[m]:
                self.why[name] = s.why[m].value.decode("utf-8", "replace")
        self.units = (s.units_a, s.units_b)
        self.live = (s.live_a, s.live_b)
        self.svcca_dims = (s.svcca_dims_a, s.svcca_dims_b)
        self.rho = c_array(s.rho, s.ncca, np.float64)
        self.pwcca_weight = c_array(s.pwcca_weight, s.ncca, np.float64)

    def __getitem__(self, name):
        return self.values[name]

    def __repr__(self):
        return "<convergent.SimilarityResult %s>" % ", ".join(
            "%s=%s" % (k, "n/a" if v is None else "%.4f" % v) for k, v in self.values.items())


def similarity(r, i=0, j=1, ridge=1e-6, svcca_variance=0.99):
    """Every measure of `convergent similarity` between nets i and j of layer statistics r:
    linear CKA (biased and debiased), mean CCA rho and rho^2, SVCCA, PWCCA, orthogonal
    Procrustes, Gaussian MI, all from the co-moments (no second pass)."""
    if not isinstance(r, LayerStats):
        raise fail("similarity: expected a LayerStats (st.result(layer)), got %s" % type(r).__name__)
    opt = T.SimilarityOptions()
    lib.cvg_similarity_options_init(C.byref(opt))
    opt.ridge, opt.svcca_variance = ridge, svcca_variance
    out = T.Similarity()
    check(lib.cvg_blocks_similarity(C.byref(r._blocks), i, j, C.byref(opt), C.byref(out)))
    try:
        return SimilarityResult(out)
    finally:
        lib.cvg_similarity_free(C.byref(out))


class Lasso:
    """The lasso path predicting each unit of net `target` from all units of net `source`:
    lambdas (path,), r2 (path, q) fraction of variance explained, nnz (path, q) nonzero
    weights, mean_r2 and mean_nnz (path,) over live targets, weights (path, q, p) if asked."""

    def __init__(self, r):
        L, p, q = r.path, r.p, r.q
        self.lambdas = c_array(r.lambda_, L, np.float64)
        self.r2 = c_array(r.r2, L * q, np.float64).reshape(L, q)
        self.nnz = c_array(r.nnz, L * q, np.int64).reshape(L, q)
        self.mean_r2 = c_array(r.mean_r2, L, np.float64)
        self.mean_nnz = c_array(r.mean_nnz, L, np.float64)
        self.weights = (c_array(r.weights, L * q * p, np.float64).reshape(L, q, p)
                        if r.weights else None)
        self.live = (r.live_p, r.live_q)
        self.not_converged = r.not_converged


def lasso(r, target=1, source=0, path=30, min_ratio=1e-2, tol=1e-7, max_sweeps=100000,
          keep_weights=False):
    """Sparse ("few-to-one") prediction of net target's units from net source's, as the lasso
    of `convergent similarity` (lasso_<t>_from_<s>_*.npy)."""
    if not isinstance(r, LayerStats):
        raise fail("lasso: expected a LayerStats, got %s" % type(r).__name__)
    for net in (target, source):
        if not 0 <= net < r.nets:
            raise fail("lasso: net %r out of range (0..%d)" % (net, r.nets - 1))
    opt = T.LassoOptions()
    lib.cvg_lasso_options_init(C.byref(opt))
    opt.path, opt.min_ratio, opt.tol, opt.max_sweeps = path, min_ratio, tol, max_sweeps
    opt.keep_weights = int(bool(keep_weights))
    o, D = r.offsets, r.offsets[-1]
    out = T.LassoResult()
    check(lib.cvg_lasso_path(r._blocks.comoment, D, o[source], r.widths[source], o[target],
                             r.widths[target], C.byref(opt), C.byref(out)))
    try:
        return Lasso(out)
    finally:
        lib.cvg_lasso_result_free(C.byref(out))


# ---------------------------------------------------------------- report

def report(results_dir, html=None):
    """Draw the figures a results directory allows (stats/, match/, cluster/, similarity/, as
    `convergent run` or the commands write them) and write RESULTS/report.html (or html).
    Returns the page's path."""
    results_dir = os.fspath(results_dir)
    html = os.path.join(results_dir, "report.html") if html is None else os.fspath(html)
    check(lib.cvg_report_write(encode(results_dir), encode(html)))
    return html
