"""Stone Soup set up as its documentation and a careful user would, on an interchange folder.

The baseline of ``bench_fusion.py``. It reads what a fuser may read (``sensors.csv`` without
the ground-truth columns, ``plots.csv`` without ``truth_id``) and runs Stone Soup's own
``MultiTargetTracker`` (so a track without a detection carries its prediction and deletion is
measured from the current time):

- an extended Kalman filter with a constant-velocity model per axis,
  ``ConstantVelocity(q)`` (q = 400 m²/s³ fits the manoeuvring targets of the training
  folders; see ``../shared/examples/training/README.md``);
- per sensor a ``CartesianToElevationBearingRange`` model (``...RangeRate`` for plots with a
  range rate, when ``range_rate`` is on) with the site's offset and the rotation of its own
  tangent plane, so far-apart sites are measured in their own frames;
- ``DistanceHypothesiser`` with the Mahalanobis measure (gate ``gate``) and
  ``GNNWith2DAssignment``;
- ``MultiMeasurementInitiator`` (``min_points`` updates, velocity prior ``v_sigma_mps``),
  its holding tracks deleted ``tentative_scans`` longest scan periods after their last
  update, confirmed tracks ``coast_scans`` longest scan periods after theirs (Stone Soup's
  ``UpdateTimeDeleter`` rule, checked from the newest state back: :func:`recent_update_deleter`);
- fed one sensor scan at a time in time order: the plots of one sensor that share a
  timestamp form one batch (a radar whose plots carry their own times within a scan, as
  rig's do, is fed plot by plot), so a second radar's plot of a target never competes with
  the first radar's for one track.

The tracks at every output tick are their latest states moved on at constant velocity, as
``rig fuse`` writes them. Only the tracking loop is timed, in CPU seconds.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rig.interchange import read_interchange, sensor_transforms

EPOCH = datetime.datetime(2000, 1, 1)


@dataclass(frozen=True)
class StoneSoupSettings:
    q: float = 400.0                  # m²/s³, white-noise acceleration per axis
    gate: float = 4.0                 # Mahalanobis distance
    init_gate: float = 4.0
    min_points: int = 3
    v_sigma_mps: float = 400.0
    coast_scans: float = 2.25         # confirmed: deleted this many longest scans after update
    tentative_scans: float = 1.125    # holding tracks: likewise
    tentative_steps: int = 0          # if > 0: holding tracks deleted after this many batches
                                      # without an update instead (UpdateTimeStepsDeleter)
    range_rate: bool = False          # use the range-rate model where a plot has one
    sigma_range_rate_mps: float = 2.0  # its noise where sensors.csv gives none (as rig's)


@dataclass
class StoneSoupRun:
    tracks: pd.DataFrame
    cpu_s: float
    plots: int
    batches: int
    confirmed_tracks: int
    max_live_tracks: int
    live_tracks: list = field(default_factory=list)     # live confirmed tracks per tick


def recent_update_deleter(seconds: float):
    """Stone Soup's ``UpdateTimeDeleter`` (delete a track with no update with a measurement in
    the last ``seconds``) whose check walks back from the newest state and stops at the
    window's edge: Stone Soup's own scans every state of the track at every check, which
    grows with the track's history (a prediction is appended at every batch)."""
    from stonesoup.deleter.time import UpdateTimeDeleter
    from stonesoup.types.update import Update

    class RecentUpdateTimeDeleter(UpdateTimeDeleter):
        def check_for_deletion(self, track, timestamp=None, **kwargs):
            edge = (timestamp or track.timestamp) - self.time_since_update
            for state in reversed(track.states):
                if state.timestamp < edge:
                    return True
                if isinstance(state, Update) and state.hypothesis:
                    return False
            return True

    return RecentUpdateTimeDeleter(datetime.timedelta(seconds=seconds))


def euler_angles(rotation: np.ndarray) -> np.ndarray:
    """Stone Soup's ``rotation_offset`` (a, b, c) whose matrix ``rotx(-a) roty(b) rotz(-c)``
    is ``rotation``."""
    from scipy.optimize import least_squares
    from stonesoup.functions import rotx, roty, rotz

    def residual(a):
        return (rotx(-a[0]) @ roty(a[1]) @ rotz(-a[2]) - rotation).ravel()

    return least_squares(residual, np.zeros(3), xtol=1e-15, ftol=1e-15, gtol=1e-15).x


def run_stonesoup(folder, settings: StoneSoupSettings = StoneSoupSettings(),
                  dt_s: float = 1.0) -> StoneSoupRun:
    from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
    from stonesoup.deleter.time import UpdateTimeStepsDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.measurement.nonlinear import (CartesianToElevationBearingRange,
                                                        CartesianToElevationBearingRangeRate)
    from stonesoup.models.transition.linear import (CombinedLinearGaussianTransitionModel,
                                                    ConstantVelocity)
    from stonesoup.predictor.kalman import ExtendedKalmanPredictor
    from stonesoup.tracker.simple import MultiTargetTracker
    from stonesoup.types.array import StateVector
    from stonesoup.types.detection import Detection
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import ExtendedKalmanUpdater

    ic = read_interchange(folder)
    M, T = sensor_transforms(ic.scenario, ic.sensors)
    sensors = ic.sensors
    plain, with_rate = [], []
    for s, row in enumerate(sensors.itertuples(index=False)):
        rotation = StateVector(euler_angles(M[s].T))
        offset = StateVector(T[s])
        noise = [row.sigma_el_rad ** 2, row.sigma_az_rad ** 2, row.sigma_range_m ** 2]
        plain.append(CartesianToElevationBearingRange(
            ndim_state=6, mapping=(0, 2, 4), noise_covar=np.diag(noise),
            translation_offset=offset, rotation_offset=rotation))
        sigma_rr = getattr(row, "sigma_range_rate_mps", np.nan)
        if not np.isfinite(sigma_rr):            # what rig assumes where sensors.csv is silent
            sigma_rr = settings.sigma_range_rate_mps
        with_rate.append(CartesianToElevationBearingRangeRate(
                             ndim_state=6, mapping=(0, 2, 4), velocity_mapping=(1, 3, 5),
                             noise_covar=np.diag(noise + [sigma_rr ** 2]),
                             translation_offset=offset, rotation_offset=rotation))
    index = {sid: i for i, sid in enumerate(sensors["sensor_id"])}
    plots = ic.plots
    ok = plots["sensor_id"].isin(index).to_numpy() & np.isfinite(
        plots[["t", "range_m", "azimuth_rad", "elevation_rad"]].to_numpy()).all(1)
    plots = plots[ok].sort_values("t", kind="stable").reset_index(drop=True)
    detections = []
    for t, sid, r, az, el, rr in zip(plots["t"], plots["sensor_id"], plots["range_m"],
                                     plots["azimuth_rad"], plots["elevation_rad"],
                                     plots["range_rate_mps"]):
        s = index[sid]
        when = EPOCH + datetime.timedelta(seconds=float(t))
        bearing = np.pi / 2 - az                 # Stone Soup: anticlockwise from east
        if settings.range_rate and np.isfinite(rr):
            detections.append(Detection(StateVector([el, bearing, r, rr]), timestamp=when,
                                        measurement_model=with_rate[s]))
        else:
            detections.append(Detection(StateVector([el, bearing, r]), timestamp=when,
                                        measurement_model=plain[s]))
    # batches: one sensor's plots that share a timestamp, in time order
    key = plots["sensor_id"].astype(str) + "@" + plots["t"].map(repr)
    starts = np.flatnonzero(np.r_[True, key.to_numpy()[1:] != key.to_numpy()[:-1]])
    bounds = list(zip(starts, np.r_[starts[1:], len(plots)]))

    longest_scan = float(sensors["scan_period_s"].max())
    predictor = ExtendedKalmanPredictor(CombinedLinearGaussianTransitionModel(
        [ConstantVelocity(settings.q)] * 3))
    updater = ExtendedKalmanUpdater(measurement_model=None)
    associator = GNNWith2DAssignment(DistanceHypothesiser(
        predictor, updater, measure=Mahalanobis(), missed_distance=settings.gate))
    v2 = settings.v_sigma_mps ** 2
    initiator = MultiMeasurementInitiator(
        prior_state=GaussianState(StateVector(np.zeros(6)), np.diag([0, v2, 0, v2, 0, v2])),
        measurement_model=None,
        deleter=(UpdateTimeStepsDeleter(settings.tentative_steps) if settings.tentative_steps
                 else recent_update_deleter(settings.tentative_scans * longest_scan)),
        data_associator=GNNWith2DAssignment(DistanceHypothesiser(
            predictor, updater, measure=Mahalanobis(), missed_distance=settings.init_gate)),
        updater=updater, min_points=settings.min_points)
    tracker = MultiTargetTracker(
        initiator=initiator, deleter=recent_update_deleter(settings.coast_scans * longest_scan),
        detector=None, data_associator=associator, updater=updater)

    t_plot = plots["t"].to_numpy(float)
    t_end = max(float(ic.scenario.duration_s), float(t_plot[-1]) if len(t_plot) else 0.0)
    ticks = np.arange(np.ceil((t_plot[0] if len(t_plot) else 0.0) / dt_s) * dt_s,
                      t_end + 1e-9, dt_s)
    rows, live, seen, max_live = [], [], {}, 0
    b = 0
    start = time.process_time()
    for tick in ticks:
        while b < len(bounds) and t_plot[bounds[b][0]] <= tick:
            first, last = bounds[b]
            batch = set(detections[first:last])
            tracker.update_tracker(detections[first].timestamp, batch)
            b += 1
        tracks = tracker.tracks
        max_live = max(max_live, len(tracks))
        live.append(len(tracks))
        for track in tracks:
            state = track.state
            rows.append((tick, seen.setdefault(track.id, len(seen) + 1),
                         (state.timestamp - EPOCH).total_seconds(),
                         np.asarray(state.state_vector, float).ravel()))
    while b < len(bounds):
        first, last = bounds[b]
        tracker.update_tracker(detections[first].timestamp, set(detections[first:last]))
        b += 1
    cpu = time.process_time() - start
    return StoneSoupRun(_extrapolated(rows), cpu, len(detections), len(bounds), len(seen),
                        max_live, live)


def _extrapolated(rows) -> pd.DataFrame:
    """Each tick's row: the track's latest state moved at constant velocity to the tick."""
    out = np.zeros((len(rows), 8))
    for i, (tick, tid, t_state, x) in enumerate(rows):
        dt = tick - t_state
        out[i] = (tick, tid, x[0] + x[1] * dt, x[2] + x[3] * dt, x[4] + x[5] * dt,
                  x[1], x[3], x[5])
    return pd.DataFrame(out, columns=["t", "track_id", "east_m", "north_m", "up_m", "ve",
                                      "vn", "vu"]).astype({"track_id": int})
