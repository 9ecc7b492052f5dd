"""`convergent cluster` and `convergent.cluster` on a layer whose networks have different
widths (docs/clustering.md, "Networks of different widths"): the graph of S_1 + S_2 vertices.
That the partition is the paper's algorithm (numpy / scikit-learn replica) is
tests/test_cluster_paper.c on the rectangular fixtures; here the front ends: the CLI and
Python give the same labels, the JSON's per-net units, counts and appendix 6.6 metrics agree
with corr.npy, and the error paths."""
import json
import subprocess

import numpy as np
import pytest

from conftest import cli_path, run_cli


def nets(n, widths, seed, dead_net=None):
    """ReLU activations of nets of the given widths that share 6 hidden signals, each unit
    following one of them: groups that span both nets. dead_net: that net's units constant."""
    rng = np.random.default_rng(seed)
    hidden = rng.standard_normal((n, 6))
    out = []
    for k, s in enumerate(widths):
        x = hidden[:, rng.integers(0, 6, s)] + 0.5 * rng.standard_normal((n, s))
        x = np.maximum(x, 0).astype(np.float32)
        if k == dead_net:
            x[:] = 0.25
        out.append(x)
    return out


def stats_of(tmp_path, arrays, layer="fc"):
    files = []
    for k, a in enumerate(arrays):
        files.append(tmp_path / ("net%d.npy" % (k + 1)))
        np.save(files[-1], a)
    run_cli("stats", "-q", "-o", tmp_path / "st", "--layer", layer, *files)
    return tmp_path / "st"


@pytest.mark.parametrize("widths,pair", [((30, 18, 24), (1, 2)), ((30, 18, 24), (2, 3)),
                                         ((30, 18, 24), (3, 1))])
def test_cli_and_python_agree_and_the_json_matches_the_correlations(cli, tmp_path, widths, pair):
    import convergent
    st = stats_of(tmp_path, nets(500, widths, seed=3))
    printed = run_cli("cluster", st, "-o", tmp_path / "cl", "--pair", "%d,%d" % pair)
    a, b = pair  # net a's units first, as given (--pair 3,1: net 3's)
    assert "(%d + %d units)" % (widths[a - 1], widths[b - 1]) in printed
    out = tmp_path / "cl" / "fc"
    labels = np.load(out / ("cluster_%d_%d_labels.npy" % (a, b)))
    order = np.load(out / ("cluster_%d_%d_order.npy" % (a, b)))
    doc = json.loads((out / ("cluster_%d_%d.json" % (a, b))).read_text())
    sa, sb = widths[a - 1], widths[b - 1]
    n = sa + sb
    assert labels.shape == (n,) and sorted(order.tolist()) == list(range(n))
    assert doc["units_per_net"] == [sa, sb]
    # the default k: round((S_a + S_b) / 5.12) (a later layer: meta.json says none is first)
    assert doc["k"] == int(np.floor(n / 5.12 + 0.5))
    assert "scaled" in doc["k_rule"] and "%d + %d" % (sa, sb) in doc["k_rule"]
    # Python, on the same statistics, the same nets and k rule: the same labels
    r = convergent.load(st).result("fc")
    c = convergent.cluster(r, a - 1, b - 1)
    assert c.widths == (sa, sb)
    np.testing.assert_array_equal(c.labels, labels)
    np.testing.assert_array_equal(c.order, order)
    assert c.k == doc["k"]
    # every leaf's units and appendix 6.6 metrics from corr.npy (rectangular blocks)
    corr = np.load(st / "fc" / "corr.npy")
    off = np.concatenate([[0], np.cumsum(widths)])
    ia, ib = np.arange(off[a - 1], off[a]), np.arange(off[b - 1], off[b])
    covered, alone, in_shared, shared = 0, [0, 0], [0, 0], 0
    for node in doc["nodes"]:
        if "children" in node:
            continue
        ua, ub = node["units_a"], node["units_b"]
        assert all(0 <= u < sa for u in ua) and all(0 <= u < sb for u in ub)
        assert all(labels[u] == node["leaf"] for u in ua)
        assert all(labels[sa + u] == node["leaf"] for u in ub)
        covered += len(ua) + len(ub)
        between = corr[np.ix_(ia[ua], ib[ub])].mean() if ua and ub else 0.0
        assert node["between"] == pytest.approx(between, abs=1e-9)
        if ua:
            assert node["within_a"] == pytest.approx(corr[np.ix_(ia[ua], ia[ua])].mean(), abs=1e-9)
        if ua and ub:
            shared += 1
            in_shared[0] += len(ua)
            in_shared[1] += len(ub)
        else:
            alone[0 if ua else 1] += 1
    assert covered == n
    assert doc["leaves_shared"] == shared
    assert [p["leaves_alone"] for p in doc["per_net"]] == alone
    assert [p["units_in_shared_leaves"] for p in doc["per_net"]] == in_shared
    assert [p["units"] for p in doc["per_net"]] == [sa, sb]


def test_python_matrix_with_widths_equals_layer_stats(cli, tmp_path):
    import convergent
    st = stats_of(tmp_path, nets(400, (20, 12), seed=5))
    r = convergent.load(st).result("fc")
    from_stats = convergent.cluster(r, k=6)
    from_matrix = convergent.cluster(r.corr, widths=(20, 12), k=6)
    np.testing.assert_array_equal(from_stats.labels, from_matrix.labels)
    assert from_matrix.k_rule == "given (k=6)"
    with pytest.raises(ValueError, match="widths"):
        convergent.cluster(r.corr, widths=(20, 11))
    with pytest.raises(ValueError, match="not 2S x 2S"):
        convergent.cluster(r.corr[:31, :31])
    with pytest.raises(ValueError, match="widths"):
        convergent.cluster(r, widths=(12, 20))


def test_a_net_whose_units_are_all_dead_is_refused(cli, tmp_path):
    import convergent
    st = stats_of(tmp_path, nets(300, (10, 16, 7), seed=7, dead_net=1))
    p = subprocess.run([cli_path(), "cluster", str(st), "-o", str(tmp_path / "cl"), "--pair", "1,2"],
                       capture_output=True, text=True)
    assert p.returncode == 1
    assert "fc/meta.json" in p.stderr and "every unit of network 2 (16) is dead" in p.stderr
    assert not (tmp_path / "cl" / "fc").exists()  # nothing published
    run_cli("cluster", st, "-o", tmp_path / "cl", "--pair", "1,3")  # the live nets still cluster
    assert json.loads((tmp_path / "cl" / "fc" / "cluster_1_3.json").read_text())["units_per_net"] == [10, 7]
    r = convergent.load(st).result("fc")
    with pytest.raises(ValueError, match="every unit of net 1 .16. is dead"):
        convergent.cluster(r, 0, 1)
