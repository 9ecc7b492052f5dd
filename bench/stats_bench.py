#!/usr/bin/python3
"""Statistics pass vs numpy, same data, same run.

    /usr/bin/python3 bench/stats_bench.py [--rows 2000000] [--units 256] [--nets 2] [--repeats 3]
    /usr/bin/python3 bench/stats_bench.py --before OLD/bench/bench_stats [--rows ...]   (A/B)

Writes one float32 .npy per network (rows x units; activation-like: ReLU of correlated
Gaussians) under --workdir, then measures, in pairs (ours then numpy, per repeat, when the
memory holds both; the ratio of each pair and their median are printed)
  * ours:  build/bench/bench_stats pass (cvg_stats_compute + cvg_stats_save), end to end from
           the .npy files (page cache warm: the files were just written) into a fresh
           output directory;
  * numpy: np.corrcoef(X, rowvar=False) on the same data already in memory (X float32, rows x
           nets*units; numpy converts to float64 itself);
  * the rank-k update rate of our chunk kernel vs plain OpenBLAS sgemm (bench_stats kernels);
  * peak memory (/usr/bin/time -v) of our pass at rows and rows/4: set by the chunk, not N.
Prints medians and ratios. Needs the build in ./build (cmake --build build).
"""
import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "build", "bench", "bench_stats")


def write_nets(workdir, rows, units, nets, seed=0):
    rng = np.random.default_rng(seed)
    paths = [os.path.join(workdir, f"net{k + 1}_{rows}.npy") for k in range(nets)]
    if all(os.path.exists(p) for p in paths):
        return paths
    mix = [rng.normal(size=(32, units)).astype(np.float32) for _ in range(nets)]
    outs = [np.lib.format.open_memmap(p, mode="w+", dtype=np.float32, shape=(rows, units)) for p in paths]
    step = 65536
    for start in range(0, rows, step):
        n = min(step, rows - start)
        z = rng.standard_normal((n, 32), dtype=np.float32)
        for k in range(nets):
            noise = rng.standard_normal((n, units), dtype=np.float32)
            outs[k][start:start + n] = np.maximum(z @ mix[k] + noise, 0)
    for o in outs:
        o.flush()
    return paths


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def peak_rss_mb(cmd):
    res = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, check=True)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr)
    return int(m.group(1)) / 1024 if m else float("nan")


def before_after(args, paths, out):
    """The pass of an older binary and of ours in turn, --warmup untimed pairs first, then
    --repeats pairs: the median of the pairs' ratios is the change's cost on a noisy machine.
    CPU seconds (all threads, from the children's rusage) are paired too: on a loaded host
    they move less than the wall time."""
    def one(binary, cpu):
        shutil.rmtree(out, ignore_errors=True)
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = run_json([binary, "pass", out] + paths)[0]["seconds_total"]
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime)
        return t
    scratch = []
    for _ in range(args.warmup):
        one(args.before, scratch), one(BENCH, scratch)
    before, after, cpu_before, cpu_after = [], [], [], []
    for _ in range(args.repeats):
        before.append(one(args.before, cpu_before))
        after.append(one(BENCH, cpu_after))
    ratios = [a / b for a, b in zip(after, before)]
    cpu_ratios = [a / b for a, b in zip(cpu_after, cpu_before)]
    print(f"before ({args.before}): median {np.median(before):.3f} s  {[round(t, 3) for t in before]}"
          f"  CPU {np.median(cpu_before):.3f} s")
    print(f"after  ({BENCH}): median {np.median(after):.3f} s  {[round(t, 3) for t in after]}"
          f"  CPU {np.median(cpu_after):.3f} s")
    print(f"after / before per pair, wall: {[round(r, 3) for r in ratios]}, median {np.median(ratios):.3f}")
    print(f"after / before per pair, CPU:  {[round(r, 3) for r in cpu_ratios]}, median {np.median(cpu_ratios):.3f}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if not args.keep:
        for p in paths:
            os.remove(p)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--units", type=int, default=256)
    ap.add_argument("--nets", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1, help="untimed pairs first (numpy's first call "
                    "faults in its 8 GB copy; our first run the output files)")
    ap.add_argument("--workdir", default="/tmp/convergent-bench")
    ap.add_argument("--keep", action="store_true", help="keep the generated .npy files")
    ap.add_argument("--before", metavar="BENCH_STATS", help="instead of numpy: time the pass of "
                    "this older bench_stats binary and ours alternately (a change's cost), "
                    "printing the ratio after / before of each pair and their median")
    args = ap.parse_args()
    if not os.path.exists(BENCH):
        sys.exit(f"{BENCH} not found: build first (cmake --build build)")
    os.makedirs(args.workdir, exist_ok=True)
    D = args.nets * args.units
    print(f"data: {args.nets} nets x {args.rows} rows x {args.units} units float32 "
          f"({args.nets * args.rows * args.units * 4 / 1e9:.1f} GB)", flush=True)
    paths = write_nets(args.workdir, args.rows, args.units, args.nets)
    out = os.path.join(args.workdir, "stats")
    if args.before:
        before_after(args, paths, out)
        return

    # Ours and numpy in turn, a pair per repeat, so that both see the same load on a shared
    # machine (the load here changes from minute to minute); each pair's ratio is printed and
    # their median is the figure. That needs X and numpy's float64 copy of it (8 GB at 2M rows)
    # in memory beside our input files in the page cache; with less memory, ours first, every
    # repeat, then numpy (else the float64 copy would push our files out of the page cache and
    # we would time the disk). CPU seconds (all threads) are printed too.
    need = args.rows * D * (4 + 8 + 4) * 1.25
    available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
    paired = available > need
    ours, theirs, ours_cpu, theirs_cpu = [], [], [], []
    X = None

    def load_x():
        x = np.empty((args.rows, D), dtype=np.float32)
        for k, p in enumerate(paths):
            x[:, k * args.units:(k + 1) * args.units] = np.load(p, mmap_mode="r")
        return x

    def run_ours():
        # a fresh output directory, as a first run has: replacing the last run's 123 MB
        # samples.npy would time the file system freeing it (0.1-0.2 s here)
        shutil.rmtree(out, ignore_errors=True)
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        ours.append(run_json([BENCH, "pass", out] + paths)[0]["seconds_total"])
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        ours_cpu.append(c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime)

    def run_numpy():
        t0, p0 = time.perf_counter(), time.process_time()
        c = np.corrcoef(X, rowvar=False)
        theirs.append(time.perf_counter() - t0)
        theirs_cpu.append(time.process_time() - p0)
        return c

    if paired:
        X = load_x()
        for _ in range(args.warmup):
            run_ours()
            run_numpy()
        del ours[:], theirs[:], ours_cpu[:], theirs_cpu[:]
        for _ in range(args.repeats):
            run_ours()
            c = run_numpy()
    else:
        for _ in range(args.repeats):
            run_ours()
        X = load_x()
        for _ in range(args.repeats):
            c = run_numpy()
    t_ours, t_np = float(np.median(ours)), float(np.median(theirs))
    print(f"ours   (file -> stats dir, end to end): median {t_ours:.2f} s  {[round(t, 2) for t in ours]}"
          f"  CPU {np.median(ours_cpu):.2f} s")
    print(f"numpy  (np.corrcoef, data in memory):   median {t_np:.2f} s  {[round(t, 2) for t in theirs]}"
          f"  CPU {np.median(theirs_cpu):.2f} s")
    if paired:
        ratios = [t / o for o, t in zip(ours, theirs)]
        print(f"run in pairs (ours, then numpy; {args.warmup} untimed pair first); ratio per pair: "
              f"{[round(r, 2) for r in ratios]}, median {np.median(ratios):.2f}x")
    else:
        print("run ours first, then numpy (not enough memory to keep both in memory)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    ours_corr = np.load(os.path.join(out, "bench", "corr.npy"))
    c = np.nan_to_num(c)
    np.fill_diagonal(c, 1)
    print(f"max |corr difference| ours vs numpy: {np.abs(ours_corr - c).max():.2e}")
    print(f"ratio numpy / ours: {t_np / t_ours:.2f}x (wall), "
          f"{np.median(theirs_cpu) / np.median(ours_cpu):.2f}x (CPU)")
    del X, c

    k = run_json([BENCH, "kernels", str(D), "65536", str(args.repeats)])
    sgemm = next(r for r in k if r["what"] == "sgemm_raw")["gflops"]
    print(f"\nrank-k update, D={D}, 65536 rows (GFLOP/s counting the work each call does):")
    print(f"  OpenBLAS sgemm (both triangles): {sgemm:.1f}")
    for r in k:
        if r["what"] == "moments":
            print(f"  ours {r['kernel']:5s} (centring + update + merge): {r['gflops']:6.1f}  ({r['gflops'] / sgemm:.0%} of sgemm)")

    small = max(args.rows // 4, 1)
    small_paths = write_nets(args.workdir, small, args.units, args.nets, seed=1)
    rss_big = peak_rss_mb([BENCH, "pass", out] + paths)
    rss_small = peak_rss_mb([BENCH, "pass", out] + small_paths)
    print(f"\npeak memory of our pass: {rss_small:.0f} MB at {small} rows, {rss_big:.0f} MB at {args.rows} rows")
    if not args.keep:
        for p in paths + small_paths:
            os.remove(p)


if __name__ == "__main__":
    main()
