"""Truth trajectories of many targets, piecewise analytic and evaluated vectorised.

Each target is a chain of *legs* in level coordinates (:mod:`rig.scenario.level`). A leg
starts at a time with a state (position, velocity) and moves in one of three ways:

- straight: constant velocity;
- coordinated turn: constant speed, the horizontal velocity turning at ``omega`` rad/s
  (counter-clockwise positive, east-north axes), constant climb rate;
- ballistic: gravity only, textbook projectile motion (``h = h0 + vh·τ − g·τ²/2``).

The state at the end of a leg is the start of the next, so positions and velocities are
continuous unless a leg sets a new velocity. A target exists from ``t_start_s`` to
``t_end_s`` while above the ground; before its first leg and after its last it is
extrapolated by that leg's motion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .level import LevelFrame

if TYPE_CHECKING:
    import pandas as pd

GRAVITY_MPS2 = 9.80665
#: A target whose height falls below this has hit the ground.
GROUND_M = -1.0


def propagate(p0, v0, omega_rad_s, gravity_mps2, tau_s):
    """Level position and velocity ``tau_s`` after a leg's start; rows broadcast."""
    p0, v0 = np.asarray(p0, float), np.asarray(v0, float)
    omega = np.asarray(omega_rad_s, float)
    g = np.asarray(gravity_mps2, float)
    tau = np.asarray(tau_s, float)
    wt = omega * tau
    c, s = np.cos(wt), np.sin(wt)
    small = np.abs(omega) < 1e-12
    safe = np.where(small, 1.0, omega)
    sin_int = np.where(small, tau, s / safe)                       # ∫ cos(ωτ) dτ
    cos_int = np.where(small, 0.5 * omega * tau * tau, (1.0 - c) / safe)   # ∫ sin(ωτ) dτ
    vx0, vy0, vh0 = v0[..., 0], v0[..., 1], v0[..., 2]
    p = np.stack([p0[..., 0] + vx0 * sin_int - vy0 * cos_int,
                  p0[..., 1] + vx0 * cos_int + vy0 * sin_int,
                  p0[..., 2] + vh0 * tau - 0.5 * g * tau * tau], axis=-1)
    v = np.stack([vx0 * c - vy0 * s, vx0 * s + vy0 * c, vh0 - g * tau], axis=-1)
    return p, v


def level_velocity(speed_mps: float, heading_deg: float, climb_mps: float = 0.0) -> np.ndarray:
    """Level velocity from speed, heading (clockwise from north) and climb rate."""
    hd = np.radians(heading_deg)
    return np.array([speed_mps * np.sin(hd), speed_mps * np.cos(hd), climb_mps])


@dataclass
class Leg:
    """One piece of a trajectory. ``duration_s=None`` lasts to the end of the target."""

    duration_s: float | None = None
    omega_rad_s: float = 0.0
    ballistic: bool = False
    velocity: np.ndarray | None = None     # level velocity set at the leg's start


@dataclass
class Trajectories:
    """All targets of a scenario; arrays of legs sorted by (target, start time)."""

    level: LevelFrame
    target_id: np.ndarray          # (n,) int64
    t_start_s: np.ndarray          # (n,)
    t_end_s: np.ndarray            # (n,)
    leg_target: np.ndarray         # (m,) index into the targets
    leg_t0_s: np.ndarray           # (m,)
    leg_p0: np.ndarray             # (m, 3) level position at the leg's start
    leg_v0: np.ndarray             # (m, 3) level velocity at the leg's start
    leg_omega_rad_s: np.ndarray    # (m,)
    leg_gravity_mps2: np.ndarray   # (m,)
    _key: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        n = len(self.target_id)
        self._first_leg = np.searchsorted(self.leg_target, np.arange(n), "left")
        self._t_min = float(self.leg_t0_s.min()) if len(self.leg_t0_s) else 0.0
        t_max = float(self.leg_t0_s.max()) if len(self.leg_t0_s) else 0.0
        self._span = t_max - self._t_min + 2.0
        self._key = self.leg_target * self._span + (self.leg_t0_s - self._t_min)

    def __len__(self) -> int:
        return len(self.target_id)

    def _legs(self, idx, t):
        """Index of the leg of target ``idx`` in force at time ``t``."""
        local = np.clip(t - self._t_min, 0.0, self._span - 1.0)
        j = np.searchsorted(self._key, idx * self._span + local, "right") - 1
        return np.maximum(j, self._first_leg[idx])

    def level_state(self, idx, t):
        """Level position and velocity of targets ``idx`` at times ``t`` (broadcast)."""
        idx, t = np.broadcast_arrays(np.asarray(idx, np.int64), np.asarray(t, float))
        j = self._legs(idx, t)
        return propagate(self.leg_p0[j], self.leg_v0[j], self.leg_omega_rad_s[j],
                         self.leg_gravity_mps2[j], t - self.leg_t0_s[j])

    def state(self, idx, t):
        """``(position, velocity, height)``: origin ENU metres and m/s, height above the
        sphere, of targets ``idx`` at times ``t``."""
        p, v = self.level_state(idx, t)
        pos, vel = self.level.enu(p, v)
        return pos, vel, p[..., 2]

    def alive(self, idx, t, height_m):
        """Whether targets exist at those times (inside their window, above the ground)."""
        idx = np.asarray(idx, np.int64)
        return (t >= self.t_start_s[idx]) & (t <= self.t_end_s[idx]) & (height_m >= GROUND_M)

    def truth_table(self, dt_s: float, t_end_s: float) -> pd.DataFrame:
        """``truth.csv``: every living target at ``t = k·dt_s`` up to ``t_end_s``."""
        import pandas as pd      # here: an emulator that imports this module needs no pandas

        first = np.maximum(np.ceil(self.t_start_s / dt_s - 1e-9), 0).astype(np.int64)
        last = np.floor(np.minimum(self.t_end_s, t_end_s) / dt_s + 1e-9).astype(np.int64)
        count = np.maximum(last - first + 1, 0)
        idx = np.repeat(np.arange(len(self)), count)
        k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count) + first[idx]
        t = k * dt_s
        pos, vel, h = self.state(idx, t)
        keep = h >= GROUND_M
        order = np.lexsort((self.target_id[idx][keep], t[keep]))
        pos, vel, t, idx = pos[keep][order], vel[keep][order], t[keep][order], idx[keep][order]
        return pd.DataFrame({
            "t": t, "target_id": self.target_id[idx],
            "east_m": pos[:, 0], "north_m": pos[:, 1], "up_m": pos[:, 2],
            "ve": vel[:, 0], "vn": vel[:, 1], "vu": vel[:, 2]})


class TrajectoryBuilder:
    """Collects targets leg by leg; :meth:`build` gives :class:`Trajectories`."""

    def __init__(self, level: LevelFrame):
        self.level = level
        self._targets: list[tuple[int, float, float]] = []
        self._legs: list[tuple[int, float, np.ndarray, np.ndarray, float, float]] = []

    @property
    def ids(self) -> set[int]:
        return {t[0] for t in self._targets}

    def add(self, target_id: int, t_start_s: float, t_end_s: float, p0, v0,
            legs: list[Leg] | None = None) -> None:
        """A target at level position ``p0`` with level velocity ``v0`` at ``t_start_s``."""
        index = len(self._targets)
        self._targets.append((int(target_id), float(t_start_s), float(t_end_s)))
        t = float(t_start_s)
        p, v = np.asarray(p0, float), np.asarray(v0, float)
        legs = list(legs or [])
        if not legs or legs[-1].duration_s is not None:
            legs.append(Leg())                # then on in a straight line
        for leg in legs:
            if leg.velocity is not None:
                v = np.asarray(leg.velocity, float)
            g = GRAVITY_MPS2 if leg.ballistic else 0.0
            self._legs.append((index, t, p, v, leg.omega_rad_s, g))
            if leg.duration_s is None:
                break
            p, v = propagate(p, v, leg.omega_rad_s, g, leg.duration_s)
            t += leg.duration_s

    def build(self) -> Trajectories:
        targets = np.array(self._targets, dtype=float).reshape(-1, 3)
        legs = self._legs
        order = sorted(range(len(legs)), key=lambda i: (legs[i][0], legs[i][1]))
        legs = [legs[i] for i in order]
        return Trajectories(
            level=self.level,
            target_id=targets[:, 0].astype(np.int64),
            t_start_s=targets[:, 1].copy(), t_end_s=targets[:, 2].copy(),
            leg_target=np.array([leg[0] for leg in legs], np.int64),
            leg_t0_s=np.array([leg[1] for leg in legs], float),
            leg_p0=np.array([leg[2] for leg in legs], float).reshape(-1, 3),
            leg_v0=np.array([leg[3] for leg in legs], float).reshape(-1, 3),
            leg_omega_rad_s=np.array([leg[4] for leg in legs], float),
            leg_gravity_mps2=np.array([leg[5] for leg in legs], float))
