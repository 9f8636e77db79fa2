"""Scripted targets (:class:`TargetSpec`) as trajectory legs.

Segments run one after the other from the start state; a segment that sets ``speed_mps``,
``heading_deg`` or ``climb_mps`` changes that part of the velocity at its start and keeps the
rest. After the last segment the target flies straight on (or, for a ballistic segment,
keeps falling) until ``end_s``, the scenario's end or the ground. Waypoints are joined by
straight legs flown at the speed that reaches each point at its time; the target lives from
the first waypoint to the last (or to ``end_s``, flying straight on).
"""

from __future__ import annotations

import numpy as np

from .level import LevelFrame
from .spec import PositionSpec, TargetSpec
from .trajectories import GRAVITY_MPS2, Leg, TrajectoryBuilder, level_velocity, propagate


def level_position(level: LevelFrame, p: PositionSpec) -> np.ndarray:
    if p.east_m is not None:
        return np.array([p.east_m, p.north_m, p.alt_m], float)
    return level.level_from_geodetic(p.lat_deg, p.lon_deg, p.alt_m)


def _with_changes(v: np.ndarray, speed_mps, heading_deg, climb_mps) -> np.ndarray:
    speed = float(np.hypot(v[0], v[1])) if speed_mps is None else speed_mps
    heading = float(np.degrees(np.arctan2(v[0], v[1]))) if heading_deg is None else heading_deg
    climb = float(v[2]) if climb_mps is None else climb_mps
    return level_velocity(speed, heading, climb)


def _segment_legs(target: TargetSpec, v0: np.ndarray, p0: np.ndarray) -> list[Leg]:
    legs, p, v = [], p0, v0
    for seg in target.segments:
        changed = any(x is not None for x in (seg.speed_mps, seg.heading_deg, seg.climb_mps))
        if changed:
            v = _with_changes(v, seg.speed_mps, seg.heading_deg, seg.climb_mps)
        omega = -np.radians(seg.turn_rate_deg_s)
        leg = Leg(seg.duration_s, omega_rad_s=omega, ballistic=seg.kind == "ballistic",
                  velocity=v.copy() if changed else None)
        legs.append(leg)
        if seg.duration_s is not None:
            g = GRAVITY_MPS2 if leg.ballistic else 0.0
            p, v = propagate(p, v, omega, g, seg.duration_s)
    return legs


def add_scripted_target(builder: TrajectoryBuilder, target: TargetSpec, target_id: int,
                        duration_s: float) -> None:
    level = builder.level
    if target.waypoints is not None:
        points = [level_position(level, w) for w in target.waypoints]
        times = [w.t_s for w in target.waypoints]
        legs = [Leg(t1 - t0, velocity=(p1 - p0) / (t1 - t0))
                for (t0, p0), (t1, p1) in zip(zip(times, points), zip(times[1:], points[1:]))]
        end = target.end_s if target.end_s is not None else times[-1]
        builder.add(target_id, times[0], min(end, duration_s), points[0], legs[0].velocity, legs)
        return
    p0 = level_position(level, target.position)
    v0 = level_velocity(target.speed_mps, target.heading_deg, target.climb_mps)
    end = target.end_s if target.end_s is not None else duration_s
    builder.add(target_id, target.start_s, min(end, duration_s), p0, v0,
                _segment_legs(target, v0, p0))
