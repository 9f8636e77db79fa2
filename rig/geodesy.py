"""Geodesy: WGS-84 sites, local tangent planes, and the transforms between them.

Every radar measures in its own site's local tangent plane (east, north, up at the site);
tracks live in the ENU plane of the run's reference ``origin``. Sites hundreds of kilometres
apart do not share "north" or "up", so a plot goes site ENU -> ECEF -> origin ENU, which is
one rigid transform per site: ``p_origin = M @ p_site + t`` (:func:`site_transform`).

Geodetic to ECEF uses pymap3d. ECEF to geodetic is Heikkinen's closed form (exact, no
iteration), written out because it runs once per published picture in the real-time loop,
where pymap3d's general routine costs ~30x more for a few tracks; the tests hold it to
pymap3d. The rotations are written out because they are three lines each and run vectorised
over arrays of points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymap3d

#: WGS-84 ellipsoid: semi-major axis (m), semi-minor axis (m), first and second eccentricity
#: squared.
WGS84_A = 6_378_137.0
WGS84_B = WGS84_A * (1.0 - 1.0 / 298.257223563)
WGS84_E2 = 1.0 - (WGS84_B / WGS84_A) ** 2
WGS84_EP2 = (WGS84_A / WGS84_B) ** 2 - 1.0
#: Mean earth radius (IUGG), m: for spherical-earth height and horizon formulas.
EARTH_RADIUS_M = 6_371_008.8
#: Effective earth radius factor of the standard 4/3-earth refraction model.
K_REFRACTION = 4.0 / 3.0


@dataclass(frozen=True)
class Geodetic:
    """A WGS-84 position."""

    lat_deg: float
    lon_deg: float
    alt_m: float = 0.0

    def ecef(self) -> np.ndarray:
        return ecef_from_geodetic(self.lat_deg, self.lon_deg, self.alt_m)


def ecef_from_geodetic(lat_deg, lon_deg, alt_m) -> np.ndarray:
    """ECEF metres, shape ``(..., 3)``."""
    x, y, z = pymap3d.geodetic2ecef(np.asarray(lat_deg, float), np.asarray(lon_deg, float),
                                    np.asarray(alt_m, float))
    return np.stack([x, y, z], axis=-1)


def geodetic_from_ecef(xyz) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lat_deg, lon_deg, alt_m) of ECEF points ``(..., 3)``."""
    xyz = np.asarray(xyz, float)
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    a, b, e2, ep2 = WGS84_A, WGS84_B, WGS84_E2, WGS84_EP2
    p2 = x * x + y * y
    p = np.sqrt(p2)
    z2 = z * z
    f = 54.0 * b * b * z2
    g = p2 + (1.0 - e2) * z2 - e2 * (a * a - b * b)
    c = e2 * e2 * f * p2 / (g * g * g)
    s = np.cbrt(1.0 + c + np.sqrt(c * c + 2.0 * c))
    k = s + 1.0 + 1.0 / s
    pk = f / (3.0 * k * k * g * g)
    q = np.sqrt(1.0 + 2.0 * e2 * e2 * pk)
    r0 = (-pk * e2 * p / (1.0 + q)
          + np.sqrt(np.maximum(0.5 * a * a * (1.0 + 1.0 / q)
                               - pk * (1.0 - e2) * z2 / (q * (1.0 + q)) - 0.5 * pk * p2, 0.0)))
    d2 = (p - e2 * r0) ** 2
    u = np.sqrt(d2 + z2)
    v = np.sqrt(d2 + (1.0 - e2) * z2)
    z0 = b * b * z / (a * v)
    alt = u * (1.0 - b * b / (a * v))
    lat = np.degrees(np.arctan2(z + ep2 * z0, p))
    lon = np.degrees(np.arctan2(y, x))
    return lat, lon, alt


def enu_rotation(lat_deg: float, lon_deg: float) -> np.ndarray:
    """The 3x3 rotation from ECEF axes to the local east-north-up axes at a point."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    sl, cl, so, co = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    return np.array([
        [-so, co, 0.0],
        [-sl * co, -sl * so, cl],
        [cl * co, cl * so, sl],
    ])


class LocalFrame:
    """The ENU tangent plane at a WGS-84 point (a radar site or the run's origin)."""

    def __init__(self, where: Geodetic):
        self.where = where
        self.origin_ecef = where.ecef()
        self.rotation = enu_rotation(where.lat_deg, where.lon_deg)   # ECEF -> ENU

    def enu_from_ecef(self, xyz) -> np.ndarray:
        return (np.asarray(xyz, float) - self.origin_ecef) @ self.rotation.T

    def ecef_from_enu(self, enu) -> np.ndarray:
        return np.asarray(enu, float) @ self.rotation + self.origin_ecef

    def enu_from_geodetic(self, lat_deg, lon_deg, alt_m) -> np.ndarray:
        return self.enu_from_ecef(ecef_from_geodetic(lat_deg, lon_deg, alt_m))

    def geodetic_from_enu(self, enu) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return geodetic_from_ecef(self.ecef_from_enu(enu))


def site_transform(site: Geodetic, origin: Geodetic) -> tuple[np.ndarray, np.ndarray]:
    """``(M, t)`` with ``p_origin = M @ p_site + t`` for ENU points at ``site`` and ``origin``.

    Row vectors: ``P_origin = P_site @ M.T + t``.
    """
    s, o = LocalFrame(site), LocalFrame(origin)
    m = o.rotation @ s.rotation.T
    t = o.rotation @ (s.origin_ecef - o.origin_ecef)
    return m, t


def enu_from_polar(range_m, az_rad, el_rad) -> np.ndarray:
    """Local ENU of (slant range, azimuth clockwise from north, elevation), ``(..., 3)``."""
    range_m, az_rad, el_rad = np.broadcast_arrays(np.asarray(range_m, float),
                                                  np.asarray(az_rad, float),
                                                  np.asarray(el_rad, float))
    ground = range_m * np.cos(el_rad)
    return np.stack([ground * np.sin(az_rad), ground * np.cos(az_rad),
                     range_m * np.sin(el_rad)], axis=-1)


def polar_from_enu(enu) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(range_m, az_rad in [0, 2π), el_rad) of local ENU points ``(..., 3)``."""
    enu = np.asarray(enu, float)
    e, n, u = enu[..., 0], enu[..., 1], enu[..., 2]
    ground = np.hypot(e, n)
    return (np.sqrt(ground**2 + u**2), np.mod(np.arctan2(e, n), 2 * np.pi),
            np.arctan2(u, ground))


def height_from_elevation(range_m, el_rad, site_alt_m, k: float = 1.0):
    """Target height above the sphere from slant range and elevation (spherical earth).

    ``(R_e + h)² = r² + (R_e + h_site)² + 2 r (R_e + h_site) sin(el)`` with
    ``R_e = k · EARTH_RADIUS_M``: ``k = 1`` is the straight-line geometry of the local
    tangent plane, ``k = 4/3`` the standard refraction model.
    """
    re = k * EARTH_RADIUS_M
    rs = re + np.asarray(site_alt_m, float)
    r = np.asarray(range_m, float)
    return np.sqrt(r * r + rs * rs + 2.0 * r * rs * np.sin(el_rad)) - re


def elevation_from_height(range_m, height_m, site_alt_m, k: float = 1.0):
    """Inverse of :func:`height_from_elevation` (NaN where no elevation fits)."""
    re = k * EARTH_RADIUS_M
    rs = re + np.asarray(site_alt_m, float)
    rt = re + np.asarray(height_m, float)
    r = np.asarray(range_m, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = (rt * rt - r * r - rs * rs) / (2.0 * r * rs)
        return np.where(np.abs(s) <= 1.0, np.arcsin(np.clip(s, -1.0, 1.0)), np.nan)
