#!/usr/bin/python3
"""Benchmark: convergent's spectral clustering against scikit-learn on the same graph.

For each size 2S, planted groups shared by both networks: every unit (of either net) follows
its group's latent factor, plus 0.35 x another group's factor, plus unit noise; correlations
over N samples. Both methods get the same thresholded graph W (edge where corr > 0.2, zero
diagonal) and the true number of groups k:
  ours:    bench_cluster (cvg_cluster, flat: alpha = inf), reading the correlation matrix;
  sklearn: SpectralClustering(n_clusters=k, affinity='precomputed', random_state=0) on W.
Prints the median wall time of each, the ratio, and the adjusted Rand index against the
planted groups. Run with Debian's python (numpy, scikit-learn):
  /usr/bin/python3 bench/cluster_bench.py --build build
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.cluster import SpectralClustering
from sklearn.metrics import adjusted_rand_score


def planted(n, groups, samples, mix, seed):
    rng = np.random.default_rng(seed)
    S = n // 2
    Z = rng.standard_normal((samples, groups))
    # every group has units in both nets
    g = np.concatenate([rng.permutation(np.arange(S) % groups), rng.permutation(np.arange(S) % groups)])
    g2 = rng.integers(0, groups, n)
    X = Z[:, g] + mix * Z[:, g2] + rng.standard_normal((samples, n))
    C = np.corrcoef(X, rowvar=False)
    C = 0.5 * (C + C.T)
    return C, g


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--sizes", default="512,2048,8192")
    ap.add_argument("--groups", default="16,64,100")
    ap.add_argument("--repeats", default="5,3,1", help="repeats per size (both methods)")
    ap.add_argument("--samples", type=int, default=3000)
    ap.add_argument("--tau", type=float, default=0.2)
    ap.add_argument("--solver", default="auto")
    ap.add_argument("--laplacian", default="unnormalized", choices=["unnormalized", "random-walk"])
    args = ap.parse_args()
    driver = os.path.join(args.build, "bench", "bench_cluster")
    sizes = [int(s) for s in args.sizes.split(",")]
    groups = [int(s) for s in args.groups.split(",")]
    repeats = [int(s) for s in args.repeats.split(",")]
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')}, cores {os.cpu_count()}, "
          f"laplacian {args.laplacian}, solver {args.solver}, load {os.getloadavg()[0]:.1f}")
    print(f"{'2S':>6} {'k':>4} {'ours s':>9} {'sklearn s':>10} {'ratio':>7} {'ARI ours':>9} {'ARI sk':>8}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, k, reps in zip(sizes, groups, repeats):
            C, truth = planted(n, k, args.samples, 0.35, seed=n)
            corr_path = os.path.join(tmp, f"corr{n}.f64")
            lab_path = os.path.join(tmp, f"labels{n}.i32")
            C.astype("<f8").tofile(corr_path)
            out = subprocess.run([driver, corr_path, str(n // 2), str(k), str(reps), lab_path,
                                  "--solver", args.solver, "--laplacian", args.laplacian],
                                 check=True, capture_output=True, text=True).stdout
            ours_t = float([l for l in out.splitlines() if l.startswith("median")][0].split()[1])
            ours = np.fromfile(lab_path, dtype="<i4")
            W = np.where(C > args.tau, C, 0.0)
            np.fill_diagonal(W, 0.0)
            times = []
            for _ in range(reps):
                t0 = time.perf_counter()
                sk = SpectralClustering(n_clusters=k, affinity="precomputed",
                                        random_state=0).fit_predict(W)
                times.append(time.perf_counter() - t0)
            sk_t = float(np.median(times))
            a_ours = adjusted_rand_score(truth, ours)
            a_sk = adjusted_rand_score(truth, sk)
            print(f"{n:>6} {k:>4} {ours_t:>9.3f} {sk_t:>10.3f} {sk_t / ours_t:>6.1f}x "
                  f"{a_ours:>9.4f} {a_sk:>8.4f}", flush=True)
            rows.append((n, ours_t, sk_t, a_ours, a_sk))
    ok = all(o < s and ao >= asx - 1e-12 for _, o, s, ao, asx in rows)
    print("faster at every size with equal or better ARI:", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
