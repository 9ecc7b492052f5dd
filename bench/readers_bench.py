#!/usr/bin/env python3
"""The readers before and after reading only their blocks (docs/performance.md, "Memory maps
for the readers"): each command run on the same results directory with the block readers
(the default) and with CVG_MATRIX_READ=whole (the whole D x D matrix read at open, the old
path), back to back, in alternating order; wall seconds, CPU seconds and peak RSS from GNU
time (the launcher, so that the peak is the command's own); the median of the paired ratios.
The two runs' outputs are compared byte for byte (a difference stops the bench).

  readers_bench.py RESULTS [--build build] [--pairs 3] [--commands match,report,...]

RESULTS: a directory with stats/ (bench/scale_bench.py --keep --workdir W leaves
W/results_S<S>_K<K>). Commands: match, cluster (--pair 1,2 with --cluster-pair), report,
similarity (--lasso-path 0; --pair 1,2 with --similarity-pair)."""
import argparse
import filecmp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def measured(cmd, env):
    """wall s (around the launch), cpu s (user + sys), peak RSS MiB, of cmd under GNU time."""
    fd, usage = tempfile.mkstemp(prefix="readers_rusage.")
    os.close(fd)
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "RU %U %S %M", "-o", usage] + cmd, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), r.stderr))
    with open(usage) as f:
        _, user, sys_s, kb = [l for l in f if l.startswith("RU ")][-1].split()
    os.remove(usage)
    return wall, float(user) + float(sys_s), float(kb) / 1024


def same_tree(a, b):
    """Every file under a equals the file of that name under b, and the names are the same."""
    def files(root):
        out = set()
        for base, dirs, names in os.walk(root):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            out |= {os.path.relpath(os.path.join(base, n), root) for n in names if not n.startswith(".")}
        return out
    fa, fb = files(a), files(b)
    return fa == fb and all(filecmp.cmp(os.path.join(a, f), os.path.join(b, f), shallow=False) for f in fa)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("--build", default="build")
    ap.add_argument("--pairs", type=int, default=3, help="(blocks, whole) pairs per command")
    ap.add_argument("--commands", default="match,report,cluster,similarity")
    ap.add_argument("--cluster-pair", action="store_true", help="cluster --pair 1,2 only")
    ap.add_argument("--similarity-pair", action="store_true", help="similarity --pair 1,2 only")
    args = ap.parse_args()
    cli = os.path.abspath(os.path.join(args.build, "convergent"))
    R = os.path.abspath(args.results)
    stats = os.path.join(R, "stats")
    env_blocks = {k: v for k, v in os.environ.items() if k != "CVG_MATRIX_READ"}
    env_whole = dict(env_blocks, CVG_MATRIX_READ="whole")
    print("readers_bench: %s, load %.2f %.2f %.2f" % (R, *os.getloadavg()), flush=True)
    for name in [c for c in args.commands.split(",") if c]:
        def command(out):
            return {"match": [cli, "match", stats, "-o", out, "-q"],
                    "cluster": [cli, "cluster", stats, "-o", out, "-q"] + (["--pair", "1,2"] if args.cluster_pair else []),
                    "similarity": [cli, "similarity", stats, "-o", out, "-q", "--lasso-path", "0"]
                                  + (["--pair", "1,2"] if args.similarity_pair else []),
                    "report": [cli, "report", R, "-q", "--out", os.path.join(out, "report.html")]}[name]
        rows = []
        for p in range(args.pairs):
            runs = {}
            order = ("blocks", "whole") if p % 2 == 0 else ("whole", "blocks")
            for path in order:
                out = os.path.join(R, "readers_bench_" + path)
                shutil.rmtree(out, ignore_errors=True)
                runs[path] = measured(command(out), env_blocks if path == "blocks" else env_whole)
            if not same_tree(os.path.join(R, "readers_bench_blocks"), os.path.join(R, "readers_bench_whole")):
                sys.exit("%s: the block readers' outputs differ from the whole-matrix path's" % name)
            rows.append(runs)
            b, w = runs["blocks"], runs["whole"]
            print("  %-10s pair %d: blocks %.2f s (cpu %.2f), %.0f MiB | whole %.2f s (cpu %.2f), %.0f MiB"
                  % (name, p + 1, b[0], b[1], b[2], w[0], w[1], w[2]), flush=True)
        med = lambda i: statistics.median(r["whole"][i] / r["blocks"][i] for r in rows)
        mid = lambda path, i: statistics.median(r[path][i] for r in rows)
        print("%-10s blocks: %.2f s, cpu %.2f s, %.0f MiB; whole: %.2f s, cpu %.2f s, %.0f MiB; "
              "whole/blocks (median of %d pairs): wall %.2fx, cpu %.2fx, peak RSS %.2fx  [load %.2f]"
              % (name, mid("blocks", 0), mid("blocks", 1), mid("blocks", 2), mid("whole", 0), mid("whole", 1),
                 mid("whole", 2), len(rows), med(0), med(1), med(2), os.getloadavg()[0]), flush=True)
        for path in ("blocks", "whole"):
            out = os.path.join(R, "readers_bench_" + path)
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
