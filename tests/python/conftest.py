"""Shared pieces of the Python package's tests: the CLI to compare with, small activations
with known structure, and running the CLI."""
import os
import subprocess

import numpy as np
import pytest

def torch_or_skip():
    """PyTorch, or skip the test saying why (not installed, or turned off by
    CONVERGENT_NO_TORCH=1, as in the sanitizer build)."""
    if os.environ.get("CONVERGENT_NO_TORCH"):
        pytest.skip("CONVERGENT_NO_TORCH is set (sanitizer build): PyTorch tests skipped",
                    allow_module_level=True)
    return pytest.importorskip("torch", reason="PyTorch is not installed: torch tests skipped")


ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))


def cli_path():
    return os.environ.get("CONVERGENT_CLI", os.path.join(ROOT, "build", "convergent"))


def run_cli(*args, env=None):
    """Run the convergent CLI; fail the test with its stderr if it fails."""
    p = subprocess.run([cli_path(), *map(str, args)], capture_output=True, text=True, env=env)
    assert p.returncode == 0, "convergent %s failed:\n%s" % (" ".join(map(str, args)), p.stderr)
    return p.stdout


def related_nets(n, units=12, nets=2, seed=0, spatial=None, dead=()):
    """Activations of `nets` nets that share structure: ReLU of random mixes of one hidden
    signal, so that between-net correlations are far from zero. (n, units) or, with
    spatial=(h, w), (n, units, h, w) float32. dead: (net, unit) pairs set constant."""
    rng = np.random.default_rng(seed)
    hidden = rng.standard_normal((n * (spatial[0] * spatial[1] if spatial else 1), 6))
    out = []
    for k in range(nets):
        mix = rng.standard_normal((6, units))
        x = np.maximum(hidden @ mix + 0.5 * rng.standard_normal((hidden.shape[0], units)), 0)
        for net, unit in dead:
            if net == k:
                x[:, unit] = 0
        x = x.astype(np.float32)
        if spatial:
            x = x.reshape(n, spatial[0], spatial[1], units).transpose(0, 3, 1, 2).copy()
        out.append(x)
    return out


def as_rows(a):
    """(N, C, H, W) -> (N*H*W, C): every image and position a sample, as the paper."""
    return a.transpose(0, 2, 3, 1).reshape(-1, a.shape[1]) if a.ndim == 4 else a


@pytest.fixture
def cli():
    if not os.path.exists(cli_path()):
        pytest.skip("the convergent CLI is not built (%s)" % cli_path())
    return run_cli
