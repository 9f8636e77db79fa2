"""The scenario file: origin, duration, sensors, scripted targets and random targets.

A scenario file (YAML) is validated against :class:`ScenarioSpec`; unknown keys are errors
that name the file and the key. Example::

    spec: "1.0"
    name: two partners
    origin: {lat_deg: 52.0, lon_deg: 21.0, alt_m: 100.0}
    duration_s: 300
    seed: 7
    sensors:
      - {id: A1, partner: A, site: {lat_deg: 51.1, lon_deg: 17.9, alt_m: 150},
         scan_period_s: 4, sigma_range_m: 40, sigma_az_rad: 0.0015, sigma_el_rad: 0.002,
         range_max_m: 320000}
    targets:
      - id: 1                       # segments from a start state
        position: {east_m: -50000, north_m: 20000, alt_m: 9000}
        speed_mps: 230
        heading_deg: 90
        segments:
          - {kind: straight, duration_s: 60}
          - {kind: turn, duration_s: 30, turn_rate_deg_s: 3}     # + is a right turn
          - {kind: straight}
      - id: 2                       # or waypoints (straight legs between them)
        waypoints:
          - {t_s: 0, lat_deg: 52.3, lon_deg: 20.1, alt_m: 6000}
          - {t_s: 200, lat_deg: 51.8, lon_deg: 21.9, alt_m: 6000}
    random: {count: 50, crossings: 2, formations: 1}
    variants:                       # optional extras, added only when asked for by name
      passive:
        sensors:
          - {id: AP1, partner: A, kind: passive, site: {lat_deg: 51.9, lon_deg: 19.1},
             scan_period_s: 2, sigma_az_rad: 0.0087, sigma_el_rad: 0.0175, pd: 0.8,
             clutter_per_scan: 2, range_max_m: 300000}

Positions are either ``east_m/north_m`` (level coordinates, :mod:`rig.scenario.level`) or
``lat_deg/lon_deg``; ``alt_m`` is the height. Headings are degrees clockwise from north.

A *variant* (:data:`VariantName`) is a named set of sensors a scenario may define under
``variants:``; :func:`rig.scenario.build_scenario` (``rig scenario --variant NAME``) appends
them to ``sensors:`` only when asked, so the scenario without them stays as it is. One build
may ask for several (:data:`Variant`: ``passive+tracks`` appends the sensors of ``passive``,
then those of ``tracks``). A file defines variants but does not choose one: a scenario
written out as built (a bench run's resolved scenario) already lists the variant's sensors
under ``sensors:``.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rig.sensor_models.spec import RadarSpec, SiteSpec

SPEC_VERSION = "1.0"

Pair = tuple[float, float]

#: the most random targets a scenario may ask for
MAX_RANDOM_TARGETS = 100_000

#: Names of the variants a scenario may define. ``passive``: one passive angle-only sensor
#: per partner; ``tracks``: a partner that shares its tracks, not its plots.
VariantName = Literal["passive", "tracks"]
VARIANT_NAMES: tuple[str, ...] = get_args(VariantName)
#: What a build may ask for: one variant, or several joined by ``+`` (their sensors in that
#: order).
Variant = Literal["passive", "tracks", "passive+tracks"]
VARIANTS: tuple[str, ...] = get_args(Variant)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _ordered(pairs: dict[str, tuple]) -> None:
    for name, (lo, hi) in pairs.items():
        if lo > hi:
            raise ValueError(f"{name} must be [low, high] with low <= high")


class PositionSpec(_Strict):
    """A point: ``east_m``/``north_m`` or ``lat_deg``/``lon_deg``, and ``alt_m``."""

    east_m: float | None = None
    north_m: float | None = None
    lat_deg: float | None = Field(None, ge=-90.0, le=90.0)
    lon_deg: float | None = Field(None, ge=-180.0, le=360.0)
    alt_m: float = Field(ge=-500.0, le=1e6)

    @model_validator(mode="after")
    def _one_kind(self):
        flat = self.east_m is not None and self.north_m is not None
        geo = self.lat_deg is not None and self.lon_deg is not None
        some = [v is not None for v in (self.east_m, self.north_m, self.lat_deg, self.lon_deg)]
        if flat == geo or sum(some) != 2:
            raise ValueError("a position is east_m and north_m, or lat_deg and lon_deg")
        return self


class SegmentSpec(_Strict):
    """A piece of a scripted trajectory; speed, heading and climb may change at its start."""

    kind: Literal["straight", "turn", "ballistic"]
    duration_s: float | None = Field(None, gt=0.0)
    turn_rate_deg_s: float = Field(0.0, ge=-90.0, le=90.0)
    speed_mps: float | None = Field(None, ge=0.0, le=1e4)
    heading_deg: float | None = None
    climb_mps: float | None = Field(None, ge=-1e4, le=1e4)

    @model_validator(mode="after")
    def _turn_rate(self):
        if (self.kind == "turn") != (self.turn_rate_deg_s != 0.0):
            raise ValueError("turn_rate_deg_s (non-zero) belongs to kind 'turn' only")
        return self


class WaypointSpec(PositionSpec):
    t_s: float = Field(ge=0.0)


class TargetSpec(_Strict):
    """One scripted target: a start state and segments, or waypoints."""

    id: int | None = Field(None, ge=0)
    start_s: float = Field(0.0, ge=0.0)
    end_s: float | None = Field(None, gt=0.0)
    position: PositionSpec | None = None
    speed_mps: float = Field(0.0, ge=0.0, le=1e4)
    heading_deg: float = 0.0
    climb_mps: float = Field(0.0, ge=-1e4, le=1e4)
    segments: list[SegmentSpec] = []
    waypoints: list[WaypointSpec] | None = None

    @model_validator(mode="after")
    def _one_kind(self):
        if self.waypoints is not None:
            if self.position is not None or self.segments:
                raise ValueError("a target has waypoints, or a position with segments, "
                                 "not both")
            if len(self.waypoints) < 2:
                raise ValueError("waypoints need at least two points")
            times = [w.t_s for w in self.waypoints]
            if any(b <= a for a, b in zip(times, times[1:])):
                raise ValueError("waypoint times t_s must increase")
        elif self.position is None:
            raise ValueError("a target needs a position (with segments) or waypoints")
        if any(s.duration_s is None for s in self.segments[:-1]):
            raise ValueError("only the last segment may leave out duration_s")
        if self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError("end_s must be after start_s")
        return self


class RandomTargetsSpec(_Strict):
    """Random targets from a few parameters (all ``[low, high]`` pairs are uniform draws).

    ``count`` targets in all: ``crossings`` pairs that pass within ``crossing_miss_m`` of each
    other, ``formations`` groups of ``formation_size`` flying in parallel ``formation_spacing_m``
    apart, and single targets of which a fraction turn, a fraction fly ballistic arcs from the
    ground, and a fraction appear and disappear during the run.
    """

    count: int = Field(0, ge=0, le=MAX_RANDOM_TARGETS)
    east_m: Pair = (-350_000.0, 350_000.0)
    north_m: Pair = (-200_000.0, 200_000.0)
    alt_m: Pair = (500.0, 12_000.0)
    speed_mps: Pair = (80.0, 300.0)
    turning: float = Field(0.3, ge=0.0, le=1.0)
    turn_rate_deg_s: Pair = (1.0, 4.0)
    ballistic: float = Field(0.05, ge=0.0, le=1.0)
    ballistic_speed_mps: Pair = (400.0, 1200.0)
    ballistic_elevation_deg: Pair = (25.0, 65.0)
    appear_disappear: float = Field(0.3, ge=0.0, le=1.0)
    crossings: int = Field(0, ge=0)
    crossing_miss_m: Pair = (0.0, 300.0)
    crossing_angle_deg: Pair = (15.0, 165.0)
    formations: int = Field(0, ge=0)
    formation_size: tuple[int, int] = (2, 4)
    formation_spacing_m: Pair = (300.0, 1000.0)

    @model_validator(mode="after")
    def _pairs(self):
        _ordered({name: getattr(self, name) for name, f in type(self).model_fields.items()
                  if f.annotation in (Pair, tuple[int, int])})
        if self.turning + self.ballistic > 1.0:
            raise ValueError("turning + ballistic must be at most 1")
        if self.formation_size[0] < 2:
            raise ValueError("formation_size must be at least 2")
        if min(self.speed_mps) < 0 or min(self.ballistic_speed_mps) <= 0:
            raise ValueError("speeds must be positive")
        return self


def _unique_ids(sensors) -> None:
    ids = [s.id for s in sensors]
    if len(set(ids)) != len(ids):
        raise ValueError(f"sensor ids must be unique, got {ids}")


class VariantSpec(_Strict):
    """What a variant adds to its scenario: sensors, after the scenario's own."""

    sensors: list[RadarSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self):
        _unique_ids(self.sensors)
        return self


class ScenarioSpec(_Strict):
    """A whole scenario file."""

    spec: Literal["1.0"] = SPEC_VERSION
    name: str = "scenario"
    origin: SiteSpec
    duration_s: float = Field(gt=0.0, le=7 * 86_400.0)     # a week: a bench config's longest
    seed: int = Field(0, ge=0)
    truth_dt_s: float = Field(1.0, gt=0.0)
    sensors: list[RadarSpec] = Field(min_length=1)
    targets: list[TargetSpec] = []
    random: RandomTargetsSpec = RandomTargetsSpec()
    variants: dict[VariantName, VariantSpec] = {}

    @field_validator("spec", mode="before")
    @classmethod
    def _version_text(cls, value):
        return str(value) if isinstance(value, (int, float)) else value

    @model_validator(mode="after")
    def _unique(self):
        _unique_ids(self.sensors)
        tids = [t.id for t in self.targets if t.id is not None]
        if len(set(tids)) != len(tids):
            raise ValueError("target ids must be unique")
        return self
