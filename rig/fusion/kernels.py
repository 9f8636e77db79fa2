"""The fusion engine's kernels, one module per step: compiled, or their NumPy twins.

=========  =======================  ============================  ============================
step       compiled (``ext/``)      twin                          kernels
=========  =======================  ============================  ============================
prepare    ``fusion_prepare.pyx``   :mod:`.reference.prepare`     screen, next_window, prepare
gate       ``fusion_gate.pyx``      :mod:`.reference.gate`        moments, gate
update     ``fusion_update.pyx``    :mod:`.reference.update`      update, predict,
                                                                  predict_models,
                                                                  record_updates
assign     ``fusion_assign.pyx``    :mod:`.reference.assign`      pair_clusters,
                                                                  solve_cluster, gnn
register   ``fusion_register.pyx``  :mod:`.reference.register`    registration_pairs, _terms,
                                                                  _step
manage     ``fusion_manage.pyx``    :mod:`.reference.manage`      first_plots, initiate,
                                                                  fill_tracks, updated_rows,
                                                                  stale, close_pairs,
                                                                  close_tracks, compact_rows
=========  =======================  ============================  ============================

The compiled steps share their inline maths through ``ext/fusion_maths.pxd`` (the twins through
:mod:`.reference.maths`). :func:`default` gives the compiled kernels, or the twins under
``RIG_PUREPYTHON=1`` (:mod:`rig.twins`).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from rig import twins

STEPS = ("prepare", "gate", "update", "assign", "register", "manage")


class Kernels:
    """Every kernel of the steps' modules as an attribute; ``name``: "compiled" or "reference"."""

    def __init__(self, modules: list[ModuleType], name: str):
        self.name = name
        self.modules = modules
        for module in modules:
            for kernel in module.__all__:
                setattr(self, kernel, getattr(module, kernel))

    def __repr__(self) -> str:
        return f"<{self.name} fusion kernels>"


def reference() -> Kernels:
    """The NumPy twins."""
    return Kernels([importlib.import_module(f"rig.fusion.reference.{step}") for step in STEPS],
                   "reference")


def compiled() -> Kernels:
    """The compiled kernels (:class:`rig.twins.CompiledModuleMissing` when not built)."""
    return Kernels([twins.load_compiled(f"fusion_{step}", f"rig.fusion.reference.{step}")
                    for step in STEPS], "compiled")


def default() -> Kernels:
    """The compiled kernels, or the twins under ``RIG_PUREPYTHON=1``."""
    return reference() if twins.pure_python() else compiled()
