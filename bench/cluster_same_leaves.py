#!/usr/bin/python3
"""Do two builds give the same clustering? Leaf labels of cvg_cluster, compared entry for entry.

    /usr/bin/python3 bench/cluster_same_leaves.py --base OLD_BENCH_CLUSTER --new build/bench/bench_cluster
        [--sizes 512,2048] [--threads 1,2] [--corr R/stats/fc/corr.npy:100 ...]

OLD_BENCH_CLUSTER is a bench_cluster binary built from the code before a change (copy it aside
before changing anything). Cases: every committed clustering fixture (tests/fixtures/cluster*/,
k from its meta.json), under the default options (the paper's algorithm: unnormalized
Laplacian, hierarchical splits at alpha = 0.025) and the variants that run other code (each
eigensolver, the random-walk Laplacian, the refinement, k chosen by the eigen-gap); then
bench/cluster_bench.py's planted graphs at --sizes (k = 2S/32, and the paper's k = 100 where
2S >= 1024, the hierarchical default). Each case runs once per --threads value with the new
build and once with the old; any difference in any leaf label is reported and makes the exit
status 1. A speed change that keeps the result must print "same" on every line.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from cluster_bench import planted  # noqa: E402  the benchmark's own generator

VARIANTS = [
    ("default", []),
    ("dense", ["--solver", "dense"]),
    ("krylov", ["--solver", "krylov"]),
    ("sparse", ["--solver", "sparse"]),
    ("random-walk", ["--laplacian", "random-walk"]),
    ("refine", ["--refine", "1"]),
    ("k-auto", ["--k", "0"]),
    ("restarts-3", ["--restarts", "3"]),
]


def run(driver, corr_path, S, k, extra, threads, out):
    args = [driver, corr_path, str(S), str(k), "1", out, "--alpha", "0.025"]
    if extra[:1] == ["--k"]:
        args[3] = extra[1]
        extra = []
    args += extra + ["--threads", str(threads)]
    subprocess.run(args, check=True, capture_output=True, text=True)
    return np.fromfile(out, dtype="<i4")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True, help="bench_cluster built before the change")
    ap.add_argument("--new", default="build/bench/bench_cluster")
    ap.add_argument("--sizes", default="512,2048", help="planted graphs, 2S")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--corr", action="append", default=[], metavar="NPY:K",
                    help="also a 2S x 2S correlation .npy (e.g. a K = 2 stats dir's corr.npy) "
                         "clustered with k = K; repeatable")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    cases = []
    for meta_path in sorted(glob.glob(os.path.join(HERE, "..", "tests", "fixtures", "cluster*", "*",
                                                   "meta.json"))):
        meta = json.load(open(meta_path))
        C = np.load(os.path.join(os.path.dirname(meta_path), "corr.npy"))
        name = "/".join(meta_path.split(os.sep)[-3:-1])
        for vname, extra in VARIANTS:
            cases.append((f"{name} {vname}", C, meta["S"], meta["k"], extra))
    for n in [int(s) for s in args.sizes.split(",") if s]:
        C, _ = planted(n, max(2, n // 32), 3000, 0.35, seed=n)
        cases.append((f"planted 2S={n} k={n // 32}", C, n // 2, max(2, n // 32), []))
        if n >= 1024:
            cases.append((f"planted 2S={n} k=100", C, n // 2, 100, []))
    for spec in args.corr:
        path, k = spec.rsplit(":", 1)
        C = np.load(path, mmap_mode="r")
        cases.append((f"{os.path.basename(os.path.dirname(os.path.dirname(path)))}/corr k={k}",
                      C, C.shape[0] // 2, int(k), []))
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        corr_path, out = os.path.join(tmp, "corr.f64"), os.path.join(tmp, "labels.i32")
        last = None
        for name, C, S, k, extra in cases:
            if last is not C:
                np.ascontiguousarray(C, dtype="<f8").tofile(corr_path)
                last = C
            old = run(args.base, corr_path, S, k, extra, threads[0], out)
            for t in threads:
                new = run(args.new, corr_path, S, k, extra, t, out)
                diff = int(np.count_nonzero(old != new))
                verdict = "same" if diff == 0 else f"DIFFERENT in {diff} of {len(old)} units"
                bad += diff != 0
                print(f"{name:<44} threads {t}: {verdict} ({len(np.unique(new))} leaves)",
                      flush=True)
    print("all same" if bad == 0 else f"{bad} cases differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
