"""convergent.align and convergent.interpolation_barrier: an aligned model computes the same
function (1e-5), refusals name what stops them, and on two Fashion-MNIST MLPs trained from
different seeds the loss barrier on the straight line between them drops after alignment."""
import gzip
import os

import numpy as np
import pytest

from conftest import torch_or_skip

torch = torch_or_skip()
import convergent  # noqa: E402

nn = torch.nn
DATA = "/usr/share/datasets/fashion-mnist"


def small_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 12, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(12 * 7 * 7, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 10))


def test_aligned_model_computes_the_same_function():
    torch.manual_seed(0)
    model = small_cnn()
    x = torch.randn(64, 1, 28, 28)
    model.train()
    for _ in range(3):  # BatchNorm gets running statistics that are not 0 and 1
        model(x)
    model.eval()
    rng = np.random.default_rng(1)
    perms = {"0": rng.permutation(8), "4": rng.permutation(12), "8": rng.permutation(32)}
    aligned = convergent.align(model, perms)
    with torch.no_grad():
        assert torch.allclose(model(x), aligned(x), atol=1e-5, rtol=0)
        # the units moved: unit u of the aligned conv is unit perms["0"][u] of the original
        assert torch.equal(aligned[0].weight, model[0].weight[torch.as_tensor(perms["0"])])
        assert torch.equal(aligned[1].running_mean, model[1].running_mean[torch.as_tensor(perms["0"])])
    assert not torch.equal(aligned[0].weight, model[0].weight)


def test_refusals():
    torch.manual_seed(0)
    lrn = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.LocalResponseNorm(5), nn.Conv2d(8, 4, 3))
    with pytest.raises(ValueError, match="LocalResponseNorm"):
        convergent.align(lrn, {"0": np.arange(8)})
    model = small_cnn()
    with pytest.raises(ValueError, match="not a permutation"):
        convergent.align(model, {"0": np.zeros(8, dtype=int)})
    with pytest.raises(ValueError, match="model's output"):
        convergent.align(model, {"11": np.arange(10)})
    with pytest.raises(ValueError, match="not a Conv2d or Linear"):
        convergent.align(model, {"3": np.arange(8)})


def idx(name, offset):
    with gzip.open(os.path.join(DATA, name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def test_barrier_drops_after_alignment():
    if not os.path.exists(os.path.join(DATA, "train-images-idx3-ubyte.gz")):
        pytest.skip("Fashion-MNIST is not installed (dataset-fashion-mnist)")
    images = idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784)[:5000].astype(np.float32) / 255
    labels = idx("train-labels-idx1-ubyte.gz", 8)[:5000].astype(np.int64)
    x_train, y_train = torch.from_numpy(images[:4000]), torch.from_numpy(labels[:4000])
    x_test, y_test = torch.from_numpy(images[4000:]), torch.from_numpy(labels[4000:])
    torch.set_num_threads(2)

    def train(seed):
        torch.manual_seed(seed)
        m = nn.Sequential(nn.Linear(784, 96), nn.ReLU(), nn.Linear(96, 96), nn.ReLU(), nn.Linear(96, 10))
        opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        g = torch.Generator().manual_seed(seed)
        for _ in range(3):
            for b in torch.randperm(4000, generator=g).split(100):
                opt.zero_grad()
                nn.functional.cross_entropy(m(x_train[b]), y_train[b]).backward()
                opt.step()
        return m.eval()

    a, b = train(1), train(2)
    with convergent.record([a, b], ["0", "2"]) as rec:
        for batch in x_train.split(500):
            rec(batch)
    perms = {layer: convergent.match(rec.stats.result(layer), 0, 1).match for layer in ("0", "2")}
    b_aligned = convergent.align(b, perms)
    with torch.no_grad():
        assert torch.allclose(b(x_test), b_aligned(x_test), atol=1e-5, rtol=0)
    loader = list(zip(x_test.split(500), y_test.split(500)))
    before = convergent.interpolation_barrier(a, b, loader)
    after = convergent.interpolation_barrier(a, b_aligned, loader)
    assert before["loss"][0] == pytest.approx(after["loss"][0])
    assert before["loss"][-1] == pytest.approx(after["loss"][-1], rel=1e-5)
    print("barrier before %.3f, after %.3f" % (before["barrier"], after["barrier"]))
    assert before["barrier"] > 0.1
    assert after["barrier"] < 0.5 * before["barrier"]
