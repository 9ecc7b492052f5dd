"""The Python example of README.md runs as written (section "## Python", first python block)."""
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, torch_or_skip

DATA = "/usr/share/datasets/fashion-mnist"


def readme_example():
    text = open(os.path.join(ROOT, "README.md")).read()
    section = text.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_example_runs(tmp_path):
    torch_or_skip()
    if not os.path.exists(os.path.join(DATA, "t10k-images-idx3-ubyte.gz")):
        pytest.skip("Fashion-MNIST is not installed (Debian: dataset-fashion-mnist)")
    import convergent
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(convergent.__file__))),
               CONVERGENT_LIBRARY=convergent.library_path)
    p = subprocess.run([sys.executable, "-c", readme_example()], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "(2, 8) (16, 16) 1568000" in out
    semi, match, overlap = re.search(r"conv: semi-matching ([0-9.]+), matching ([0-9.]+), "
                                     r"overlap (\d+)%", out).groups()
    assert 0 < float(match) <= float(semi) <= 1
    cka = float(re.search(r"linear CKA ([0-9.]+)", out).group(1))
    assert 0.3 < cka <= 1  # trained nets share much of their fc representation
    assert (tmp_path / "results" / "report.html").exists()
