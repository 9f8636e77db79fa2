"""NumPy twin of ``ext/fusion_prepare.pyx`` (``rig._ext.fusion_prepare``): the same kernels
with the same arguments and results (to rounding), the equations written out. The
conventions of the arrays are in :mod:`rig.fusion.reference`."""

from __future__ import annotations

import numpy as np

__all__ = ("screen", "next_window", "prepare")


#: Why a plot is not used, by the code :func:`screen` gives (code − 1 indexes this).
SCREEN_REASONS = ("unknown sensor", "not a number", "negative range", "elevation beyond ±90°",
                  "out of sequence", "time far ahead", "azimuth outside 0–360°")


def screen(plots, clock, ranged, oldest_s, newest_s):
    """Per plot of a ``PLOT_DTYPE`` array: 0 to use it, else the 1-based number of the first
    of :data:`SCREEN_REASONS` that applies; and the latest registered time of the plots kept
    (−inf if none). ``clock (S,)``: each sensor's clock offset, so the registered time is
    ``t = t_sensor − clock[sensor]``; ``ranged (S,)``: 1 for a sensor that measures range
    (the range of a passive sensor's plot is not read: its plots are angle-only); out of
    sequence: ``t < oldest_s``; time far ahead: ``t > newest_s``."""
    n = len(plots)
    code = np.zeros(n, np.uint8)
    known = plots["sensor_id"] < len(clock)
    has_range = np.zeros(n, bool)
    has_range[known] = ranged[plots["sensor_id"][known]] != 0
    checks = (
        ~known,
        ~(np.isfinite(plots["t_sensor"]) & np.isfinite(plots["az_rad"])
          & np.isfinite(plots["el_rad"]))
        | (has_range & (~np.isfinite(plots["range_m"]) | np.isinf(plots["range_rate_mps"]))),
        has_range & (plots["range_m"] < 0),
        np.abs(plots["el_rad"]) > np.pi / 2,
    )
    for c, bad in enumerate(checks, 1):
        code[(code == 0) & bad] = c
    code[(code == 0) & ((plots["az_rad"] < 0) | (plots["az_rad"] > 2 * np.pi))] = 7
    ok = code == 0
    t = np.full(n, np.nan)
    t[ok] = plots["t_sensor"][ok] - clock[plots["sensor_id"][ok]]
    code[ok & (t < oldest_s)] = 5
    code[(code == 0) & (t > newest_s)] = 6
    keep = code == 0
    return code, float(t[keep].max()) if keep.any() else -np.inf


def next_window(pending, clock, window_s, horizon_s):
    """The next window of ``pending`` plots (PLOT_DTYPE, sorted by ``t_sensor``; registered
    time ``t_sensor − clock[sensor]``): ``(end, cut, inside, n_inside)``. The window ends at
    the first multiple of ``window_s`` after the earliest registered time (and at least one
    window after ``horizon_s``); only the first ``cut`` plots can fall before ``end`` (the
    clocks differ by at most their spread), ``inside (cut,)`` marks those that do."""
    W = window_s
    c_lo, c_hi = float(clock.min()), float(clock.max())
    ts = pending["t_sensor"]
    head = pending[:np.searchsorted(ts, ts[0] + (c_hi - c_lo), side="right")]
    first = float(np.min(head["t_sensor"] - clock[head["sensor_id"]]))
    end = np.floor(first / W) * W + W
    if np.isfinite(horizon_s):
        end = max(end, horizon_s + W)
    cut = int(np.searchsorted(ts, end + c_hi, side="right"))
    inside = (ts[:cut] - clock[pending["sensor_id"][:cut]] < end).astype(np.uint8)
    return float(end), cut, inside, int(inside.sum())


def prepare(plots, bias, bias_var, sensor_R_diag, ranged, M, t_site, coarse_gate_m):
    """Registered plots of a ``PLOT_DTYPE`` array: ``(z, t, sensor, p, radius, R_diag,
    var_clock)``; ``sensor_R_diag (S,4)`` holds each sensor's variances of range, az, el and
    range rate; ``ranged (S,)`` as for :func:`screen`.

    z = (range − b_r, az − b_az, el − b_el, range rate);  t = t_sensor − b_clock;  R = σ² + var(b);
    p = M enu(z) + t_site (Cartesian, origin ENU, for the pre-gate only);
    radius = coarse_gate_m + 4 max(σ_r, r σ_az, r σ_el).
    A passive sensor's plot is angle-only: range and range rate NaN, ``p`` its site and an
    infinite radius (a bearing passes the pre-gate of every track).
    """
    n = len(plots)
    s = plots["sensor_id"].astype(np.int64)
    b = bias[s]
    passive = ranged[s] == 0
    z = np.stack([np.where(passive, np.nan, plots["range_m"] - b[:, 0]),
                  plots["az_rad"] - b[:, 1], plots["el_rad"] - b[:, 2],
                  np.where(passive, np.nan, plots["range_rate_mps"])], 1) if n \
        else np.zeros((0, 4))
    t = plots["t_sensor"] - b[:, 3]
    R_diag = sensor_R_diag[s].copy()
    R_diag[:, :3] += bias_var[s, :3]
    var_clock = bias_var[s, 3].copy()
    p = np.zeros((n, 3))
    radius = np.zeros(n)
    for i in range(n):
        if passive[i]:
            p[i] = t_site[s[i]]
            radius[i] = np.inf
            continue
        r, az, el = z[i, :3]
        loc = np.array([r * np.cos(el) * np.sin(az), r * np.cos(el) * np.cos(az), r * np.sin(el)])
        p[i] = M[s[i]] @ loc + t_site[s[i]]
        radius[i] = coarse_gate_m + 4.0 * max(np.sqrt(R_diag[i, 0]), r * np.sqrt(R_diag[i, 1]),
                                              r * np.sqrt(R_diag[i, 2]))
    return z, np.asarray(t, float), s, p, radius, R_diag, var_clock
