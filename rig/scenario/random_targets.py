"""Random targets from a few parameters (:class:`RandomTargetsSpec`), seeded.

Single targets are placed so that they are inside the area half way through their life;
turning targets fly straight, turn through 45-180° and fly straight again; ballistic targets
are launched from the ground and fall back to it. Crossing pairs pass the same point at the
same time, ``crossing_miss_m`` apart, at the same height. Formations fly in parallel, side by
side, and turn together (identical legs from offset starts stay parallel).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .spec import RandomTargetsSpec
from .trajectories import GRAVITY_MPS2, Leg, TrajectoryBuilder, level_velocity


def _u(rng, pair) -> float:
    return float(rng.uniform(pair[0], pair[1]))


def _point(rng, spec: RandomTargetsSpec, alt_m: float) -> np.ndarray:
    return np.array([_u(rng, spec.east_m), _u(rng, spec.north_m), alt_m])


def _window(rng, spec: RandomTargetsSpec, duration_s: float) -> tuple[float, float]:
    if rng.random() < spec.appear_disappear:
        start = rng.uniform(0.0, 0.5 * duration_s)
        return start, min(duration_s, start + rng.uniform(0.3, 0.7) * duration_s)
    return 0.0, duration_s


def _turn_legs(rng, spec: RandomTargetsSpec, life_s: float) -> list[Leg]:
    rate_deg_s = _u(rng, spec.turn_rate_deg_s) * rng.choice([-1.0, 1.0])
    turn_s = rng.uniform(45.0, 180.0) / abs(rate_deg_s)
    return [Leg(rng.uniform(0.1, 0.4) * life_s), Leg(turn_s, omega_rad_s=-np.radians(rate_deg_s))]


def _single(builder, rng, spec, duration_s, target_id) -> None:
    kind = rng.random()
    if kind < spec.ballistic:
        speed = _u(rng, spec.ballistic_speed_mps)
        elev = np.radians(_u(rng, spec.ballistic_elevation_deg))
        heading = rng.uniform(0.0, 360.0)
        flight_s = 2.0 * speed * np.sin(elev) / GRAVITY_MPS2
        start = rng.uniform(0.0, max(0.0, duration_s - flight_s))
        v0 = level_velocity(speed * np.cos(elev), heading, speed * np.sin(elev))
        builder.add(target_id, start, min(duration_s, start + flight_s),
                    _point(rng, spec, 0.0), v0, [Leg(ballistic=True)])
        return
    start, end = _window(rng, spec, duration_s)
    v0 = level_velocity(_u(rng, spec.speed_mps), rng.uniform(0.0, 360.0))
    middle = _point(rng, spec, _u(rng, spec.alt_m))
    p0 = middle - v0 * 0.5 * (end - start)
    legs = _turn_legs(rng, spec, end - start) if kind < spec.ballistic + spec.turning else []
    builder.add(target_id, start, end, p0, v0, legs)


def _crossing(builder, rng, spec, duration_s, ids) -> None:
    t_cross = rng.uniform(0.3, 0.7) * duration_s
    point = _point(rng, spec, _u(rng, spec.alt_m))
    heading = rng.uniform(0.0, 360.0)
    other = heading + _u(rng, spec.crossing_angle_deg) * rng.choice([-1.0, 1.0])
    miss = _u(rng, spec.crossing_miss_m)
    for target_id, hd, offset in ((ids[0], heading, 0.0), (ids[1], other, miss)):
        v = level_velocity(_u(rng, spec.speed_mps), hd)
        side = np.array([np.cos(np.radians(hd)), -np.sin(np.radians(hd)), 0.0])
        builder.add(target_id, 0.0, duration_s, point + offset * side - v * t_cross, v)


def _formation(builder, rng, spec, duration_s, ids) -> None:
    start, end = _window(rng, spec, duration_s)
    hd = rng.uniform(0.0, 360.0)
    v = level_velocity(_u(rng, spec.speed_mps), hd)
    middle = _point(rng, spec, _u(rng, spec.alt_m))
    lead = middle - v * 0.5 * (end - start)
    spacing = _u(rng, spec.formation_spacing_m)
    side = np.array([np.cos(np.radians(hd)), -np.sin(np.radians(hd)), 0.0])
    legs = _turn_legs(rng, spec, end - start) if rng.random() < spec.turning else []
    for k, target_id in enumerate(ids):
        offset = (k - 0.5 * (len(ids) - 1)) * spacing
        builder.add(target_id, start, end, lead + offset * side, v, legs)


def add_random_targets(builder: TrajectoryBuilder, spec: RandomTargetsSpec, duration_s: float,
                       rng: np.random.Generator, ids: Iterator[int]) -> None:
    """Add ``spec.count`` random targets, numbered by ``ids``."""
    remaining = spec.count
    for _ in range(spec.crossings):
        if remaining < 2:
            break
        _crossing(builder, rng, spec, duration_s, (next(ids), next(ids)))
        remaining -= 2
    for _ in range(spec.formations):
        if remaining < 2:
            break
        size = min(remaining, int(rng.integers(spec.formation_size[0], spec.formation_size[1] + 1)))
        _formation(builder, rng, spec, duration_s, [next(ids) for _ in range(size)])
        remaining -= size
    for _ in range(remaining):
        _single(builder, rng, spec, duration_s, next(ids))
