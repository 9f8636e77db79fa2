"""Scenarios: the truth the rig measures accuracy against.

- :class:`ScenarioSpec`: a scenario file (YAML, validated; unknown keys are errors).
- :func:`load_scenario_spec`: a file or a built-in scenario (``"builtin"`` is the default).
- :func:`build_scenario` -> :class:`Scenario`: seeded, deterministic truth trajectories
  (straight, coordinated turns, ballistic arcs, appearing and disappearing targets, close
  crossings, parallel formations) and the sensors that see them.
- :func:`load_scenario`: the two in one call.
- :func:`write_scenario_folder`: the offline interchange folder of docs/architecture.md.

Trajectories are defined over a curved earth in level coordinates (:mod:`.level`) and
reported in ENU metres at the scenario's origin.
"""

from .build import Scenario, build_scenario
from .files import builtin_names, load_scenario_spec
from .spec import RandomTargetsSpec, ScenarioSpec, TargetSpec
from .trajectories import Trajectories


def load_scenario(source=None, **overrides) -> Scenario:
    """Load (``None``: the built-in default) and build a scenario; ``overrides`` as for
    :func:`build_scenario` (``seed``, ``targets``, ``duration_s``, ``biased``,
    ``clock_errors``, ``variant``)."""
    return build_scenario(load_scenario_spec(source), **overrides)


def __getattr__(name: str):
    """The interchange writers, imported on first use (they need pandas, which an emulator
    building its scenario does not)."""
    if name in ("sensors_table", "write_scenario_folder"):
        from . import export

        return getattr(export, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Scenario", "ScenarioSpec", "TargetSpec", "RandomTargetsSpec", "Trajectories",
           "build_scenario", "load_scenario", "load_scenario_spec", "builtin_names",
           "sensors_table", "write_scenario_folder"]
