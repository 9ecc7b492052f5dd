#!/usr/bin/python3
"""Benchmark: the sparse eigensolver path of cvg_cluster against the dense paths and
scikit-learn, on the same graphs, n = 2S = 1024 .. 16384 (docs/clustering.md, "Sparse path").

Data: bench/cluster_bench.py's planted groups (k latent factors, a 0.35 second loading, unit
noise, 3000 samples), thresholded at tau = 0.2: about 1% of the pairs are edges. For each size,
`--repeats` rounds; in each round, back to back on the same W:
  sparse:  bench_cluster --solver sparse  (CSR graph, components, filtered block Krylov)
  dense:   bench_cluster --solver auto-dense (the dense Laplacian: dsyevr below 1024 vertices,
           shift-invert Krylov over a dense Cholesky above; what auto chose before this path)
  sklearn: SpectralClustering(n_clusters=k, affinity='precomputed', random_state=0) on the
           dense W (scikit-learn 1.2: ARPACK shift-invert over an LU of the dense Laplacian);
           --sklearn-sparse also runs it on scipy.sparse.csr_matrix(W) (SuperLU), and the
           ratio is against the faster of the two
Ours are timed by the driver around the whole cvg_cluster call (building W from the
correlations included); scikit-learn gets W prebuilt (not timed). Each round gives the ratios
sklearn/sparse and dense/sparse; printed are the medians of those paired ratios, the medians of
the times, the ARI of each against the planted groups, and the driver's peak memory. The load
average is printed before and after each size (the machine is shared). Threads: both sides
run with OMP_WAIT_POLICY=passive, as the convergent tool does (cli/main.c).
  /usr/bin/python3 bench/sparse_cluster_bench.py --build build
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import argparse  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from sklearn.cluster import SpectralClustering  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_bench import planted  # noqa: E402


def ours(driver, corr_path, n, k, solver, lab_path):
    out = subprocess.run([driver, corr_path, str(n // 2), str(k), "1", lab_path, "--solver", solver],
                         check=True, capture_output=True, text=True).stdout
    t = float([l for l in out.splitlines() if l.startswith("median")][0].split()[1])
    rss = float([l for l in out.splitlines() if l.startswith("peak_rss_mib")][0].split()[1])
    used = out.split("solver ")[1].split(")")[0]
    return t, rss, used, np.fromfile(lab_path, dtype="<i4")


def sklearn_time(W, k):
    t0 = time.perf_counter()
    lab = SpectralClustering(n_clusters=k, affinity="precomputed", random_state=0).fit_predict(W)
    return time.perf_counter() - t0, lab


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--sizes", default="1024,2048,4096,8192,16384")
    ap.add_argument("--groups", default="32,64,100,100,100")
    ap.add_argument("--repeats", default="3,3,3,1,1")
    ap.add_argument("--sklearn-max", type=int, default=8192, help="largest n given to scikit-learn")
    ap.add_argument("--dense-max", type=int, default=16384, help="largest n given to our dense path")
    ap.add_argument("--sklearn-sparse", action="store_true", help="also scikit-learn on a CSR W")
    ap.add_argument("--samples", type=int, default=3000)
    args = ap.parse_args()
    driver = os.path.join(args.build, "bench", "bench_cluster")
    sizes = [int(s) for s in args.sizes.split(",")]
    groups = [int(s) for s in args.groups.split(",")]
    repeats = [int(s) for s in args.repeats.split(",")]
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')}, "
          f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}, cores {os.cpu_count()}")
    print(f"{'n':>6} {'k':>4} {'edges%':>6} {'sparse s':>9} {'dense s':>9} {'sklearn s':>10} "
          f"{'sk/sparse':>9} {'dense/sparse':>12} {'ARI sp/de/sk':>16} {'MiB sp/de':>12} {'load':>10}")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for n, k, reps in zip(sizes, groups, repeats):
            load0 = os.getloadavg()[0]
            C, truth = planted(n, k, args.samples, 0.35, seed=n)
            corr_path = os.path.join(tmp, "corr.f64")
            lab_path = os.path.join(tmp, "labels.i32")
            C.astype("<f8").tofile(corr_path)
            W = np.where(C > 0.2, C, 0.0)
            np.fill_diagonal(W, 0.0)
            del C
            density = 100.0 * np.count_nonzero(W) / (n * n)
            Wsp = sp.csr_matrix(W) if args.sklearn_sparse else None
            ts, td, tk, r_sk, r_de = [], [], [], [], []
            ari = [None, None, None]
            rss = [None, None]
            for _ in range(reps):
                t, rss[0], used, lab = ours(driver, corr_path, n, k, "sparse", lab_path)
                assert used == "sparse", used
                ts.append(t)
                ari[0] = adjusted_rand_score(truth, lab)
                if n <= args.dense_max:
                    t, rss[1], used, lab = ours(driver, corr_path, n, k, "krylov", lab_path)
                    td.append(t)
                    r_de.append(t / ts[-1])
                    ari[1] = adjusted_rand_score(truth, lab)
                if n <= args.sklearn_max:
                    t, lab = sklearn_time(W, k)
                    if Wsp is not None:
                        t2, lab2 = sklearn_time(Wsp, k)
                        if t2 < t:
                            t, lab = t2, lab2
                    tk.append(t)
                    r_sk.append(t / ts[-1])
                    ari[2] = adjusted_rand_score(truth, lab)

            def med(x, fmt):
                return format(statistics.median(x), fmt) if x else "-"

            aris = "/".join("-" if a is None else f"{a:.3f}" for a in ari)
            mib = "/".join("-" if m is None else f"{m:.0f}" for m in rss)
            print(f"{n:>6} {k:>4} {density:>6.2f} {med(ts, '.3f'):>9} {med(td, '.3f'):>9} "
                  f"{med(tk, '.3f'):>10} {med(r_sk, '.1f') + 'x':>9} {med(r_de, '.1f') + 'x':>12} "
                  f"{aris:>16} {mib:>12} {load0:>4.1f}-{os.getloadavg()[0]:<4.1f}", flush=True)
            if r_sk and statistics.median(r_sk) < 3.0:
                ok = False
    print("sparse path at least 3x scikit-learn at every size it ran:", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
