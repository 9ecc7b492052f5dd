#!/usr/bin/python3
"""The numbers of one `convergent run` directory as Markdown, for docs/reproduction.md.

    /usr/bin/python3 scripts/run_summary.py RUN_DIR

Reads only the JSON files the run wrote (nets/net*.json, match/table1.json,
match_mi/table1.json, cluster/<layer>/cluster_1_2.json, stats/<layer>/mi.json) and prints:
the networks' test accuracy and training time, Table 1 by correlation and by mutual
information (nets 1-2, then the mean and range over every pair), the leaves of the
hierarchical clustering of nets 1-2 per layer (paper section 6.5), how many of the 8
best semi-matched pairs of nets 1-2 are the same under correlation and MI (section 3.2),
and, from stats/<layer>/{corr,mi,samples}.npy (numpy), what the MI of nets 1-2 follows:
the correlation over all between-net unit pairs of MI with |correlation| and with the MI of
the two units' "is zero" indicators alone, and the mean share of samples at zero.
"""
import glob
import json
import os
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def nets(run):
    print("| net | epochs | test accuracy by epoch (%) | training time (s) |")
    print("|---|---|---|---|")
    for path in sorted(glob.glob(os.path.join(run, "nets", "net*.json")),
                       key=lambda p: int(os.path.basename(p)[3:-5])):
        h = load(path)["history"]
        acc = ", ".join("%.2f" % (100 * e["test_accuracy"]) for e in h)
        print("| %s | %d | %s | %.0f |" % (os.path.basename(path)[:-5], len(h), acc,
                                           sum(e["seconds"] for e in h)))


def table1(run, sub, title):
    path = os.path.join(run, sub, "table1.json")
    if not os.path.exists(path):
        return
    t = load(path)
    print("\n%s (%s; nets 1-2, then mean [min-max] over %s pairs):\n" % (
        title, path[len(run) + 1:], t["layers"][0]["pairs"]))
    print("| layer | semi-matching | matching | overlap | dead units |")
    print("|---|---|---|---|---|")
    for L in t["layers"]:
        cells = []
        for key in ("semi_matching", "matching", "overlap_ratio"):
            v = L[key]
            cells.append("%.3f (%.3f [%.3f-%.3f])" % (v["headline"], v["mean"], v["min"], v["max"]))
        print("| %s | %s | %s |" % (L["layer"], " | ".join(cells), L.get("dead_units")))


def clusters_and_agreement(run):
    print("\nClustering of nets 1-2 and MI agreement:\n")
    print("| layer | units per net | k (rule) | leaves | top-8 agreement corr vs MI (nets 1-2) |")
    print("|---|---|---|---|---|")
    for path in sorted(glob.glob(os.path.join(run, "cluster", "*", "cluster_1_2.json"))):
        layer = os.path.basename(os.path.dirname(path))
        c = load(path)
        agree = "-"
        mi = os.path.join(run, "stats", layer, "mi.json")
        if os.path.exists(mi):
            for p in load(mi)["pairs"]:
                if p["nets"] == [1, 2]:
                    agree = "%d of 8" % p["top8_agree"]
        rule = c["k_rule"].split(":")[0]
        print("| %s | %d | %d (%s) | %d | %s |" % (layer, c["units_per_net"], c["k"], rule,
                                                   c["leaves"], agree))


def mi_drivers(run):
    import numpy as np

    def mi_of_zeros(za, zb):
        """(Sa, Sb) MI in nats of the binary indicators za (R, Sa) and zb (R, Sb)."""
        r = za.shape[0]
        p11 = (za.T.astype(np.float64) @ zb) / r
        pa, pb = za.mean(0)[:, None], zb.mean(0)[None, :]
        cells = [(p11, pa, pb), (pa - p11, pa, 1 - pb), (pb - p11, 1 - pa, pb),
                 (1 - pa - pb + p11, 1 - pa, 1 - pb)]
        out = np.zeros_like(p11)
        for p, qa, qb in cells:
            with np.errstate(divide="ignore", invalid="ignore"):
                out += np.where(p > 0, p * np.log(p / (qa * qb)), 0.0)
        return out

    print("\nWhat the MI of nets 1-2 follows (all between-net unit pairs):\n")
    print("| layer | corr(MI, abs(correlation)) | corr(MI, MI of the zero indicators) | samples at zero |")
    print("|---|---|---|---|")
    for d in sorted(glob.glob(os.path.join(run, "stats", "*"))):
        paths = [os.path.join(d, f) for f in ("corr.npy", "mi.npy", "samples.npy", "meta.json")]
        if not all(os.path.exists(p) for p in paths):
            continue
        u = load(paths[3])["units_per_net"]
        sa, sb = (u, u) if isinstance(u, int) else u[:2]
        corr, mi, x = (np.load(p) for p in paths[:3])
        c, m = np.abs(corr[:sa, sa:sa + sb]), mi[:sa, sa:sa + sb]
        za, zb = x[:, :sa] <= 1e-6, x[:, sa:sa + sb] <= 1e-6
        z = mi_of_zeros(za, zb)
        print("| %s | %.2f | %.2f | %.2f |" % (os.path.basename(d), np.corrcoef(m.ravel(), c.ravel())[0, 1],
                                               np.corrcoef(m.ravel(), z.ravel())[0, 1],
                                               np.concatenate([za, zb], 1).mean()))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    run = sys.argv[1].rstrip("/")
    nets(run)
    table1(run, "match", "Table 1 by correlation")
    table1(run, "match_mi", "Table 1 by mutual information")
    clusters_and_agreement(run)
    mi_drivers(run)


if __name__ == "__main__":
    main()
