#!/usr/bin/python3
"""Similarity measures: ours (one statistics pass + covariance formulas) vs numpy from the raw
activations, same data, same run.

    /usr/bin/python3 bench/similarity_bench.py [--rows 200000] [--units 512] [--repeats 3]

Writes two float32 .npy files (rows x units each; activation-like: ReLU of correlated Gaussians)
under --workdir, then measures
  * ours:  build/bench/bench_similarity: cvg_stats_compute (no reservoir) + cvg_stats_save from
           the files (page cache warm), then every measure (CKA, debiased CKA, CCA, SVCCA, PWCCA,
           Procrustes, Gaussian MI) from the co-moments, and the lasso path both ways;
  * numpy: the reference implementations of tests/fixtures/make_similarity_fixtures.py (textbook
           data-matrix code: Kornblith's feature-space CKA, QR/SVD CCA as Raghu et al.'s
           cca_core, ...) on the same data already in memory as float64 (conversion not timed);
           each measure called on its own, as separate packages would.
Prints medians, the ratio, and the largest difference between the two sides' values.
Needs the build in ./build (cmake --build build).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "build", "bench", "bench_similarity")
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
import make_similarity_fixtures as ref  # noqa: E402


def write_nets(workdir, rows, units, seed=0):
    rng = np.random.default_rng(seed)
    paths = [os.path.join(workdir, f"sim_net{k + 1}_{rows}_{units}.npy") for k in range(2)]
    if all(os.path.exists(p) for p in paths):
        return paths
    mix = [rng.normal(size=(32, units)).astype(np.float32) for _ in range(2)]
    outs = [np.lib.format.open_memmap(p, mode="w+", dtype=np.float32, shape=(rows, units)) for p in paths]
    for start in range(0, rows, 65536):
        n = min(65536, rows - start)
        z = rng.standard_normal((n, 32), dtype=np.float32)
        for k in range(2):
            noise = rng.standard_normal((n, units), dtype=np.float32)
            outs[k][start:start + n] = np.maximum(z @ mix[k] + noise, 0)
    for o in outs:
        o.flush()
    return paths


def numpy_measures(x, y):
    """Every measure from the raw data, each computed on its own; returns values and seconds."""
    vals, secs = {}, {}
    steps = [("cka", lambda: ref.cka(x, y)), ("cka_debiased", lambda: ref.cka_debiased(x, y)),
             ("cca", lambda: ref.cca_raw(x, y)[0]), ("svcca", lambda: ref.svcca(x, y)[0]),
             ("pwcca", lambda: ref.pwcca(x, y)), ("procrustes", lambda: ref.procrustes(x, y))]
    for name, fn in steps:
        t0 = time.perf_counter()
        v = fn()
        secs[name] = time.perf_counter() - t0
        if name == "cca":
            vals["cca_mean_rho"] = float(v.mean())
            vals["cca_mean_rho2"] = float((v ** 2).mean())
            vals["gaussian_mi"] = float(-0.5 * np.log1p(-np.minimum(v, 1 - 1e-12) ** 2).sum())
        else:
            vals[name] = float(v)
    return vals, secs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--units", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--lasso-path", type=int, default=10,
                    help="lambdas of the lasso path, timed in the first repeat only (0: none)")
    ap.add_argument("--workdir", default="/tmp/convergent-bench")
    ap.add_argument("--keep", action="store_true", help="keep the generated .npy files")
    args = ap.parse_args()
    if not os.path.exists(BENCH):
        sys.exit(f"{BENCH} not found: build first (cmake --build build)")
    os.makedirs(args.workdir, exist_ok=True)
    print(f"data: 2 nets x {args.rows} rows x {args.units} units float32 "
          f"({2 * args.rows * args.units * 4 / 1e9:.2f} GB)", flush=True)
    paths = write_nets(args.workdir, args.rows, args.units)
    out = os.path.join(args.workdir, "sim_stats")

    runs = []
    for rep in range(args.repeats):
        res = subprocess.run([BENCH, out, str(args.lasso_path if rep == 0 else 0)] + paths, check=True,
                             capture_output=True, text=True).stdout
        runs.append(json.loads(res.strip().splitlines()[-1]))
    med = {k: float(np.median([r[k] for r in runs])) for k in
           ["pass_seconds", "load_seconds", "measures_seconds"]}
    med["lasso_seconds"] = runs[0]["lasso_seconds"]
    t_ours = med["pass_seconds"] + med["load_seconds"] + med["measures_seconds"]
    print(f"ours: stats pass (files -> stats dir) median {med['pass_seconds']:.2f} s, load "
          f"{med['load_seconds']:.2f} s, all measures {med['measures_seconds']:.3f} s; "
          f"total {t_ours:.2f} s", flush=True)
    if args.lasso_path:
        print(f"ours: lasso path ({args.lasso_path} lambdas, {args.units} targets, both ways) "
              f"{med['lasso_seconds']:.2f} s (one run); at the smallest lambda mean R^2 "
              f"{runs[0]['lasso_last_mean_r2']:.4f} with {runs[0]['lasso_last_mean_nnz']:.1f} "
              f"nonzero weights per unit", flush=True)

    x = np.load(paths[0]).astype(np.float64)
    y = np.load(paths[1]).astype(np.float64)
    totals, per = [], []
    for _ in range(args.repeats):
        vals, secs = numpy_measures(x, y)
        totals.append(sum(secs.values()))
        per.append(secs)
    t_np = float(np.median(totals))
    print(f"numpy (data in memory, float64): median {t_np:.2f} s  "
          f"{sorted(round(t, 2) for t in totals)}")
    for name in per[0]:
        print(f"    {name:13s} {np.median([p[name] for p in per]):7.2f} s")
    print(f"ratio numpy / ours (ours including the statistics pass): {t_np / t_ours:.1f}x")
    print(f"ratio numpy / ours (measures only, from saved statistics): "
          f"{t_np / (med['load_seconds'] + med['measures_seconds']):.0f}x")
    print("values (ours, numpy):")
    worst = 0.0
    for k, v in vals.items():
        worst = max(worst, abs(runs[0][k] - v))
        print(f"    {k:14s} {runs[0][k]:.6f}  {v:.6f}")
    print(f"largest difference: {worst:.1e}")
    if not args.keep:
        for p in paths:
            os.remove(p)


if __name__ == "__main__":
    main()
