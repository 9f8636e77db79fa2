"""Level coordinates: how trajectories are defined, and how they map to the origin's ENU.

Targets fly over a curved earth: an aircraft "flying level" keeps its height, so far from the
origin its ``up`` in the origin's flat ENU frame falls (docs/architecture.md). Trajectories are therefore
written in *level coordinates* ``(x_m, y_m, h_m)``: ``x`` east and ``y`` north on the origin's
tangent plane, ``h`` height above a sphere of the earth's Gaussian mean radius at the origin
(within 20 m of the WGS-84 altitude up to 400 km from the origin). Straight lines,
turns and textbook projectile motion are written in these coordinates; a point maps to the
origin's ENU by projecting ``(x, y)`` radially onto the sphere and lifting it by ``h``::

    q = (x, y, R_c),  u = q / |q|,  p_enu = (R + h)·u − (0, 0, R_c),   R_c = R + origin alt

Velocities map exactly by the chain rule, so ``truth.csv`` holds the true derivative of the
true position. Sensor models take truth in ENU and measure it in their own site frames.
"""

from __future__ import annotations

import numpy as np

from rig.geodesy import Geodetic, LocalFrame

_WGS84_A_M = 6_378_137.0
_WGS84_F = 1.0 / 298.257223563


def gaussian_radius_m(lat_deg: float) -> float:
    """sqrt(M·N): the radius of the sphere that best fits the WGS-84 ellipsoid at a latitude."""
    e2 = _WGS84_F * (2.0 - _WGS84_F)
    s2 = np.sin(np.radians(lat_deg)) ** 2
    return float(_WGS84_A_M * np.sqrt(1.0 - e2) / (1.0 - e2 * s2))


class LevelFrame:
    """Level coordinates at an origin; all methods are vectorised over rows ``(n, 3)``."""

    def __init__(self, origin: Geodetic):
        self.origin = origin
        self.radius_m = gaussian_radius_m(origin.lat_deg)
        self.centre_depth_m = self.radius_m + origin.alt_m

    def enu(self, level, level_velocity=None):
        """Origin ENU position (and velocity) of level positions (and level velocities)."""
        level = np.asarray(level, float)
        q = np.empty_like(level)
        q[..., :2] = level[..., :2]
        q[..., 2] = self.centre_depth_m
        norm = np.linalg.norm(q, axis=-1, keepdims=True)
        u = q / norm
        lift = self.radius_m + level[..., 2:3]
        pos = lift * u
        pos[..., 2] -= self.centre_depth_m
        if level_velocity is None:
            return pos
        lv = np.asarray(level_velocity, float)
        qdot = np.zeros_like(lv)
        qdot[..., :2] = lv[..., :2]
        # du/dt = (I − u uᵀ) q̇ / |q|;  dp/dt = ḣ u + (R + h) du/dt
        radial = np.sum(u * qdot, axis=-1, keepdims=True)
        du = (qdot - radial * u) / norm
        vel = lv[..., 2:3] * u + lift * du
        return pos, vel

    def level_from_enu(self, enu):
        """Inverse of :meth:`enu` for positions."""
        w = np.array(enu, float)
        w[..., 2] += self.centre_depth_m
        norm = np.linalg.norm(w, axis=-1)
        out = np.empty_like(w)
        out[..., 0] = self.centre_depth_m * w[..., 0] / w[..., 2]
        out[..., 1] = self.centre_depth_m * w[..., 1] / w[..., 2]
        out[..., 2] = norm - self.radius_m
        return out

    def level_from_geodetic(self, lat_deg, lon_deg, alt_m):
        """Level position of WGS-84 points: ``(x, y)`` of the ground point, ``h = alt_m``."""
        ground = LocalFrame(self.origin).enu_from_geodetic(lat_deg, lon_deg, 0.0)
        out = self.level_from_enu(ground)
        out[..., 2] = alt_m
        return out
