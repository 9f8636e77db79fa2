"""New tracks from passive sensors: crossing two sensors' bearings.

A passive (angle-only) sensor's plot is a line of sight from its site; one bearing says
nothing of the range, so it cannot start a track. The bearings no track took wait here for
``triangulation_max_dt_s``; a new one is crossed with every waiting bearing of another
passive sensor at another site. Two lines of sight cross where they pass closest: the
crossing is taken when

- both points lie in front of their sensors and within their ``range_max_m``,
- the lines meet at an angle of at least ``triangulation_min_angle_deg`` (shallower, the
  range along either line is ill determined),
- they pass within a miss distance explained by the angular noise at those ranges and the
  target's motion between the two times: ``d² ≤ triangulation_gate_d2 · σ²`` with
  ``σ² = (r_a σ_a)² + (r_b σ_b)² + (v_max Δt)²``.

Each bearing joins at most one crossing, the closest-fitting first (greedy on d²/σ²). The
crossing becomes a plot of the newer bearing's sensor, with the range to the crossing and
the range's variance from the other line's lateral uncertainty over the sine of the angle
between them; it starts a tentative track like a radar plot.

Ghosts: with two sensors and several targets every pair of bearings that cross in coverage
is consistent, and both real targets and ghosts start tracks. The engine confirms a track
whose updates all came from passive sensors only once ``passive_confirm_sensors`` different
sensors have updated it (a third line of sight through the same point, or any radar plot,
tells a target from a ghost); with fewer, such tracks stay tentative and are never
published.
"""

from __future__ import annotations

import math

import numpy as np


def lines_of_sight(z: np.ndarray, s: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Unit vectors in the origin's ENU axes of bearings ``z (n,4)`` (azimuth, elevation in
    columns 1, 2) of sensors ``s`` with site rotations ``M``."""
    az, el = z[:, 1], z[:, 2]
    local = np.stack([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)], 1)
    return np.einsum("nij,nj->ni", M[s], local)


def closest_approach(o_a, u_a, o_b, u_b):
    """Distances ``(s_a, s_b)`` along unit lines ``o + s u`` to their points of closest
    approach, the miss distance, and the sine of the angle between them (all ``(n,)``)."""
    w = o_a - o_b
    b = np.einsum("ij,ij->i", u_a, u_b)
    d = np.einsum("ij,ij->i", u_a, w)
    e = np.einsum("ij,ij->i", u_b, w)
    den = np.maximum(1.0 - b * b, 1e-12)
    s_a = (b * e - d) / den
    s_b = (e - b * d) / den
    miss = np.linalg.norm(w + s_a[:, None] * u_a - s_b[:, None] * u_b, axis=1)
    return s_a, s_b, miss, np.sqrt(den)


class BearingPool:
    """Bearings no track took, waiting to be crossed with another passive sensor's."""

    def __init__(self, sensors, params):
        self.M = sensors.M
        self.site = sensors.t
        self.range_max = np.where(np.isfinite(sensors.range_max_m), sensors.range_max_m, 1e6)
        self.sigma = np.hypot(sensors.sigma_az_rad, sensors.sigma_el_rad)
        self.max_dt_s = params.triangulation_max_dt_s
        self.sin_min = math.sin(math.radians(params.triangulation_min_angle_deg))
        self.gate_d2 = params.triangulation_gate_d2
        self.speed_max = params.triangulation_speed_mps
        self.z = np.zeros((0, 4))
        self.t = np.zeros(0)
        self.s = np.zeros(0, np.int64)
        self.R = np.zeros((0, 4))
        self.crossings = 0          # tracks started from crossed bearings

    def cross(self, z, t, s, R_diag):
        """Cross the new bearings ``z, t, s, R_diag`` with the waiting ones (and each other);
        returns the crossings as plots ``(z, t, s, R_diag, pc)`` of the newer bearing's
        sensor; the bearings not crossed wait (the oldest leave after ``max_dt_s``)."""
        z_all = np.concatenate([self.z, z])
        t_all = np.concatenate([self.t, t])
        s_all = np.concatenate([self.s, s])
        R_all = np.concatenate([self.R, R_diag])
        n_old = len(self.t)
        a, b = self._candidates(t_all, s_all, n_old)
        taken = np.zeros(len(t_all), bool)
        out = []
        if len(a):
            u = lines_of_sight(z_all, s_all, self.M)
            o = self.site[s_all]
            r_a, r_b, miss, sin_g = closest_approach(o[a], u[a], o[b], u[b])
            dt = np.abs(t_all[a] - t_all[b])
            var = ((r_a * self.sigma[s_all[a]]) ** 2 + (r_b * self.sigma[s_all[b]]) ** 2
                   + (self.speed_max * dt) ** 2)
            ok = ((r_a > 0) & (r_b > 0) & (r_a <= self.range_max[s_all[a]])
                  & (r_b <= self.range_max[s_all[b]]) & (sin_g >= self.sin_min)
                  & (miss * miss <= self.gate_d2 * var))
            for i in np.flatnonzero(ok)[np.argsort((miss * miss / var)[ok], kind="stable")]:
                if taken[a[i]] or taken[b[i]]:
                    continue
                taken[a[i]] = taken[b[i]] = True
                out.append(self._plot(i, a, b, r_a, r_b, sin_g, dt, z_all, t_all, s_all,
                                      R_all, o, u))
        keep = ~taken & (t_all >= t_all.max() - self.max_dt_s) if len(t_all) else taken
        self.z, self.t, self.s, self.R = z_all[keep], t_all[keep], s_all[keep], R_all[keep]
        self.crossings += len(out)
        if not out:
            return None
        return tuple(np.array(c) for c in zip(*out))

    def _candidates(self, t, s, n_old):
        """Pairs ``(a, b)``, ``a`` a new bearing, ``b`` an older or new one of another
        sensor at another site, within ``max_dt_s``."""
        n = len(t)
        a, b = np.meshgrid(np.arange(n_old, n), np.arange(n), indexing="ij")
        a, b = a.ravel(), b.ravel()
        pick = ((b < a) & (s[a] != s[b]) & (np.abs(t[a] - t[b]) <= self.max_dt_s)
                & (np.linalg.norm(self.site[s[a]] - self.site[s[b]], axis=1) > 1.0))
        return a[pick], b[pick]

    def _plot(self, i, a, b, r_a, r_b, sin_g, dt, z, t, s, R, o, u):
        """The crossing ``i`` as a plot of the newer bearing's sensor."""
        new, other = (a[i], b[i]) if t[a[i]] >= t[b[i]] else (b[i], a[i])
        r_new, r_other = (r_a[i], r_b[i]) if new == a[i] else (r_b[i], r_a[i])
        point = 0.5 * (o[a[i]] + r_a[i] * u[a[i]] + o[b[i]] + r_b[i] * u[b[i]])
        lateral = r_other * self.sigma[s[other]] + self.speed_max * dt[i]
        zz = z[new].copy()
        zz[0] = np.linalg.norm(point - o[new])
        zz[3] = np.nan
        RR = R[new].copy()
        RR[0] = (lateral / sin_g[i]) ** 2 + (r_new * self.sigma[s[new]]) ** 2
        return zz, t[new], s[new], RR, point
