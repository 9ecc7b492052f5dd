"""Networks of different widths in one layer (`convergent stats net1_fc1.npy wide_fc1.npy`,
docs/statistics.md): the statistics of D = sum S_k units against numpy, the directory's format
(units_per_net per net, mean/std as (D,)), merge of shards equal to one pass, conv layers of
different channel counts, the similarity measures against numpy, the matching of the
rectangular block against scipy. Clustering of such layers: test_cluster_widths.py."""
import json
import subprocess

import numpy as np
import pytest

from conftest import cli_path, run_cli


def nets_of_widths(n, widths, seed=0, spatial=None):
    rng = np.random.default_rng(seed)
    rows = n * (spatial[0] * spatial[1] if spatial else 1)
    hidden = rng.standard_normal((rows, 5))
    out = []
    for s in widths:
        x = np.maximum(hidden @ rng.standard_normal((5, s)) + 0.4 * rng.standard_normal((rows, s)), 0)
        x = x.astype(np.float32)
        if spatial:
            x = x.reshape(n, spatial[0], spatial[1], s).transpose(0, 3, 1, 2).copy()
        out.append(x)
    return out


def save_all(tmp_path, arrays, prefix="net"):
    files = []
    for k, a in enumerate(arrays):
        files.append(tmp_path / ("%s%d.npy" % (prefix, k + 1)))
        np.save(files[-1], a)
    return files


def as_rows(a):
    return a.transpose(0, 2, 3, 1).reshape(-1, a.shape[1]) if a.ndim == 4 else a


@pytest.mark.parametrize("spatial", [None, (3, 2)])
def test_statistics_of_different_widths_against_numpy(cli, tmp_path, spatial):
    arrays = nets_of_widths(300, [6, 9, 4], seed=1, spatial=spatial)
    files = save_all(tmp_path, arrays)
    out = tmp_path / "stats"
    printed = run_cli("stats", "-o", out, "--layer", "l", *files)
    assert "3 nets of 6, 9, 4 units" in printed
    joint = np.concatenate([as_rows(a).astype(np.float64) for a in arrays], axis=1)
    meta = json.loads((out / "l" / "meta.json").read_text())
    assert meta["units_per_net"] == [6, 9, 4] and meta["samples"] == joint.shape[0]
    assert len(meta["dead_unit_indices"]) == 3
    mean = np.load(out / "l" / "mean.npy")
    assert mean.shape == (19,)
    np.testing.assert_allclose(mean, joint.mean(0), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.load(out / "l" / "std.npy"), joint.std(0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.load(out / "l" / "corr.npy"), np.corrcoef(joint.T), atol=2e-6)
    c = joint - joint.mean(0)
    np.testing.assert_allclose(np.load(out / "l" / "comoment.npy"), c.T @ c, rtol=1e-5, atol=1e-3)
    assert np.load(out / "l" / "samples.npy").shape == (joint.shape[0], 19)


def test_merge_of_shards_equals_one_pass(cli, tmp_path):
    arrays = nets_of_widths(400, [5, 8], seed=2)
    whole = save_all(tmp_path, arrays, "w")
    first = save_all(tmp_path, [a[:150] for a in arrays], "a")
    second = save_all(tmp_path, [a[150:] for a in arrays], "b")
    run_cli("stats", "-q", "-o", tmp_path / "one", "--layer", "fc", *whole)
    run_cli("stats", "-q", "-o", tmp_path / "s1", "--layer", "fc", *first)
    run_cli("stats", "-q", "-o", tmp_path / "s2", "--layer", "fc", "--row-offset", "150", *second)
    run_cli("stats", "-q", "--merge", tmp_path / "s1", tmp_path / "s2", "-o", tmp_path / "merged")
    for name in ("mean.npy", "std.npy", "corr.npy", "comoment.npy"):  # float32 kernel's accuracy
        np.testing.assert_allclose(np.load(tmp_path / "merged" / "fc" / name),
                                   np.load(tmp_path / "one" / "fc" / name), rtol=2e-5, atol=1e-6)
    np.testing.assert_array_equal(np.load(tmp_path / "merged" / "fc" / "samples.npy"),
                                  np.load(tmp_path / "one" / "fc" / "samples.npy"))
    assert json.loads((tmp_path / "merged" / "fc" / "meta.json").read_text())["units_per_net"] == [5, 8]


def test_similarity_of_different_widths_against_numpy(cli, tmp_path):
    a, b = nets_of_widths(500, [6, 9], seed=3)
    run_cli("stats", "-q", "-o", tmp_path / "st", "--layer", "fc", *save_all(tmp_path, [a, b]))
    run_cli("similarity", tmp_path / "st", "-o", tmp_path / "sim", "--lasso-path", "3")
    j = json.loads((tmp_path / "sim" / "fc" / "similarity_1_2.json").read_text())
    x = a.astype(np.float64) - a.mean(0)
    y = b.astype(np.float64) - b.mean(0)
    cka = np.linalg.norm(x.T @ y) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))
    rho = np.linalg.svd(np.linalg.qr(x)[0].T @ np.linalg.qr(y)[0], compute_uv=False)
    # Procrustes of different widths: the nuclear norm of the 6 x 9 cross product, which is
    # the distance with the narrower net padded by zero units (docs/similarity.md)
    xn, yn = x / np.linalg.norm(x), y / np.linalg.norm(y)
    procrustes = 2 - 2 * np.linalg.svd(xn.T @ yn, compute_uv=False).sum()
    m = j["measures"]
    assert j["units"] == [6, 9]
    assert m["cka"] == pytest.approx(cka, abs=1e-6)
    assert m["cca_mean_rho"] == pytest.approx(rho.mean(), abs=1e-5)
    assert len(j["canonical_correlations"]) == 6
    assert m["procrustes"] == pytest.approx(procrustes, abs=1e-6)


@pytest.mark.parametrize("wide_first", [False, True])
def test_match_of_a_rectangular_block_against_scipy(cli, tmp_path, wide_first):
    from scipy.optimize import linear_sum_assignment
    widths = [9, 5] if wide_first else [5, 9]
    a, b = nets_of_widths(400, widths, seed=6)
    run_cli("stats", "-q", "-o", tmp_path / "st", "--layer", "fc", *save_all(tmp_path, [a, b]))
    printed = run_cli("match", tmp_path / "st", "-o", tmp_path / "m")
    joint = np.concatenate([a, b], axis=1).astype(np.float64)
    block = np.corrcoef(joint.T)[:widths[0], widths[0]:]
    j = json.loads((tmp_path / "m" / "fc" / "match_1_2.json").read_text())
    assert (j["units"], j["units_b"]) == tuple(widths)
    semi = block.argmax(axis=1)
    assert j["semi_matching_unit"] == semi.tolist()
    assert j["semi_matching_mean"] == pytest.approx(block.max(axis=1).mean(), abs=1e-6)
    rows, cols = linear_sum_assignment(block, maximize=True)
    match = np.full(widths[0], -1)
    match[rows] = cols
    assert j["matching_unit"] == match.tolist()
    assert sum(v is None for v in j["matching_value"]) == max(0, widths[0] - widths[1])
    assert j["matching_mean"] == pytest.approx(block[rows, cols].mean(), abs=1e-6)
    # overlap on the matched part: min(S_a, S_b) units
    assert j["overlap_ratio"] == pytest.approx(np.mean(semi[rows] == cols), abs=1e-12)
    reverse = np.load(tmp_path / "m" / "fc" / "match_1_2_semi_reverse.npy")
    assert reverse.tolist() == block.argmax(axis=0).tolist()
    assert np.load(tmp_path / "m" / "fc" / "match_1_2_perm.npy").tolist() == match.tolist()
    permuted = np.load(tmp_path / "m" / "fc" / "match_1_2_permuted.npy")
    order = [match[i] for i in range(widths[0]) if match[i] >= 0]
    order += [c for c in range(widths[1]) if c not in order]
    np.testing.assert_allclose(permuted, block[:, order], atol=1e-6)
    t1 = json.loads((tmp_path / "m" / "table1.json").read_text())["layers"][0]
    assert t1["units_per_net"] == widths
    assert t1["semi_matching_reverse_headline"] == pytest.approx(block.max(axis=0).mean(), abs=1e-6)
    assert "networks of different widths" in printed


def test_mi_and_match_by_mi_of_different_widths(cli, tmp_path):
    """`convergent mi` on a layer of 5 and 8 units: mi.npy is D x D and equals the Python
    package's (itself tested against numpy in test_analysis); its per-pair agreement is on the
    5 x 8 block; `match --metric mi` matches that block (scipy)."""
    from scipy.optimize import linear_sum_assignment
    import convergent
    run_cli("stats", "-q", "-o", tmp_path / "st", "--layer", "fc",
            *save_all(tmp_path, nets_of_widths(600, [5, 8], seed=9)))
    printed = run_cli("mi", tmp_path / "st")
    assert "nets 1-2" in printed
    mi = np.load(tmp_path / "st" / "fc" / "mi.npy")
    assert mi.shape == (13, 13)
    r = convergent.load(tmp_path / "st").result("fc")
    np.testing.assert_allclose(mi, convergent.mi(r), atol=1e-12)
    run_cli("match", tmp_path / "st", "-o", tmp_path / "m", "--metric", "mi")
    j = json.loads((tmp_path / "m" / "fc" / "match_1_2.json").read_text())
    rows, cols = linear_sum_assignment(mi[:5, 5:], maximize=True)
    assert [j["matching_unit"][i] for i in rows] == cols.tolist()


def test_equal_widths_keep_the_old_format(cli, tmp_path):
    arrays = nets_of_widths(50, [5, 5], seed=5)
    run_cli("stats", "-q", "-o", tmp_path / "st", "--layer", "fc", *save_all(tmp_path, arrays))
    meta = json.loads((tmp_path / "st" / "fc" / "meta.json").read_text())
    assert meta["units_per_net"] == 5
    assert np.load(tmp_path / "st" / "fc" / "mean.npy").shape == (2, 5)


def test_python_stats_of_different_widths(cli, tmp_path):
    """Stats.update with (N, S_k) arrays of different widths: LayerStats' per-net arrays are
    lists (ragged), corr is (D, D); the same numbers as numpy and as the CLI; match by
    correlation and by MI of the rectangular block; similarity; cluster of 4 + 7 units."""
    from scipy.optimize import linear_sum_assignment
    import convergent
    a, b = nets_of_widths(300, [4, 7], seed=8)
    st = convergent.Stats()
    st.update("fc", [a[:120], b[:120]])
    st.update("fc", [a[120:], b[120:]])
    r = st.result("fc")
    joint = np.concatenate([a, b], axis=1).astype(np.float64)
    assert r.units is None and r.widths == (4, 7) and r.offsets == (0, 4, 11)
    assert isinstance(r.mean, list) and [m.shape for m in r.mean] == [(4,), (7,)]
    np.testing.assert_allclose(np.concatenate(r.mean), joint.mean(0), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.concatenate(r.std), joint.std(0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(r.corr, np.corrcoef(joint.T), atol=2e-6)
    assert r.block(0, 1).shape == (4, 7) and r.block(1, 0).shape == (7, 4)
    m = convergent.match(r, 1, 0)  # the wider net's rows: 4 matched, 3 unmatched (-1)
    block = np.corrcoef(joint.T)[4:, :4]
    rows, cols = linear_sum_assignment(block, maximize=True)
    want = np.full(7, -1)
    want[rows] = cols
    assert m.match.tolist() == want.tolist()
    assert m.overlap == pytest.approx(np.mean(block.argmax(axis=1)[rows] == cols))
    assert convergent.match(r, 0, 1, metric="mi").match.shape == (4,)
    s = convergent.similarity(r)
    x, y = a.astype(np.float64), b.astype(np.float64)
    x, y = x - x.mean(0), y - y.mean(0)
    cka = np.linalg.norm(x.T @ y) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))
    assert s.values["cka"] == pytest.approx(cka, abs=1e-6)
    assert convergent.lasso(r, target=1, source=0, path=3).r2.shape == (3, 7)
    assert convergent.cluster(r).labels.shape == (11,)  # test_cluster_widths.py checks them
    st.save(tmp_path / "py")
    run_cli("stats", "-q", "-o", tmp_path / "cli", "--layer", "fc", *save_all(tmp_path, [a, b]))
    assert json.loads((tmp_path / "py" / "fc" / "meta.json").read_text())["units_per_net"] == [4, 7]
    np.testing.assert_allclose(np.load(tmp_path / "py" / "fc" / "corr.npy"),
                               np.load(tmp_path / "cli" / "fc" / "corr.npy"), atol=1e-6)
    back = convergent.load(tmp_path / "py").result("fc")
    assert back.widths == (4, 7) and back.n == 300
    with pytest.raises(ValueError, match="the same inputs and positions"):
        st.update("fc", [a[:10], b[:11]])


def test_report_draws_every_figure_of_a_layer_of_different_widths(cli, tmp_path):
    """A layer of different widths is drawn like any other, in the layers' order: Fig. 1 (its
    blocks S1 x S2), 3 and 7 once matched, the mean activations, and Fig. 13, 14 and 6 once
    clustered; no note leaves it out (the pixels of the figures: tests/test_report_widths.c)."""
    run_cli("stats", "-q", "-o", tmp_path / "R" / "stats", "--layer", "fc6",
            *save_all(tmp_path, nets_of_widths(300, [5, 5], seed=6)))
    wide = tmp_path / "wide"
    wide.mkdir()
    run_cli("stats", "-q", "-o", tmp_path / "R" / "stats", "--layer", "fc7",
            *save_all(wide, nets_of_widths(300, [4, 7], seed=7)))
    run_cli("report", tmp_path / "R", "-o", tmp_path / "R" / "report.html")
    page = (tmp_path / "R" / "report.html").read_text()
    assert "2 networks of different widths (4, 7 units)" in page and "<td>4, 7</td>" in page
    assert "fig1_fc7.png" in page and "fig13_fc7.png" not in page and "fig3_fc7.png" not in page
    assert page.index("fig1_fc6.png") < page.index("fig1_fc7.png")
    run_cli("match", tmp_path / "R" / "stats", "-q", "-o", tmp_path / "R" / "match")
    run_cli("cluster", tmp_path / "R" / "stats", "-q", "-o", tmp_path / "R" / "cluster")
    run_cli("report", tmp_path / "R", "-o", tmp_path / "R" / "report.html")
    page = (tmp_path / "R" / "report.html").read_text()
    for fig in ("fig1", "fig3", "fig7", "fig13", "fig14", "fig6"):
        for layer in ("fc6", "fc7"):
            name = "%s_%s.png" % (fig, layer)
            assert name in page and (tmp_path / "R" / "figures" / name).stat().st_size > 1000
    assert "mean_activations.png" in page and "<tr><td>fc7</td><td>0." in page
    assert "different widths, 4 and 7 units" in page  # the cluster section's sentence
    assert "3 units of net2 have no partner under matching" in page
    assert "Not drawn for them" not in page and "not clustered" not in page
