#!/usr/bin/python3
"""Scale benchmark: every analysis command of the CLI against units per net S and nets K, beside
the numpy / scipy / scikit-learn peer that does the same job on the same files, same run.

    /usr/bin/python3 bench/scale_bench.py --build build [--sizes 256,512,1024,2048,4096]
        [--nets 2,4] [--rows 20000] [--repeats 3] [--peer-cap-s 120] [--json scale.json]
        [--png-dir docs/img] [--markdown scale.md] [--workdir DIR --keep] [--no-peers] [--quick]
    /usr/bin/python3 bench/scale_bench.py --replot scale.json[,more.json] --png-dir docs/img

Data, per size: K nets of S units over N rows (.npy, float32). Net 1 is ReLU(a) with
a = F[:, g] + 0.35 F[:, g2] + e: each unit follows one of S/8 shared latent factors F (its
group g) plus a little of another (g2) plus unit noise, so units form groups of about 8 per
net (structure for clustering, correlations within groups about 0.4 before the ReLU). Net k > 1
is ReLU(a[:, perm_k] + 0.5 e_k): net 1's units permuted plus noise, so each unit has one clear
partner in every other net (matching correlation about 0.8). The same files serve K = 2 and 4.

N = 20,000 rows by default: more rows than the K*S = 16,384 units of the largest case, so every
covariance that CCA whitens has full rank; within the default 60,000-row reservoir, so mi reads
the same N rows that stats does; and small enough that the whole default run stays near 20
minutes on 2 cores.

Commands (each one process; its wall time, and CPU time user+sys and peak RSS from GNU time):
  stats       convergent stats -o R/stats --layer fc net1.npy ... netK.npy
              peer: np.load every file, np.corrcoef of the (N, K*S) matrix, np.save(corr)
  mi          convergent mi R/stats   (the reservoir rows, every pair of the K*S units)
              peer: bench/mi_bench.py's numpy binning (np.quantile per unit) and per-pair
              np.bincount, timed on a random subset of units and pairs and extrapolated linearly
              to all K*S units and K*S (K*S+1)/2 pairs (marked "extrapolated")
  match       convergent match R/stats -o R/match   (every pair of nets)
              peer: per pair, corr.npy's block (memory-mapped), argmax per row (semi-matching),
              scipy.optimize.linear_sum_assignment(maximize=True), overlap; saves perm and the
              permuted block as ours does
  cluster     convergent cluster R/stats -o R/cluster   (every pair of nets, the paper's k)
              peer: per pair, W = the pair's 2S x 2S correlation where > tau (diagonal 0) and
              sklearn SpectralClustering(k, affinity='precomputed', random_state=0) on it, as
              bench/cluster_bench.py (k: the one ours chose)
  similarity  convergent similarity R/stats -o R/similarity --lasso-path 0   (every pair)
              peer: numpy on comoment.npy's blocks: CKA, CCA by eigh whitening + SVD, SVCCA,
              PWCCA, Procrustes (the biased CKA and the CCA family; no debiased CKA)
  lasso       convergent similarity as by default (the above + the lasso path of 30 lambdas
              both ways); no peer (sklearn's lasso_path per target unit is hours at S = 4096)
  report      convergent report R; no peer
Every peer runs in its own fresh Python process and times itself from after its imports; its
peak RSS is that process's (interpreter and libraries included). Peers run with
OMP_WAIT_POLICY=passive, as the CLI sets for itself (on a loaded machine numpy's OpenMP
OpenBLAS otherwise spins at barriers: 20-60x slower small LAPACK calls). Each peer checks its answer
against ours after timing (max |diff| of correlations, MI, matching objective, measures; the
ARI of the cluster labels) and the run fails if they disagree.

A peer whose time predicted from the previous size (the theory's exponent) exceeds
--peer-cap-s, or whose memory predicted the same way exceeds --peer-cap-gb, is skipped and
marked so; a peer still running at 2 x the cap is killed.

Ratios are peer / ours wall time, each from one (ours, peer) pair run back to back, median over
--repeats pairs (sizes whose first pair took under --repeat-under-s seconds; bigger ones once).
The growth exponent of each command's time in S (K fixed) is the least-squares slope of
log(time) on log(S), over all sizes and over the largest three, beside the theory's.
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
LAYER = "fc"
COMMANDS = ["stats", "mi", "match", "cluster", "similarity", "lasso", "report"]
# Growth in S at fixed K and N (D = K*S units, P = K(K-1)/2 pairs of nets, R reservoir rows).
THEORY = {"stats": (2, "N D^2 (co-moment rank-k updates)"),
          "mi": (2, "R D^2 (joint counts of every pair)"),
          "match": (3, "P S^3 (assignment, worst case; reads D^2)"),
          "cluster": (3, "P (2S)^3 (dense eigenvectors)"),
          "similarity": (3, "P S^3 (eigh, SVD)"),
          "lasso": (3, "P S^3 x path (coordinate descent on S x S Gram)"),
          "report": (2, "D^2 (reads corr, draws)")}
PEER_NAME = {"stats": "numpy corrcoef", "mi": "numpy bincount (extrapolated)",
             "match": "scipy linear_sum_assignment", "cluster": "sklearn SpectralClustering",
             "similarity": "numpy eigh/svd", "lasso": None, "report": None}


# ----------------------------------------------------------------------------- data

def net_paths(workdir, S, N, K):
    return [os.path.join(workdir, f"net{k + 1}_S{S}_N{N}.npy") for k in range(K)]


def make_nets(workdir, S, N, K, seed):
    """K nets of S units over N rows (see the module's docstring); files reused when present.
    Returns the paths and the seconds spent writing."""
    paths = net_paths(workdir, S, N, K)
    if all(os.path.exists(p) for p in paths):
        return paths, 0.0
    t0 = time.perf_counter()
    rng = np.random.default_rng([seed, S, N])
    groups = max(S // 8, 1)
    factors = rng.standard_normal((N, groups), dtype=np.float32)
    g, g2 = rng.integers(0, groups, S), rng.integers(0, groups, S)
    a = factors[:, g] + 0.35 * factors[:, g2] + rng.standard_normal((N, S), dtype=np.float32)
    del factors
    for k, path in enumerate(paths):
        r = np.random.default_rng([seed, S, N, k])
        x = a.copy() if k == 0 else a[:, r.permutation(S)] + 0.5 * r.standard_normal((N, S), dtype=np.float32)
        np.maximum(x, 0, out=x)
        tmp = path + f".tmp.{os.getpid()}.npy"
        np.save(tmp, x)
        os.replace(tmp, path)
    return paths, time.perf_counter() - t0


# ----------------------------------------------------------------------------- running

def run_measured(cmd, timeout_s, env=None):
    """Run cmd as a grandchild under GNU time: its wall seconds (ours, around the launch), CPU
    seconds (user+sys, all threads), peak RSS (MB), exit status and output. Killed (its whole
    process group) after timeout_s: status 'timeout'.

    Why a launcher: Linux keeps a process's peak RSS across exec, and a child forked (or
    vforked) from this Python starts with this interpreter's RSS as its peak; /usr/bin/time is
    small, and the command it forks starts from its few hundred kB."""
    out = tempfile.TemporaryFile()
    fd, usage_path = tempfile.mkstemp(prefix="scale_rusage.")
    os.close(fd)
    t0 = time.perf_counter()
    proc = subprocess.Popen(["/usr/bin/time", "-f", "CVGRUSAGE %e %U %S %M", "-o", usage_path] + cmd,
                            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    killed = []

    def kill():
        killed.append(True)
        os.killpg(proc.pid, 9)
    timer = threading.Timer(timeout_s, kill)
    timer.start()
    status = proc.wait()
    wall = time.perf_counter() - t0
    timer.cancel()
    out.seek(0)
    text = out.read().decode(errors="replace")
    out.close()
    with open(usage_path) as f:
        usage = [l.split() for l in f if l.startswith("CVGRUSAGE")]
    os.remove(usage_path)
    _, _, user, sys_s, max_kb = usage[-1] if usage else ("", "nan", "nan", "nan", "nan")
    return {"wall_s": wall, "cpu_s": float(user) + float(sys_s), "peak_mb": float(max_kb) / 1024,
            "status": "timeout" if killed else status, "output": text}


def ours_command(cli, name, case):
    R, paths = case["results"], case["paths"]
    stats = os.path.join(R, "stats")
    return {"stats": [cli, "stats", "-o", stats, "--layer", LAYER] + paths,
            "mi": [cli, "mi", stats],
            "match": [cli, "match", stats, "-o", os.path.join(R, "match")],
            "cluster": [cli, "cluster", stats, "-o", os.path.join(R, "cluster")],
            "similarity": [cli, "similarity", stats, "-o", os.path.join(R, "similarity"),
                           "--lasso-path", "0"],
            "lasso": [cli, "similarity", stats, "-o", os.path.join(R, "similarity")],
            "report": [cli, "report", R]}[name] + ["-q"]


def run_peer(name, case, timeout_s):
    """The peer in a fresh interpreter; its own timing (after imports) and check values."""
    spec = json.dumps({k: case[k] for k in ("results", "paths", "S", "K", "N", "seed", "scratch")})
    # OpenMP threads that wait passively, as the CLI sets for itself: numpy's OpenBLAS (OpenMP
    # build) and scikit-learn otherwise spin at every barrier, which on a machine shared with
    # other jobs costs them 20-60x on small LAPACK calls (eigh of 256 x 256: 1.06 s CPU
    # spinning, 0.017 s passive, measured here)
    env = dict(os.environ, OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "passive"))
    r = run_measured([sys.executable, os.path.abspath(__file__), "--peer", name, spec], timeout_s, env)
    if r["status"] != 0:
        return {"status": r["status"], "output": r["output"][-2000:]}
    line = [l for l in r["output"].splitlines() if l.startswith("PEER ")][-1]
    got = json.loads(line[5:])
    got["status"] = 0
    got["process_wall_s"], got["process_peak_mb"] = r["wall_s"], r["peak_mb"]
    return got


# ----------------------------------------------------------------------------- peers
# Each runs in the child process: returns (timed result dict, check function). The timed part
# covers reading the command's input files and writing its main output, as ours does.

def _timed(fn):
    t0, ru0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    value = fn()
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    return value, {"wall_s": time.perf_counter() - t0,
                   "cpu_s": ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime,
                   "peak_mb": ru1.ru_maxrss / 1024}


def _stats_dir(case):
    return os.path.join(case["results"], "stats", LAYER)


def _pairs(K):
    return [(i, j) for i in range(K) for j in range(i + 1, K)]


def peer_stats(case):
    out = os.path.join(case["scratch"], "peer_corr.npy")

    def work():
        x = np.concatenate([np.load(p) for p in case["paths"]], axis=1)
        c = np.corrcoef(x, rowvar=False)
        np.save(out, c)
        return c
    c, t = _timed(work)
    ours = np.load(os.path.join(_stats_dir(case), "corr.npy"), mmap_mode="r")
    rows = np.random.default_rng(0).choice(c.shape[0], size=min(64, c.shape[0]), replace=False)
    t["check"] = {"max_abs_diff_corr": float(np.max(np.abs(ours[rows] - c[rows])))}
    t["check_ok"] = t["check"]["max_abs_diff_corr"] < 1e-5
    os.remove(out)
    return t


def peer_mi(case, units=48, pairs=300):
    sys.path.insert(0, HERE)
    import mi_bench  # numpy binning and per-pair MI, the peer of bench/mi_bench.py
    meta = json.load(open(os.path.join(_stats_dir(case), "mi.json")))
    bins = int(meta.get("bins", 20)) if isinstance(meta, dict) else 20
    samples = np.load(os.path.join(_stats_dir(case), "samples.npy"), mmap_mode="r")
    D = samples.shape[1]
    rng = np.random.default_rng(case["seed"])
    chosen = np.sort(rng.choice(D, size=min(units, D), replace=False))
    iu, ju = np.triu_indices(len(chosen))
    pick = rng.choice(len(iu), size=min(pairs, len(iu)), replace=False)

    def work():
        x = np.ascontiguousarray(samples[:, chosen])
        t0 = time.perf_counter()
        codes = mi_bench.numpy_bin(x, bins, 1e-6)
        t_bin = time.perf_counter() - t0
        t0 = time.perf_counter()
        vals = mi_bench.numpy_pairs(codes, bins + 1, list(zip(iu[pick], ju[pick])))
        return vals, t_bin, time.perf_counter() - t0
    (vals, t_bin, t_pairs), t = _timed(work)
    all_pairs = D * (D + 1) // 2
    scale = (t_bin * D / len(chosen) + t_pairs * all_pairs / len(pick)) / (t_bin + t_pairs)
    t["measured_wall_s"], t["measured_cpu_s"] = t["wall_s"], t["cpu_s"]
    t["wall_s"] *= scale
    t["cpu_s"] *= scale
    t["extrapolated"] = (f"timed {len(chosen)} of {D} units binned and {len(pick)} of "
                         f"{all_pairs} pairs, scaled linearly (x{scale:.0f})")
    ours = np.load(os.path.join(_stats_dir(case), "mi.npy"), mmap_mode="r")
    diff = np.abs(np.array([ours[chosen[i], chosen[j]] for i, j in zip(iu[pick], ju[pick])]) - vals)
    t["check"] = {"max_abs_diff_mi": float(diff.max())}
    t["check_ok"] = t["check"]["max_abs_diff_mi"] < 1e-9
    return t


def peer_match(case):
    from scipy.optimize import linear_sum_assignment
    S, K = case["S"], case["K"]
    path = os.path.join(_stats_dir(case), "corr.npy")

    def work():
        corr = np.load(path, mmap_mode="r")
        res = {}
        for i, j in _pairs(K):
            block = np.array(corr[i * S:(i + 1) * S, j * S:(j + 1) * S])
            semi = block.argmax(axis=1)
            rows, cols = linear_sum_assignment(block, maximize=True)
            np.save(os.path.join(case["scratch"], "peer_perm.npy"), cols)
            np.save(os.path.join(case["scratch"], "peer_permuted.npy"), block[:, cols])
            res[(i, j)] = (float(block[rows, cols].mean()), float(np.mean(cols == semi)))
        return res
    res, t = _timed(work)
    worst = 0.0
    for (i, j), (mean, _) in res.items():
        got = json.load(open(os.path.join(case["results"], "match", LAYER, f"match_{i + 1}_{j + 1}.json")))
        worst = max(worst, abs(got["matching_mean"] - mean))
    t["check"] = {"max_abs_diff_matching_mean": worst}
    t["check_ok"] = worst < 1e-9
    return t


def peer_cluster(case):
    from sklearn.cluster import SpectralClustering
    from sklearn.metrics import adjusted_rand_score
    S, K = case["S"], case["K"]
    path = os.path.join(_stats_dir(case), "corr.npy")
    first = json.load(open(os.path.join(case["results"], "cluster", LAYER, "cluster_1_2.json")))
    k, tau = int(first["k"]), float(first["tau"])

    def work():
        corr = np.load(path, mmap_mode="r")
        labels = {}
        for i, j in _pairs(K):
            idx = np.r_[i * S:(i + 1) * S, j * S:(j + 1) * S]
            w = np.array(corr[np.ix_(idx, idx)])
            w[w <= tau] = 0.0
            np.fill_diagonal(w, 0.0)
            labels[(i, j)] = SpectralClustering(n_clusters=k, affinity="precomputed",
                                                random_state=0).fit_predict(w)
        return labels
    labels, t = _timed(work)
    aris = []
    for (i, j), lab in labels.items():
        ours = np.load(os.path.join(case["results"], "cluster", LAYER, f"cluster_{i + 1}_{j + 1}_labels.npy"))
        aris.append(adjusted_rand_score(ours, lab))
    # Not a pass/fail check: sklearn's normalized Laplacian and flat k-way labels against our
    # unnormalized one and its split tree (leaves of at most 2 alpha S units) need not agree.
    t["check"] = {"k": k, "min_ari_vs_ours": float(min(aris))}
    t["check_ok"] = True
    return t


def _measures(cxx, cyy, cxy, ridge=1e-6, keep=0.99):
    """The biased CKA, the CCA family and Procrustes from covariance blocks (docs/similarity.md)."""
    cka = np.sum(cxy * cxy) / (np.linalg.norm(cxx) * np.linalg.norm(cyy))
    side = []
    for c in (cxx, cyy):
        lam, v = np.linalg.eigh(c)
        lam, v = lam[::-1], v[:, ::-1]
        lam = np.maximum(lam, 0) + ridge * np.mean(np.diag(c))
        side.append((lam, v))
    (lx, vx), (ly, vy) = side
    t = (vx / np.sqrt(lx)).T @ cxy @ (vy / np.sqrt(ly))
    u, rho, _ = np.linalg.svd(t, full_matrices=False)
    rho = np.clip(rho, 0, 1)

    def kept(lam):
        return int(np.searchsorted(np.cumsum(lam), keep * lam.sum() * (1 - 1e-12)) + 1)
    svcca = np.clip(np.linalg.svd(t[:kept(lx), :kept(ly)], compute_uv=False), 0, 1).mean()
    w = (vx / np.sqrt(lx)) @ u  # canonical weights of x (x has no more live units than y here)
    a = np.abs(cxx @ w).sum(axis=0) / np.sqrt(np.einsum("ij,ij->j", w, cxx @ w))
    pwcca = float((a / a.sum() * rho).sum())
    nuclear = np.linalg.svd(cxy, compute_uv=False).sum()
    procrustes = 2 - 2 * nuclear / np.sqrt(np.trace(cxx) * np.trace(cyy))
    return {"cka": float(cka), "cca_mean_rho": float(rho.mean()), "svcca": float(svcca),
            "pwcca": pwcca, "procrustes": float(procrustes)}


def peer_similarity(case):
    S, K = case["S"], case["K"]
    n = json.load(open(os.path.join(_stats_dir(case), "meta.json")))["samples"]
    path = os.path.join(_stats_dir(case), "comoment.npy")

    def work():
        m = np.load(path, mmap_mode="r")
        res = {}
        for i, j in _pairs(K):
            blk = lambda a, b: np.array(m[a * S:(a + 1) * S, b * S:(b + 1) * S]) / n
            res[(i, j)] = _measures(blk(i, i), blk(j, j), blk(i, j))
        return res
    res, t = _timed(work)
    worst = 0.0
    for (i, j), vals in res.items():
        got = json.load(open(os.path.join(case["results"], "similarity", LAYER,
                                          f"similarity_{i + 1}_{j + 1}.json")))["measures"]
        for key, v in vals.items():
            worst = max(worst, abs(got[key] - v))
    t["check"] = {"max_abs_diff_measures": worst}
    t["check_ok"] = worst < 1e-6
    return t


PEERS = {"stats": peer_stats, "mi": peer_mi, "match": peer_match, "cluster": peer_cluster,
         "similarity": peer_similarity}


def peer_main(name, spec):
    case = json.loads(spec)
    result = PEERS[name](case)
    print("PEER " + json.dumps(result), flush=True)


# ----------------------------------------------------------------------------- analysis

def slope(xs, ys):
    """Least-squares slope of log y on log x (None with fewer than two usable points)."""
    pts = [(np.log(x), np.log(y)) for x, y in zip(xs, ys) if y and y > 0]
    if len(pts) < 2:
        return None
    lx, ly = np.array(pts).T
    return float(np.polyfit(lx, ly, 1)[0])


def predicted(prev, S, exponent):
    """A value at size S from the one measured at the previous size (exponent of the theory)."""
    if not prev:
        return 0.0
    s0, v0 = prev
    return v0 * (S / s0) ** exponent


def load_text():
    return f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} cores"


# ----------------------------------------------------------------------------- main

def parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--sizes", default="256,512,1024,2048,4096", help="units per net S")
    ap.add_argument("--nets", default="2,4", help="numbers of nets K")
    ap.add_argument("--rows", type=int, default=20000, help="rows N of every net")
    ap.add_argument("--repeats", type=int, default=3, help="(ours, peer) pairs per small cell")
    ap.add_argument("--repeat-under-s", type=float, default=10.0,
                    help="repeat a cell only if its first pair took under this many seconds")
    ap.add_argument("--peer-cap-s", type=float, default=120.0)
    ap.add_argument("--peer-cap-gb", type=float, default=None,
                    help="default: 70%% of physical memory")
    ap.add_argument("--ours-cap-s", type=float, default=400.0,
                    help="skip our command where its time predicted from the previous sizes "
                         "(their growth, at most the theory's) exceeds this")
    ap.add_argument("--ours-timeout-s", type=float, default=1800.0)
    ap.add_argument("--commands", default=",".join(COMMANDS))
    ap.add_argument("--no-peers", action="store_true", help="ours only (a size too big for them)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", default=None, help="data and results (default: a temporary dir)")
    ap.add_argument("--keep", action="store_true", help="keep the workdir's files")
    ap.add_argument("--json", default="scale_bench.json", help="all numbers, written atomically")
    ap.add_argument("--png-dir", default=None, help="curves (default: beside --json); '' for none")
    ap.add_argument("--markdown", default=None, help="also write the tables as markdown here")
    ap.add_argument("--replot", default=None, metavar="JSON",
                    help="no runs: the tables, exponents, curves and markdown of a saved JSON "
                         "(A.json,B.json: B's cells fill those A lacks)")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke test: sizes 32,64, K = 2, 2000 rows, one pair per cell")
    args = ap.parse_args()
    if args.quick:
        args.sizes, args.nets, args.rows, args.repeats = "32,64", "2", 2000, 1
    args.sizes = [int(s) for s in args.sizes.split(",")]
    args.nets = [int(k) for k in args.nets.split(",")]
    args.commands = [c for c in args.commands.split(",") if c]
    bad = [c for c in args.commands if c not in COMMANDS]
    if bad or min(args.nets) < 2 or min(args.sizes) < 8 or args.rows < 16:
        ap.error(f"--commands from {COMMANDS}, K >= 2, S >= 8, N >= 16 (got {bad or ''})")
    if args.peer_cap_gb is None:
        args.peer_cap_gb = 0.7 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    if args.png_dir is None:
        args.png_dir = os.path.dirname(os.path.abspath(args.json))
    return args


def measure_cell(args, cli, name, case, prev_peer, prev_ours):
    """Ours and the peer for one command at one size: paired runs; the cell's dict, or None
    when ours is predicted to exceed --ours-cap-s."""
    S = case["S"]
    exponent = THEORY[name][0]
    if prev_ours:  # the growth seen over the last two sizes, within [1, the theory's]
        if len(prev_ours) >= 2:
            local = slope([p[0] for p in prev_ours[-2:]], [p[1] for p in prev_ours[-2:]]) or exponent
            exponent_ours = min(max(local, 1.0), exponent)
        else:
            exponent_ours = exponent
        if predicted(prev_ours[-1], S, exponent_ours) > args.ours_cap_s:
            return None
    cell = {"ours": [], "peer": [], "ratios": []}
    peer_ok = PEER_NAME[name] is not None
    if peer_ok:
        t_pred = predicted(prev_peer.get("t"), S, exponent)
        m_pred = predicted(prev_peer.get("m"), S, 2)  # memory: the D^2 matrices
        if args.no_peers:
            cell["peer_skipped"] = "--no-peers"
        elif t_pred > args.peer_cap_s:
            cell["peer_skipped"] = f"predicted {t_pred:.0f} s > --peer-cap-s {args.peer_cap_s:.0f}"
        elif m_pred > args.peer_cap_gb * 1024:
            cell["peer_skipped"] = f"predicted {m_pred / 1024:.1f} GB > --peer-cap-gb {args.peer_cap_gb:.1f}"
        peer_ok = "peer_skipped" not in cell
    for rep in range(max(args.repeats, 1)):
        r = run_measured(ours_command(cli, name, case), args.ours_timeout_s)
        if r["status"] != 0:
            raise SystemExit(f"{name} at S={S} K={case['K']} failed ({r['status']}):\n{r['output'][-3000:]}")
        cell["ours"].append({k: r[k] for k in ("wall_s", "cpu_s", "peak_mb")})
        if peer_ok:
            p = run_peer(name, case, 2 * args.peer_cap_s)
            if p["status"] != 0:
                cell["peer_skipped"] = ("killed at 2 x --peer-cap-s" if p["status"] == "timeout"
                                        else f"failed: {p['output'][-400:]}")
                peer_ok = False
            else:
                cell["peer"].append(p)
                cell["ratios"].append(p["wall_s"] / r["wall_s"])
                if not p["check_ok"]:
                    raise SystemExit(f"{name} at S={S} K={case['K']}: peer disagrees with ours: {p['check']}")
        first = r["wall_s"] + (cell["peer"][0]["process_wall_s"] if cell["peer"] else 0)
        if first >= args.repeat_under_s:
            break
    med = lambda side, key: statistics.median(x[key] for x in cell[side]) if cell[side] else None
    cell["summary"] = {"ours_wall_s": med("ours", "wall_s"), "ours_cpu_s": med("ours", "cpu_s"),
                       "ours_peak_mb": med("ours", "peak_mb"), "peer_wall_s": med("peer", "wall_s"),
                       "peer_cpu_s": med("peer", "cpu_s"), "peer_peak_mb": med("peer", "peak_mb"),
                       "ratio": statistics.median(cell["ratios"]) if cell["ratios"] else None,
                       "pairs": len(cell["ratios"]), "runs": len(cell["ours"])}
    if cell["peer"]:
        cell["peer_check"] = cell["peer"][-1]["check"]
        if "extrapolated" in cell["peer"][-1]:
            cell["peer_extrapolated"] = cell["peer"][-1]["extrapolated"]
    return cell


def fits(results, args):
    """Growth exponents of time (ours, peer) and of ours' peak memory, and where memory runs out."""
    phys_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    out = {}
    for K in args.nets:
        for name in args.commands:
            cells = [(S, results[f"K{K}"][str(S)][name]["summary"]) for S in args.sizes
                     if name in results[f"K{K}"].get(str(S), {})]
            if len(cells) < 2:
                continue
            Ss = [S for S, _ in cells]
            ours = [c["ours_wall_s"] for _, c in cells]
            mem = [c["ours_peak_mb"] for _, c in cells]
            peer = [(S, c["peer_wall_s"]) for S, c in cells if c["peer_wall_s"]]
            f = {"theory": THEORY[name][0], "theory_text": THEORY[name][1],
                 "ours_all": slope(Ss, ours), "ours_top3": slope(Ss[-3:], ours[-3:]),
                 "peer_all": slope([s for s, _ in peer], [v for _, v in peer]),
                 "memory_top3": slope(Ss[-3:], mem[-3:])}
            # peak memory as a + b S + c S^2 (fixed costs; rows of the reservoir, K S wide; the
            # D x D matrices), least squares over every size; where it reaches the machine's RAM
            f["memory_runs_out_at_S"] = None
            if len(Ss) >= 3:
                a, b, c = np.linalg.lstsq(np.vander(np.array(Ss, float), 3, increasing=True),
                                          np.array(mem), rcond=None)[0]
                f["memory_model_mb"] = {"a": float(a), "b_per_S": float(b), "c_per_S2": float(c)}
                if c > 0:
                    f["memory_runs_out_at_S"] = float(
                        (-b + np.sqrt(b * b + 4 * c * (phys_gb * 1024 - a))) / (2 * c))
            out[f"K{K}/{name}"] = f
    return out


def table_rows(results, args):
    """(K, command, S, cells as strings...) for every measured cell, in table order."""
    for K in args.nets:
        for name in args.commands:
            for S in args.sizes:
                cell = results[f"K{K}"].get(str(S), {}).get(name)
                if not cell:
                    continue
                s = cell["summary"]
                note = cell.get("peer_skipped", "") or (
                    "extrapolated" if "peer_extrapolated" in cell else "")
                if PEER_NAME[name] is None:
                    note = "no peer"
                if "from" in cell:
                    note = f"{note}; separate run ({os.path.basename(cell['from'])})".lstrip("; ")
                cpu = cpu_ratio(cell)
                yield (K, name, S, f"{s['ours_wall_s']:.2f}", f"{s['ours_cpu_s']:.2f}",
                       f"{s['ours_peak_mb']:.0f}",
                       f"{s['peer_wall_s']:.2f}" if s["peer_wall_s"] else "-",
                       f"{s['peer_peak_mb']:.0f}" if s["peer_wall_s"] else "-",
                       f"{s['ratio']:.2f}x" if s["ratio"] else "-",
                       f"{cpu:.2f}x" if cpu else "-", f"{s['pairs']}", note)


def cpu_ratio(cell):
    """Median over the paired runs of peer CPU / ours CPU (user+sys, all threads): less
    sensitive than wall time to the other jobs on a shared machine."""
    pairs = [p["cpu_s"] / o["cpu_s"] for o, p in zip(cell["ours"], cell["peer"]) if o["cpu_s"] > 0]
    return statistics.median(pairs) if pairs else None


HEAD = ("command", "S", "ours wall s", "ours CPU s", "ours peak MB", "peer wall s", "peer peak MB",
        "wall ratio", "CPU ratio", "pairs", "note")


def print_table(results, args):
    last_k = None
    for row in table_rows(results, args):
        if row[0] != last_k:
            last_k = row[0]
            print(f"\nK = {last_k} nets, N = {args.rows} rows; ratio = peer wall / ours wall "
                  f"(median over 'pairs' paired runs)")
            print(f"{HEAD[0]:<11} {HEAD[1]:>5} " + " ".join(f"{h:>12}" for h in HEAD[2:10]) + "  note")
        print(f"{row[1]:<11} {row[2]:>5} " + " ".join(f"{v:>12}" for v in row[3:11]) + f"  {row[11]}")


def markdown(results, fit, args):
    """The tables and the exponents as markdown, for docs/performance.md."""
    lines, last_k = [], None
    for row in table_rows(results, args):
        if row[0] != last_k:
            last_k = row[0]
            lines += ["", f"K = {last_k} nets, N = {args.rows} rows:", "",
                      "| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
        lines.append("| " + " | ".join(str(v) for v in row[1:]) + " |")
    lines += ["", "The whole pipeline as a user runs it (stats, mi, match, cluster, similarity with its "
              "lasso, report; our wall seconds), the step that dominates and the largest peak RSS:", "",
              "| K | S | pipeline s | dominant step | its share | largest peak MB (command) |",
              "|---|---|---|---|---|---|"]
    for K in args.nets:
        for S in args.sizes:
            row = results[f"K{K}"].get(str(S), {})
            steps = {n: row[n]["summary"]["ours_wall_s"] for n in args.commands
                     if n in row and n != "similarity"}
            if "lasso" not in row and "similarity" in row:  # lasso skipped: the measures alone
                steps["similarity"] = row["similarity"]["summary"]["ours_wall_s"]
            if not steps:
                continue
            total = sum(steps.values())
            top = max(steps, key=steps.get)
            peaks = {n: row[n]["summary"]["ours_peak_mb"] for n in args.commands if n in row}
            big = max(peaks, key=peaks.get)
            missing = [n for n in args.commands if n not in row]
            note = f" (without {', '.join(missing)}: skipped)" if missing else ""
            lines.append(f"| {K} | {S} | {total:.1f}{note} | {top} | {steps[top] / total:.0%} | "
                         f"{peaks[big]:.0f} ({big}) |")
    lines += ["", "| K / command | ours, all sizes | ours, largest 3 | peer | theory | memory exponent | RAM full at S |",
              "|---|---|---|---|---|---|---|"]
    show = lambda v: f"{v:.2f}" if v is not None else "-"
    for key, f in fit.items():
        full = f"{f['memory_runs_out_at_S']:.0f}" if f["memory_runs_out_at_S"] else "-"
        lines.append(f"| {key} | {show(f['ours_all'])} | {show(f['ours_top3'])} | {show(f['peer_all'])} | "
                     f"{f['theory']}: {f['theory_text']} | {show(f['memory_top3'])} | {full} |")
    return "\n".join(lines) + "\n"


def print_fits(fit):
    phys_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print("\ngrowth exponent of wall time in S (K fixed): ours all sizes / largest three, peer; theory")
    for key, f in fit.items():
        show = lambda v: f"{v:5.2f}" if v is not None else "    -"
        s_out = f["memory_runs_out_at_S"]
        full = f", RAM ({phys_gb:.0f} GB) full near S = {s_out:.0f}" if s_out else ""
        print(f"{key:<14} ours {show(f['ours_all'])} / {show(f['ours_top3'])}  peer {show(f['peer_all'])}"
              f"  theory {f['theory']} ({f['theory_text']});  memory exponent {show(f['memory_top3'])}{full}")


def draw(results, fit, args, lib):
    sys.path.insert(0, HERE)
    import plot_lines
    os.makedirs(args.png_dir, exist_ok=True)
    drawn = []
    for K in args.nets:
        for what in ("wall", "peak"):
            series = []
            for c, name in enumerate(args.commands):
                cells = [results[f"K{K}"].get(str(S), {}).get(name) for S in args.sizes]
                key = "wall_s" if what == "wall" else "peak_mb"
                ours = [c_["summary"][f"ours_{key}"] if c_ else float("nan") for c_ in cells]
                peer = [(c_["summary"][f"peer_{key}"] or float("nan")) if c_ else float("nan") for c_ in cells]
                series.append({"name": name, "x": args.sizes, "y": ours, "color": c})
                if PEER_NAME[name] and any(v == v for v in peer):
                    series.append({"name": f"{name} peer", "x": args.sizes, "y": peer, "color": c,
                                   "dashed": True})
            png = os.path.join(args.png_dir, f"scale_{what}_k{K}.png")
            title = (f"{'Wall time' if what == 'wall' else 'Peak memory'} per command, K = {K} nets, "
                     f"N = {args.rows} rows (dashed: peer)")
            plot_lines.draw(lib, png, title, "units per net S",
                            "seconds (wall)" if what == "wall" else "peak RSS (MB)", series,
                            x_ticks=args.sizes)
            drawn.append(png)
    return drawn


def report(doc, args, lib):
    """Exponents, tables, curves and markdown of a finished (or replotted) run."""
    doc["fits"] = fits(doc["results"], args)
    print_table(doc["results"], args)
    print_fits(doc["fits"])
    if args.png_dir:
        doc["figures"] = draw(doc["results"], doc["fits"], args, lib)
        print("figures: " + ", ".join(doc["figures"]))
    if args.markdown:
        tmp = f"{args.markdown}.tmp.{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(markdown(doc["results"], doc["fits"], args))
        os.replace(tmp, args.markdown)


def replot(args, lib):
    """--replot: the sizes, nets, rows and commands of the saved run; nothing measured."""
    paths = args.replot.split(",")
    doc = json.load(open(paths[0]))
    for extra in paths[1:]:  # cells the first run skipped, measured by a later one
        more = json.load(open(extra))
        for K, sizes in more["results"].items():
            for S, row in sizes.items():
                mine = doc["results"].setdefault(K, {}).setdefault(S, {})
                for name, cell in row.items():
                    if name in COMMANDS and name not in mine:
                        cell["from"] = extra
                        mine[name] = cell
    saved = doc["args"]
    args.sizes = [S for S in saved["sizes"]
                  if any(str(S) in doc["results"].get(f"K{K}", {}) for K in saved["nets"])]
    args.nets, args.rows, args.commands = saved["nets"], saved["rows"], saved["commands"]
    report(doc, args, lib)


def write_json(path, obj):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--peer":
        return peer_main(sys.argv[2], sys.argv[3])
    args = parse()
    cli = os.path.join(args.build, "convergent")
    lib = os.path.abspath(os.path.join(args.build, "libconvergent.so"))
    if args.replot:
        return replot(args, lib)
    if not os.access(cli, os.X_OK):
        raise SystemExit(f"{cli}: not found; build first (cmake --build {args.build})")
    workdir = args.workdir or tempfile.mkdtemp(prefix="scale_bench.")
    os.makedirs(workdir, exist_ok=True)
    started = time.time()
    doc = {"args": {k: v for k, v in vars(args).items()}, "machine": {
        "cores": os.cpu_count(), "load_before": os.getloadavg(),
        "uptime_before": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()},
        "theory": {k: v[1] for k, v in THEORY.items()}, "results": {f"K{K}": {} for K in args.nets}}
    print(f"scale bench: S {args.sizes}, K {args.nets}, N {args.rows}; {load_text()}", flush=True)
    prev_peer = {f"K{K}/{c}": {} for K in args.nets for c in COMMANDS}
    prev_ours = {f"K{K}/{c}": [] for K in args.nets for c in COMMANDS}
    try:
        for S in args.sizes:
            paths, gen_s = make_nets(workdir, S, args.rows, max(args.nets), args.seed)
            for K in args.nets:
                results_dir = os.path.join(workdir, f"results_S{S}_K{K}")
                shutil.rmtree(results_dir, ignore_errors=True)
                os.makedirs(results_dir)
                case = {"results": results_dir, "paths": paths[:K], "S": S, "K": K, "N": args.rows,
                        "seed": args.seed, "scratch": workdir}
                row = doc["results"][f"K{K}"].setdefault(str(S), {})
                row["load_before"] = os.getloadavg()
                for name in args.commands:
                    cell = measure_cell(args, cli, name, case, prev_peer[f"K{K}/{name}"],
                                        prev_ours[f"K{K}/{name}"])
                    if cell is None:
                        row.setdefault("skipped", []).append(name)
                        print(f"S={S:<5} K={K} {name:<10} skipped: predicted over --ours-cap-s "
                              f"{args.ours_cap_s:.0f}", flush=True)
                        if name == "stats":  # every other command reads its directory
                            row["skipped"] += [c for c in args.commands if c != "stats"]
                            print(f"S={S:<5} K={K} the other commands skipped: no stats", flush=True)
                            break
                        continue
                    row[name] = cell
                    s = cell["summary"]
                    prev_ours[f"K{K}/{name}"].append((S, s["ours_wall_s"]))
                    if s["peer_wall_s"]:  # what the peer's process took (not extrapolated)
                        took = statistics.median(p["process_wall_s"] for p in cell["peer"])
                        prev_peer[f"K{K}/{name}"] = {"t": (S, took), "m": (S, s["peer_peak_mb"])}
                    peer = (f"peer {s['peer_wall_s']:.2f} s, {s['peer_peak_mb']:.0f} MB, ratio {s['ratio']:.2f}x"
                            if s["ratio"] else cell.get("peer_skipped", "no peer"))
                    print(f"S={S:<5} K={K} {name:<10} ours {s['ours_wall_s']:.2f} s (cpu {s['ours_cpu_s']:.2f}), "
                          f"{s['ours_peak_mb']:.0f} MB; {peer}  [{load_text()}]", flush=True)
                row["load_after"] = os.getloadavg()
                write_json(args.json, doc)  # partial results survive an interrupted run
                if not args.keep:
                    shutil.rmtree(results_dir, ignore_errors=True)
            if not args.keep:
                for p in paths:
                    os.remove(p)
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    doc["machine"]["load_after"] = os.getloadavg()
    doc["machine"]["uptime_after"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    doc["elapsed_s"] = time.time() - started
    report(doc, args, lib)
    write_json(args.json, doc)
    print(f"numbers: {args.json}; elapsed {doc['elapsed_s']:.0f} s; {doc['machine']['uptime_before']} -> "
          f"{doc['machine']['uptime_after']}")


if __name__ == "__main__":
    main()
