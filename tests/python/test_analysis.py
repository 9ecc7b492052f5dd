"""match, mi, cluster, similarity, lasso and report: against numpy / scipy / scikit-learn
references, and equal to what the CLI computes from the same statistics."""
import json
import os

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import convergent

from conftest import related_nets


@pytest.fixture(scope="module")
def layer(tmp_path_factory):
    """fc1 of two related nets (20 units, one dead), its raw rows, and a results directory with
    the CLI's mi, match, cluster and similarity outputs for the same statistics."""
    from conftest import cli_path, run_cli
    arrays = related_nets(2000, units=20, seed=3, dead=[(0, 7)])
    st = convergent.Stats()
    st.update("fc1", arrays)
    res = tmp_path_factory.mktemp("results")
    st.save(res / "stats")
    if os.path.exists(cli_path()):
        run_cli("mi", "-q", res / "stats")
        run_cli("match", "-q", res / "stats", "-o", res / "match")
        run_cli("cluster", "-q", res / "stats", "-o", res / "cluster")
        run_cli("similarity", "-q", res / "stats", "-o", res / "similarity")
    X = np.concatenate(arrays, axis=1).astype(np.float64)
    return st.result("fc1"), X, res


def cli_json(res, *parts):
    path = res.joinpath(*parts)
    if not path.exists():
        pytest.skip("the CLI did not run (%s missing)" % path)
    return json.loads(path.read_text())


def test_match_against_scipy_and_the_cli(layer):
    r, X, res = layer
    m = convergent.match(r, 0, 1, include_dead=True)  # every unit, as scipy below
    block = r.corr[:20, 20:]
    np.testing.assert_array_equal(m.semi, block.argmax(1))
    np.testing.assert_array_equal(m.semi_value, block.max(1))
    rows, cols = linear_sum_assignment(block, maximize=True)
    assert sorted(m.match) == list(range(20))
    assert m.match_value.sum() == pytest.approx(block[rows, cols].sum(), abs=1e-12)
    np.testing.assert_array_equal(m.match_value, block[np.arange(20), m.match])
    assert m.semi_mean == pytest.approx(block.max(1).mean(), abs=1e-15)
    assert m.match_mean == pytest.approx(block[rows, cols].mean(), abs=1e-14)
    assert m.overlap == np.mean(m.match == m.semi)
    np.testing.assert_array_equal(m.permuted, block[:, m.match])
    # A plain matrix works the same way.
    assert convergent.match(block).match_mean == m.match_mean
    # The CLI's defaults: dead units left out (the paper's Table 1), the same numbers.
    m = convergent.match(r, 0, 1)
    ref = cli_json(res, "match", "fc1", "match_1_2.json")
    assert (m.semi_mean, m.match_mean, m.overlap) == \
        (ref["semi_matching_mean"], ref["matching_mean"], ref["overlap_ratio"])
    dead = r.dead[0]
    assert m.excluded_rows == dead.sum() and (m.semi[dead] == -1).all() and np.isnan(m.semi_value[dead]).all()
    live = ~dead
    perm = np.load(res / "match" / "fc1" / "match_1_2_perm.npy")
    np.testing.assert_array_equal(m.match[live], perm[live])


def reference_codes(v, bins=20, zero=1e-6):
    """docs/mutual-information.md: a zero bin, then equal-mass bins by numpy quantiles."""
    above = v[v > zero].astype(np.float64)
    edges = np.quantile(above, np.arange(1, bins) / bins) if above.size else np.full(bins - 1, zero)
    return np.where(v <= zero, 0, 1 + np.searchsorted(edges, v, side="right"))


def test_mi_against_scikit_learn_and_the_cli(layer):
    from sklearn.metrics import mutual_info_score
    r, X, res = layer
    m = convergent.mi(r)
    assert m.shape == (40, 40)
    codes = [reference_codes(r.samples[:, u]) for u in range(40)]
    for i in range(0, 40, 7):
        for j in range(40):
            assert m[i, j] == pytest.approx(mutual_info_score(codes[i], codes[j]), abs=1e-10), (i, j)
    bits = convergent.mi(r, bits=True)
    np.testing.assert_allclose(bits, m / np.log(2), rtol=1e-12)
    if (res / "stats" / "fc1" / "mi.npy").exists():
        np.testing.assert_allclose(m, np.load(res / "stats" / "fc1" / "mi.npy"), rtol=1e-13, atol=1e-15)
        agree, rho = convergent.compare_semi_matchings(r.block(0, 1), r.block(0, 1, m),
                                                       skip_rows=r.dead[0], skip_cols=r.dead[1])
        pair = cli_json(res, "stats", "fc1", "mi.json")["pairs"][0]
        assert agree == pair["top8_agree"]
        assert rho == pytest.approx(pair["semi_matching_spearman"], rel=1e-14)  # JSON's digits
    by_mi = convergent.match(r, 0, 1, metric="mi", include_dead=True)
    np.testing.assert_array_equal(by_mi.semi, m[:20, 20:].argmax(1))
    by_mi = convergent.match(r, 0, 1, metric="mi")  # the dead unit left out, as the CLI
    assert (by_mi.semi[r.dead[0]] == -1).all()


def test_cluster_equals_the_cli_and_orders_units_by_leaf(layer):
    r, X, res = layer
    c = convergent.cluster(r, 0, 1)
    assert c.k == 8  # the paper's 5.12 units per cluster: round(40 / 5.12), as the CLI
    assert convergent.cluster(r, 0, 1, first_layer=True).k == 8  # round(40 / 4.8)
    assert sorted(c.order) == list(range(40))
    assert np.all(np.diff(c.labels[c.order]) >= 0)
    assert len(c.ranking) == c.leaves == len(set(c.labels))
    root = c.nodes[0]
    assert (root["parent"], root["size"], root["size_a"], root["size_b"]) == (-1, 40, 20, 20)
    ref = res / "cluster" / "fc1" / "cluster_1_2_labels.npy"
    if not ref.exists():
        pytest.skip("the CLI did not run")
    np.testing.assert_array_equal(c.labels, np.load(ref))
    np.testing.assert_array_equal(c.order, np.load(res / "cluster" / "fc1" / "cluster_1_2_order.npy"))
    auto = convergent.cluster(r, k="auto")
    assert auto.k == auto.suggested_k
    with pytest.raises(ValueError, match="k must be"):
        convergent.cluster(r, k=0)


def numpy_cca(X, Y, ridge=1e-6):
    def inv_sqrt(C):
        C = C + ridge * np.mean(np.diag(C)) * np.eye(len(C))
        w, V = np.linalg.eigh(C)
        return V @ np.diag(w ** -0.5) @ V.T
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    n = len(X)
    Cxx, Cyy, Cxy = Xc.T @ Xc / n, Yc.T @ Yc / n, Xc.T @ Yc / n
    return np.linalg.svd(inv_sqrt(Cxx) @ Cxy @ inv_sqrt(Cyy), compute_uv=False)


def test_similarity_against_numpy_and_the_cli(layer):
    r, X, res = layer
    s = convergent.similarity(r, 0, 1)
    assert set(s.values) == set(convergent.MEASURES) and len(convergent.MEASURES) == 8
    x, y = X[:, :20] - X[:, :20].mean(0), X[:, 20:] - X[:, 20:].mean(0)
    cka = np.linalg.norm(x.T @ y) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))
    assert s["cka"] == pytest.approx(cka, abs=1e-6)
    live = X[:, :20].std(0) > 0  # CCA uses the live units only: net 1's unit 7 is dead
    rho = numpy_cca(X[:, :20][:, live], X[:, 20:])
    assert s.live == (19, 20) and len(s.rho) == 19
    np.testing.assert_allclose(s.rho, rho, atol=1e-5)
    assert s["cca_mean_rho"] == pytest.approx(rho.mean(), abs=1e-5)
    assert s["cca_mean_rho2"] == pytest.approx((rho ** 2).mean(), abs=1e-5)
    ref = cli_json(res, "similarity", "fc1", "similarity_1_2.json")
    for name in convergent.MEASURES:
        assert s[name] == pytest.approx(ref["measures"][name], rel=1e-10, abs=1e-12), name
    np.testing.assert_allclose(s.rho, np.load(res / "similarity" / "fc1" / "cca_1_2.npy"), rtol=1e-10)


def test_lasso_against_scikit_learn_and_the_cli(layer):
    from sklearn.linear_model import Lasso
    r, X, res = layer
    path = convergent.lasso(r, target=1, source=0)
    assert path.r2.shape == (30, 20)
    # One point of the path by scikit-learn on standardized units (population std), the same
    # objective 1/2 E[(y - Xw)^2] + lambda |w|_1; net 1's dead unit stays out.
    std = X.std(0)
    Z = (X - X.mean(0)) / np.where(std > 0, std, 1)
    Z[:, std == 0] = 0
    lam, j = path.lambdas[15], 4
    model = Lasso(alpha=lam, fit_intercept=False, tol=1e-12, max_iter=100000).fit(Z[:, :20], Z[:, 20 + j])
    r2 = 1 - np.mean((Z[:, 20 + j] - Z[:, :20] @ model.coef_) ** 2)
    assert path.r2[15, j] == pytest.approx(r2, abs=1e-5)
    assert path.nnz[15, j] == np.count_nonzero(model.coef_)
    d = res / "similarity" / "fc1"
    if not (d / "lasso_2_from_1_r2.npy").exists():
        pytest.skip("the CLI did not run")
    np.testing.assert_allclose(path.r2, np.load(d / "lasso_2_from_1_r2.npy"), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(path.nnz, np.load(d / "lasso_2_from_1_nnz.npy"))
    np.testing.assert_array_equal(path.lambdas, np.load(d / "lasso_2_from_1_lambda.npy"))


def test_report_writes_the_page(layer, tmp_path):
    r, X, res = layer
    page = convergent.report(res, html=tmp_path / "page.html")
    text = open(page).read()
    assert "fc1" in text and "<html" in text.lower()
    with pytest.raises(convergent.Error):
        convergent.report(tmp_path / "nothing-here")


def test_analyses_refuse_bad_arguments(layer):
    r, X, res = layer
    with pytest.raises(ValueError, match="net 2 out of range"):
        convergent.match(r, 0, 2)
    with pytest.raises(ValueError, match="metric must be"):
        convergent.match(r, metric="cosine")
    with pytest.raises(ValueError, match="unknown option"):
        convergent.cluster(r, colour="red")
    with pytest.raises(ValueError, match="at least 2 reservoir rows"):
        convergent.mi(np.zeros((1, 4), np.float32))
    with pytest.raises(ValueError):
        convergent.similarity(r, 0, 5)
    nan = r.corr[:20, 20:].copy()
    nan[3, 4] = np.nan
    with pytest.raises(ValueError, match="row 3"):  # the C library's message names the cell
        convergent.match(nan)


def test_table1_of_three_nets_equals_the_clis(cli, tmp_path):
    st = convergent.Stats()
    st.update("fc7", related_nets(1500, units=10, nets=3, seed=11))
    st.update("conv2", related_nets(100, units=6, nets=3, spatial=(3, 3), seed=12))
    st.save(tmp_path / "stats")
    cli("match", "-q", tmp_path / "stats", "-o", tmp_path / "match")
    ref = json.loads((tmp_path / "match" / "table1.json").read_text())
    ours = convergent.table1(st)
    assert [row["layer"] for row in ours] == ["conv2", "fc7"]
    assert len(ours) == len(ref["layers"])
    for row, want in zip(ours, ref["layers"]):
        assert (row["layer"], row["pairs"]) == (want["layer"], want["pairs"]) and row["pairs"] == 3
        for name in ("semi_matching", "matching", "overlap_ratio"):
            for stat in ("mean", "min", "max"):
                assert row[name][stat] == pytest.approx(want[name][stat], abs=1e-14), (name, stat)
