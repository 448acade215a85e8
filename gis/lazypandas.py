"""pyarrow without pandas until something wants pandas.

pyarrow asks whether pandas is installed, by importing it, the first time it converts a value
(`pa.array`, even of a numpy array; `to_numpy`), so that it can treat a pandas object as one.
For a command that never makes a pandas object that is a third of a second of its start (0.34 s
of `citygrid import grids`'s 2.6 s on the machine of stop 28). `defer()` has that first question
answered "no", and the moment anything imports pandas for real (pyogrio for a GeoPackage, a rules
import's frame) has pyarrow look again, so that a pandas object reaching pyarrow afterwards is
read as pandas (its NaN empty, its categories kept) exactly as without `defer()`.

It leans on how pyarrow's pandas shim behaves (asked once without insisting; asked again by
anything that needs pandas); `tests/test_values.py` checks both halves on the pyarrow installed.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any


def defer() -> None:
    """Answer pyarrow's first question about pandas with "not installed", until pandas is
    imported; when pyarrow is not imported yet, as soon as it is. A no-op where pandas is
    imported already, and a second time."""
    if "pandas" in sys.modules or any(isinstance(f, _After) for f in sys.meta_path):
        return
    if "pyarrow" in sys.modules:
        _refuse_first()
    else:
        sys.meta_path.insert(0, _After("pyarrow", _refuse_first))


def _refuse_first() -> None:
    if "pandas" in sys.modules:
        # pandas is loading (it imports pyarrow) or loaded: pyarrow will find it as usual
        return
    import numpy as np
    import pyarrow as pa

    refuse = _Refuse()
    sys.meta_path.insert(0, refuse)
    try:
        pa.array(np.zeros(0))
    finally:
        sys.meta_path.remove(refuse)
    sys.meta_path.insert(0, _After("pandas", _rearm))


def _rearm() -> None:
    import pyarrow as pa

    # pyarrow imports pandas again when asked insistently: now it finds it
    pa.lib._pandas_api.pd  # noqa: B018


class _Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if name == "pandas":
            raise ImportError("pandas is deferred")
        return None


class _After(importlib.abc.MetaPathFinder):
    """Finds the module `name` as the other finders do, and calls `then` once it is loaded."""

    def __init__(self, name: str, then: Callable[[], None]) -> None:
        self._name, self._then = name, then
        self._finding = False

    def find_spec(self, name: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if name != self._name or self._finding:
            return None
        self._finding = True
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self._finding = False
        if spec is None or spec.loader is None:
            return spec
        # the finder stays until the module is loaded: a spec only looked at (is pandas
        # installed?) loads nothing
        spec.loader = _Then(spec.loader, self._loaded)
        return spec

    def _loaded(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        self._then()


class _Then(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader, then: Callable[[], None]) -> None:
        self._loader, self._then = loader, then

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        self._then()

    def __getattr__(self, name: str) -> Any:
        # resource readers and the like: the real loader's
        return getattr(self._loader, name)
