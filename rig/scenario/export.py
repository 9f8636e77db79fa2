"""A scenario as an offline interchange folder (docs/architecture.md), in the ``wgs84`` or ``flat`` frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rig.geodesy import site_transform
from rig.interchange import SENSOR_TRUTH_COLUMNS, write_interchange
from rig.progress import Stages, silent
from rig.sensor_models.simulate import simulate_plots

from .build import Scenario

_MODEL_COLUMNS = ("scan_period_s", "scan_phase_s", "sigma_range_m", "sigma_az_rad",
                  "sigma_el_rad", "pd", "clutter_per_scan", "range_min_m", "range_max_m",
                  "el_max_rad", "kind")


def sensors_table(scenario: Scenario, frame: str = "wgs84") -> pd.DataFrame:
    """``sensors.csv`` rows: site in the frame's terms, model parameters (``kind``; an empty
    ``sigma_range_m`` for a passive sensor without one), and the emulation's ground truth
    (biases, clock offset and drift)."""
    rows = []
    for s in scenario.sensors:
        row = {"sensor_id": s.id, "partner": s.partner}
        if frame == "wgs84":
            row.update(lat_deg=s.site.lat_deg, lon_deg=s.site.lon_deg, alt_m=s.site.alt_m)
        else:
            _, t = site_transform(s.site.geodetic(), scenario.origin)
            row.update(east_m=t[0], north_m=t[1], up_m=t[2])
        row.update({c: getattr(s, c) for c in _MODEL_COLUMNS})
        if row["sigma_range_m"] is None:
            row["sigma_range_m"] = np.nan
        row.update({c: getattr(s, c) for c in SENSOR_TRUTH_COLUMNS})
        rows.append(row)
    return pd.DataFrame(rows)


def write_scenario_folder(scenario: Scenario, folder: str | Path, frame: str = "wgs84",
                          *, truth_dt_s: float | None = None,
                          progress: Stages | None = None) -> dict:
    """Write ``scenario.json, sensors.csv, truth.csv, plots.csv``; returns counts.
    ``progress`` shows each stage: truth, each sensor's plots, the rows written."""
    progress = progress or silent()
    progress.stage("truth trajectories")
    truth = scenario.truth(truth_dt_s)
    progress.stage("simulating plots", total=len(scenario.sensors), unit="sensors")
    plots = simulate_plots(scenario, frame=frame, progress=progress)
    if not any(s.measures_range_rate for s in scenario.sensors):
        plots = plots.drop(columns="range_rate_mps")
    write_interchange(folder, scenario.info(frame), sensors_table(scenario, frame), truth, plots,
                      progress=progress)
    per_sensor = plots.groupby("sensor_id")["truth_id"]
    return {
        "folder": str(folder), "frame": frame, "duration_s": scenario.duration_s,
        "seed": scenario.seed, "targets": int(len(scenario.trajectories)),
        "truth_rows": int(len(truth)), "plots": int(len(plots)),
        "plots_per_sensor": {str(k): int(v) for k, v in per_sensor.size().items()},
        "clutter_plots": int(np.sum(plots["truth_id"].to_numpy() < 0)),
    }
