#!/usr/bin/env python3
"""Fault injection for convergent's outputs (docs/reliability.md). Each case asserts that the
output directory holds exactly one complete result set, the old one or the new one (compared
file by file with snapshots of both), or that the command failed with a clear error.

  faults.py CLI WORKDIR [--trials N] [--seed S] [--skip-run]

Cases: SIGKILL at random moments of stats, mi, match, cluster and run over a previous result
(N trials each, delays drawn from a seeded generator over the command's measured duration);
a full tmpfs (skipped, with the reason printed, where mounting is not allowed); two writers at
once; a stale mi.npy and a stale match result; stats --merge into an input and of overlapping
shards. Inputs are tiny so the whole suite takes seconds."""
import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import numpy as np

FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what, flush=True)


def snapshot(root):
    """{relative path: sha256} of every file under root, hidden names (locks, checkpoints) aside."""
    snap = {}
    for base, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for f in files:
            if f.startswith("."):
                continue
            p = os.path.join(base, f)
            with open(p, "rb") as fh:
                snap[os.path.relpath(p, root)] = hashlib.sha256(fh.read()).hexdigest()
    return snap


def leftovers(target):
    """Hidden siblings .NAME.new-* / .NAME.old-* of target, and any inside it."""
    parent, name = os.path.split(os.path.abspath(target))
    found = [e for e in os.listdir(parent) if e.startswith("." + name + ".new-") or e.startswith("." + name + ".old-")]
    for base, dirs, _ in os.walk(target):
        found += [os.path.join(base, d) for d in dirs if ".new-" in d or ".old-" in d]
    return found


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def must(args):
    r = run(args)
    if r.returncode != 0:
        sys.exit("setup command failed: %s\n%s" % (" ".join(args), r.stderr))
    return r


def restore(pristine, target):
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(pristine, target, symlinks=True)


def kill_trials(name, cli, target, make_old, new_cmd, trials, rng, work):
    """make_old() leaves the old result in target; new_cmd rewrites it. Kill new_cmd at random
    moments; after each kill target must equal the old or the new snapshot exactly."""
    make_old()
    pristine = os.path.join(work, "pristine-" + name)
    shutil.rmtree(pristine, ignore_errors=True)
    shutil.copytree(target, pristine, symlinks=True)
    old = snapshot(target)
    t0 = time.monotonic()
    must(new_cmd)
    duration = time.monotonic() - t0
    new = snapshot(target)
    check(old != new, "%s: the old and the new result differ" % name)
    outcome = {"old": 0, "new": 0, "mixed": 0}
    for t in range(trials):
        restore(pristine, target)
        proc = subprocess.Popen(new_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0, duration))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        now = snapshot(target) if os.path.isdir(target) else None
        if now == old:
            outcome["old"] += 1
        elif now == new:
            outcome["new"] += 1
        else:
            outcome["mixed"] += 1
            changed = sorted(k for k in set(old) | set(new) | set(now or {}) if (now or {}).get(k) not in (old.get(k), new.get(k)))
            check(False, "%s trial %d: a mixed or missing result set (%s)" % (name, t, ", ".join(changed[:6])))
    # the next writer removes what the killed ones left, and completes
    r = run(new_cmd)
    check(r.returncode == 0, "%s: the run after the kills failed: %s" % (name, r.stderr.strip()))
    check(snapshot(target) == new, "%s: the run after the kills gave another result" % name)
    check(not leftovers(target), "%s: leftovers after the next run: %s" % (name, leftovers(target)))
    print("%-8s %d kills over %.2f s runs: %d left the old set, %d the new, %d mixed or missing" %
          (name, trials, duration, outcome["old"], outcome["new"], outcome["mixed"]), flush=True)


def full_disk(cli, work, a0, b0, a1, b1):
    mnt = os.path.join(work, "tmpfs")
    os.makedirs(mnt, exist_ok=True)
    r = run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt])
    if r.returncode != 0:
        print("full disk: SKIPPED, cannot mount a tmpfs here (%s)" % r.stderr.strip(), flush=True)
        return
    try:
        for f in (a0, b0, a1, b1):
            shutil.copy(f, mnt)
        S = os.path.join(mnt, "S")
        loc = lambda f: os.path.join(mnt, os.path.basename(f))
        must([cli, "stats", "-q", "-o", S, "--layer", "fc", loc(a0), loc(b0)])
        old = snapshot(S)
        filler = os.path.join(mnt, "filler")
        st = os.statvfs(mnt)
        free = st.f_bavail * st.f_frsize
        with open(filler, "wb") as fh:  # leave about 40 KB: less than the new set needs
            fh.write(b"\0" * max(0, free - 40 * 1024))
        refused = intact = 0
        for trial in range(3):
            r = run([cli, "stats", "-q", "-o", S, "--layer", "fc", loc(a1), loc(b1)])
            if r.returncode != 0:
                refused += 1
                check("No space left" in r.stderr or "write failed" in r.stderr,
                      "full disk: the error does not say why: %s" % r.stderr.strip())
            intact += snapshot(S) == old
            check(snapshot(S) == old, "full disk: the old set changed")
            check(not leftovers(S), "full disk: leftovers %s" % leftovers(S))
        check(refused == 3, "full disk: the new pass did not fail on a full disk")
        os.remove(filler)
        r = run([cli, "stats", "-q", "-o", S, "--layer", "fc", loc(a1), loc(b1)])
        check(r.returncode == 0 and snapshot(S) != old, "full disk: no new set once space was freed")
        print("full disk: %d of 3 passes on a full 4 MB tmpfs failed with a clear error; the old set intact after %d"
              % (refused, intact), flush=True)
    finally:
        run(["umount", mnt])


def concurrent(cli, work, a0, b0, a1, b1, pairs):
    S = os.path.join(work, "concurrent")
    cmd_a = [cli, "stats", "-q", "-o", S, "--layer", "fc", a0, b0]
    cmd_b = [cli, "stats", "-q", "-o", S, "--layer", "fc", a1, b1]
    shutil.rmtree(S, ignore_errors=True)
    must(cmd_a)
    snap_a = snapshot(S)
    must(cmd_b)
    snap_b = snapshot(S)
    busy = mixed = 0
    for _ in range(pairs):
        p = subprocess.Popen(cmd_a, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        q = subprocess.Popen(cmd_b, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        ea, eb = p.communicate()[1], q.communicate()[1]
        for rc, err in ((p.returncode, ea), (q.returncode, eb)):
            if rc != 0:
                busy += 1
                check("another convergent process is writing" in err, "concurrent: unclear error: %s" % err.strip())
        check(p.returncode == 0 or q.returncode == 0, "concurrent: both writers failed")
        now = snapshot(S)
        mixed += now not in (snap_a, snap_b)
        check(now in (snap_a, snap_b), "concurrent: a mixed result set")
        check(not leftovers(S), "concurrent: leftovers %s" % leftovers(S))
    print("concurrent: %d pairs of writers, %d refused at once with a clear error, %d mixed" % (pairs, busy, mixed),
          flush=True)


def reader_during_writes(cli, work, a0, b0, a1, b1, rounds):
    """match reads S while stats rewrites it: each match must be the match of one complete
    version of S (its output equal to that version's reference) or fail saying why."""
    S, M = os.path.join(work, "rw-stats"), os.path.join(work, "rw-match")
    inputs = {"A": [a0, b0], "B": [a1, b1]}
    ref, fp = {}, {}
    for v in ("A", "B"):
        shutil.rmtree(S, ignore_errors=True)
        must([cli, "stats", "-q", "-o", S, "--layer", "fc"] + inputs[v])
        with open(os.path.join(S, "fc", "meta.json")) as fh:
            fp[v] = json.load(fh)["fingerprint"]
        shutil.rmtree(M, ignore_errors=True)
        must([cli, "match", "-q", S, "-o", M])
        ref[v] = snapshot(M)
    consistent = refused = 0
    for i in range(rounds):
        v = "AB"[i % 2]
        writer = subprocess.Popen([cli, "stats", "-q", "-o", S, "--layer", "fc"] + inputs[v],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while writer.poll() is None:
            shutil.rmtree(M, ignore_errors=True)
            r = run([cli, "match", "-q", S, "-o", M])
            if r.returncode != 0:
                refused += 1
                check("rewritten while being read" in r.stderr or "another convergent process" in r.stderr,
                      "reader: unclear error: %s" % r.stderr.strip())
                continue
            now = snapshot(M)
            ok = now in (ref["A"], ref["B"])
            consistent += ok
            check(ok, "reader: a match of no complete version of the statistics")
    print("reader: %d matches read statistics being rewritten: %d equal to one version's, %d refused, "
          "0 mixed" % (consistent + refused, consistent, refused) if not FAILURES else "reader: see failures",
          flush=True)


def stale(cli, work, a0, b0, a1, b1):
    R = os.path.join(work, "stale")
    S = os.path.join(R, "stats")
    shutil.rmtree(R, ignore_errors=True)
    must([cli, "stats", "-q", "-o", S, "--layer", "fc", a0, b0])
    must([cli, "mi", "-q", S])
    must([cli, "match", "-q", S, "-o", os.path.join(R, "match")])
    kept = os.path.join(work, "stale-mi")
    shutil.rmtree(kept, ignore_errors=True)
    os.makedirs(kept)
    for f in ("mi.npy", "mi.json"):
        shutil.copy(os.path.join(S, "fc", f), kept)
    must([cli, "stats", "-q", "-o", S, "--layer", "fc", a1, b1])
    check(not os.path.exists(os.path.join(S, "fc", "mi.npy")), "stale: a new pass left the old mi.npy")
    for f in ("mi.npy", "mi.json"):  # an old mi.npy put back beside the new statistics
        shutil.copy(os.path.join(kept, f), os.path.join(S, "fc"))
    r = run([cli, "match", "-q", "--metric", "mi", S, "-o", os.path.join(R, "match_mi")])
    check(r.returncode == 1 and "mi.json is stale" in r.stderr and "convergent mi" in r.stderr,
          "stale: match --metric mi used a stale mi.npy: rc %d, %s" % (r.returncode, r.stderr.strip()))
    r = run([cli, "report", "-q", R])
    check(r.returncode == 1 and "is stale" in r.stderr and "refresh it with 'convergent" in r.stderr,
          "stale: report used stale results: rc %d, %s" % (r.returncode, r.stderr.strip()))
    must([cli, "mi", "-q", S])
    must([cli, "match", "-q", S, "-o", os.path.join(R, "match")])
    r = run([cli, "report", "-q", R])
    check(r.returncode == 0, "stale: report after refreshing failed: %s" % r.stderr.strip())
    os.rename(os.path.join(R, "match", "table1.json"), os.path.join(work, "table1.json"))
    r = run([cli, "report", "-q", R])
    check(r.returncode == 1 and "table1.json is missing" in r.stderr,
          "stale: report took an incomplete match/: %s" % r.stderr.strip())
    os.rename(os.path.join(work, "table1.json"), os.path.join(R, "match", "table1.json"))
    with open(os.path.join(R, "stats", "fc", "mi.json"), "w") as fh:
        fh.write("{broken")
    r = run([cli, "report", "-q", R])
    check(r.returncode == 1 and "mi.json: not JSON" in r.stderr, "stale: report read a broken mi.json: %s" % r.stderr.strip())
    print("stale: done (an old mi.npy and old match results must be refused, naming the command)", flush=True)


def merge_refusals(cli, work, a0, b0):
    S = os.path.join(work, "merge")
    shutil.rmtree(S, ignore_errors=True)
    must([cli, "stats", "-q", "-o", S, "--layer", "fc", a0, b0])
    before = snapshot(S)
    r = run([cli, "stats", "--merge", S, S, "-o", S])
    check(r.returncode == 1 and "is the input" in r.stderr, "merge: output equal to an input: %s" % r.stderr.strip())
    check(snapshot(S) == before, "merge: the input changed")
    r = run([cli, "stats", "--merge", S, S, "-o", os.path.join(work, "merged")])
    check(r.returncode == 1 and "shards must hold different rows" in r.stderr,
          "merge: overlapping shards: %s" % r.stderr.strip())
    print("merge: done (an output equal to an input and overlapping shards must be refused)", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cli")
    ap.add_argument("work")
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--skip-run", action="store_true")
    a = ap.parse_args()
    cli, work = a.cli, os.path.abspath(a.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    rng = random.Random(a.seed)
    data = np.random.default_rng(a.seed)
    files = []
    for tag in (0, 1):  # two nets of 24 ReLU units over 3000 rows, old (0) and new (1) data
        z = data.standard_normal((3000, 8))
        for net in "ab":
            path = os.path.join(work, "%s%d.npy" % (net, tag))
            np.save(path, np.maximum(z @ data.standard_normal((8, 24)), 0).astype(np.float32))
            files.append(path)
    a0, b0, a1, b1 = files
    S = os.path.join(work, "S")
    S0, S1 = os.path.join(work, "S0"), os.path.join(work, "S1")  # old and new statistics to analyse
    must([cli, "stats", "-q", "-o", S0, "--layer", "fc", a0, b0])
    must([cli, "stats", "-q", "-o", S1, "--layer", "fc", a1, b1])

    def fresh_stats():
        shutil.rmtree(S, ignore_errors=True)
        must([cli, "stats", "-q", "-o", S, "--layer", "fc", a0, b0])

    kill_trials("stats", cli, S, fresh_stats, [cli, "stats", "-q", "-o", S, "--layer", "fc", a1, b1], a.trials, rng, work)

    def stats_with_mi():
        fresh_stats()
        must([cli, "mi", "-q", "--bins", "10", S])

    kill_trials("mi", cli, S, stats_with_mi, [cli, "mi", "-q", S], a.trials, rng, work)
    M = os.path.join(work, "M")
    kill_trials("match", cli, M, lambda: must([cli, "match", "-q", S0, "-o", M]),
                [cli, "match", "-q", S1, "-o", M], a.trials, rng, work)
    C = os.path.join(work, "C")
    kill_trials("cluster", cli, C, lambda: must([cli, "cluster", "-q", "--k", "4", S0, "-o", C]),
                [cli, "cluster", "-q", "--k", "4", S1, "-o", C], a.trials, rng, work)
    if a.skip_run:
        print("run: SKIPPED (--skip-run: the sanitizer build trains too slowly for %d kills)" % a.trials)
    else:
        R = os.path.join(work, "R")
        tiny = ["--arch", "tiny", "--epochs", "1", "--train-limit", "300", "--nets", "2", "-q"]
        kill_trials("run", cli, R, lambda: must([cli, "run", "-o", R, "--test-limit", "60"] + tiny),
                    [cli, "run", "-o", R, "--test-limit", "80"] + tiny, a.trials, rng, work)
    full_disk(cli, work, a0, b0, a1, b1)
    concurrent(cli, work, a0, b0, a1, b1, max(4, a.trials // 2))
    reader_during_writes(cli, work, a0, b0, a1, b1, 10)
    stale(cli, work, a0, b0, a1, b1)
    merge_refusals(cli, work, a0, b0)
    if FAILURES:
        sys.exit("%d fault checks failed" % len(FAILURES))
    print("every fault left one complete result set or a clear error")


if __name__ == "__main__":
    main()
