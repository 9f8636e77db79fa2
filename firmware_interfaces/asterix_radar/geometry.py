"""Elevation and I048/110 height of a radar plot: the spherical-earth model of the CAT048 codec.

A plot's elevation is the geometric elevation in the radar site's local tangent plane (straight
lines, no refraction); I048/110 carries the target's height above mean sea level. On a sphere of
radius ``R = 6 371 008.8 m`` (IUGG mean earth radius) with the radar at height ``h_s``, a target
at slant range ``r`` and elevation ``el`` is at height ``h`` with

    (R + h)² = r² + (R + h_s)² + 2 r (R + h_s) sin(el)

(the law of cosines in the triangle earth centre, radar, target; the angle at the radar is
90° + el). Its inverse gives the elevation from the height:

    sin(el) = ((R + h)² − r² − (R + h_s)²) / (2 r (R + h_s))

The sphere stands in for the geoid: the model is exact for a spherical earth and differs from
an ellipsoidal one by far less than the 25 ft (7.62 m) unit of I048/110 at radar ranges. Heights
are quantised to 25 ft on the wire, so the elevation a receiver recovers is as good as
``7.62 m / (2 r cos(el))`` rad: about 38 µrad at 100 km, and poor at short range.

``ext/asterix048.pyx`` implements the same two formulas in C; tests hold them together.
"""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_M = 6_371_008.8
HEIGHT_UNIT_M = 25 * 0.3048
HEIGHT_MIN_M = -8192 * HEIGHT_UNIT_M
HEIGHT_MAX_M = 8191 * HEIGHT_UNIT_M


def height_from_elevation(range_m, el_rad, site_alt_m):
    """Target height above the sphere (m) from slant range, elevation and the site's height."""
    rs = EARTH_RADIUS_M + np.asarray(site_alt_m, float)
    r = np.asarray(range_m, float)
    return np.sqrt(r * r + rs * rs + 2.0 * r * rs * np.sin(el_rad)) - EARTH_RADIUS_M


def elevation_from_height(range_m, height_m, site_alt_m):
    """Elevation (rad) of a target at ``height_m`` and slant range ``range_m``; NaN where no
    elevation fits (or the range is zero)."""
    rs = EARTH_RADIUS_M + np.asarray(site_alt_m, float)
    rt = EARTH_RADIUS_M + np.asarray(height_m, float)
    r = np.asarray(range_m, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = (rt * rt - r * r - rs * rs) / (2.0 * r * rs)
        ok = (r > 0) & (np.abs(s) <= 1.0)
        return np.where(ok, np.arcsin(np.clip(s, -1.0, 1.0)), np.nan)
