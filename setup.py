"""Build the Cython codecs and kernels in ext/ into the rig._ext package.

Every ``ext/NAME.pyx`` becomes ``rig._ext.NAME``. Set ``RIG_CYTHON_DEBUG=1`` to build with
bounds checks and line tracing (slower; for debugging and coverage), and
``RIG_BUILD_ONLY=name1,name2`` to rebuild only those modules while developing
(``python setup.py build_ext --inplace``).
"""

import os
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("RIG_CYTHON_DEBUG") == "1"
ONLY = {name for name in os.environ.get("RIG_BUILD_ONLY", "").split(",") if name}

directives = {
    "language_level": "3",
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
    "linetrace": DEBUG,
}
macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
if DEBUG:
    macros.append(("CYTHON_TRACE_NOGIL", "1"))

extensions = [
    Extension(
        f"rig._ext.{pyx.stem}",
        [str(pyx)],
        include_dirs=[numpy.get_include(), "ext"],
        define_macros=macros,
        extra_compile_args=["-O3"] if not DEBUG else ["-O0", "-g"],
    )
    for pyx in sorted(Path("ext").glob("*.pyx"))
    if not ONLY or pyx.stem in ONLY
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives, include_path=["ext"]))
