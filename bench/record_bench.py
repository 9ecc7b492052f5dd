#!/usr/bin/python3
"""The recorder's overhead: convergent.record over K models vs the bare forward pass of the
same models on the same batches, in the same run.

    /usr/bin/python3 bench/record_bench.py [--batch 256] [--images 2560] [--nets 2]
                                           [--repeats 5] [--threads 2] [--layers all|fc|conv1]
                                           [--reservoir 60000] [--parts] [--arch default|small]

Models: the `default` preset of docs/training.md in PyTorch (conv1:32k5p2, pool3s2p1, lrn5;
conv2:32k5p2, pool3s2p1, lrn5; conv3:48k3p1; conv4:48k3p1; conv5:32k3p1, pool3s2p1; fc6:256,
drop0.5; fc7:256, drop0.5; fc8:10; ReLU after every layer but fc8; `--arch small`: 16 conv1
channels, the former default), K of them from different
seeds, in eval mode. Each named layer (conv1 ... fc7) is a Sequential(product, ReLU): the
recorder taps its output, the ReLU activations the CLI's `stats --nets` measures, before
pooling. Inputs: the first --images Fashion-MNIST test images.

Each repeat times, back to back on the same batches (so both see the same machine load):
  bare:     torch.no_grad(), every model on every batch;
  recorded: the same through a convergent.record over every layer (one Stats, CLI defaults:
            reservoir 60000), statistics finished (st.result of every layer is not included).
Prints per-repeat wall and CPU times (of this process: on a machine shared with other jobs the
CPU time shows the work done, the wall time also the waiting), the medians of the paired
ratios recorded / bare and the overhead.
Needs the build in ./build (PYTHONPATH=python is set here).
"""
import argparse
import gzip
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
import convergent  # noqa: E402  (before numpy/torch: passive OpenMP waiting, as the CLI)
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
LAYERS = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7"]


def default_preset(seed, conv1=32):
    """docs/training.md `default` (conv1=16: `small`), with Caffe's order: product, ReLU,
    (dropout), pooling, LRN."""
    torch.manual_seed(seed)
    m = nn.Sequential()
    m.add_module("conv1", nn.Sequential(nn.Conv2d(1, conv1, 5, padding=2), nn.ReLU()))
    m.add_module("pool1", nn.MaxPool2d(3, 2, 1))
    m.add_module("norm1", nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0))
    m.add_module("conv2", nn.Sequential(nn.Conv2d(conv1, 32, 5, padding=2), nn.ReLU()))
    m.add_module("pool2", nn.MaxPool2d(3, 2, 1))
    m.add_module("norm2", nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0))
    m.add_module("conv3", nn.Sequential(nn.Conv2d(32, 48, 3, padding=1), nn.ReLU()))
    m.add_module("conv4", nn.Sequential(nn.Conv2d(48, 48, 3, padding=1), nn.ReLU()))
    m.add_module("conv5", nn.Sequential(nn.Conv2d(48, 32, 3, padding=1), nn.ReLU()))
    m.add_module("pool5", nn.MaxPool2d(3, 2, 1))
    m.add_module("flatten", nn.Flatten())
    m.add_module("fc6", nn.Sequential(nn.Linear(32 * 4 * 4, 256), nn.ReLU(), nn.Dropout(0.5)))
    m.add_module("fc7", nn.Sequential(nn.Linear(256, 256), nn.ReLU(), nn.Dropout(0.5)))
    m.add_module("fc8", nn.Linear(256, 10))
    return m.eval()


def test_images(n):
    with gzip.open(os.path.join(DATA, "t10k-images-idx3-ubyte.gz")) as f:
        raw = np.frombuffer(f.read(), np.uint8, offset=16)
    return torch.tensor(raw[:n * 784], dtype=torch.float32).reshape(-1, 1, 28, 28) / 255


def bare(models, batches):
    """(wall seconds, CPU seconds of this process) of the forward passes alone."""
    t, c = time.perf_counter(), time.process_time()
    with torch.no_grad():
        for x in batches:
            for m in models:
                m(x)
    return time.perf_counter() - t, time.process_time() - c


def recorded(models, batches, layers, reservoir):
    t, c = time.perf_counter(), time.process_time()
    with convergent.record(models, layers, reservoir=reservoir) as rec:
        for x in batches:
            rec(x)
    return time.perf_counter() - t, time.process_time() - c, rec.stats


def parts(models, batches, layers, reservoir):
    """CPU time per batch of each piece, layer by layer, over the batches in turn (the reservoir
    fills as in a pass): the path of outputs the recorder copies (net_rows into reused buffers,
    then cvg_stats_add_nets) and the path of float32 outputs it holds as they are
    (cvg_stats_add_nets_nchw on torch's NCHW tensors)."""
    from convergent._arrays import net_rows
    outs = {l: [] for l in layers}
    hooks = [m.get_submodule(l).register_forward_hook(
        lambda mod, i, o, l=l: outs[l].append(o)) for m in models for l in layers]
    with torch.no_grad():
        for x in batches:
            for m in models:
                m(x)
    for h in hooks:
        h.remove()
    K, total = len(models), [0.0, 0.0, 0.0]
    from convergent._lib import check, lib
    import ctypes
    for l in layers:
        # the recorder's path: each net's output as torch holds it (cvg_stats_add_nets_nchw)
        st = convergent.Stats(reservoir=reservoir)
        st.update(l, outs[l][:K])
        state, direct = st._layers[l], 0.0
        for b in range(len(batches)):
            o = outs[l][b * K:(b + 1) * K]
            ptrs = (ctypes.POINTER(ctypes.c_float) * K)(
                *[ctypes.cast(t.data_ptr(), ctypes.POINTER(ctypes.c_float)) for t in o])
            hw = tuple(o[0].shape[2:]) if o[0].dim() == 4 else (0, 0)
            c = time.process_time()
            check(lib.cvg_stats_add_nets_nchw(state.handle, ptrs, o[0].shape[0], hw[0], hw[1]))
            direct += time.process_time() - c
        total[2] += direct / len(batches)
        st = convergent.Stats(reservoir=reservoir)
        st.update(l, outs[l][:K])  # the layer's shape
        state = st._layers[l]
        copy = acc = 0.0
        bufs = [np.empty(outs[l][0].numel(), np.float32) for _ in range(K)]  # reused, as the recorder
        for b in range(len(batches)):
            c = time.process_time()
            rows = [net_rows(o, state.geometry, "nchw", copy=True, out=buf if o.numel() == buf.size else None)
                    for o, buf in zip(outs[l][b * K:(b + 1) * K], bufs)]
            copy += time.process_time() - c
            c = time.process_time()
            st._add(state, rows, batches[b].shape[0])
            acc += time.process_time() - c
        n = len(batches)
        total[0] += copy / n
        total[1] += acc / n
        print("  %-6s %7d rows x %4d units: rows path: copy %5.1f ms + accumulate %5.1f ms; "
              "as held (the recorder's): %5.1f ms CPU per batch"
              % (l, rows[0].shape[0], K * rows[0].shape[1], 1e3 * copy / n, 1e3 * acc / n,
                 1e3 * direct / n))
    print("  all    rows path: copy %.1f ms + accumulate %.1f ms; as held: %.1f ms CPU per batch"
          % tuple(1e3 * t for t in total))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--images", type=int, default=2560)
    ap.add_argument("--nets", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--layers", choices=["all", "fc", "conv1"], default="all")
    ap.add_argument("--reservoir", type=int, default=60000, help="Stats(reservoir=...)")
    ap.add_argument("--arch", choices=["default", "small"], default="default",
                    help="the preset's widths (small: 16 conv1 channels)")
    ap.add_argument("--parts", action="store_true", help="also time the copy and the "
                    "accumulation of each layer apart")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    layers = {"all": LAYERS, "fc": ["fc6", "fc7"], "conv1": ["conv1"]}[a.layers]
    models = [default_preset(seed, 32 if a.arch == "default" else 16) for seed in range(1, a.nets + 1)]
    batches = list(test_images(a.images).split(a.batch))
    print("%d x `default` nets, %d images in batches of %d, layers %s, reservoir %d, torch "
          "threads %d, OMP_WAIT_POLICY=%s" % (a.nets, a.images, a.batch, ",".join(layers),
                                              a.reservoir, a.threads,
                                              os.environ.get("OMP_WAIT_POLICY", "(default)")))
    bare(models, batches[:2])  # warm-up
    recorded(models, batches[:2], layers, a.reservoir)
    wall, cpu = [], []
    for r in range(a.repeats):
        tb, cb = bare(models, batches)
        tr, cr, st = recorded(models, batches, layers, a.reservoir)
        wall.append(tr / tb)
        cpu.append(cr / cb)
        print("repeat %d: bare %.3f s wall %.3f s CPU, recorded %.3f s wall %.3f s CPU; "
              "ratios %.3f wall %.3f CPU" % (r + 1, tb, cb, tr, cr, tr / tb, cr / cb))
    samples = sum(st.result(l).n for l in layers)
    print("samples per pass: %d over %d layers" % (samples, len(layers)))
    for name, ratios in (("wall", wall), ("CPU", cpu)):
        med = statistics.median(ratios)
        print("median recorded / bare (%s time): %.3f  (overhead %.1f%%; target under 25%% at "
              "batch 256)" % (name, med, 100 * (med - 1)))
    bare_cpu = statistics.median(cb for cb in [bare(models, batches)[1]]) / len(batches)
    print("bare forward: %.1f ms CPU per batch" % (1e3 * bare_cpu))
    if a.parts:
        parts(models, batches, layers, a.reservoir)


if __name__ == "__main__":
    main()
