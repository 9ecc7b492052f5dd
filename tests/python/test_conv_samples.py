"""`convergent stats --conv-samples positions|mean|flatten` (docs/statistics.md): each mode's
means, stds and correlations against numpy on the samples the mode defines, linear CKA of
`convergent similarity` against numpy's, the mode recorded in meta.json, printed beside the
measures, carried into similarity_<i>_<j>.json and similarity.json, shown by the report; the
Python keyword records what the CLI records; a bad value is refused by name."""
import json
import subprocess

import numpy as np
import pytest

from conftest import cli_path, related_nets, run_cli

import convergent


def samples_of(a, mode, layout):
    """The numpy reference of a mode: (rows, units) float64 from a 4-D array."""
    a = a.astype(np.float64)
    nchw = a if layout == "nchw" else a.transpose(0, 3, 1, 2)
    if mode == "positions":
        return nchw.transpose(0, 2, 3, 1).reshape(-1, nchw.shape[1])
    if mode == "mean":
        return nchw.mean(axis=(2, 3))
    return a.reshape(a.shape[0], -1)  # flatten: the file's own axis order


def linear_cka(x, y):
    x = x - x.mean(0)
    y = y - y.mean(0)
    return np.linalg.norm(x.T @ y) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
@pytest.mark.parametrize("mode", ["positions", "mean", "flatten"])
def test_each_mode_against_numpy(cli, tmp_path, mode, layout):
    nets = related_nets(40, units=5, spatial=(3, 4), seed=7)
    if layout == "nhwc":
        nets = [np.ascontiguousarray(a.transpose(0, 2, 3, 1)) for a in nets]
    files = []
    for k, a in enumerate(nets):
        files.append(tmp_path / ("net%d.npy" % (k + 1)))
        np.save(files[-1], a)
    out = tmp_path / "stats"
    run_cli("stats", "-q", "-o", out, "--layer", "conv2", "--layout", layout,
            "--conv-samples", mode, *files)
    x = [samples_of(a, mode, layout) for a in nets]
    joint = np.concatenate(x, axis=1)
    meta = json.loads((out / "conv2" / "meta.json").read_text())
    assert meta["conv_samples"] == mode and meta["kind"] == "conv"
    assert meta["units_per_net"] == x[0].shape[1] and meta["samples"] == x[0].shape[0]
    np.testing.assert_allclose(np.load(out / "conv2" / "mean.npy").ravel(), joint.mean(0),
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.load(out / "conv2" / "std.npy").ravel(), joint.std(0),
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.load(out / "conv2" / "corr.npy"), np.corrcoef(joint.T),
                               atol=2e-6)

    sim = tmp_path / "sim"
    printed = run_cli("similarity", out, "-o", sim, "--lasso-path", "0")
    pair = json.loads((sim / "conv2" / "similarity_1_2.json").read_text())
    assert pair["conv_samples"] == mode
    assert pair["measures"]["cka"] == pytest.approx(linear_cka(x[0], x[1]), abs=1e-6)
    row = [line for line in printed.splitlines() if line.startswith("conv2")][0]
    assert row.split()[-1] == mode  # printed beside the figures
    summary = json.loads((sim / "similarity.json").read_text())
    assert summary["results"][0]["conv_samples"] == mode


def test_modes_differ_and_fc_is_unaffected(cli, tmp_path):
    """The modes are different samples (their CKAs differ); a 2-D file is one sample per input
    whatever the mode, and its meta.json has no conv_samples (files as before)."""
    conv = related_nets(60, units=4, spatial=(3, 3), seed=2)
    fc = related_nets(60, units=4, seed=3)
    for k in range(2):
        np.save(tmp_path / ("c%d.npy" % k), conv[k])
        np.save(tmp_path / ("f%d.npy" % k), fc[k])
    ckas = []
    for mode in ("positions", "mean", "flatten"):
        run_cli("stats", "-q", "-o", tmp_path / mode, "--layer", "c", "--conv-samples", mode,
                tmp_path / "c0.npy", tmp_path / "c1.npy")
        run_cli("stats", "-q", "-o", tmp_path / mode, "--layer", "f", "--conv-samples", mode,
                tmp_path / "f0.npy", tmp_path / "f1.npy")
        run_cli("similarity", tmp_path / mode, "-o", tmp_path / (mode + "_sim"), "--lasso-path", "0")
        j = json.loads((tmp_path / (mode + "_sim") / "c" / "similarity_1_2.json").read_text())
        ckas.append(j["measures"]["cka"])
        fmeta = (tmp_path / mode / "f" / "meta.json").read_text()
        assert "conv_samples" not in fmeta
        assert (tmp_path / mode / "f" / "corr.npy").read_bytes() == \
            (tmp_path / "positions" / "f" / "corr.npy").read_bytes()
    assert len({round(c, 6) for c in ckas}) == 3


def test_bad_value_is_refused(cli, tmp_path):
    a = related_nets(10, units=3, spatial=(2, 2))
    np.save(tmp_path / "a.npy", a[0])
    p = subprocess.run([cli_path(), "stats", "-o", str(tmp_path / "s"), "--layer", "c",
                        "--conv-samples", "pooled", str(tmp_path / "a.npy")],
                       capture_output=True, text=True)
    assert p.returncode == 2
    assert "--conv-samples" in p.stderr and "pooled" in p.stderr
    assert "positions, mean, flatten" in p.stderr
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("mode", ["positions", "mean", "flatten"])
def test_python_keyword_records_what_the_cli_records(cli, tmp_path, mode):
    nets = related_nets(30, units=4, spatial=(2, 3), seed=5)
    for k, a in enumerate(nets):
        np.save(tmp_path / ("n%d.npy" % k), a)
    run_cli("stats", "-q", "-o", tmp_path / "cli", "--layer", "conv", "--conv-samples", mode,
            tmp_path / "n0.npy", tmp_path / "n1.npy")
    st = convergent.Stats(conv_samples=mode)
    st.update("conv", nets)
    st.update("fc", [a.reshape(a.shape[0], -1)[:, :5] for a in nets])
    st.save(tmp_path / "py")
    cli_meta = json.loads((tmp_path / "cli" / "conv" / "meta.json").read_text())
    py_meta = json.loads((tmp_path / "py" / "conv" / "meta.json").read_text())
    assert py_meta["conv_samples"] == cli_meta["conv_samples"] == mode
    assert "conv_samples" not in json.loads((tmp_path / "py" / "fc" / "meta.json").read_text())
    np.testing.assert_allclose(np.load(tmp_path / "py" / "conv" / "corr.npy"),
                               np.load(tmp_path / "cli" / "conv" / "corr.npy"), atol=1e-6)
    # the loaded layer keeps its mode: more batches under another mode are refused
    again = convergent.load(tmp_path / "py")
    other = "mean" if mode != "mean" else "flatten"
    st2 = convergent.Stats(conv_samples=other)
    st2._layers = again._layers
    with pytest.raises(ValueError, match="conv_samples"):
        st2.update("conv", nets)


def test_report_shows_the_mode(cli, tmp_path):
    nets = related_nets(40, units=4, spatial=(3, 3), seed=9)
    for k, a in enumerate(nets):
        np.save(tmp_path / ("n%d.npy" % k), a)
    res = tmp_path / "results"
    run_cli("stats", "-q", "-o", res / "stats", "--layer", "conv2", "--conv-samples", "mean",
            tmp_path / "n0.npy", tmp_path / "n1.npy")
    run_cli("similarity", res / "stats", "-o", res / "similarity", "--lasso-path", "0")
    run_cli("report", res)
    html = (res / "report.html").read_text()
    assert "conv samples: mean" in html
    assert "<th>samples</th>" in html and "<td>mean</td>" in html
