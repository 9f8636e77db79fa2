"""Where a radar can see: the radar horizon over a 4/3 earth, and detection probability."""

from __future__ import annotations

import numpy as np

from rig.geodesy import EARTH_RADIUS_M, K_REFRACTION, elevation_from_height


def line_of_sight(range_m, target_height_m, site_alt_m, k: float = K_REFRACTION):
    """True where a straight ray over a sphere of radius ``k·R`` joins site and target.

    With refraction modelled by the effective earth radius ``k·R`` the ray is straight; it
    leaves the site at the elevation that reaches the target's height at that slant range
    (:func:`rig.geodesy.elevation_from_height`). A ray that starts upwards never meets the
    sphere; one that starts downwards is blocked when it dips below the sphere before it
    reaches the target: its closest approach to the centre, ``r_s·cos(el)``, lies
    ``−r_s·sin(el)`` along the ray.
    """
    re = k * EARTH_RADIUS_M
    rs = re + np.asarray(site_alt_m, float)
    el = elevation_from_height(range_m, target_height_m, site_alt_m, k)
    with np.errstate(invalid="ignore"):
        clear = (el >= 0.0) | (rs * np.cos(el) >= re) | (-rs * np.sin(el) >= range_m)
    return clear & np.isfinite(el)


def horizon_range_m(site_alt_m: float, target_height_m: float, k: float = K_REFRACTION) -> float:
    """Longest slant range of line of sight between the two heights (tangent ray)."""
    re = k * EARTH_RADIUS_M
    return float(np.sqrt((re + site_alt_m) ** 2 - re * re)
                 + np.sqrt((re + target_height_m) ** 2 - re * re))


def swerling1_snr(pd: float, pfa: float) -> float:
    """Mean signal-to-noise ratio (linear) at which a Swerling-1 target is detected with
    probability ``pd``: ``pd = pfa^(1/(1+snr))`` (square-law detector, one pulse)."""
    pd = min(max(pd, 1e-12), 1.0 - 1e-12)
    return max(np.log(pfa) / np.log(pd) - 1.0, 1e-9)


def swerling1_pd(snr, pfa: float):
    return pfa ** (1.0 / (1.0 + np.asarray(snr, float)))
