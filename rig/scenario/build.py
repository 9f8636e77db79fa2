"""A scenario built from its specification: truth trajectories and the sensors that see them."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rig.errors import ConfigError, UsageError
from rig.geodesy import Geodetic
from rig.sensor_models.biases import CLOCK_ERRORS, with_random_errors
from rig.sensor_models.spec import RadarSpec

from .level import LevelFrame
from .random_targets import add_random_targets
from .scripted import add_scripted_target
from .spec import MAX_RANDOM_TARGETS, VARIANTS, ScenarioSpec
from .trajectories import TrajectoryBuilder, Trajectories

if TYPE_CHECKING:
    import pandas as pd

    from rig.interchange import ScenarioInfo

#: Independent random streams of a seed (the sensors' streams are keyed by their ids).
_TRUTH_STREAM, _ERROR_STREAM = 1, 2


@dataclass(frozen=True)
class Scenario:
    """Truth and sensors of one run. Deterministic: the same spec and seed give the same."""

    name: str
    origin: Geodetic
    duration_s: float
    seed: int
    truth_dt_s: float
    sensors: tuple[RadarSpec, ...]
    trajectories: Trajectories
    variant: str | None = None      # the variant built (its sensors are in ``sensors``)

    def sensor(self, sensor_id: str) -> RadarSpec:
        for spec in self.sensors:
            if spec.id == str(sensor_id):
                return spec
        raise UsageError(f"no sensor {sensor_id!r} in scenario {self.name!r} (sensors: "
                         + ", ".join(s.id for s in self.sensors) + ")")

    def truth(self, dt_s: float | None = None) -> pd.DataFrame:
        """``truth.csv`` rows: every living target every ``dt_s`` (default ``truth_dt_s``)."""
        return self.trajectories.truth_table(dt_s or self.truth_dt_s, self.duration_s)

    def info(self, frame: str = "wgs84") -> ScenarioInfo:
        from rig.interchange import ScenarioInfo

        return ScenarioInfo(frame, self.origin, self.duration_s)


def variant_sensors(spec: ScenarioSpec, variant: str | None) -> tuple[RadarSpec, ...]:
    """The sensors of ``spec`` with those of ``variant`` (None: none) after them; a variant
    of several names (``passive+tracks``) adds each one's in that order."""
    if variant is None:
        return tuple(spec.sensors)
    if variant not in VARIANTS:
        raise UsageError(f"no variant {variant!r}: give one of {', '.join(VARIANTS)}")
    names = variant.split("+")
    missing = [name for name in names if name not in spec.variants]
    if missing:
        raise UsageError(f"scenario {spec.name!r} has no variant {missing[0]!r} (it has: "
                         + (", ".join(spec.variants) or "none") + ")")
    sensors = list(spec.sensors)
    spec_ids = {s.id for s in spec.sensors}
    for name in names:
        known = {s.id for s in sensors}
        extra = spec.variants[name].sensors
        for i, sensor in enumerate(extra):
            if sensor.id in known:
                where = "scenario's sensors" if sensor.id in spec_ids else "variants before it"
                raise ConfigError(f"sensor {sensor.id!r} is already in the {where}",
                                  key=f"variants.{name}.sensors[{i}].id",
                                  expected="an id of its own")
        sensors += extra
    return tuple(sensors)


def build_scenario(spec: ScenarioSpec, *, seed: int | None = None, targets: int | None = None,
                   duration_s: float | None = None, biased: bool = False,
                   clock_errors: bool = False, variant: str | None = None) -> Scenario:
    """Build a scenario; ``seed``, ``targets`` (number of random targets) and ``duration_s``
    override the file. ``biased`` gives every sensor random range/azimuth/elevation biases,
    clock offset and drift (:mod:`rig.sensor_models.biases`), drawn from the seed;
    ``clock_errors`` the same clock offsets and drifts without the biases. ``variant``
    appends that variant's sensors (``spec.variants``) after the scenario's own, which keep
    their plots and errors: each sensor's plots are drawn from a stream of its own, and the
    errors are drawn in sensor order."""
    if targets is not None and not 0 <= targets <= MAX_RANDOM_TARGETS:
        raise UsageError(f"{targets} random targets: give 0 to {MAX_RANDOM_TARGETS:,}")
    sensors = variant_sensors(spec, variant)
    seed = spec.seed if seed is None else int(seed)
    duration = spec.duration_s if duration_s is None else float(duration_s)
    origin = spec.origin.geodetic()
    builder = TrajectoryBuilder(LevelFrame(origin))
    given = {t.id for t in spec.targets if t.id is not None}
    free_ids = (i for i in itertools.count(1) if i not in given)
    for target in spec.targets:
        target_id = target.id if target.id is not None else next(free_ids)
        add_scripted_target(builder, target, target_id, duration)
    random_spec = spec.random if targets is None else spec.random.model_copy(
        update={"count": int(targets)})
    add_random_targets(builder, random_spec, duration,
                       np.random.default_rng([seed, _TRUTH_STREAM]), free_ids)
    if biased or clock_errors:
        rng = np.random.default_rng([seed, _ERROR_STREAM])
        names = {} if biased else {"names": CLOCK_ERRORS}
        sensors = tuple(with_random_errors(s, rng, **names) for s in sensors)
    return Scenario(spec.name, origin, duration, seed, spec.truth_dt_s, sensors,
                    builder.build(), variant)
