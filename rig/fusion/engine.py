"""The fusion engine: every partner's plots in, one air picture out.

Plots are held back for ``hold_back_s`` (late arrivals), registered (sensor biases and clock
offsets removed, :mod:`rig.fusion.registration`), and fused in time windows of ``window_s``.
In a window every plot is gated against every live track (Mahalanobis, in the radar's polar
space); global nearest neighbour (:mod:`rig.fusion.association`) gives each plot at most one
track and each track at most one plot *per sensor*, so several sensors' plots of one target
in one window all update it, one after the other in time order (IMM-EKF,
:mod:`rig.fusion.models`); the remaining plots start tentative tracks. A plot older than the
processed horizon by more than ``oos_tolerance_s`` is counted as out of sequence and not
used; one later than its window but within tolerance is fused by retrodiction (prediction
over a negative time step).

Track management (initiation, confirmation, deletion, merging): :mod:`rig.fusion.management`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import chi2

from rig.errors import ConfigError
from rig.fusion import kernels_ref
from rig.fusion.association import assign
from rig.fusion.management import TrackManagement
from rig.fusion.models import N_MODELS, model_vector
from rig.fusion.params import FusionParams
from rig.fusion.registration import Registration
from rig.fusion.sensors import SensorTable
from rig.fusion.store import TrackStore
from rig.geodesy import Geodetic
from rig.records import (PLOT_DTYPE, TRACK_STATUS_COASTING, TRACK_STATUS_CONFIRMED,
                         TRACK_STATUS_TENTATIVE, empty_tracks)

try:
    from rig._ext import fusion_kernels as compiled_kernels
except ImportError:          # pragma: no cover - a source tree without the build
    compiled_kernels = None


@dataclass
class FusionCounters:
    """What the engine did with its input, since it was made."""

    plots_in: int = 0
    plots_used: int = 0                      # updated a track or started one
    rejected: dict = field(default_factory=dict)   # reason -> count
    out_of_sequence: int = 0
    tracks_initiated: int = 0
    tracks_confirmed: int = 0
    tracks_deleted: int = 0
    tracks_merged: int = 0
    windows: int = 0
    nis_sum: float = 0.0                      # normalised innovations² of confirmed tracks
    nis_count: int = 0
    nis_dof: int = 0                          # their degrees of freedom (3 or 4 each)
    numeric_failures: int = 0                 # plots not used: a covariance lost definiteness

    @property
    def nis_per_dof(self) -> float:
        """Mean NIS per degree of freedom of confirmed tracks' updates (1 if consistent)."""
        return self.nis_sum / self.nis_dof if self.nis_dof else float("nan")

    @property
    def plots_rejected(self) -> int:
        return sum(self.rejected.values()) + self.out_of_sequence

    def as_dict(self) -> dict:
        return {"plots_in": self.plots_in, "plots_used": self.plots_used,
                "plots_rejected": self.plots_rejected,
                "rejected": dict(self.rejected, **({"out of sequence": self.out_of_sequence}
                                                   if self.out_of_sequence else {})),
                "tracks_initiated": self.tracks_initiated,
                "tracks_confirmed": self.tracks_confirmed,
                "tracks_deleted": self.tracks_deleted, "tracks_merged": self.tracks_merged,
                "windows": self.windows, "nis_per_dof": self.nis_per_dof}


def plot_problems(plots: np.ndarray, n_sensors: int) -> tuple[np.ndarray, dict[str, int]]:
    """``(ok, reasons)`` for a PLOT_DTYPE array, each bad plot under its first reason."""
    checks = {
        "unknown sensor": plots["sensor_id"] >= n_sensors,
        "not a number": ~(np.isfinite(plots["t_sensor"]) & np.isfinite(plots["range_m"])
                          & np.isfinite(plots["az_rad"]) & np.isfinite(plots["el_rad"]))
                        | np.isinf(plots["range_rate_mps"]),
        "negative range": plots["range_m"] < 0,
        "elevation beyond ±90°": np.abs(plots["el_rad"]) > np.pi / 2,
    }
    ok = np.ones(len(plots), bool)
    reasons = {}
    for reason, bad in checks.items():
        bad = bad & ok
        if bad.any():
            reasons[reason] = int(bad.sum())
        ok &= ~bad
    return ok, reasons


class FusionEngine(TrackManagement):
    """Centralised plot-level fusion of many sensors at sites anywhere on the earth.

    ``process(plots)`` takes PLOT_DTYPE arrays as they arrive (``t_sensor`` on each sensor's
    own clock, ``sensor_id`` an index into ``sensors``); ``tracks(t)`` gives the confirmed
    tracks extrapolated to ``t``; ``registration()`` the sensor bias and clock estimates;
    ``counters`` what happened. Identical input gives identical output, bit for bit.
    """

    def __init__(self, origin: Geodetic, sensors: SensorTable,
                 params: FusionParams | None = None, *, kernels=None):
        self.origin = origin
        self.sensors = sensors
        self.params = params or FusionParams()
        self.k = kernels or compiled_kernels or kernels_ref
        self.model = model_vector(self.params, origin.alt_m)
        self.store = TrackStore(len(sensors))
        self.reg = Registration(sensors.M, sensors.t, sensors.R_diag, self.params)
        self.counters = FusionCounters()
        sigma_rr = np.where(np.isfinite(sensors.sigma_range_rate_mps),
                            sensors.sigma_range_rate_mps, self.params.sigma_range_rate_mps)
        self._R_diag = np.ascontiguousarray(np.c_[sensors.R_diag, sigma_rr ** 2])
        g = self.params.gate_d2
        self._gate_d2 = np.array([g, chi2.ppf(chi2.cdf(g, 3), 4)])
        self._pending = np.zeros(0, PLOT_DTYPE)
        self._horizon_s = -np.inf          # every window ending at or before this is done
        self._latest_s = -np.inf
        self._next_id = 1
        self._merge_seen: dict[tuple[int, int], int] = {}
        self._pairs: list = []                 # plot pairs waiting for registration
        self._t_registered = -np.inf
        max_scan = float(np.max(sensors.scan_period_s)) if len(sensors) else 1.0
        self._max_scan_s = max_scan
        self._coasting_after_s = max_scan + self.params.window_s
        if len(self.params.mu_initial) != N_MODELS or abs(sum(self.params.mu_initial) - 1) > 1e-9:
            raise ConfigError("mu_initial must be 4 probabilities that sum to 1")

    # --- input -----------------------------------------------------------------------------
    def process(self, plots: np.ndarray) -> None:
        """Take newly arrived plots; fuse every window older than the hold-back."""
        if plots.dtype != PLOT_DTYPE:
            raise TypeError(f"plots must have dtype rig.records.PLOT_DTYPE, not {plots.dtype}")
        self.counters.plots_in += len(plots)
        ok, reasons = plot_problems(plots, len(self.sensors))
        for reason, count in reasons.items():
            self.counters.rejected[reason] = self.counters.rejected.get(reason, 0) + count
        plots = plots[ok]
        if len(plots):
            t = plots["t_sensor"] - self.reg.b[plots["sensor_id"], 3]
            late = t < self._horizon_s - self.params.oos_tolerance_s
            self.counters.out_of_sequence += int(late.sum())
            plots, t = plots[~late], t[~late]
            if np.isfinite(self._latest_s):
                ahead = t > self._latest_s + self.params.max_time_jump_s
                if ahead.any():
                    self.counters.rejected["time far ahead"] = (
                        self.counters.rejected.get("time far ahead", 0) + int(ahead.sum()))
                    plots, t = plots[~ahead], t[~ahead]
            if len(plots):
                self._latest_s = max(self._latest_s, float(t.max()))
                merged = np.concatenate([self._pending, plots])
                self._pending = merged[np.argsort(merged["t_sensor"], kind="stable")]
        self._run_until(self._latest_s - self.params.hold_back_s)

    def flush(self, until_s: float | None = None) -> None:
        """Fuse every held-back window that ends by ``until_s`` (all of them if None)."""
        self._run_until(np.inf if until_s is None else until_s)

    # --- output ----------------------------------------------------------------------------
    def tracks(self, t: float, *, include_tentative: bool = False) -> np.ndarray:
        """Confirmed (and coasting) tracks extrapolated to ``t``, as a TRACK_DTYPE array."""
        st = self.store
        rows = st.alive()
        if not include_tentative:
            rows = rows[st.status[rows] != TRACK_STATUS_TENTATIVE]
        out = empty_tracks(len(rows))
        if not len(rows):
            return out
        xs, Ps = self.k.predict(st.x, st.P, st.mu, st.t, rows, float(t), self.model)
        out["track_id"] = st.track_id[rows]
        status = st.status[rows].copy()
        confirmed = status != TRACK_STATUS_TENTATIVE
        status[confirmed & (t - st.t_last[rows] > self._coasting_after_s)] = TRACK_STATUS_COASTING
        out["status"] = status
        out["n_updates"] = st.n_updates[rows]
        out["partners"] = st.partners[rows]
        out["t"] = t
        for j, name in enumerate(("east", "north", "up", "v_east", "v_north", "v_up")):
            out[name] = xs[:, j]
        out["covariance"] = Ps
        out["partner_t_last"] = st.partner_t_last[rows]
        return out

    def registration(self) -> np.ndarray:
        """Per sensor: bias and clock-offset estimates with their sigmas (REGISTRATION_DTYPE)."""
        return self.reg.table(self.sensors.names)

    @property
    def horizon_s(self) -> float:
        """Fusion time up to which every plot has been fused."""
        return self._horizon_s

    # --- the windows -----------------------------------------------------------------------
    def _run_until(self, until_s: float) -> None:
        W = self.params.window_s
        while len(self._pending):
            clock = self.reg.b[:, 3]
            ts = self._pending["t_sensor"]
            spread = float(clock.max() - clock.min())
            head = self._pending[:np.searchsorted(ts, ts[0] + spread, side="right")]
            first = float(np.min(head["t_sensor"] - clock[head["sensor_id"]]))
            end = np.floor(first / W) * W + W
            if np.isfinite(self._horizon_s):
                end = max(end, self._horizon_s + W)
            if end > until_s:
                break
            cut = np.searchsorted(ts, end + float(clock.max()), side="right")
            head = self._pending[:cut]
            take = np.flatnonzero(head["t_sensor"] - clock[head["sensor_id"]] < end)
            keep = np.ones(len(self._pending), bool)
            keep[take] = False
            plots = head[take]
            self._pending = self._pending[keep]
            self._window(plots, end)
            self._horizon_s = end
        if not len(self._pending) and np.isfinite(until_s):
            end = np.floor(until_s / W) * W
            if end > self._horizon_s:
                self._manage(end)
                self._horizon_s = end

    def _window(self, plots: np.ndarray, end_s: float) -> None:
        """Fuse one window: gate all plots against all live tracks, assign (each plot to at
        most one track, each track at most one plot per sensor), update in time order,
        register, start tentative tracks from the rest, then delete and merge."""
        self.counters.windows += 1
        if len(plots):
            st, p = self.store, self.params
            if not p.use_range_rate:
                plots = plots.copy()
                plots["range_rate_mps"] = np.nan
            z, t, s, pc, radius, R_diag, var_clock = self.k.prepare(
                plots, self.reg.b, self._reg_var(), self._R_diag, self.sensors.M, self.sensors.t,
                p.coarse_gate_m)
            chosen_p = chosen_k = np.zeros(0, np.int64)
            rows = st.alive()
            if len(rows):
                n = st.n
                mu = st.mu[:n]
                xc = np.einsum("nk,nkd->nd", mu, st.x[:n])
                sig_pos = np.sqrt(np.einsum("nk,nkii->n", mu, st.P[:n, :, :3, :3]))
                sig_vel = np.sqrt(np.einsum("nk,nkii->n", mu, st.P[:n, :, 3:, 3:]))
                pair_p, pair_k, _, cost = self.k.gate(
                    st.x, st.P, st.mu, st.t, rows, np.ascontiguousarray(xc[:, :3]),
                    np.ascontiguousarray(xc[:, 3:]), sig_pos, sig_vel, z, t, s, pc, radius,
                    R_diag, var_clock, self.sensors.M, self.sensors.t, self.model,
                    self._gate_d2)
                # a track takes at most one plot from each sensor: columns are (track, sensor)
                chosen_p, col = assign(pair_p, pair_k * len(self.sensors) + s[pair_p], cost)
                chosen_k = col // len(self.sensors)
            if len(chosen_p):
                order = np.lexsort((chosen_p, t[chosen_p]))
                self._update(chosen_p[order], chosen_k[order], z, t, s, R_diag, var_clock)
            new = np.ones(len(z), bool)
            new[chosen_p] = False
            if new.any():
                self._initiate(z[new], t[new], s[new], pc[new], R_diag[new])
            self.counters.plots_used += len(z)
        self._manage(end_s)

    def _reg_var(self) -> np.ndarray:
        """Variances of the registration estimates, added to each plot's R."""
        return self.reg.var if self.params.registration_on else np.zeros_like(self.reg.b)

    def _update(self, chosen_p, chosen_k, z, t, s, R_diag, var_clock) -> None:
        st, p = self.store, self.params
        t_plot = t[chosen_p]
        sensor = s[chosen_p]
        z_raw = z[chosen_p, :3] + self.reg.b[sensor, :3]       # as measured
        t_raw = t_plot + self.reg.b[sensor, 3]
        if p.registration_on:
            pairs = self._registration_pairs(chosen_k, sensor, z_raw, t_raw, t_plot)
        _, _, _, d2, ok = self.k.update(st.x, st.P, st.mu, st.t, chosen_p, chosen_k, z, t, s,
                                        R_diag, var_clock, self.sensors.M, self.sensors.t,
                                        self.model)
        if not ok.all():                       # innovation covariance not positive definite
            self.counters.numeric_failures += int((ok == 0).sum())
            ok = ok.astype(bool)
            chosen_p, chosen_k, t_plot, sensor, z_raw, t_raw, d2 = (
                a[ok] for a in (chosen_p, chosen_k, t_plot, sensor, z_raw, t_raw, d2))
        confirmed = st.status[chosen_k] == TRACK_STATUS_CONFIRMED
        self.counters.nis_sum += float(d2[confirmed].sum())
        self.counters.nis_count += int(confirmed.sum())
        self.counters.nis_dof += int(np.where(np.isnan(z[chosen_p, 3]), 3, 4)[confirmed].sum())
        partner = self.sensors.partner[sensor]
        np.add.at(st.n_updates, chosen_k, 1)
        np.fmax.at(st.t_last, chosen_k, t_plot)
        np.bitwise_or.at(st.sensors, chosen_k, np.left_shift(np.uint64(1), sensor.astype(np.uint64)))
        np.bitwise_or.at(st.partners, chosen_k, np.left_shift(np.uint32(1), partner.astype(np.uint32)))
        st.sensor_t_last[chosen_k, sensor] = t_plot
        st.sensor_z_raw[chosen_k, sensor] = z_raw
        st.sensor_t_raw[chosen_k, sensor] = t_raw
        np.fmax.at(st.partner_t_last, (chosen_k, partner), t_plot)
        promote = np.unique(chosen_k[(st.status[chosen_k] == TRACK_STATUS_TENTATIVE)
                                     & (st.n_updates[chosen_k] >= p.confirm_updates)])
        st.status[promote] = TRACK_STATUS_CONFIRMED
        self.counters.tracks_confirmed += len(promote)
        if p.registration_on:
            self._pairs.append(pairs)
            t_now = float(t_plot.max())
            if not t_now - self._t_registered < p.register_every_s:
                batch = [np.concatenate(a) for a in zip(*self._pairs)]
                self.reg.update(t_now, *batch)
                self._pairs, self._t_registered = [], t_now

    def _registration_pairs(self, chosen_k, sensor, z_raw, t_raw, t_plot):
        """Plot pairs for registration: this window's plot of sensor s on a confirmed track
        and the last plot of every other sensor r on it within ``register_max_dt_s``."""
        st, p = self.store, self.params
        good = ((st.status[chosen_k] == TRACK_STATUS_CONFIRMED)
                & (st.n_updates[chosen_k] >= p.register_min_updates))
        with np.errstate(invalid="ignore"):
            near = np.abs(t_plot[:, None] - st.sensor_t_last[chosen_k]) <= p.register_max_dt_s
        near[np.arange(len(sensor)), sensor] = False
        i, r = np.nonzero(near & good[:, None])
        k = chosen_k[i]
        mu = st.mu[k]
        v = np.einsum("mk,mkd->md", mu, st.x[k, :, 3:])
        P_v = np.einsum("mk,mkij->mij", mu, st.P[k, :, 3:, 3:])
        return (sensor[i], r, z_raw[i], st.sensor_z_raw[k, r], t_raw[i], st.sensor_t_raw[k, r],
                v, P_v)
