#!/usr/bin/python3
"""MI matrix benchmark: convergent (bench_mi, C) against vectorized numpy, same data, same run.

Data: NETS nets x UNITS units, ROWS reservoir rows of ReLU-like activations (shared latent
factors, so units within and between nets depend on each other; about half the values are
exact zeros), or --dense (no zeros, the worst case for the kernel, which skips the zero bin).

numpy peer, two variants, both with the same binning (np.quantile + np.searchsorted):
  pair:    one np.bincount of the combined bin index a * L + b per pair (as the issue states);
  batched: for unit i, one np.bincount over all pairs (i, j > i) at once (offset per pair),
           a stronger peer.
numpy would take minutes for all 131k pairs, so it runs on a random subset of pairs (pair) or
of units i (batched) and the time is extrapolated linearly to the whole upper triangle (with
the diagonal); its MI values on that subset are checked against ours.

On a shared machine use --rounds N: N rounds of (ours, numpy) in turn, each giving a ratio
of two runs made under about the same load, and the median of those ratios.

Run:  /usr/bin/python3 bench/mi_bench.py --build build [--threads 2] [--repeat 5] [--dense]
                                         [--rounds 5]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


def make_data(rows, nets, units, dense, seed):
    rng = np.random.default_rng(seed)
    factors = 48
    z = rng.standard_normal((rows, factors), dtype=np.float32)
    base = rng.standard_normal((factors, units)).astype(np.float32) / np.sqrt(factors)
    cols = []
    for _ in range(nets):
        # each net learns a noisy, permuted version of the same features
        w = base[:, rng.permutation(units)] + 0.5 * rng.standard_normal(
            (factors, units)).astype(np.float32) / np.sqrt(factors)
        a = z @ w + 0.5 * rng.standard_normal((rows, units), dtype=np.float32)
        cols.append(np.exp(a) if dense else np.maximum(a, 0))
    return np.ascontiguousarray(np.concatenate(cols, axis=1), dtype=np.float32)


def numpy_bin(x, bins, zt):
    rows, dim = x.shape
    codes = np.zeros((dim, rows), dtype=np.uint8)
    q = np.arange(1, bins) / bins
    for i in range(dim):
        col = x[:, i].astype(np.float64)
        nz = col > zt
        if not nz.any():
            continue
        edges = np.quantile(col[nz], q)
        codes[i] = np.where(nz, 1 + np.searchsorted(edges, col, side="right"), 0)
    return codes


def mi_from_joint(joint, n):
    """joint: (..., L, L) counts -> plug-in MI in nats (vectorized over leading axes)."""
    p = joint / n
    pa = p.sum(axis=-1, keepdims=True)
    pb = p.sum(axis=-2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(p > 0, p * np.log(p / (pa * pb)), 0.0)
    return t.sum(axis=(-2, -1))


def numpy_pairs(codes, levels, pairs):
    n = codes.shape[1]
    c16 = codes.astype(np.int64)
    out = np.empty(len(pairs))
    for k, (i, j) in enumerate(pairs):
        joint = np.bincount(c16[i] * levels + c16[j], minlength=levels * levels)
        out[k] = mi_from_joint(joint.reshape(levels, levels), n)
    return out


def numpy_batched_row(codes, levels, i):
    """MI of unit i with every unit j > i: one bincount over all those pairs."""
    dim, n = codes.shape
    rest = codes[i + 1:].astype(np.int64)
    if len(rest) == 0:
        return np.empty(0)
    comb = codes[i].astype(np.int64)[None, :] * levels + rest
    comb += (np.arange(len(rest)) * levels * levels)[:, None]
    joint = np.bincount(comb.ravel(), minlength=len(rest) * levels * levels)
    return mi_from_joint(joint.reshape(len(rest), levels, levels), n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--rows", type=int, default=60000)
    ap.add_argument("--nets", type=int, default=2)
    ap.add_argument("--units", type=int, default=256)
    ap.add_argument("--bins", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--kernel", default=None, help="force avx512, avx2 or generic")
    ap.add_argument("--dense", action="store_true", help="no zeros (exp of the activations)")
    ap.add_argument("--numpy-pairs", type=int, default=1500, help="pairs timed (pair variant)")
    ap.add_argument("--numpy-units", type=int, default=12, help="units i timed (batched)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=1,
                    help="paired rounds (ours, then numpy); prints the median of the ratios")
    args = ap.parse_args()

    exe = os.path.join(args.build, "bench", "bench_mi")
    x = make_data(args.rows, args.nets, args.units, args.dense, args.seed)
    rows, dim = x.shape
    levels = args.bins + 1
    total_pairs = dim * (dim + 1) // 2
    print(f"data: {rows} rows x {dim} units ({args.nets} nets x {args.units}), "
          f"zeros {np.mean(x <= 1e-6):.1%}, {total_pairs} pairs (upper triangle + diagonal)")

    # numpy's binning (whole, once) and the random pairs / units it is timed on
    t0, p0 = time.perf_counter(), time.process_time()
    codes = numpy_bin(x, args.bins, 1e-6)
    np_bin, np_bin_cpu = time.perf_counter() - t0, time.process_time() - p0
    rng = np.random.default_rng(args.seed + 1)
    iu, ju = np.triu_indices(dim)
    pick = rng.choice(len(iu), size=min(args.numpy_pairs, len(iu)), replace=False)
    pairs = list(zip(iu[pick], ju[pick]))
    units_i = rng.choice(dim - 1, size=min(args.numpy_units, dim - 1), replace=False)
    n_b = sum(dim - 1 - i for i in units_i)
    print(f"numpy binning: {np_bin:.3f} s (all units; codes equal to ours: see tests)")

    ratios, ratios_b, ratios_cpu = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        xpath = os.path.join(tmp, "x.f32")
        mpath = os.path.join(tmp, "mi.f64")
        x.tofile(xpath)
        for rnd in range(args.rounds):
            # ours, then numpy, in turn: each ratio compares runs made under the same load
            c_tot, c_cpu, ours = run_ours(args, exe, xpath, mpath, rows, dim)
            pair_times, pair_cpu = [], []
            for _ in range(3):
                t0, p0 = time.perf_counter(), time.process_time()
                vals = numpy_pairs(codes, levels, pairs)
                pair_times.append(time.perf_counter() - t0)
                pair_cpu.append(time.process_time() - p0)
            per_pair = statistics.median(pair_times) / len(pairs)
            per_pair_cpu = statistics.median(pair_cpu) / len(pairs)
            err_pair = np.max(np.abs(vals - ours[iu[pick], ju[pick]]))
            bat_times = []
            err_bat = 0.0
            for _ in range(1 if args.rounds > 1 else 3):
                t0 = time.perf_counter()
                got = [numpy_batched_row(codes, levels, i) for i in units_i]
                bat_times.append(time.perf_counter() - t0)
            for i, g in zip(units_i, got):
                err_bat = max(err_bat, np.max(np.abs(g - ours[i, i + 1:])))
            per_pair_b = statistics.median(bat_times) / n_b
            np_pair_total = np_bin + per_pair * total_pairs
            np_bat_total = np_bin + per_pair_b * total_pairs
            np_pair_cpu = np_bin_cpu + per_pair_cpu * total_pairs
            print(f"numpy pair    ({len(pairs)} pairs timed, median of 3): "
                  f"{per_pair * 1e6:.1f} us/pair -> {np_pair_total:.1f} s extrapolated; "
                  f"max |diff| vs ours {err_pair:.2e}")
            print(f"numpy batched ({len(units_i)} units i, {n_b} pairs timed): "
                  f"{per_pair_b * 1e6:.1f} us/pair -> {np_bat_total:.1f} s extrapolated; "
                  f"max |diff| vs ours {err_bat:.2e}")
            print(f"CPU time (robust to other jobs on the machine): numpy pair "
                  f"{np_pair_cpu:.1f} s (one thread) vs convergent {c_cpu:.3f} s (all threads):"
                  f" {np_pair_cpu / c_cpu:.0f}x")
            print(f"round {rnd + 1}: ratio {np_pair_total / c_tot:.0f}x vs numpy pair, "
                  f"{np_bat_total / c_tot:.0f}x vs numpy batched (convergent {c_tot:.3f} s)")
            ratios.append(np_pair_total / c_tot)
            ratios_b.append(np_bat_total / c_tot)
            ratios_cpu.append(np_pair_cpu / c_cpu)
    if args.rounds > 1:
        print(f"median of {args.rounds} paired rounds: {statistics.median(ratios):.0f}x vs numpy "
              f"pair (all: {' '.join(f'{r:.0f}' for r in ratios)}), "
              f"{statistics.median(ratios_b):.0f}x vs numpy batched, "
              f"{statistics.median(ratios_cpu):.0f}x in CPU time")


def run_ours(args, exe, xpath, mpath, rows, dim):
    """bench_mi, args.repeat runs: prints them, returns the median wall and CPU time and the
    last MI matrix."""
    cmd = [exe, xpath, str(rows), str(dim), "--repeat", str(args.repeat),
           "--threads", str(args.threads), "--bins", str(args.bins), "--out", mpath]
    if args.kernel:
        cmd += ["--kernel", args.kernel]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        sys.exit(f"bench_mi failed: {res.stderr}")
    lines = res.stdout.split("\n")
    print(f"convergent: {lines[0]}")
    t_bin, t_mi, t_tot, t_cpu = [], [], [], []
    for line in lines[1:]:
        f = line.split()
        if len(f) >= 10 and f[0] == "bin":
            t_bin.append(float(f[1]))
            t_mi.append(float(f[3]))
            t_tot.append(float(f[5]))
            t_cpu.append(float(f[7]) + float(f[9]))
    ours = np.fromfile(mpath, dtype=np.float64).reshape(dim, dim)
    c_bin, c_mi, c_tot = (statistics.median(t) for t in (t_bin, t_mi, t_tot))
    print(f"convergent median of {len(t_tot)}: bin {c_bin:.3f} s + MI {c_mi:.3f} s "
          f"= {c_tot:.3f} s (all runs: {' '.join(f'{t:.3f}' for t in t_tot)}); "
          f"CPU time of all threads {statistics.median(t_cpu):.3f} s; "
          f"load average (1 min) {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    return c_tot, statistics.median(t_cpu), ours

if __name__ == "__main__":
    main()
