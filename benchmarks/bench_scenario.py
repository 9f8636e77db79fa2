"""Scenario and scoring benchmark: a 1,000-target, 8-sensor, 10-minute run.

Run: ``python benchmarks/bench_scenario.py`` (``--targets``, ``--duration`` to change the size;
``--out DIR`` also times writing the interchange folder). Measures, in this process:

- building the scenario (random and scripted truth trajectories) and sampling ``truth.csv``;
- generating every sensor's plots (beam crossings, coverage, horizon, detection, noise,
  clutter, clocks), the work behind ``rig scenario``;
- scoring a run of that size: tracks made from the truth with 150 m noise, dropouts and
  false tracks, scored by :func:`rig.scoring.score` (OSPA/GOSPA assignment at every second).

The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from rig.scenario import build_scenario, load_scenario_spec, write_scenario_folder
from rig.scoring import score
from rig.sensor_models import simulate_plots
from rig.sensor_models.spec import SiteSpec

#: Extra radars (id, partner, lat, lon) that make the default scenario's four into eight.
EXTRA_SITES = (("A3", "A", 50.60, 19.20), ("A4", "A", 53.40, 19.60),
               ("B3", "B", 50.90, 22.80), ("B4", "B", 53.50, 22.40))


def eight_sensor_spec(targets: int, duration_s: float):
    spec = load_scenario_spec("builtin")
    extra = []
    for k, (sensor_id, partner, lat, lon) in enumerate(EXTRA_SITES):
        base = spec.sensors[k]
        extra.append(base.model_copy(update={
            "id": sensor_id, "partner": partner, "scan_phase_s": 0.7 * k,
            "site": SiteSpec(lat_deg=lat, lon_deg=lon, alt_m=200.0)}))
    random = spec.random.model_copy(update={"count": targets, "crossings": targets // 50,
                                            "formations": targets // 50})
    return spec.model_copy(update={"sensors": [*spec.sensors, *extra], "random": random,
                                   "duration_s": duration_s})


def fake_tracks(truth: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Tracks from truth: 150 m noise, every 10th target dropped for a minute, 5 % false."""
    tracks = truth.rename(columns={"target_id": "track_id"}).copy()
    tracks[["east_m", "north_m", "up_m"]] += rng.normal(0.0, 150.0, (len(tracks), 3))
    tracks[["ve", "vn", "vu"]] += rng.normal(0.0, 5.0, (len(tracks), 3))
    gap = (tracks["track_id"] % 10 == 0) & (tracks["t"] > 200) & (tracks["t"] < 260)
    tracks = tracks[~gap]
    false = tracks.sample(frac=0.05, random_state=1).copy()
    false["track_id"] += 10_000_000
    false[["east_m", "north_m"]] += 20_000.0
    return pd.concat([tracks, false], ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", type=int, default=1000)
    ap.add_argument("--duration", type=float, default=600.0)
    ap.add_argument("--out", default=None, help="also write the interchange folder here")
    args = ap.parse_args()

    spec = eight_sensor_spec(args.targets, args.duration)
    t0 = time.perf_counter()
    scenario = build_scenario(spec, seed=1)
    truth = scenario.truth()
    t1 = time.perf_counter()
    plots = simulate_plots(scenario)
    t2 = time.perf_counter()
    tracks = fake_tracks(truth, np.random.default_rng(2))
    t3 = time.perf_counter()
    result = score(truth, tracks)
    t4 = time.perf_counter()
    figures = {
        "targets": len(scenario.trajectories), "sensors": len(scenario.sensors),
        "duration_s": scenario.duration_s, "truth_rows": len(truth), "plots": len(plots),
        "truth_s": round(t1 - t0, 3), "plots_s": round(t2 - t1, 3),
        "generate_s": round(t2 - t0, 3),
        "track_rows": len(tracks), "score_s": round(t4 - t3, 3),
        "score_grid_times": int(len(result.times_s)),
        "score_ospa_mean_m": round(result.summary()["ospa_mean_m"], 1),
    }
    if args.out:
        t5 = time.perf_counter()
        write_scenario_folder(scenario, args.out)
        figures["write_folder_s"] = round(time.perf_counter() - t5, 3)
    print(f"scenario: {figures['targets']} targets, {figures['sensors']} sensors, "
          f"{figures['duration_s']:g} s: truth {figures['truth_s']} s, plots "
          f"{figures['plots_s']} s ({figures['plots']} plots)")
    print(f"scoring: {figures['track_rows']} track rows against {figures['truth_rows']} truth "
          f"rows on {figures['score_grid_times']} grid times: {figures['score_s']} s")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
