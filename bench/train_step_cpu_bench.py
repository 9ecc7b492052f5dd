#!/usr/bin/python3
"""CPU time of one training step and one inference batch, ours against PyTorch, one thread,
the same architecture and batch, in the same run: a figure that a loaded machine moves much
less than images per second (time spent waiting for a core is not counted).

    /usr/bin/python3 bench/train_step_cpu_bench.py [--arch default] [--batch 64] [--repeats 5]

Ours: build/bench/bench_train_step 1 STEPS ARCH BATCH (min over STEPS steps of the process's CPU
time: forward + loss gradient + backward; then inference). PyTorch: the model of
bench/train_bench.py, min over STEPS steps of time.process_time() around forward + loss +
backward (zero_grad before, as train_bench; no optimizer step on either side), then
inference under no_grad in eval mode; torch.set_num_threads(1). Each repeat runs both, one
after the other; prints the paired ratios (PyTorch time / ours: above 1, ours is faster) and
their medians. Fixed pseudo-random images (as bench_train_step).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_bench  # noqa: E402  (the PyTorch model and the presets)

STEP_BENCH = os.path.join(train_bench.ROOT, "build", "bench", "bench_train_step")


def torch_cpu(model, X, Y, steps):
    best_tr = best_inf = float("inf")
    for _ in range(steps):
        model.train()
        model.zero_grad(set_to_none=True)
        c0 = time.process_time()
        nn.functional.cross_entropy(model(X), Y).backward()
        best_tr = min(best_tr, time.process_time() - c0)
        model.eval()
        c0 = time.process_time()
        with torch.no_grad():
            model(X)
        best_inf = min(best_inf, time.process_time() - c0)
    return best_tr, best_inf


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="default")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    arch = train_bench.PRESETS.get(a.arch, a.arch)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    n = a.batch * 784
    X = torch.tensor([((i * 2654435761) % 2**32 >> 24) / 255.0 for i in range(n)],
                     dtype=torch.float32).reshape(a.batch, 1, 28, 28)
    Y = torch.arange(a.batch) % 10
    model = train_bench.torch_model(train_bench.load_parser()(arch), (1, 28, 28))
    torch_cpu(model, X, Y, 2)  # warm-up
    env = dict(os.environ, OMP_NUM_THREADS="1")
    tr_ratio, inf_ratio = [], []
    for r in range(a.repeats):
        out = subprocess.run([STEP_BENCH, "1", str(a.steps), a.arch, str(a.batch)], env=env,
                             check=True, capture_output=True, text=True).stdout
        m = re.search(r"CPU time min ([\d.]+) ms\), inference min [\d.]+ ms \(CPU time ([\d.]+) ms\)", out)
        ours_tr, ours_inf = float(m[1]) / 1e3, float(m[2]) / 1e3
        pt_tr, pt_inf = torch_cpu(model, X, Y, a.steps)
        tr_ratio.append(pt_tr / ours_tr)
        inf_ratio.append(pt_inf / ours_inf)
        print(f"repeat {r + 1}: step ours {ours_tr * 1e3:.1f} ms, PyTorch {pt_tr * 1e3:.1f} ms "
              f"({tr_ratio[-1]:.2f}x); inference ours {ours_inf * 1e3:.1f} ms, PyTorch "
              f"{pt_inf * 1e3:.1f} ms ({inf_ratio[-1]:.2f}x)", flush=True)
    print(f"arch {a.arch}, batch {a.batch}, one thread, CPU time, {a.repeats} repeats: training "
          f"step PyTorch / ours median {statistics.median(tr_ratio):.2f}x, inference "
          f"{statistics.median(inf_ratio):.2f}x")


if __name__ == "__main__":
    main()
