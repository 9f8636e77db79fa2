"""Compiled module or its pure-Python twin: the one switch.

Every Cython module in ``ext/`` has a twin written plainly in Python with the same functions,
classes and results; tests hold the two to each other. ``RIG_PUREPYTHON=1`` in the environment
makes every user of a module get the twin (as ``MSGPACK_PUREPYTHON`` does for msgpack), so the
whole suite can run on the twins; otherwise the compiled module is used, and a missing build is
an error that says how to fix it rather than a silent slowdown.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType


class CompiledModuleMissing(ImportError):
    """A compiled module of rig._ext is not built."""


def pure_python() -> bool:
    """True when ``RIG_PUREPYTHON=1``: every module is its pure-Python twin."""
    return os.environ.get("RIG_PUREPYTHON", "") == "1"


def load(compiled: str, twin: str) -> ModuleType:
    """``rig._ext.<compiled>``, or module ``twin`` under ``RIG_PUREPYTHON=1``."""
    if pure_python():
        return importlib.import_module(twin)
    return load_compiled(compiled, twin)


def load_compiled(compiled: str, twin: str = "") -> ModuleType:
    """``rig._ext.<compiled>`` whatever the switch says; ``twin`` names it in the error."""
    try:
        return importlib.import_module(f"rig._ext.{compiled}")
    except ModuleNotFoundError as exc:
        raise CompiledModuleMissing(
            f"rig._ext.{compiled} is not built ({exc}); install rig with `pip install -e .` "
            f"or build it with `python setup.py build_ext --inplace`, or set RIG_PUREPYTHON=1 "
            f"to run on the pure-Python twin{' ' + twin if twin else 's'}") from exc


def is_twin(module: ModuleType) -> bool:
    """True for a pure-Python twin, False for a compiled module."""
    return not module.__name__.startswith("rig._ext.")
