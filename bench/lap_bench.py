#!/usr/bin/python3
"""Benchmark: cvg_assignment_max (bench/bench_lap.c) against
scipy.optimize.linear_sum_assignment(maximize=True) on the same matrices, in the same run.

    /usr/bin/python3 bench/lap_bench.py [--build build] [--sizes 256,1024,4096]
                                        [--kinds uniform,corr] [--repeat 5] [--seed 0]

Kinds of n x n score matrix:
  uniform  independent uniform [0, 1) entries;
  corr     correlation-like, as between two networks that learned similar units in another
           order: C_A = 0.6 Z Z^T + 0.4 I (Z: n x 32 Gaussian, rows normalized; a correlation
           matrix with unit diagonal), then C = C_A[:, perm] * rho + N(0, 0.05^2) noise,
           clipped to [-1, 1], where rho_j ~ U(0.3, 0.95) is how well unit j of net B copies
           its partner in net A.
Each matrix goes to the C driver as raw float64 (ndarray.tofile). Times are wall-clock of the
solve only (not of generating or reading the matrix), median over --repeat runs; the optimal
objectives of both solvers are checked to agree (1e-9 relative).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy.optimize import linear_sum_assignment


def make(kind, n, rng):
    if kind == "uniform":
        return rng.random((n, n))
    if kind == "corr":
        z = rng.standard_normal((n, 32))
        z /= np.linalg.norm(z, axis=1, keepdims=True)
        ca = 0.6 * (z @ z.T) + 0.4 * np.eye(n)
        rho = rng.uniform(0.3, 0.95, n)
        c = ca[:, rng.permutation(n)] * rho[None, :] + 0.05 * rng.standard_normal((n, n))
        return np.ascontiguousarray(np.clip(c, -1.0, 1.0))
    raise ValueError(kind)


def run_ours(driver, path, n, repeat):
    out = subprocess.run([driver, path, str(n), str(n), str(repeat)], check=True,
                         capture_output=True, text=True).stdout.split()
    total = float(out[0].split("=", 1)[1])
    secs = [float(t) for t in out[1].split("=", 1)[1].split(",")]
    return total, secs


def run_scipy(a, repeat):
    secs, total = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        r, c = linear_sum_assignment(a, maximize=True)
        secs.append(time.perf_counter() - t0)
        total = float(a[r, c].sum())
    return total, secs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--sizes", default="256,1024,4096")
    ap.add_argument("--kinds", default="uniform,corr")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    driver = os.path.join(args.build, "bench", "bench_lap")
    if not os.access(driver, os.X_OK):
        sys.exit(f"{driver} not found: build the project first")
    print(f"numpy {np.__version__}, scipy {__import__('scipy').__version__}, "
          f"repeat {args.repeat}, seed {args.seed}")
    print(f"{'kind':8s} {'n':>5s} {'ours (s)':>10s} {'scipy (s)':>10s} {'ratio':>7s}  objective")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds.split(","):
            for n in [int(s) for s in args.sizes.split(",")]:
                rng = np.random.default_rng([args.seed, n, len(kind)])
                a = make(kind, n, rng)
                path = os.path.join(tmp, f"{kind}_{n}.f64")
                a.tofile(path)
                ours_total, ours = run_ours(driver, path, n, args.repeat)
                ref_total, ref = run_scipy(a, args.repeat)
                t_ours, t_ref = statistics.median(ours), statistics.median(ref)
                agree = abs(ours_total - ref_total) <= 1e-9 * max(1.0, abs(ref_total))
                ok &= agree
                print(f"{kind:8s} {n:5d} {t_ours:10.4f} {t_ref:10.4f} {t_ref / t_ours:6.1f}x  "
                      f"{ours_total:.10g}{'' if agree else f' MISMATCH scipy {ref_total:.10g}'}",
                      flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
