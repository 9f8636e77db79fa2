"""The fusion engine: every partner's plots in, one air picture out.

Plots are held back for ``hold_back_s`` (late arrivals), registered (sensor biases and clock
offsets removed, :mod:`rig.fusion.registration`), and fused in time windows of ``window_s``.
In a window every plot is gated against every live track (Mahalanobis, in the radar's polar
space, against the IMM's moment-matched prediction and each probable model's own);
global nearest neighbour (:mod:`rig.fusion.association`) on the IMM's likelihood gives each
plot at most one track and each track at most one plot *per sensor*, so several sensors'
plots of one target in one window all update it, one after the other in time order
(IMM-EKF, :mod:`rig.fusion.models`); the remaining plots start tentative tracks in rounds,
so that several radars' plots of a new target start one track. A plot older than the
processed horizon by more than ``oos_tolerance_s`` is counted as out of sequence and not
used; one later than its window but within tolerance is fused by retrodiction (prediction
over a negative time step).

Track management (initiation, confirmation, deletion, merging): :mod:`rig.fusion.management`;
deletion and merging run after a window at most every ``manage_period_s`` of fusion time.

The real-time loop calls ``process(plots, until_s=now)`` once per cycle (one pass over the
windows that have ended) and then ``tracks_updated(t)`` (only the tracks its plots updated are
predicted). Everything per window and per track runs in the compiled kernels
(one module per step, :mod:`rig.fusion.kernels`, each held to its NumPy twin in
:mod:`rig.fusion.reference`);
what stays in Python is a fixed handful of calls per window, so a cycle's cost hardly depends
on how many plots and tracks it holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy.stats import chi2

from rig.errors import ConfigError
from rig.fusion import kernels as fusion_kernels
from rig.fusion.association import assign
from rig.fusion.management import TrackManager, score_gain
from rig.fusion.models import N_MODELS, model_vector
from rig.fusion.params import FusionParams
from rig.fusion.partner_tracks import PartnerTrackFusion
from rig.fusion.reference.prepare import SCREEN_REASONS
from rig.fusion.registration import Registration
from rig.fusion.sensor_table import SensorTable
from rig.fusion.store import TrackStore
from rig.fusion.triangulation import BearingPool
from rig.geodesy import Geodetic
from rig.records import (MAX_PARTNERS, PLOT_DTYPE, TRACK_DTYPE, TRACK_STATUS_TENTATIVE,
                         empty_tracks)


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


class Prepared(NamedTuple):
    """A window's plots registered and ready for gating (the kernel ``prepare``), one row per
    plot: measurement ``z`` (range, azimuth, elevation, range rate), time ``t`` on the fusion
    clock, sensor ``s``, Cartesian position ``pc`` and pre-gate ``radius``, noise variances
    ``R_diag`` and the clock offset's variance ``var_clock``."""

    z: np.ndarray
    t: np.ndarray
    s: np.ndarray
    pc: np.ndarray
    radius: np.ndarray
    R_diag: np.ndarray
    var_clock: np.ndarray

    def subset(self, idx: np.ndarray) -> "Prepared":
        return Prepared(*(np.ascontiguousarray(a[idx]) for a in self))


def pair_buffer(capacity: int) -> tuple:
    """Arrays for ``capacity`` registration pairs: ``(s, r, z_s, z_r, t_s, t_r, v, P_v)``."""
    return (np.zeros(capacity, np.int64), np.zeros(capacity, np.int64),
            np.zeros((capacity, 3)), np.zeros((capacity, 3)), np.zeros(capacity),
            np.zeros(capacity), np.zeros((capacity, 3)), np.zeros((capacity, 3, 3)))


class FusionEngine:
    """Centralised plot-level fusion of many sensors at sites anywhere on the earth.

    ``process(plots)`` takes PLOT_DTYPE arrays as they arrive (``t_sensor`` on each sensor's
    own clock, ``sensor_id`` an index into ``sensors``); ``tracks(t)`` gives the confirmed
    tracks extrapolated to ``t``; ``registration()`` the sensor bias and clock estimates;
    ``counters`` what happened. Identical input gives identical output, bit for bit.
    """

    def __init__(self, origin: Geodetic, sensors: SensorTable,
                 params: FusionParams | None = None, *, kernels=None,
                 track_partners: tuple[str, ...] = ()):
        self.origin = origin
        self.sensors = sensors
        self.params = params or FusionParams()
        self.k = kernels or fusion_kernels.default()
        self.kernels_name = self.k.name
        self.model = model_vector(self.params, origin.alt_m)
        self.store = TrackStore(len(sensors), kernels=self.k)
        self.reg = Registration(sensors.M, sensors.t, sensors.R_diag, self.params,
                                kernels=self.k)
        self.counters = FusionCounters()
        sigma_rr = np.where(np.isfinite(sensors.sigma_range_rate_mps),
                            sensors.sigma_range_rate_mps, self.params.sigma_range_rate_mps)
        self._R_diag = np.ascontiguousarray(np.c_[sensors.R_diag, sigma_rr ** 2])
        g = self.params.gate_d2
        self._gate_d2 = np.array([chi2.ppf(chi2.cdf(g, 3), 2), g, chi2.ppf(chi2.cdf(g, 3), 4)])
        self._ranged = sensors.ranged
        self._passive = int(sum(1 << i for i in np.flatnonzero(sensors.ranged == 0)))
        self.bearings = BearingPool(sensors, self.params)
        #: partners of the picture: those of the sensors, then those that share tracks only
        self.partner_names = tuple(sensors.partner_names) + tuple(
            p for p in dict.fromkeys(track_partners) if p not in sensors.partner_names)
        if len(self.partner_names) > MAX_PARTNERS:
            raise ConfigError(f"{len(self.partner_names)} partners; at most {MAX_PARTNERS}")
        self.partner_tracks = PartnerTrackFusion(self)
        self.manager = TrackManager(self.store, sensors, self.params, self.k, self.model,
                                    self.counters)
        self._pending = np.zeros(0, PLOT_DTYPE)
        self._horizon_s = -np.inf          # every window ending at or before this is done
        self._latest_s = -np.inf
        self._interrupted = False
        self._pairs = pair_buffer(1024)       # plot pairs waiting for registration
        self._n_pairs = 0
        self._zero_var = None
        self._t_registered = -np.inf
        self._no_pairs = np.zeros(0, np.int64)
        self._coasting_after_s = self.manager.max_scan_s + self.params.window_s
        self._score_gain = score_gain(sensors, self.params)
        if len(self.params.mu_initial) != N_MODELS or abs(sum(self.params.mu_initial) - 1) > 1e-9:
            raise ConfigError("mu_initial must be 4 probabilities that sum to 1")

    # --- input -----------------------------------------------------------------------------
    def process(self, plots: np.ndarray, until_s: float | None = None) -> None:
        """Take newly arrived plots; fuse every window older than the hold-back and, given
        ``until_s``, every window that ends by then: ``process(p, until_s=u)`` is
        ``process(p); flush(u)`` in one pass over the windows (the real-time loop's call)."""
        if plots.dtype != PLOT_DTYPE:
            raise TypeError(f"plots must have dtype rig.records.PLOT_DTYPE, not {plots.dtype}")
        self.counters.plots_in += len(plots)
        if len(plots):
            p = self.params
            newest = (self._latest_s + p.max_time_jump_s if math.isfinite(self._latest_s)
                      else math.inf)
            code, t_max = self.k.screen(plots, self.reg.b[:, 3], self._ranged,
                                        self._horizon_s - p.oos_tolerance_s, newest)
            if code.any():
                self._count_rejected(code)
                plots = plots[code == 0]
            if len(plots):
                self._latest_s = max(self._latest_s, t_max)
                s = plots["sensor_id"].astype(np.intp)
                np.maximum.at(self.manager.sensor_latest_s, s,
                              plots["t_sensor"] - self.reg.b[s, 3])
                merged = np.concatenate([self._pending, plots]) if len(self._pending) else plots
                self._pending = merged[np.argsort(merged["t_sensor"], kind="stable")]
        until = self._latest_s - self.params.hold_back_s
        self._run_until(until if until_s is None else max(until, until_s))

    def _count_rejected(self, code: np.ndarray) -> None:
        counts = np.bincount(code, minlength=len(SCREEN_REASONS) + 1)
        for c, reason in enumerate(SCREEN_REASONS, 1):
            if not counts[c]:
                continue
            if reason == "out of sequence":
                self.counters.out_of_sequence += int(counts[c])
            else:
                self.counters.rejected[reason] = (self.counters.rejected.get(reason, 0)
                                                  + int(counts[c]))

    def flush(self, until_s: float | None = None) -> None:
        """Fuse every held-back window that ends by ``until_s`` (all of them if None)."""
        self._run_until(np.inf if until_s is None else until_s)

    # --- output ----------------------------------------------------------------------------
    def tracks(self, t: float, *, include_tentative: bool = False,
               rows: np.ndarray | None = None) -> np.ndarray:
        """Confirmed (and coasting) tracks extrapolated to ``t``, as a TRACK_DTYPE array;
        only the store ``rows`` given (from :meth:`track_rows`) if any."""
        st = self.store
        if rows is None:
            rows = self.track_rows(include_tentative=include_tentative)
        if not len(rows):
            return empty_tracks(0)
        out = np.zeros(len(rows), TRACK_DTYPE)         # fill_tracks writes every field
        self.k.fill_tracks(out, st, rows, float(t), self.model, self._coasting_after_s)
        return out

    def tracks_updated(self, t: float) -> np.ndarray:
        """The confirmed (and coasting) tracks updated since the last call, or confirmed
        since, extrapolated to ``t`` (the real-time loop's per-cycle updates); only those
        are predicted."""
        return self.tracks(t, rows=self.k.updated_rows(self.store, self.store.alive()))

    def track_rows(self, *, include_tentative: bool = False) -> np.ndarray:
        """Store rows of the tracks :meth:`tracks` gives, in its order (track ids rise
        along it); ``store.track_id[rows]`` and ``store.n_updates[rows]`` tell them apart."""
        st = self.store
        rows = st.alive()
        if not include_tentative:
            rows = rows[st.status[rows] != TRACK_STATUS_TENTATIVE]
        return rows

    def process_tracks(self, tracks: np.ndarray) -> None:
        """Fuse a track-level partner's validated tracks (PARTNER_TRACK_DTYPE of
        :mod:`rig.fusion.track_input`, ``partner`` an index into :attr:`partner_names`) into
        the picture (:mod:`rig.fusion.partner_tracks`: covariance intersection at first
        contact, information de-correlation afterwards)."""
        bad = tracks["partner"] >= len(self.partner_names)
        if bad.any():
            raise ConfigError(f"partner track of partner index {int(tracks['partner'][bad][0])}: "
                              f"the engine knows {len(self.partner_names)} partners")
        self.partner_tracks.take(tracks)

    def clock_offsets_s(self) -> np.ndarray:
        """Each sensor's estimated clock offset, s (its clock minus fusion time), relative to
        the sensors' average."""
        return self.reg.b[:, 3]

    def registration(self) -> np.ndarray:
        """Per sensor: bias and clock-offset estimates with their sigmas (REGISTRATION_DTYPE)."""
        return self.reg.table(self.sensors.names)

    @property
    def horizon_s(self) -> float:
        """Fusion time up to which every plot has been fused."""
        return self._horizon_s

    def interrupt(self) -> None:
        """Stop fusing at the next window boundary, for good (safe from a signal handler):
        a run asked to stop ends within a window however much input is waiting; the plots
        not fused stay in ``pending_plots``."""
        self._interrupted = True

    @property
    def pending_plots(self) -> int:
        """Plots taken but not fused yet (held back, or left by :meth:`interrupt`)."""
        return len(self._pending)

    # --- the windows -----------------------------------------------------------------------
    def _run_until(self, until_s: float) -> None:
        W = self.params.window_s
        while len(self._pending) and not self._interrupted:
            pending = self._pending
            end, cut, inside, n_inside = self.k.next_window(pending, self.reg.b[:, 3], W,
                                                            self._horizon_s)
            if end > until_s:
                break
            if n_inside == cut:
                plots, self._pending = pending[:cut], pending[cut:]
            else:
                inside = inside.astype(bool)
                keep = np.ones(len(pending), bool)
                keep[:cut] = ~inside
                plots, self._pending = pending[:cut][inside], pending[keep]
            self._window(plots, end)
            self._horizon_s = end
        if not len(self._pending) and math.isfinite(until_s) and not self._interrupted:
            end = math.floor(until_s / W) * W
            if end > self._horizon_s:
                self.manager.maybe_manage(end)
                self._horizon_s = end

    def _window(self, plots: np.ndarray, end_s: float) -> None:
        """Fuse one window: gate all plots against all live tracks, assign (each plot to at
        most one track, each track at most one plot per sensor), update in time order,
        register, start tentative tracks from the rest (:meth:`_initiate_window`), then
        delete and merge (at most every ``manage_period_s``)."""
        self.counters.windows += 1
        if len(plots):
            st, p = self.store, self.params
            if not p.use_range_rate:
                plots = plots.copy()
                plots["range_rate_mps"] = np.nan
            w = Prepared(*self.k.prepare(plots, self.reg.b, self._reg_var(), self._R_diag,
                                         self._ranged, self.sensors.M, self.sensors.t,
                                         p.coarse_gate_m))
            used = self._associate(st.alive(), np.arange(len(w.z)), w)
            new = np.ones(len(w.z), bool)
            new[used] = False
            if new.any():
                idx = np.flatnonzero(new)
                bearing = np.isnan(w.z[idx, 0])
                if bearing.any():
                    self._triangulate(idx[bearing], w)
                    idx = idx[~bearing]
                if len(idx):
                    self._initiate_window(idx, w)
            self.counters.plots_used += len(w.z)
        self.manager.maybe_manage(end_s)

    def _associate(self, rows, idx, w: "Prepared") -> np.ndarray:
        """Gate the window's plots ``idx`` against the tracks of store ``rows``, assign (each
        plot to at most one track, each track at most one plot per sensor) and update in
        time order; returns the plots used."""
        if not len(rows) or not len(idx):
            return self._no_pairs
        st, S = self.store, len(self.sensors)
        pos, vel, sig_pos, sig_vel = self.k.moments(st.x, st.P, st.mu, st.n)
        g = w if len(idx) == len(w.z) else w.subset(idx)
        pair_p, pair_k, _, cost = self.k.gate(
            st.x, st.P, st.mu, st.t, rows, pos, vel, sig_pos, sig_vel, *g,
            self.sensors.M, self.sensors.t, self.model, self._gate_d2,
            self.params.model_gate_weight)
        # a track takes at most one plot from each sensor: columns are (track, sensor)
        chosen_p, col = assign(pair_p, pair_k * S + g.s[pair_p], cost, kernels=self.k)
        if not len(chosen_p):
            return self._no_pairs
        chosen_p = idx[chosen_p]
        chosen_k = col // S
        order = np.lexsort((chosen_p, w.t[chosen_p]))
        self._update(chosen_p[order], chosen_k[order], w)
        return chosen_p

    def _initiate_window(self, idx, w: "Prepared") -> None:
        """Start tentative tracks from the window's unassigned plots ``idx``, in rounds: the
        plots with no earlier plot of another scan near them (the kernel ``first_plots``) start
        tracks; the others are gated against those tracks and update them (several radars'
        plots of a new target make one track, not one each); what is left goes round
        again."""
        idx = idx[np.argsort(w.t[idx], kind="stable")]
        while len(idx):
            first = self.k.first_plots(idx, w.pc, w.t, w.s, w.radius, self.manager.scan_period_s,
                                       self.params.initiation_speed_max_mps).astype(bool)
            seeds, rest = idx[first], idx[~first]
            row0 = self.store.n
            self.manager.initiate(w.z[seeds], w.t[seeds], w.s[seeds], w.pc[seeds],
                                  w.R_diag[seeds], self.reg.b)
            if not len(rest):
                return
            rows = np.arange(row0, self.store.n, dtype=np.int64)
            used = self._associate(rows, rest, w)
            keep = np.ones(len(rest), bool)
            keep[np.isin(rest, used)] = False
            idx = rest[keep]

    def _triangulate(self, idx, w: "Prepared") -> None:
        """Bearings no track took: crossed with other passive sensors' waiting bearings
        (:mod:`rig.fusion.triangulation`); each crossing starts a tentative track."""
        crossed = self.bearings.cross(w.z[idx], w.t[idx], w.s[idx], w.R_diag[idx])
        if crossed is not None:
            z, t, s, R_diag, pc = crossed
            self.manager.initiate(z, t, s, pc, R_diag, self.reg.b, ranged=False)

    def _hold_unproven(self, rows) -> int:
        """Back to tentative: the tracks of ``rows`` (just confirmed) that bearings helped
        confirm without enough else: fewer than ``confirm_updates`` plots with a range and
        fewer than ``passive_confirm_sensors`` passive sensors (two lines of sight cross at
        every pair of targets: a ghost, or a ghost and one clutter plot, must not confirm);
        returns how many."""
        st, p = self.store, self.params
        passive = np.uint64(self._passive)
        mask = st.sensors[rows] & passive
        hold = rows[(mask != 0) & (st.n_ranged[rows] < p.confirm_updates)
                    & (np.bitwise_count(mask) < p.passive_confirm_sensors)]
        st.status[hold] = TRACK_STATUS_TENTATIVE
        return len(hold)

    def _reg_var(self) -> np.ndarray:
        """Variances of the registration estimates, added to each plot's R."""
        if self.params.registration_on:
            return self.reg.var
        if self._zero_var is None:
            self._zero_var = np.zeros_like(self.reg.b)
        return self._zero_var

    def _update(self, chosen_p, chosen_k, w: "Prepared") -> None:
        st, p = self.store, self.params
        z, t, s = w.z, w.t, w.s
        if p.registration_on:                  # plot pairs for registration, before updates
            self._take_pairs(chosen_p, chosen_k, z, t, s)
            self.reg.accumulate(*(a[:self._n_pairs] for a in self._pairs))
            self._n_pairs = 0
        if self._passive:
            tentative_before = st.status[chosen_k] == TRACK_STATUS_TENTATIVE
        _, _, _, d2, ll, ok = self.k.update(st.x, st.P, st.mu, st.t, chosen_p, chosen_k, z, t,
                                            s, w.R_diag, w.var_clock, self.sensors.M,
                                            self.sensors.t, self.model)
        if not ok.all():                       # innovation covariance not positive definite
            self.counters.numeric_failures += int((ok == 0).sum())
        nis_sum, nis_count, nis_dof, promoted, t_now = self.k.record_updates(
            st, chosen_p, chosen_k, ok, d2, ll, z, t, s, self.manager.partner, self.reg.b,
            self._score_gain, p.confirm_updates, p.confirm_score, p.confirm_span_s)
        c = self.counters
        c.nis_sum += nis_sum
        c.nis_count += nis_count
        c.nis_dof += nis_dof
        if self._passive:
            ranged = ok.astype(bool) & ~np.isnan(z[chosen_p, 0])
            np.add.at(st.n_ranged, chosen_k[ranged], 1)
            if promoted:
                now = chosen_k[tentative_before & (st.status[chosen_k] != TRACK_STATUS_TENTATIVE)]
                promoted -= self._hold_unproven(np.unique(now))
        c.tracks_confirmed += promoted
        if p.registration_on and t_now > -np.inf \
                and not t_now - self._t_registered < p.register_every_s:
            self.reg.solve(t_now)
            self._t_registered = t_now

    def _take_pairs(self, chosen_p, chosen_k, z, t, s) -> None:
        """Append this window's plot pairs for registration to the buffer (grown when full)."""
        p = self.params
        while True:
            end = self.k.registration_pairs(self.store, chosen_p, chosen_k, z, t, s,
                                            self.reg.b, p.register_min_updates,
                                            p.register_max_dt_s, self._pairs, self._n_pairs)
            if end <= len(self._pairs[0]):
                self._n_pairs = end
                return
            grown = pair_buffer(max(2 * len(self._pairs[0]), end))
            for new, old in zip(grown, self._pairs):
                new[:self._n_pairs] = old[:self._n_pairs]
            self._pairs = grown
