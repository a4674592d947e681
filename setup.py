"""Build step for the C extensions; everything else is in pyproject.toml.

``varidex.gnomad._scan`` is the lookup engine's record scanner, and
``varidex.gnomad.formats._text`` writes Arrow columns as CSV/TSV rows (see their sources for
why they are C). They use only the C library and CPython's API, so a C compiler and Python's
headers are all they need to build.
"""

from setuptools import Extension, setup

FLAGS = ["-O2", "-std=c99", "-Wall", "-Wextra", "-Wno-unused-parameter"]

setup(ext_modules=[
    Extension("varidex.gnomad._scan", ["src/varidex/gnomad/_scan.c"], extra_compile_args=FLAGS),
    Extension("varidex.gnomad.formats._text", ["src/varidex/gnomad/formats/_text.c"],
              extra_compile_args=FLAGS, libraries=["m"]),
])
