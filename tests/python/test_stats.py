"""convergent.Stats / load against numpy, and against the CLI's `convergent stats` files."""
import ctypes
import os
import resource

import numpy as np
import pytest

import convergent

from conftest import as_rows, related_nets, torch_or_skip


def numpy_reference(arrays):
    """mean (K, S), population std (K, S) and joint correlation of [net1 | net2 | ...], with
    dead (constant) units given correlation 0 with the others and 1 with themselves."""
    X = np.concatenate([as_rows(a).astype(np.float64) for a in arrays], axis=1)
    K, S = len(arrays), X.shape[1] // len(arrays)
    mean, std = X.mean(0), X.std(0)
    live = std > 0
    corr = np.zeros((X.shape[1],) * 2)
    corr[np.ix_(live, live)] = np.corrcoef(X[:, live], rowvar=False)
    np.fill_diagonal(corr, 1.0)
    return mean.reshape(K, S), std.reshape(K, S), corr, ~live.reshape(K, S), X


@pytest.mark.parametrize("spatial", [None, (3, 4)])
def test_streamed_statistics_equal_numpy(spatial):
    arrays = related_nets(700, units=10, nets=3, spatial=spatial, dead=[(1, 4)])
    st = convergent.Stats()
    for first in range(0, 700, 128):  # uneven batches: 5 x 128 + 60
        st.update("L", [a[first:first + 128] for a in arrays])
    r = st.result("L")
    mean, std, corr, dead, X = numpy_reference(arrays)
    assert (r.nets, r.units, r.n) == (3, 10, X.shape[0])
    np.testing.assert_allclose(r.mean, mean, rtol=1e-10, atol=1e-12)
    # Products of a chunk are formed in float32 and summed in double (docs/statistics.md).
    np.testing.assert_allclose(r.std, std, rtol=2e-6)
    np.testing.assert_allclose(r.corr, corr, atol=2e-6)
    np.testing.assert_array_equal(r.dead, dead)
    assert dead[1, 4] and dead.sum() == 1
    np.testing.assert_allclose(r.comoment, (X - X.mean(0)).T @ (X - X.mean(0)), rtol=2e-6, atol=1e-3)
    np.testing.assert_array_equal(r.block(0, 2), r.corr[:10, 20:30])
    # The reservoir holds every row here (fewer than 60000): the rows themselves, in order.
    np.testing.assert_array_equal(r.sample_rows, np.arange(X.shape[0]))
    np.testing.assert_array_equal(r.samples, X.astype(np.float32))


def test_nhwc_layout_and_torch_tensors_give_the_same_statistics():
    torch = torch_or_skip()
    a, b = related_nets(64, units=5, spatial=(2, 3), seed=3)
    st1 = convergent.Stats()
    st1.update("c", [a, b])
    st2 = convergent.Stats(layout="nhwc")
    st2.update("c", [a.transpose(0, 2, 3, 1), b.transpose(0, 2, 3, 1)])
    st3 = convergent.Stats()
    st3.update("c", [torch.from_numpy(a), torch.from_numpy(b).double().requires_grad_()])
    for other in (st2, st3):
        np.testing.assert_array_equal(other.result("c").corr, st1.result("c").corr)


def test_save_is_byte_identical_to_the_cli(cli, tmp_path):
    """Fed the same rows in one batch, Stats.save writes the CLI's files byte for byte (meta.json
    too, once the sources are the same); in smaller batches the same up to rounding."""
    arrays = related_nets(300, units=6, spatial=(4, 5), seed=1)
    paths = []
    for k, a in enumerate(arrays):
        paths.append(str(tmp_path / ("net%d.npy" % (k + 1))))
        np.save(paths[-1], a)
    # The HSIC sums are reduced over OpenMP threads: the same count for both (torch, when
    # imported, changes this process's).
    threads = ctypes.CDLL("libgomp.so.1").omp_get_max_threads()
    cli("stats", "-q", "-o", tmp_path / "cli", "--layer", "conv2", *paths,
        env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
    st = convergent.Stats()
    st.update("conv2", arrays)
    for p in paths:
        st.add_source("conv2", p)
    st.save(tmp_path / "py")
    names = sorted(os.listdir(tmp_path / "cli" / "conv2"))
    assert names == sorted(os.listdir(tmp_path / "py" / "conv2"))
    assert "meta.json" in names and "corr.npy" in names
    for name in names:
        assert (tmp_path / "cli" / "conv2" / name).read_bytes() == \
               (tmp_path / "py" / "conv2" / name).read_bytes(), name

    batched = convergent.Stats()
    for first in range(0, 300, 32):
        batched.update("conv2", [a[first:first + 32] for a in arrays])
    from_cli = convergent.load(tmp_path / "cli").result("conv2")
    r = batched.result("conv2")
    np.testing.assert_allclose(r.corr, from_cli.corr, atol=2e-6)
    np.testing.assert_array_equal(r.samples, from_cli.samples)


def test_load_round_trip_and_merge_of_shards(tmp_path):
    arrays = related_nets(1000, units=8, seed=2)
    whole = convergent.Stats(reservoir=100)
    whole.update("fc", arrays)
    whole.save(tmp_path / "whole")
    back = convergent.load(tmp_path / "whole")
    assert back.layers == ["fc"]
    a, b = whole.result("fc"), back.result("fc")
    for name in ("mean", "std", "corr", "comoment", "samples", "sample_rows"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    # Two shards (the second placed at row 600) merge into the single pass, reservoir included.
    s1, s2 = convergent.Stats(reservoir=100), convergent.Stats(reservoir=100, row_offset=600)
    s1.update("fc", [x[:600] for x in arrays])
    s2.update("fc", [x[600:] for x in arrays])
    s1.merge(s2)
    m = s1.result("fc")
    np.testing.assert_allclose(m.corr, a.corr, atol=2e-6)
    np.testing.assert_array_equal(m.sample_rows, a.sample_rows)
    # A loaded layer goes on accumulating.
    more = convergent.load(tmp_path / "whole")
    more.update("fc", arrays)
    assert more.result("fc").n == 2000


def test_layers_in_natural_order():
    st = convergent.Stats()
    x = np.ones((4, 2), np.float32)
    for name in ("conv10", "conv2", "fc6", "conv1"):
        st.update(name, [x, x])
    assert st.layers == ["conv1", "conv2", "conv10", "fc6"]
    assert st.result("conv10").index == 2


def test_bad_input_raises_value_error_with_a_clear_message(tmp_path):
    st = convergent.Stats()
    a, b = related_nets(20, units=4, seed=5)
    with pytest.raises(ValueError, match="dtype complex128 is not a real number type"):
        st.update("fc", [a, b.astype(np.complex128)])
    # different widths are allowed (test_widths.py); different inputs are not
    with pytest.raises(ValueError, match=r"net 2's activations have shape \(21, 4\), but net 1's \(20, 4\)"):
        st.update("fc", [a, np.zeros((21, 4), np.float32)])
    with pytest.raises(ValueError, match="3 dimensions"):
        st.update("fc", [a[:, :, None], b[:, :, None]])
    st.update("fc", [a, b])
    with pytest.raises(ValueError, match="activations of 6 units, but earlier batches had 4 units"):
        st.update("fc", [np.zeros((3, 6)), np.zeros((3, 6))])
    with pytest.raises(ValueError, match="3 networks given, but the layer has 2"):
        st.update("fc", [a, b, b])
    bad = b.copy()
    bad[7, 2] = np.nan
    # The C library's message: the layer, the row, the unit and the net.
    with pytest.raises(convergent.InvalidInput, match=r"layer 'fc': non-finite value at row 27, unit 2 \(net 2\)"):
        st.update("fc", [a, bad])
    with pytest.raises(ValueError, match="invalid layer name"):
        st.update("a/b", [a, b])
    with pytest.raises(ValueError, match="layout must be one of"):
        convergent.Stats(layout="nwhc")
    empty = convergent.Stats()
    empty.update("fc", [a[:0], b[:0]])
    with pytest.raises(ValueError, match="layer 'fc' has no samples"):
        empty.save(tmp_path / "empty")
    (tmp_path / "broken" / "fc").mkdir(parents=True)
    (tmp_path / "broken" / "fc" / "meta.json").write_text("{ not json")
    with pytest.raises(convergent.Error, match="meta.json"):
        convergent.load(tmp_path / "broken")
    with pytest.raises(convergent.Error):
        convergent.load(tmp_path / "missing")


def _rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def test_no_leak_over_1000_updates():
    """1,000 updates, 200 results and matchings, 20 similarities: memory stays bounded (a result
    not freed would add ~0.4 MB each)."""
    arrays = related_nets(64, units=64, seed=6)  # D = 128: a leaked result is ~0.4 MB
    st = convergent.Stats(reservoir=500)

    def work(updates):
        for _ in range(updates):
            st.update("fc", arrays)
        for i in range(updates // 5):
            r = st.result("fc")
            convergent.match(r)
            if i % 10 == 0:
                convergent.similarity(r)

    work(100)
    before = _rss_mb()
    work(1000)
    grown = _rss_mb() - before
    assert st.result("fc").n == 1100 * 64
    if os.environ.get("CONVERGENT_SANITIZED"):  # the updates ran under ASan; RSS cannot tell
        pytest.skip("AddressSanitizer holds freed memory in quarantine: RSS growth not checked")
    assert grown < 8, "RSS grew by %.1f MB over 1,000 updates" % grown


@pytest.mark.parametrize("mode", ["mean", "flatten"])
def test_conv_samples_mean_and_flatten(mode):
    """conv_samples="mean": one sample per image, channels averaged over positions;
    "flatten": one sample per image, C*H*W units. Checked against numpy, and the linear CKA
    of the flattened layer against numpy's."""
    arrays = related_nets(400, units=4, spatial=(3, 5), seed=8)
    st = convergent.Stats(conv_samples=mode)
    for first in range(0, 400, 100):
        st.update("conv", [a[first:first + 100] for a in arrays])
    r = st.result("conv")
    ref = [a.astype(np.float64).mean(axis=(2, 3)) if mode == "mean" else a.reshape(400, -1).astype(np.float64)
           for a in arrays]
    mean, std, corr, dead, X = numpy_reference(ref)
    assert (r.units, r.n) == ((4, 400) if mode == "mean" else (60, 400))
    np.testing.assert_allclose(r.mean, mean, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(r.corr, corr, atol=2e-6)
    if mode == "flatten":
        x, y = X[:, :60] - X[:, :60].mean(0), X[:, 60:] - X[:, 60:].mean(0)
        cka = np.linalg.norm(x.T @ y) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))
        assert convergent.similarity(r)["cka"] == pytest.approx(cka, abs=1e-6)
    with pytest.raises(ValueError, match="conv_samples must be one of"):
        convergent.Stats(conv_samples="pooled")
