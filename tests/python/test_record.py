"""convergent.record: PyTorch forward hooks streaming into the accumulator, against Stats fed
by hand and against `convergent stats` on the same activations dumped to .npy."""
import numpy as np
import pytest

import convergent

from conftest import torch_or_skip

torch = torch_or_skip()
nn = torch.nn


def small_cnn(seed):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
        nn.Flatten(),
        nn.Sequential(nn.Linear(6 * 4 * 4, 10), nn.ReLU(), nn.Linear(10, 3)),
    ).eval()


def batches(n=160, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 8, 8, generator=g)
    return [x[i:i + size] for i in range(0, n, size)]


LAYERS = ["0.0", "0.2", "2.1"]  # conv (6 x 8 x 8), its pooling (6 x 4 x 4), the fc ReLU (10)


def test_recorder_equals_stats_fed_by_hand():
    models = [small_cnn(1), small_cnn(2)]
    with convergent.record(models, LAYERS, reservoir=1000) as rec:
        for x in batches():
            outs = rec(x)
            for out, model in zip(outs, models):
                torch.testing.assert_close(out, model(x), rtol=0, atol=0)
    for model in models:  # hooks are gone after the block
        assert all(not m._forward_hooks for m in model.modules())
    hand = convergent.Stats(reservoir=1000)
    with torch.no_grad():
        for x in batches():
            for name in LAYERS:
                acts = []
                for model in models:
                    store = []
                    h = model.get_submodule(name).register_forward_hook(lambda m, i, o: store.append(o))
                    model(x)
                    h.remove()
                    acts.append(store[0])
                hand.update(name, acts)
    assert rec.stats.layers == hand.layers == sorted(LAYERS)
    for name in LAYERS:
        a, b = rec.stats.result(name), hand.result(name)
        assert a.n == b.n == (160 * 64 if name == "0.0" else 160 * 16 if name == "0.2" else 160)
        np.testing.assert_array_equal(a.corr, b.corr)
        np.testing.assert_array_equal(a.samples, b.samples)


def test_recorder_matches_the_cli_on_dumped_files(cli, tmp_path):
    models = [small_cnn(3), small_cnn(4)]
    with convergent.record(models, ["0.0", "2.1"]) as rec:
        for x in batches(seed=5):
            rec(x)
    rec.stats.save(tmp_path / "py")
    for name in ("0.0", "2.1"):
        paths = []
        for k, model in enumerate(models):
            store = []  # the same batches: a batch of another size rounds differently
            h = model.get_submodule(name).register_forward_hook(lambda m, i, o: store.append(o))
            with torch.no_grad():
                for x in batches(seed=5):
                    model(x)
            h.remove()
            paths.append(tmp_path / ("net%d_%s.npy" % (k + 1, name)))
            np.save(paths[-1], torch.cat(store).numpy())
        cli("stats", "-q", "-o", tmp_path / "cli", "--layer", name, *paths)
    ours, theirs = convergent.load(tmp_path / "py"), convergent.load(tmp_path / "cli")
    for name in ("0.0", "2.1"):
        a, b = ours.result(name), theirs.result(name)
        assert (a.nets, a.units, a.n) == (b.nets, b.units, b.n)
        np.testing.assert_allclose(a.mean, b.mean, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(a.corr, b.corr, atol=2e-6)
        np.testing.assert_array_equal(a.samples, b.samples)
        np.testing.assert_array_equal(a.sample_rows, b.sample_rows)
    # The CLI reads what the recorder saved: match on it gives Python's numbers.
    cli("match", "-q", tmp_path / "py", "-o", tmp_path / "match")
    import json
    ref = json.loads((tmp_path / "match" / "0.0" / "match_1_2.json").read_text())
    m = convergent.match(ours.result("0.0"))
    assert (m.semi_mean, m.match_mean, m.overlap) == \
        (ref["semi_matching_mean"], ref["matching_mean"], ref["overlap_ratio"])


def test_recorder_sees_outputs_before_in_place_modules():
    """A hooked Linear followed by ReLU(inplace=True): the statistics are of the Linear's
    output, negative values included (the hook copies before the ReLU overwrites it)."""
    def net(seed):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Flatten(), nn.Linear(64, 5), nn.ReLU(inplace=True)).eval()
    models = [net(1), net(2)]
    with convergent.record(models, ["1"]) as rec:
        for x in batches():
            rec(x)
    hand = convergent.Stats()
    with torch.no_grad():
        for x in batches():
            hand.update("1", [m[1](m[0](x)) for m in models])
    np.testing.assert_array_equal(rec.stats.result("1").samples, hand.result("1").samples)
    assert rec.stats.result("1").mean.min() < 0


def test_recorder_errors():
    models = [small_cnn(1), small_cnn(2)]
    with pytest.raises(ValueError, match="model 2 has no module '0.0'"):
        convergent.record([models[0], nn.Sequential(nn.Linear(2, 2))], ["0.0"])
    assert all(not m._forward_hooks for m in models[0].modules())  # model 1's hook removed
    wide = nn.Sequential(nn.Sequential(nn.Conv2d(1, 7, 3, padding=1)))
    with convergent.record([models[0], wide], ["0.0"]) as rec:
        with pytest.raises(ValueError, match=r"net 2's activations have shape \(32, 7, 8, 8\)"):
            rec(batches()[0])
    assert all(not m._forward_hooks for m in wide.modules())


def test_recorder_with_pooled_conv_samples():
    models = [small_cnn(1), small_cnn(2)]
    with convergent.record(models, ["0.0"], conv_samples="mean") as rec:
        for x in batches():
            rec(x)
    hand = convergent.Stats(conv_samples="mean")
    with torch.no_grad():
        for x in batches():
            hand.update("0.0", [m[0][0](x) for m in models])
    a, b = rec.stats.result("0.0"), hand.result("0.0")
    assert (a.units, a.n) == (6, 160)
    np.testing.assert_array_equal(a.samples, b.samples)


def test_recorder_reads_conv_outputs_in_place_and_reruns_when_changed():
    """Float32 outputs are held without a copy (NCHW read by the C library) unless a later
    module writes into them: a hooked conv followed by ReLU(inplace=True) is found changed on
    the first batch (version counter), copied from then on and that batch run again; the
    statistics equal Stats fed by hand, negative values included. Under inference mode (no
    version counters) the hooks copy."""
    def net(seed):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(inplace=True),
                             nn.Conv2d(4, 5, 3), nn.ReLU()).eval()
    models = [net(1), net(2)]
    with convergent.record(models, ["0", "3"], reservoir=500) as rec:
        for i, x in enumerate(batches()):
            if i == 3:
                with torch.inference_mode():
                    rec(x)
            else:
                rec(x)
    assert rec._copy == {("0", 0), ("0", 1)}  # the ReLU's input; "3" was read in place
    hand = convergent.Stats(reservoir=500)
    with torch.no_grad():
        for x in batches():
            hand.update("0", [m[0](x) for m in models])
            hand.update("3", [m(x) for m in models])
    for name in ("0", "3"):
        a, b = rec.stats.result(name), hand.result(name)
        assert a.n == b.n
        np.testing.assert_array_equal(a.corr, b.corr)
        np.testing.assert_array_equal(a.samples, b.samples)
    assert rec.stats.result("0").mean.min() < 0
