"""Build step for the one C extension; everything else is in pyproject.toml.

``varidex.gnomad._scan`` is the lookup engine's record scanner (see its source for why it is
C). It uses only the C library and CPython's API, so a C compiler and Python's headers are
all it needs to build.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "varidex.gnomad._scan", ["src/varidex/gnomad/_scan.c"],
    extra_compile_args=["-O2", "-std=c99", "-Wall", "-Wextra", "-Wno-unused-parameter"],
)])
