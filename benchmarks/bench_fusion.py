"""Fusion benchmark: rig's engine against Stone Soup on the same interchange folders.

    python benchmarks/bench_fusion.py [--duration S] [--large-duration S] [--work DIR]

Scenarios come from ``rig scenario`` (issue 3's generator): the default two-partner scenario,
the same with ``--biased`` (random range/azimuth/elevation biases, clock offsets and drift on
every sensor), and a 1,000-target scenario over eight sensors (the default's four and four
more between them). Both trackers read only what a fuser may read; both are scored by
``rig.scoring.score`` (OSPA, c = 1000 m, p = 2, 1 s grid) on their tracks sampled the same way.

Stone Soup is set up as its documentation recommends: extended Kalman predictor and updater
with a constant-velocity model, ``CartesianToElevationBearingRange`` measurement models that
carry each sensor's site offset and rotation into the origin's frame, a Mahalanobis
``DistanceHypothesiser``, ``GNNWith2DAssignment``, ``MultiMeasurementInitiator`` and an
``UpdateTimeDeleter``. Plots are given to it in the same 1 s windows as rig's engine uses,
each plot with its own timestamp. Only the tracking loops are timed.

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from rig.fusion.offline import fuse
from rig.interchange import read_interchange, read_truth, sensor_transforms
from rig.scoring import score

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_YAML = ROOT / "rig" / "scenario" / "builtin" / "default.yaml"
WINDOW_S = 1.0


# --- scenarios ---------------------------------------------------------------------------
def make_scenario(out: Path, *args: str) -> Path:
    if not (out / "plots.csv").is_file():
        subprocess.run([sys.executable, "-m", "rig", "scenario", "--out", str(out), *args],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return out


def large_yaml(path: Path) -> Path:
    """The default scenario with four more radars between the partners' (eight in all)."""
    spec = yaml.safe_load(DEFAULT_YAML.read_text())
    spec.pop("targets", None)
    extra = []
    for i, (lat, lon) in enumerate(((51.4, 20.0), (52.6, 20.6), (51.5, 22.0), (52.5, 22.4))):
        s = dict(spec["sensors"][i])
        s.update(id=f"{'AB'[i // 2]}{i + 3}", site={"lat_deg": lat, "lon_deg": lon,
                                                     "alt_m": 150.0},
                 scan_phase_s=0.5 + i)
        extra.append(s)
    spec["sensors"] = spec["sensors"] + extra
    spec["name"] = "large-8-sensors"
    path.write_text(yaml.safe_dump(spec))
    return path


# --- Stone Soup ---------------------------------------------------------------------------
def stonesoup_tracks(folder: Path, params: dict) -> tuple[pd.DataFrame, float, int]:
    """Run Stone Soup over a folder: ``(tracks at every tick, loop seconds, plots)``."""
    from scipy.optimize import least_squares
    from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
    from stonesoup.deleter.time import UpdateTimeDeleter
    from stonesoup.functions import rotx, roty, rotz
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.measurement.nonlinear import CartesianToElevationBearingRange
    from stonesoup.models.transition.linear import (CombinedLinearGaussianTransitionModel,
                                                    ConstantVelocity)
    from stonesoup.predictor.kalman import ExtendedKalmanPredictor
    from stonesoup.types.array import StateVector
    from stonesoup.types.detection import Detection
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import ExtendedKalmanUpdater

    ic = read_interchange(folder)
    M, T = sensor_transforms(ic.scenario, ic.sensors)

    def euler(target):                       # Stone Soup: R = rotx(-a) roty(b) rotz(-c)
        f = lambda a: (rotx(-a[0]) @ roty(a[1]) @ rotz(-a[2]) - target).ravel()  # noqa: E731
        return least_squares(f, np.zeros(3), xtol=1e-15, ftol=1e-15, gtol=1e-15).x

    models = []
    for s, row in enumerate(ic.sensors.itertuples(index=False)):
        models.append(CartesianToElevationBearingRange(
            ndim_state=6, mapping=(0, 2, 4),
            noise_covar=np.diag([row.sigma_el_rad ** 2, row.sigma_az_rad ** 2,
                                 row.sigma_range_m ** 2]),
            translation_offset=StateVector(T[s]), rotation_offset=StateVector(euler(M[s].T))))
    index = {sid: i for i, sid in enumerate(ic.sensors["sensor_id"])}
    plots = ic.plots
    ok = plots["sensor_id"].isin(index).to_numpy() & np.isfinite(
        plots[["t", "range_m", "azimuth_rad", "elevation_rad"]].to_numpy()).all(1)
    plots = plots[ok].sort_values("t", kind="stable")
    epoch = datetime.datetime(2000, 1, 1)
    detections = [Detection(StateVector([el, np.pi / 2 - az, r]),
                            timestamp=epoch + datetime.timedelta(seconds=float(t)),
                            measurement_model=models[index[sid]])
                  for t, sid, r, az, el in zip(plots["t"], plots["sensor_id"], plots["range_m"],
                                               plots["azimuth_rad"], plots["elevation_rad"])]
    max_scan = float(ic.sensors["scan_period_s"].max())
    transition = CombinedLinearGaussianTransitionModel([ConstantVelocity(params["q"])] * 3)
    predictor = ExtendedKalmanPredictor(transition)
    updater = ExtendedKalmanUpdater(measurement_model=None)
    hypothesiser = DistanceHypothesiser(predictor, updater, measure=Mahalanobis(),
                                        missed_distance=params["gate"])
    associator = GNNWith2DAssignment(hypothesiser)
    deleter = UpdateTimeDeleter(datetime.timedelta(seconds=params["coast_scans"] * max_scan))
    v2 = params["v_sigma"] ** 2
    initiator = MultiMeasurementInitiator(
        prior_state=GaussianState(StateVector(np.zeros(6)), np.diag([0, v2, 0, v2, 0, v2])),
        measurement_model=None,
        deleter=UpdateTimeDeleter(datetime.timedelta(seconds=2.2 * max_scan)),
        data_associator=GNNWith2DAssignment(hypothesiser), updater=updater,
        min_points=params["min_points"])

    window = np.floor(plots["t"].to_numpy() / WINDOW_S).astype(np.int64)
    bounds = np.flatnonzero(np.diff(window)) + 1
    starts = np.r_[0, bounds]
    ends = np.r_[bounds, len(window)]
    tracks, rows = set(), []
    start = time.perf_counter()
    for a, b in zip(starts, ends):
        group = set(detections[a:b])
        now = epoch + datetime.timedelta(seconds=float((window[a] + 1) * WINDOW_S))
        associations = associator.associate(tracks, group, now)
        used = set()
        for track, hypothesis in associations.items():
            if hypothesis:
                track.append(updater.update(hypothesis))
                used.add(hypothesis.measurement)
        tracks -= deleter.delete_tracks(tracks)
        tracks |= initiator.initiate(group - used, now)
        tick = (window[a] + 1) * WINDOW_S
        for track in tracks:
            rows.append((tick, id(track), track.state.timestamp, track.state.state_vector))
    elapsed = time.perf_counter() - start
    return _extrapolated(rows, epoch), elapsed, len(detections)


def _extrapolated(rows, epoch) -> pd.DataFrame:
    """Stone Soup's latest states moved at constant velocity to each tick."""
    ids = {}
    out = np.zeros((len(rows), 8))
    for i, (tick, tid, ts, x) in enumerate(rows):
        x = np.asarray(x, float).ravel()
        dt = tick - (ts - epoch).total_seconds()
        out[i] = (tick, ids.setdefault(tid, len(ids) + 1), x[0] + x[1] * dt, x[2] + x[3] * dt,
                  x[4] + x[5] * dt, x[1], x[3], x[5])
    return pd.DataFrame(out, columns=["t", "track_id", "east_m", "north_m", "up_m", "ve", "vn",
                                      "vu"]).astype({"track_id": int})


# --- rig -----------------------------------------------------------------------------------
def rig_run(folder: Path, partners=None):
    ic = read_interchange(folder)
    result = fuse(ic, partners=partners, dt_s=WINDOW_S)
    return result, len(ic.plots)


def ospa_of(folder: Path, tracks: pd.DataFrame) -> dict:
    return score(read_truth(folder / "truth.csv"), tracks).summary()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=None,
                    help="length of the default scenarios (default: the scenario's, 300 s)")
    ap.add_argument("--large-duration", type=float, default=120.0,
                    help="length of the 1,000-target scenario (default 120 s)")
    ap.add_argument("--work", default=None, help="folder for the scenarios (default: temporary)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="bench_fusion_"))
    work.mkdir(parents=True, exist_ok=True)
    dur = ["--duration", str(args.duration)] if args.duration else []
    seed = ["--seed", str(args.seed)]
    default = make_scenario(work / f"default{args.duration or ''}", *seed, *dur)
    biased = make_scenario(work / f"biased{args.duration or ''}", *seed, *dur, "--biased")
    large = make_scenario(work / f"large{args.large_duration}",
                          str(large_yaml(work / "large.yaml")), "--targets", "1000",
                          "--duration", str(args.large_duration), *seed)
    ss_params = {"q": 2.0, "gate": 4.0, "coast_scans": 2.0, "v_sigma": 350.0, "min_points": 3}

    figures = {}
    print(f"scenarios in {work}")
    rig_def, n_def = rig_run(default)
    rig_bias, _ = rig_run(biased)
    ss_def, ss_def_s, ss_n = stonesoup_tracks(default, ss_params)
    ss_bias, ss_bias_s, _ = stonesoup_tracks(biased, ss_params)
    s = {name: ospa_of(folder, tr) for name, folder, tr in (
        ("rig", default, rig_def.tracks), ("rig_biased", biased, rig_bias.tracks),
        ("stonesoup", default, ss_def), ("stonesoup_biased", biased, ss_bias))}
    partner_names = sorted(set(read_interchange(default).sensors["partner"]))
    alone = {p: ospa_of(default, rig_run(default, [p])[0].tracks) for p in partner_names}
    rig_large, n_large = rig_run(large)
    large_duration = float(read_interchange(large).scenario.duration_s)

    rig_rate = n_def / rig_def.elapsed_s
    ss_rate = ss_n / ss_def_s
    for name, summ in s.items():
        print(f"{name:18s} OSPA {summ['ospa_mean_m']:7.1f} m  RMSE {summ['position_rmse_m']:7.1f} m"
              f"  breaks {summ['track_breaks']:3d}  switches {summ['identity_switches']:3d}"
              f"  tracks {summ['tracks']:4d}")
    for p, summ in alone.items():
        print(f"rig partner {p} alone  OSPA {summ['ospa_mean_m']:7.1f} m")
    print(f"rig        {rig_rate:12.0f} plots/s ({n_def} plots in {rig_def.elapsed_s:.3f} s)")
    print(f"Stone Soup {ss_rate:12.1f} plots/s ({ss_n} plots in {ss_def_s:.1f} s)")
    print(f"large: {n_large} plots, {large_duration:.0f} s of scenario fused in "
          f"{rig_large.elapsed_s:.2f} s")
    figures = {
        "speedup_vs_stonesoup": round(rig_rate / ss_rate, 1),
        "ospa_ratio_vs_stonesoup": round(s["rig"]["ospa_mean_m"] / s["stonesoup"]["ospa_mean_m"], 3),
        "biased_ospa_ratio_vs_unbiased": round(s["rig_biased"]["ospa_mean_m"]
                                               / s["rig"]["ospa_mean_m"], 3),
        "stonesoup_biased_ospa_ratio_vs_unbiased": round(
            s["stonesoup_biased"]["ospa_mean_m"] / s["stonesoup"]["ospa_mean_m"], 3),
        "large_realtime_factor": round(large_duration / rig_large.elapsed_s, 1),
        "joint_vs_best_partner_ospa_ratio": round(
            s["rig"]["ospa_mean_m"] / min(a["ospa_mean_m"] for a in alone.values()), 3),
        "rig_plots_per_s": round(rig_rate), "stonesoup_plots_per_s": round(ss_rate, 2),
        "rig_ospa_m": round(s["rig"]["ospa_mean_m"], 1),
        "rig_biased_ospa_m": round(s["rig_biased"]["ospa_mean_m"], 1),
        "stonesoup_ospa_m": round(s["stonesoup"]["ospa_mean_m"], 1),
        "stonesoup_biased_ospa_m": round(s["stonesoup_biased"]["ospa_mean_m"], 1),
        "partner_alone_ospa_m": {p: round(a["ospa_mean_m"], 1) for p, a in alone.items()},
        "large_plots": n_large, "large_duration_s": large_duration,
        "default_duration_s": float(read_interchange(default).scenario.duration_s),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
