#!/usr/bin/python3
"""Training and inference speed: our engine vs PyTorch (Debian's python3-torch), same
architecture, batch size, thread count and images, in the same run.

    /usr/bin/python3 bench/train_bench.py [--arch default] [--batch 64] [--threads 2]
                                          [--images 3200] [--repeats 3]

For each repeat (ours and PyTorch alternate, so both see the same machine load):
  * ours:    build/bench/bench_train: cvg_train for one epoch over the first --images training
             images of Fashion-MNIST (shuffle, forward, backward, SGD step), then inference
             (cvg_net_forward) over the same images in batches of --batch;
  * PyTorch: the same network (nn.Conv2d/ReLU/MaxPool2d/LocalResponseNorm/Linear/Dropout from
             the same description), the same SGD (momentum 0.9, weight decay 5e-4), one epoch
             over the same images in shuffled batches; inference under torch.no_grad() in eval
             mode. torch.set_num_threads(--threads).
Prints images per second (medians), the ratio of the medians, and the median of the paired
ratios (ours / PyTorch within each repeat, both measured back to back under the same load: the
figure to quote on a shared machine). Needs the build in ./build.
"""
import argparse
import gzip
import importlib.util
import json
import math
import os
import statistics
import subprocess
import time

import numpy as np
import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "build", "bench", "bench_train")
DATA = "/usr/share/datasets/fashion-mnist"
PRESETS = {
    "default": "conv1:32k5p2,pool3s2p1,lrn5;conv2:32k5p2,pool3s2p1,lrn5;conv3:48k3p1;"
               "conv4:48k3p1;conv5:32k3p1,pool3s2p1;fc6:256,drop0.5;fc7:256,drop0.5;fc8:10",
    "small":   "conv1:16k5p2,pool3s2p1,lrn5;conv2:32k5p2,pool3s2p1,lrn5;conv3:48k3p1;"
               "conv4:48k3p1;conv5:32k3p1,pool3s2p1;fc6:256,drop0.5;fc7:256,drop0.5;fc8:10",
    "wide": "conv1:32k5p2,pool3s2p1,lrn5;conv2:48k5p2,pool3s2p1,lrn5;conv3:64k3p1;"
            "conv4:64k3p1;conv5:48k3p1,pool3s2p1;fc6:256,drop0.5;fc7:256,drop0.5;fc8:10",
    # AlexNet's widths, as the engine's `paper` preset (src/nn/arch.c)
    "paper": "conv1:96k5p2,pool3s2p1,lrn5;conv2:256k5p2,pool3s2p1,lrn5;conv3:384k3p1;"
             "conv4:384k3p1;conv5:256k3p1,pool3s2p1;fc6:4096,drop0.5;fc7:4096,drop0.5;fc8:10",
}


def load_parser():
    """The description parser of the fixture script (one Python copy of the grammar)."""
    path = os.path.join(ROOT, "tests", "fixtures", "make_nn_fixtures.py")
    spec = importlib.util.spec_from_file_location("nnfix", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.parse


def torch_model(layers, in_shape):
    c, h, w = in_shape
    mods = []
    for i, L in enumerate(layers):
        if L["kind"] == "conv":
            mods.append(nn.Conv2d(c, L["width"], L["k"], stride=L["s"], padding=L["p"]))
            h = (h + 2 * L["p"] - L["k"]) // L["s"] + 1
            w = (w + 2 * L["p"] - L["k"]) // L["s"] + 1
        else:
            if h * w > 1 or not mods or not isinstance(mods[-1], nn.Flatten):
                if i == 0 or layers[i - 1]["kind"] == "conv":
                    mods.append(nn.Flatten())
            mods.append(nn.Linear(c * h * w, L["width"]))
            h = w = 1
        if i + 1 < len(layers):
            mods.append(nn.ReLU(inplace=True))
        if L["drop"]:
            mods.append(nn.Dropout(L["drop"]))
        if L["pool"]:
            k, s, p = L["pool"]
            mods.append(nn.MaxPool2d(k, s, p))
            h = (h + 2 * p - k) // s + 1
            w = (w + 2 * p - k) // s + 1
        if L["lrn"]:
            mods.append(nn.LocalResponseNorm(*L["lrn"]))
        c = L["width"]
    m = nn.Sequential(*mods)
    for mod in m:
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(mod.weight, nonlinearity="relu")
            nn.init.zeros_(mod.bias)
    return m


def idx(path):
    d = gzip.open(path).read()
    nd = d[3]
    dims = [int.from_bytes(d[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(d[4 + 4 * nd:], np.uint8).reshape(dims)


def torch_run(model, X, Y, batch):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    n = X.shape[0]
    T = math.ceil(n / batch)
    model.train()
    perm = torch.randperm(n)
    t0 = time.perf_counter()
    for t in range(T):
        i = perm[t * batch:(t + 1) * batch]
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(model(X[i]), Y[i])
        loss.backward()
        opt.step()
    train_s = time.perf_counter() - t0
    model.eval()
    t0 = time.perf_counter()
    with torch.no_grad():
        for t in range(T):
            model(X[t * batch:(t + 1) * batch])
    infer_s = time.perf_counter() - t0
    return n / train_s, n / infer_s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="default")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--images", type=int, default=3200)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    arch = PRESETS.get(a.arch, a.arch)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    X = torch.tensor(idx(os.path.join(DATA, "train-images-idx3-ubyte.gz"))[:a.images] / 255.0,
                     dtype=torch.float32).unsqueeze(1).contiguous()
    Y = torch.tensor(idx(os.path.join(DATA, "train-labels-idx1-ubyte.gz"))[:a.images].astype(np.int64))
    layers = load_parser()(arch)
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    ours_tr, ours_inf, pt_tr, pt_inf = [], [], [], []
    # warm-up (page cache, PyTorch's lazy initialization)
    torch_run(torch_model(layers, (1, 28, 28)), X[:4 * a.batch], Y[:4 * a.batch], a.batch)
    for r in range(a.repeats):
        out = subprocess.run([BENCH, arch, str(a.batch), str(a.threads), str(a.images)], env=env,
                             check=True, capture_output=True, text=True).stdout
        j = json.loads([l for l in out.splitlines() if l.startswith("{")][0])
        ours_tr.append(j["train_img_s"])
        ours_inf.append(j["infer_img_s"])
        tr, inf = torch_run(torch_model(layers, (1, 28, 28)), X, Y, a.batch)
        pt_tr.append(tr)
        pt_inf.append(inf)
        print(f"repeat {r + 1}: ours train {ours_tr[-1]:.0f} img/s, infer {ours_inf[-1]:.0f}; "
              f"PyTorch train {tr:.0f}, infer {inf:.0f}", flush=True)
    med = statistics.median
    print(f"\narch {arch}\nbatch {a.batch}, threads {a.threads}, {a.images} images, "
          f"{a.repeats} repeats (medians), torch {torch.__version__}")
    paired_tr = med(o / p for o, p in zip(ours_tr, pt_tr))
    paired_inf = med(o / p for o, p in zip(ours_inf, pt_inf))
    print(f"{'':10} {'ours img/s':>12} {'PyTorch img/s':>14} {'ratio':>7} {'paired':>7}")
    print(f"{'training':10} {med(ours_tr):12.0f} {med(pt_tr):14.0f} {med(ours_tr) / med(pt_tr):6.2f}x"
          f" {paired_tr:6.2f}x")
    print(f"{'inference':10} {med(ours_inf):12.0f} {med(pt_inf):14.0f} {med(ours_inf) / med(pt_inf):6.2f}x"
          f" {paired_inf:6.2f}x")


if __name__ == "__main__":
    main()
