"""Bundles the built libconvergent.so into the package (convergent/_native/) so that an
installed package finds the library it was built against: $CONVERGENT_LIBRARY if set, else
../build/libconvergent.so. Without either the package is installed without it and looks for
a system-wide libconvergent (cmake --install) at import."""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        lib = os.environ.get("CONVERGENT_LIBRARY") or os.path.join(HERE, "..", "build", "libconvergent.so")
        if not os.path.exists(lib):
            print("convergent: %s not found; the package will look for a system libconvergent" % lib)
            return
        target = os.path.join(self.build_lib, "convergent", "_native")
        os.makedirs(target, exist_ok=True)
        shutil.copyfile(lib, os.path.join(target, "libconvergent.so"))  # follows the symlinks


setup(cmdclass={"build_py": BuildWithLibrary})
