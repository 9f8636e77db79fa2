"""Track management of the fusion engine: initiation, confirmation, deletion and merging.

- initiation: every unassigned plot starts a tentative track at its Cartesian position, with
  velocity 0 ± ``v_initial_sigma_mps`` (two-point initiation: the second plot is gated by the
  speed that prior allows);
- confirmation: each update adds to a track's score the log likelihood ratio of its plot,
  target against clutter: ``log N(ν; 0, S) + log(pd / β)`` with ``β`` the sensor's clutter
  density in its measurement space (:func:`score_gain`). A tentative track is confirmed
  once its score reaches ``confirm_score`` (and it has ``confirm_updates`` updates): two
  plots that agree closely far from the radars, where clutter is sparse in space, confirm
  a track; near a radar, where the same clutter per scan is packed into a small volume, it
  takes more;
- deletion by missed looks: every sensor whose coverage holds the track (well inside it:
  :func:`coverage_table`) looks at it once a scan; a look with no plot for the track is a
  miss, with probability ``1 − pd`` if the target is there. Once the chance that every look
  since the track's last update missed a real target falls below
  ``delete_miss_probability`` (``tentative_miss_probability`` for a tentative track) the
  track goes: a target that vanishes under several radars is dropped within a scan or two,
  one seen by a single slow radar after a few of its scans. Only scans a sensor has
  delivered plots beyond are counted, so a sensor that falls silent deletes nothing;
- deletion by time, where no coverage says better: a tentative track after
  ``tentative_gap_scans`` of its shortest revisit period without an update, a confirmed one
  after ``coast_scans`` of its longest (the revisit periods are the scan periods of the
  sensors that updated the track within 2.5 of their scans before its last update); any
  track whose position sigma exceeds ``max_position_sigma_m``;
- deletion below the ground: a track whose position lies more than ``below_ground_m`` under
  the earth's sphere (a ballistic target that came down, where no radar sees it fall);
- merging: of two tracks that hold one target (states within ``merge_d2`` for
  ``merge_checks`` checks in a row, and never updated by one sensor in the same scan) the
  younger one is deleted (the confirmed one is kept if only one is).

Deletion and merging run after a window once ``manage_period_s`` of fusion time has passed
since they last ran (after every window when windows are that long, as offline), so a track
is deleted at most that much later than it is due and merge checks are that far apart.
"""

from __future__ import annotations

import math

import numpy as np

from rig.fusion.models import EARTH_CENTRE
from rig.geodesy import EARTH_RADIUS_M
from rig.records import TRACK_STATUS_DELETED, TRACK_STATUS_TENTATIVE

#: A look counts only where the track is well inside a sensor's coverage: slant range
#: above ``RANGE_MIN_MARGIN × range_min_m`` and below ``RANGE_MAX_MARGIN × range_max_m``,
#: elevation at least ``EL_MARGIN_RAD`` above the horizontal and below ``el_max_rad``.
RANGE_MIN_MARGIN = 1.05
RANGE_MAX_MARGIN = 0.97
EL_MARGIN_RAD = 0.0035
#: Highest detection probability a miss is charged at (a sensor claiming pd = 1 would
#: otherwise delete a track at its first miss).
PD_MAX = 0.99


def score_gain(sensors, params) -> np.ndarray:
    """Per sensor ``log(pd / β)`` for plots without and with range rate ``(S, 2)``: ``β`` is
    the sensor's clutter density in its measurement space, ``clutter_per_scan`` (at least
    ``clutter_floor_per_scan``) spread evenly over its coverage in range, azimuth and
    elevation (per m·rad², and per m/s over ``range_rate_span_mps`` for range rate; a passive
    sensor's over azimuth and elevation, per rad², in the first column)."""
    pd = np.nan_to_num(np.asarray(sensors.pd, float), nan=params.pd_unknown)
    pd = np.clip(pd, 1e-3, 1.0)
    span_m = np.maximum(sensors.range_max_m - sensors.range_min_m, 1.0)
    span_m = np.where(np.isfinite(span_m), span_m, 1e6)
    clutter = np.maximum(np.nan_to_num(sensors.clutter_per_scan), params.clutter_floor_per_scan)
    # a passive sensor's false bearings spread over azimuth and elevation only
    span_m = np.where(np.asarray(sensors.ranged) != 0, span_m, 1.0)
    log_beta = np.log(clutter / (span_m * 2.0 * np.pi * sensors.el_max_rad))
    gain = np.log(pd) - log_beta
    return np.ascontiguousarray(np.column_stack([gain, gain + np.log(params.range_rate_span_mps)]))


def coverage_table(sensors) -> np.ndarray:
    """Per sensor ``(log(1 − pd), r_lo, r_hi, el_lo, el_hi)`` for the deletion by missed looks:
    ``log(1 − pd)`` is 0 (no look counts) where ``pd`` is unknown or 0."""
    pd = np.nan_to_num(np.asarray(sensors.pd, float), nan=0.0)
    log_miss = np.log1p(-np.clip(pd, 0.0, PD_MAX))
    return np.ascontiguousarray(np.column_stack([
        log_miss, RANGE_MIN_MARGIN * sensors.range_min_m,
        RANGE_MAX_MARGIN * sensors.range_max_m, np.full(len(pd), EL_MARGIN_RAD),
        sensors.el_max_rad - EL_MARGIN_RAD]))


class TrackManager:
    """Initiation, deletion and merging of the tracks in ``store`` (one per engine, which
    reports what it sees of the sensors' time in :attr:`sensor_latest_s`)."""

    def __init__(self, store, sensors, params, kernels, model: np.ndarray, counters):
        self.store = store
        self.sensors = sensors
        self.params = params
        self.k = kernels
        self.model = model
        self.counters = counters
        self.next_id = 1
        self.partner = np.ascontiguousarray(sensors.partner, np.int64)
        self.scan_period_s = np.ascontiguousarray(sensors.scan_period_s, float)
        self.max_scan_s = float(np.max(sensors.scan_period_s)) if len(sensors) else 1.0
        self.mu_initial = np.asarray(params.mu_initial, float)
        self.coverage = coverage_table(sensors)
        self.sensor_latest_s = np.full(len(sensors), -np.inf)   # newest plot of each sensor
        self.log_miss_tentative = math.log(params.tentative_miss_probability)
        self.log_miss_confirmed = math.log(params.delete_miss_probability)
        self._t_managed_s = -np.inf        # fusion time deletion and merging last ran at
        self._merge_seen: dict[tuple[int, int], int] = {}

    def initiate(self, z, t, s, pc, R_diag, bias, *, ranged: bool = True) -> None:
        """Start a tentative track at each plot (``bias``: the registration's estimates);
        ``ranged``: the plots measured range (not crossed bearings)."""
        st, p = self.store, self.params
        rows = st.add(len(z))
        st.n_ranged[rows] = int(ranged)
        self.k.initiate(st, int(rows[0]), z, t, s, pc, R_diag, self.sensors.M, self.partner,
                        bias, self.mu_initial, self.next_id, p.v_initial_sigma_mps,
                        p.v_up_initial_sigma_mps, p.v_up_ballistic_sigma_mps)
        self.next_id += len(z)
        self.counters.tracks_initiated += len(z)

    # --- deletion and merging --------------------------------------------------------------
    def maybe_manage(self, t_s: float) -> None:
        """Deletion and merging once ``manage_period_s`` of fusion time has passed since
        they last ran (half a window of slack, so windows as long as the period always
        qualify despite rounding)."""
        p = self.params
        if t_s - self._t_managed_s > p.manage_period_s - 0.5 * p.window_s:
            self.manage(t_s)
            self._t_managed_s = t_s

    def manage(self, t_s: float) -> None:
        st, p = self.store, self.params
        rows = st.alive()
        if not len(rows):
            return
        drop = self.k.stale(st, rows, t_s, self.scan_period_s, self.max_scan_s,
                            p.tentative_gap_scans, p.coast_scans, p.max_position_sigma_m,
                            self.sensors.M, self.sensors.t, self.coverage,
                            self.sensor_latest_s, self.log_miss_tentative,
                            self.log_miss_confirmed, self.model[EARTH_CENTRE],
                            EARTH_RADIUS_M - p.below_ground_m)
        if drop.any():
            self.counters.tracks_deleted += st.delete(rows[drop.astype(bool)])
        self._merge(t_s)
        st.compact(lazy=True)

    def _merge(self, t_s: float) -> None:
        st, p = self.store, self.params
        rows = st.alive()
        seen = {}
        if len(rows) >= 2:
            a, b, _ = self.k.close_tracks(st, rows, t_s, self.model, p.coarse_gate_m,
                                          p.merge_d2)
            if len(a):
                ra, rb = rows[a], rows[b]
                ta, tb = st.sensor_t_last[ra], st.sensor_t_last[rb]
                with np.errstate(invalid="ignore"):
                    same_scan = np.any(np.abs(ta - tb) < 0.5 * self.sensors.scan_period_s,
                                       axis=1)
                for i, j in zip(ra[~same_scan], rb[~same_scan]):
                    key = (int(st.track_id[i]), int(st.track_id[j]))
                    seen[key] = self._merge_seen.get(key, 0) + 1
                    if seen[key] < p.merge_checks:
                        continue
                    if st.status[i] == TRACK_STATUS_DELETED or st.status[j] == TRACK_STATUS_DELETED:
                        continue
                    drop = j                         # the younger one
                    if st.status[i] == TRACK_STATUS_TENTATIVE and st.status[j] != TRACK_STATUS_TENTATIVE:
                        drop = i
                    st.delete([drop])
                    self.counters.tracks_merged += 1
                    self.counters.tracks_deleted += 1
        self._merge_seen = seen
