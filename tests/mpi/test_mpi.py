"""`mpirun -n P convergent stats` and `mi` equal the single process (ctest mpi_stats).

Run by ctest with: CLI path, scratch directory. Checks, for P = 1, 2, 3, 4 ranks on one
machine: the float64 kernel's statistics to 1e-12 relative (of the matrix's scale), the
reservoir identical (rows and values), meta.json's counts and sources equal; the default float
kernel's correlations to 1e-7 (its accuracy between chunkings). Then: a rank whose part holds a
NaN fails the job with that rank's message and writes nothing; a rank killed with SIGKILL ends
every rank (no hang) and writes nothing; a job killed part way resumes from the ranks'
checkpoints to the same result.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np

CLI, TMP = sys.argv[1], sys.argv[2]
MPIRUN = ["mpirun", "--oversubscribe", "--allow-run-as-root", "--bind-to", "none"]
# One machine: shared memory between ranks, without the cross-memory-attach copies that
# containers often forbid (ptrace restrictions), and no ssh agent.
ENV = dict(os.environ, OMPI_MCA_btl="self,vader", OMPI_MCA_btl_vader_single_copy_mechanism="none",
           OMPI_MCA_plm_rsh_agent="")


def mpi(p, args, **kw):
    return subprocess.run(MPIRUN + ["-n", str(p), CLI] + args, env=ENV, capture_output=True,
                          text=True, timeout=120, **kw)


def load(d, name):
    return np.load(os.path.join(d, "conv", name))


def meta(d):
    with open(os.path.join(d, "conv", "meta.json")) as f:
        return json.load(f)


def close(a, b, tol, what):
    scale = max(1.0, float(np.max(np.abs(a))))
    err = float(np.max(np.abs(a - b))) / scale
    assert err <= tol, f"{what}: relative error {err:.3g} > {tol}"


def check_equal(one, other, tol, what):
    close(load(one, "comoment.npy"), load(other, "comoment.npy"), tol, what + " comoment")
    close(load(one, "mean.npy"), load(other, "mean.npy"), tol, what + " mean")
    close(load(one, "sqnorm_q.npy"), load(other, "sqnorm_q.npy"), tol, what + " HSIC sums")
    assert np.array_equal(load(one, "samples_rows.npy"), load(other, "samples_rows.npy")), what + " reservoir rows"
    assert np.array_equal(load(one, "samples.npy"), load(other, "samples.npy")), what + " reservoir values"
    m1, m2 = meta(one), meta(other)
    for key in ("inputs", "samples", "rows_seen", "sources", "dead_units", "reservoir", "nets"):
        assert m1[key] == m2[key], f"{what}: meta.json {key} {m1[key]} != {m2[key]}"


def main():
    shutil.rmtree(TMP, ignore_errors=True)
    os.makedirs(TMP)
    rng = np.random.default_rng(5)
    # 3 nets, a conv layer: 97 images x 8 channels x 5 x 5 (odd counts: uneven parts)
    base = rng.standard_normal((97, 8, 5, 5)).astype(np.float32)
    files = []
    for k in range(3):
        a = (base * (k + 1) + rng.standard_normal(base.shape).astype(np.float32) + 3).astype(np.float32)
        a[:, 7] = 0.0  # a dead unit
        files.append(os.path.join(TMP, f"net{k + 1}.npy"))
        np.save(files[-1], a)
    common = ["stats", "-q", "--layer", "conv", "--reservoir", "700", "--seed", "3", "--chunk-rows", "100"]
    for kernel, tol in (("dsyrk", 1e-12), ("auto", None)):
        one = os.path.join(TMP, f"one_{kernel}")
        r = subprocess.run([CLI] + common + ["--kernel", kernel, "-o", one] + files, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        for p in (1, 2, 3, 4):
            out = os.path.join(TMP, f"p{p}_{kernel}")
            r = mpi(p, common + ["--kernel", kernel, "-o", out] + files)
            assert r.returncode == 0, f"P={p}: {r.stderr}"
            if tol is not None:
                check_equal(one, out, tol, f"P={p} {kernel}")
            else:  # the float kernel: correlations within its accuracy, the reservoir exact
                close(load(one, "corr.npy"), load(out, "corr.npy"), 1e-7, f"P={p} float corr")
                assert np.array_equal(load(one, "samples.npy"), load(out, "samples.npy"))
            leftovers = [n for n in os.listdir(out) if n.startswith(".checkpoint")]
            assert not leftovers, f"P={p}: checkpoints left: {leftovers}"
        print(f"kernel {kernel}: P = 1..4 equal the single process")

    # a NaN in the last rank's part: that rank's message, exit != 0, nothing written
    bad = np.load(files[0])
    bad[90, 2, 1, 1] = np.nan
    bad_file = os.path.join(TMP, "bad.npy")
    np.save(bad_file, bad)
    out = os.path.join(TMP, "nan")
    r = mpi(3, common + ["-o", out, bad_file] + files[1:])
    assert r.returncode != 0, "a NaN in one rank's part must fail the job"
    assert "rank 2 of 3" in r.stderr and "bad.npy" in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(out, "conv", "meta.json"))
    print("a failing rank fails the job with its message")

    # a rank killed with SIGKILL: every rank ends, nothing written
    big = [os.path.join(TMP, f"big{k}.npy") for k in range(2)]
    for k, path in enumerate(big):
        np.save(path, rng.standard_normal((120000, 48)).astype(np.float32) + k)
    out = os.path.join(TMP, "killed")
    slow = ["stats", "-q", "--layer", "conv", "--chunk-rows", "256", "--threads", "1", "--kernel", "dsyrk",
            "--checkpoint-every", "0.05", "--reservoir", "500"]
    job = subprocess.Popen(MPIRUN + ["-n", "3", CLI] + slow + ["-o", out] + big, env=ENV,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ranks = {}
    for _ in range(300):  # the ranks by their number, from their environment
        time.sleep(0.01)
        for pid in subprocess.run(["pgrep", "-P", str(job.pid)], capture_output=True, text=True).stdout.split():
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    env = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
                ranks[int(env[b"OMPI_COMM_WORLD_RANK"])] = int(pid)
            except (OSError, KeyError, ValueError):
                pass
        if 0 in ranks:
            os.kill(ranks[0], signal.SIGSTOP)  # rank 0 can then never write a result
        if len(ranks) == 3 and os.path.isdir(os.path.join(out, ".checkpoint-conv.rank1-of-3")):
            break
    assert len(ranks) == 3, f"the job did not start its ranks: {ranks}"
    os.kill(ranks[1], signal.SIGKILL)
    try:
        _, err = job.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        job.kill()
        raise AssertionError("a killed rank left the others hanging")
    assert job.returncode != 0
    assert not os.path.exists(os.path.join(out, "conv", "meta.json")), "a killed job wrote a result"
    print("a killed rank ends the job")

    # resume: the whole job killed part way, then --resume from the ranks' checkpoints
    single = os.path.join(TMP, "big_one")
    r = subprocess.run([CLI] + slow + ["-o", single] + big, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = mpi(3, slow + ["--resume", "-o", out] + big)
    assert r.returncode == 0, r.stderr
    close(load(single, "comoment.npy"), load(out, "comoment.npy"), 1e-12, "resumed comoment")
    assert np.array_equal(load(single, "samples.npy"), load(out, "samples.npy"))
    assert not [n for n in os.listdir(out) if n.startswith(".checkpoint")]
    print("a killed job resumes from its ranks' checkpoints")

    # mi: the pairs of units shared between ranks (96 units: 3 blocks), summed on rank 0:
    # bit for bit the single process's matrix
    for p in (1, 2, 3, 4):
        d = os.path.join(TMP, f"mi_p{p}")
        shutil.copytree(single, d)
        r = mpi(p, ["mi", "-q", d])
        assert r.returncode == 0, f"mi P={p}: {r.stderr}"
    r = subprocess.run([CLI, "mi", "-q", single], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    want = np.load(os.path.join(single, "conv", "mi.npy"))
    for p in (1, 2, 3, 4):
        got = np.load(os.path.join(TMP, f"mi_p{p}", "conv", "mi.npy"))
        assert np.array_equal(got, want), f"mi P={p} differs from one process"
    print("mi: P = 1..4 bit-identical to the single process")

    # stats --nets: the images split by whole batches (100), every layer merged on rank 0:
    # the same activations, so the reservoir and top-9 are identical, the moments to 1e-12
    nets = []
    for k in (1, 2):
        nets.append(os.path.join(TMP, f"tiny{k}.safetensors"))
        r = subprocess.run([CLI, "train", "-q", "--arch", "tiny", "--epochs", "1", "--train-limit", "100",
                            "--test-limit", "20", "--seed", str(k), "-o", nets[-1]], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    taps = ["stats", "-q", "--nets", "--limit", "261", "--reservoir", "300", "--kernel", "dsyrk"]
    one = os.path.join(TMP, "taps_one")
    r = subprocess.run([CLI] + taps + ["-o", one] + nets, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for p in (2, 4):  # 3 batches: with 4 ranks one has none
        out = os.path.join(TMP, f"taps_p{p}")
        r = mpi(p, taps + ["-o", out] + nets)
        assert r.returncode == 0, f"P={p}: {r.stderr}"
        for layer in sorted(os.listdir(one)):
            a, b = os.path.join(one, layer), os.path.join(out, layer)
            close(np.load(a + "/comoment.npy"), np.load(b + "/comoment.npy"), 1e-12, f"taps P={p} {layer}")
            for name in ("samples.npy", "samples_rows.npy", "top9.npy", "top9_value.npy"):
                assert np.array_equal(np.load(f"{a}/{name}"), np.load(f"{b}/{name}")), f"taps P={p} {layer} {name}"
    print("stats --nets: P = 2, 4 equal the single process")

    # commands that do not share work refuse to run on several ranks
    r = mpi(2, ["match", os.path.join(TMP, "one_dsyrk"), "-o", os.path.join(TMP, "m")])
    assert r.returncode != 0 and "runs in one process" in r.stderr, r.stderr
    shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
