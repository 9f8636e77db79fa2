"""The radar model: from truth trajectories to the plots a rotating radar reports.

:meth:`RadarModel.plots` gives, for true times ``[t0, t1)``, every plot of one radar as a
:data:`SIM_PLOT_DTYPE` array sorted by report time:

1. *Beam crossings.* The antenna points north at ``phase + k·T`` and turns clockwise. A
   target is looked at when ``f(t) = (t − phase)/T − az(t)/2π`` crosses an integer (``az``
   unwrapped along the target's path); ``f`` is sampled on a grid finer than half a scan and
   each crossing time found by linear interpolation, then the exact truth is taken there.
2. *Coverage.* The target exists, its slant range is within ``[range_min_m, range_max_m]``,
   its elevation at most ``el_max_rad``, and it is above the 4/3-earth radar horizon.
3. *Detection* with probability ``pd`` (constant, or Swerling 1 falling with range⁴).
4. *Measurement* in the measuring frame: the site's own tangent plane (``wgs84``) or the
   origin's ENU axes at the site (``flat``): geometric slant range, azimuth and elevation plus
   bias plus Gaussian noise; range rate ``(p − s)·v / r`` plus noise when measured. The
   reported elevation is geometric (the refraction model only decides what is visible), so a
   noise-free plot converted back with :mod:`rig.geodesy` lands exactly on the truth.
5. *Clutter*: Poisson per scan, uniform in range, azimuth and elevation over the coverage,
   stamped when the beam passes its azimuth.
6. *Clock and transport*: ``t_sensor = t + offset + drift·1e-6·t``; reported at
   ``t + latency + U(0, jitter)``.

A passive sensor (``kind: passive``) goes through the same steps (its revisit period timed as
the beam, the same coverage, line of sight and detection) but measures azimuth and elevation
only: range and range rate are NaN in its plots and in its false bearings (step 5, uniform in
azimuth and elevation); no range noise or bias is drawn for it.
"""

from __future__ import annotations

import math

import numpy as np

from rig.geodesy import Geodetic, height_from_elevation, polar_from_enu, site_transform

from .coverage import line_of_sight, swerling1_pd, swerling1_snr
from .spec import RadarSpec

SIM_PLOT_DTYPE = np.dtype([
    ("t_true_s", "f8"),          # true detection time, s since the scenario start
    ("t_sensor_s", "f8"),        # the sensor's clock at detection
    ("t_report_s", "f8"),        # true time the plot leaves the sensor (after latency)
    ("range_m", "f8"),           # NaN from a passive sensor
    ("az_rad", "f8"),
    ("el_rad", "f8"),
    ("range_rate_mps", "f8"),    # NaN when not measured
    ("amplitude_db", "f4"),
    ("truth_id", "i8"),          # target id, -1 for clutter
])

#: Range rate of clutter plots is uniform within ± this.
CLUTTER_RANGE_RATE_MPS = 300.0
#: Evaluations of truth per batch while looking for beam crossings (bounds memory).
_BATCH = 400_000


class RadarModel:
    """One radar or passive sensor of a scenario; ``frame`` is the measuring frame
    (``wgs84`` or ``flat``)."""

    def __init__(self, spec: RadarSpec, origin: Geodetic, *, frame: str = "wgs84"):
        if frame not in ("wgs84", "flat"):
            raise ValueError(f"frame must be 'wgs84' or 'flat', not {frame!r}")
        self.spec = spec
        self.frame = frame
        self.site_rotation, self.site_enu_m = site_transform(spec.site.geodetic(), origin)
        self.measure_rotation = self.site_rotation if frame == "wgs84" else np.eye(3)
        self.scan_period_s = spec.scan_period_s
        self.scan_phase_s = spec.scan_phase_s
        self._snr_ref = swerling1_snr(spec.pd, spec.pfa)

    # --- geometry --------------------------------------------------------------------------
    def to_site(self, pos_enu):
        """Origin-ENU points as vectors in the site's own tangent plane."""
        return (np.asarray(pos_enu, float) - self.site_enu_m) @ self.site_rotation

    def to_measuring(self, pos_enu):
        """Origin-ENU points as vectors in the measuring frame."""
        return (np.asarray(pos_enu, float) - self.site_enu_m) @ self.measure_rotation

    def covered(self, range_m, el_site_rad, alive=True):
        """In range, under the elevation limit and above the radar horizon."""
        s = self.spec
        height = height_from_elevation(range_m, el_site_rad, s.site.alt_m)
        return (np.asarray(alive) & (range_m >= s.range_min_m) & (range_m <= s.range_max_m)
                & (el_site_rad <= s.el_max_rad) & line_of_sight(range_m, height, s.site.alt_m))

    def mean_snr(self, range_m):
        """Mean signal-to-noise ratio (linear), scaled from the reference range by range⁻⁴."""
        r = np.maximum(np.asarray(range_m, float), 1.0)
        return self._snr_ref * (self.spec.reference_range_m / r) ** 4

    def detection_probability(self, range_m):
        if self.spec.pd_model == "constant":
            return np.full(np.shape(range_m), self.spec.pd)
        return swerling1_pd(self.mean_snr(range_m), self.spec.pfa)

    # --- plots -------------------------------------------------------------------------------
    def beam_crossings(self, traj, t0_s: float, t1_s: float):
        """``(target index, true time)`` of every beam crossing in ``[t0_s, t1_s)``."""
        period, phase = self.scan_period_s, self.scan_phase_s
        step = min(2.0, period / 2.0)
        live = np.flatnonzero((traj.t_start_s <= t1_s + step) & (traj.t_end_s >= t0_s - step))
        n_grid = int(math.ceil((t1_s - t0_s) / step)) + 3
        grid = t0_s - step + step * np.arange(n_grid)
        rows = max(1, _BATCH // n_grid)
        found_idx, found_t = [], []
        for a in range(0, len(live), rows):
            idx = live[a:a + rows]
            pos, _, _ = traj.state(np.repeat(idx, n_grid), np.tile(grid, len(idx)))
            d = self.to_measuring(pos)
            az = np.unwrap(np.arctan2(d[:, 0], d[:, 1]).reshape(len(idx), n_grid), axis=1)
            f = (grid - phase) / period - az / (2.0 * np.pi)
            fl = np.floor(f)
            i, j = np.nonzero(fl[:, 1:] != fl[:, :-1])
            k = np.maximum(fl[i, j], fl[i, j + 1])
            alpha = (k - f[i, j]) / (f[i, j + 1] - f[i, j])
            t = grid[j] + np.clip(alpha, 0.0, 1.0) * step
            keep = (t >= t0_s) & (t < t1_s)
            found_idx.append(idx[i[keep]])
            found_t.append(t[keep])
        if not found_idx:
            return np.zeros(0, np.int64), np.zeros(0)
        return np.concatenate(found_idx), np.concatenate(found_t)

    def target_plots(self, traj, t0_s: float, t1_s: float, rng: np.random.Generator):
        s = self.spec
        idx, t = self.beam_crossings(traj, t0_s, t1_s)
        pos, vel, height = traj.state(idx, t)
        alive = traj.alive(idx, t, height)
        site = self.to_site(pos)
        r = np.linalg.norm(site, axis=-1)
        el_site = np.arcsin(np.clip(site[:, 2] / np.maximum(r, 1e-9), -1.0, 1.0))
        seen = self.covered(r, el_site, alive)
        seen &= rng.random(len(r)) < self.detection_probability(r)
        idx, t, pos, vel, r = idx[seen], t[seen], pos[seen], vel[seen], r[seen]
        n = len(idx)
        _, az, el = polar_from_enu(self.to_measuring(pos))
        out = np.zeros(n, SIM_PLOT_DTYPE)
        out["t_true_s"] = t
        if s.measures_range:
            out["range_m"] = r + s.range_bias_m + rng.normal(0.0, s.sigma_range_m, n)
        else:
            out["range_m"] = np.nan
        out["az_rad"] = np.mod(az + s.az_bias_rad + rng.normal(0.0, s.sigma_az_rad, n), 2 * np.pi)
        out["el_rad"] = el + s.el_bias_rad + rng.normal(0.0, s.sigma_el_rad, n)
        if s.measures_range_rate:
            rate = np.sum((pos - self.site_enu_m) * vel, axis=-1) / np.maximum(r, 1e-9)
            out["range_rate_mps"] = rate + rng.normal(0.0, s.sigma_range_rate_mps, n)
        else:
            out["range_rate_mps"] = np.nan
        snr = self.mean_snr(r) * rng.exponential(1.0, n)
        out["amplitude_db"] = np.clip(10.0 * np.log10(np.maximum(snr, 1e-3)), -30.0, 100.0)
        out["truth_id"] = traj.target_id[idx]
        return out

    def clutter_plots(self, t0_s: float, t1_s: float, rng: np.random.Generator):
        s = self.spec
        period, phase = self.scan_period_s, self.scan_phase_s
        k = np.arange(math.floor((t0_s - phase) / period), math.ceil((t1_s - phase) / period) + 1)
        counts = rng.poisson(s.clutter_per_scan, len(k))
        scan = np.repeat(k, counts)
        n = len(scan)
        az = rng.uniform(0.0, 2 * np.pi, n)
        t = phase + (scan + az / (2 * np.pi)) * period
        out = np.zeros(n, SIM_PLOT_DTYPE)
        out["t_true_s"] = t
        out["range_m"] = (rng.uniform(s.range_min_m, s.range_max_m, n) if s.measures_range
                          else np.nan)
        out["az_rad"] = az
        out["el_rad"] = rng.uniform(0.0, s.el_max_rad, n)
        out["range_rate_mps"] = (rng.uniform(-CLUTTER_RANGE_RATE_MPS, CLUTTER_RANGE_RATE_MPS, n)
                                 if s.measures_range_rate else np.nan)
        threshold_db = 10.0 * np.log10(-np.log(s.pfa))
        out["amplitude_db"] = threshold_db + rng.exponential(1.0, n)
        out["truth_id"] = -1
        return out[(t >= t0_s) & (t < t1_s)]

    def plots(self, traj, t0_s: float, t1_s: float, rng: np.random.Generator) -> np.ndarray:
        """Every plot detected at true times in ``[t0_s, t1_s)``, sorted by report time."""
        s = self.spec
        out = np.concatenate([self.target_plots(traj, t0_s, t1_s, rng),
                              self.clutter_plots(t0_s, t1_s, rng)])
        t = out["t_true_s"]
        out["t_sensor_s"] = t + s.clock_offset_s + s.clock_drift_ppm * 1e-6 * t
        out["t_report_s"] = t + s.latency_s + rng.uniform(0.0, s.latency_jitter_s, len(out))
        return out[np.lexsort((t, out["t_report_s"]))]
