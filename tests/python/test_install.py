"""`pip install ./python` (Debian's pip: --no-build-isolation, offline) gives a package that
carries the library it was built with and works outside the source tree."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT


def test_pip_install_bundles_the_library(tmp_path):
    if subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode:
        pytest.skip("pip is not installed (Debian: python3-pip)")
    src = tmp_path / "src"
    shutil.copytree(os.path.join(ROOT, "python"), src,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "_native"))
    import convergent
    env = dict(os.environ, CONVERGENT_LIBRARY=convergent.library_path)
    p = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation",
                        "--no-index", "--break-system-packages", "--prefix", str(tmp_path / "prefix"),
                        str(src)], capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    site = [os.path.join(d, sub) for d, subs, _ in os.walk(tmp_path / "prefix") for sub in subs
            if sub == "convergent"]
    assert len(site) == 1, site
    env = {k: v for k, v in os.environ.items() if k not in ("CONVERGENT_LIBRARY", "PYTHONPATH")}
    env["PYTHONPATH"] = os.path.dirname(site[0])
    code = ("import convergent, numpy as np; print(convergent.library_path); "
            "st = convergent.Stats(); x = np.random.default_rng(0).random((50, 3)); "
            "st.update('fc', [x, x ** 2]); print(round(convergent.match(st.result('fc')).overlap, 3))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    lib, overlap = p.stdout.split()
    assert lib == os.path.join(site[0], "_native", "libconvergent.so")
    assert overlap == "1.0"  # x and x**2 of positive values: each unit matches itself
