"""The project is described in pyproject.toml; this adds its one compiled module, the lookup's
point-cell query (lookup/_cells.c), which `pip install -e .` builds in place."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("lookup._cells", ["lookup/_cells.c"],
                             extra_compile_args=["-O2"])])
