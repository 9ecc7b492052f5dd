#!/usr/bin/python3
"""The measured effect of `convergent cluster --refine` (beyond the paper) on a stats directory:
for every layer, nets 1 and 2 clustered with the defaults (the paper's algorithm) and with
--refine; prints S, k, the leaf counts of both and the adjusted Rand index between their
top-level partitions and between their leaves (scikit-learn's adjusted_rand_score).

    /usr/bin/python3 bench/refine_effect.py build/convergent RUN/stats /tmp/refine_effect

Numbers: docs/clustering.md, "Refinement".
"""
import json
import os
import re
import subprocess
import sys

import numpy as np
from sklearn.metrics import adjusted_rand_score


def top_level(j):
    """Each unit's depth-1 ancestor in the saved tree (net 1's units first)."""
    S = j["units_per_net"]
    nodes = j["nodes"]
    lab = np.zeros(2 * S, dtype=int)
    for nd in nodes:
        if nd.get("leaf", -1) < 0:
            continue
        t = nd
        while t["depth"] > 1:
            t = nodes[t["parent"]]
        lab[nd["units_a"]] = t["id"]
        lab[[S + u for u in nd["units_b"]]] = t["id"]
    return lab


def natural(name):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def main():
    cli, stats, out = sys.argv[1:4]
    for flag, d in (([], "paper"), (["--refine"], "refined")):
        subprocess.run([cli, "cluster", stats, "-q", "-o", os.path.join(out, d), "--pair", "1,2"] + flag,
                       check=True)
    print(f"{'layer':8} {'S':>4} {'k':>4} {'leaves':>7} {'refined':>8} {'ARI top':>8} {'ARI leaves':>10}")
    for layer in sorted(os.listdir(os.path.join(out, "paper")), key=natural):
        files = [os.path.join(out, d, layer, "cluster_1_2") for d in ("paper", "refined")]
        a, b = (json.load(open(f + ".json")) for f in files)
        la, lb = (np.load(f + "_labels.npy") for f in files)
        print(f"{layer:8} {a['units_per_net']:>4} {a['k']:>4} {a['leaves']:>7} {b['leaves']:>8} "
              f"{adjusted_rand_score(top_level(a), top_level(b)):>8.3f} {adjusted_rand_score(la, lb):>10.3f}")


if __name__ == "__main__":
    main()
