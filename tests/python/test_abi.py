"""The ctypes mirrors of the C structs (python/convergent/_structs.py) have the layout the
compiler gives the public headers: every field's offset and every struct's size."""
import os
import shutil
import subprocess

import pytest

from convergent import _structs

from conftest import ROOT


def test_struct_layouts_match_the_headers(tmp_path):
    cc = shutil.which(os.environ.get("CC", "cc"))
    if not cc:
        pytest.skip("no C compiler to check the struct layouts with")
    include = os.environ.get("CONVERGENT_INCLUDE", os.path.join(ROOT, "include"))
    lines = ['#include <stddef.h>', '#include <stdio.h>', '#include "convergent.h"', 'int main(void) {']
    expected = []
    for cname, mirror in sorted(_structs.MIRRORS.items()):
        lines.append('printf("%%zu\\n", sizeof(%s));' % cname)
        expected.append(("sizeof", cname, mirror, None))
        for field, _ in mirror._fields_:
            cfield = "lambda" if field == "lambda_" else field
            lines.append('printf("%%zu\\n", offsetof(%s, %s));' % (cname, cfield))
            expected.append(("offsetof", cname, mirror, field))
    lines.append("return 0; }")
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "layout"
    subprocess.run([cc, "-std=c17", "-I", include, str(src), "-o", str(exe)], check=True)
    values = [int(v) for v in subprocess.run([str(exe)], capture_output=True, text=True,
                                             check=True).stdout.split()]
    assert len(values) == len(expected)
    for value, (what, cname, mirror, field) in zip(values, expected):
        ours = __import__("ctypes").sizeof(mirror) if field is None else getattr(mirror, field).offset
        assert ours == value, "%s(%s%s): C says %d, the ctypes mirror %d" % (
            what, cname, "." + field if field else "", value, ours)
