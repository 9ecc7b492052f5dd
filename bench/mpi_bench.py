#!/usr/bin/python3
"""The statistics pass under MPI: measured time per rank at P = 1, 2 and the inputs of the
scaling model of docs/distributed.md.

    /usr/bin/python3 bench/mpi_bench.py [--rows 400000] [--units 1024] [--nets 2] [--repeats 3]

On the same files, alternating, per repeat: the single process (`convergent stats`), `mpirun
-n 1` and `mpirun -n 2`; mpirun's own start and finish (`mpirun -n P convergent --version`)
measured the same way and subtracted. The tree step (rank 0 receiving, unpacking and merging rank 1's
part) is timed inside the job (CVG_MPI_TIMING=1). Prints medians, the time per rank, the speed-up at P = 2
and the bytes one rank sends (cvg_stats_pack: mean, co-moment, HSIC sums, reservoir), and the
model's prediction for a 10M-input, 4 x 4096-unit fully connected layer at P = 8..256.
Needs ./build/convergent built with MPI.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, "build", "convergent")
MPIRUN = ["mpirun", "--oversubscribe", "--allow-run-as-root", "--bind-to", "none"]


def timed(cmd, env=None):
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {r.stderr}")
    timed.stderr = r.stderr
    return time.perf_counter() - t


def packed_bytes(D, K, reservoir):
    """cvg_stats_pack's size, without the strings: header, mean, co-moment, HSIC, reservoir."""
    return 8 * 17 + 8 * D + 8 * D * D + 8 * (K * K + K * D) + reservoir * (8 + 4 * D)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=400000)
    ap.add_argument("--units", type=int, default=1024)
    ap.add_argument("--nets", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--reservoir", type=int, default=60000)
    ap.add_argument("--bandwidth", type=float, default=10e9, help="interconnect bytes/s for the model")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="mpi_bench_")
    try:
        rng = np.random.default_rng(1)
        files = []
        for k in range(args.nets):
            path = os.path.join(work, f"net{k}.npy")
            out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(args.rows, args.units))
            for s in range(0, args.rows, 65536):
                n = min(65536, args.rows - s)
                out[s:s + n] = np.maximum(rng.standard_normal((n, args.units), dtype=np.float32), 0)
            out.flush()
            files.append(path)
        D = args.nets * args.units
        base = ["stats", "-q", "--layer", "L", "--reservoir", str(args.reservoir)]
        t = {"one": [], "p1": [], "p2": [], "start1": [], "start2": [], "merge": []}
        env = dict(os.environ, CVG_MPI_TIMING="1")
        for _ in range(args.repeats):
            t["one"].append(timed([CLI] + base + ["-o", os.path.join(work, "one")] + files))
            for p in (1, 2):
                threads = ["-x", f"OMP_NUM_THREADS={max(1, os.cpu_count() // p)}"]  # the cores shared
                t[f"p{p}"].append(timed(MPIRUN + threads + ["-n", str(p), CLI] + base + ["-o", os.path.join(work, f"p{p}")] + files,
                                        env))
                if p == 2:  # "mpi: the tree merge took X s on rank 0": receiving, unpacking, merging
                    t["merge"].append(float(timed.stderr.split("took ")[1].split(" s")[0]))
                t[f"start{p}"].append(timed(MPIRUN + ["-n", str(p), CLI, "stats", "--help"]))
        med = {k: statistics.median(v) for k, v in t.items()}
        per_rank = {p: med[f"p{p}"] - med[f"start{p}"] for p in (1, 2)}
        nbytes = packed_bytes(D, args.nets, args.reservoir)
        print(f"{args.rows} rows x {args.nets} nets x {args.units} units (D = {D}), reservoir {args.reservoir}, "
              f"{os.cpu_count()} cores, medians of {args.repeats}")
        print(f"  single process        {med['one']:.2f} s")
        print(f"  mpirun -n 1           {per_rank[1]:.2f} s  (mpirun itself {med['start1']:.2f} s, subtracted)")
        print(f"  mpirun -n 2           {per_rank[2]:.2f} s  (mpirun itself {med['start2']:.2f} s, subtracted)")
        print(f"  speed-up at P = 2     {per_rank[1] / per_rank[2]:.2f}x")
        print(f"  one rank sends        {nbytes / 1e6:.1f} MB (O(D^2) + reservoir)")
        print(f"  one tree step         {med['merge']:.2f} s on rank 0 (receive, unpack, merge)")
        # The model: T(P) = T1 / P + ceil(log2 P) * (bytes / bandwidth + merge), with T1 and the
        # tree step scaled from this machine by N * D^2 and by the bytes of a part.
        c = per_rank[1] / (args.rows * D * D)             # seconds per row per D^2
        Dt, Nt, Rt = 4 * 4096, 10_000_000, 60000
        T1 = c * Nt * Dt * Dt
        merge_t = med["merge"] * packed_bytes(Dt, 4, Rt) / nbytes
        bytes_t = packed_bytes(Dt, 4, Rt)
        print(f"model, 10M inputs x 4 x 4096 units (D = {Dt}), {args.bandwidth / 1e9:.0f} GB/s links:")
        print(f"  one rank: {T1 / 3600:.1f} h; per tree step {bytes_t / 1e9:.2f} GB sent + "
              f"{merge_t:.1f} s merge")
        for P in (8, 16, 32, 64, 128, 256):
            steps = (P - 1).bit_length()
            TP = T1 / P + steps * (bytes_t / args.bandwidth + merge_t)
            print(f"  P = {P:3d}: {TP / 60:7.1f} min, speed-up {T1 / TP:6.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
