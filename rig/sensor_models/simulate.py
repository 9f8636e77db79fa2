"""All sensors of a scenario at once: the rows of ``plots.csv``."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import numpy as np

from .radar import RadarModel

if TYPE_CHECKING:
    import pandas as pd


def sensor_rng(seed: int, sensor_id: str) -> np.random.Generator:
    """The random stream of one sensor: depends on the seed and the sensor's id only, so
    adding, removing or reordering sensors leaves the others' plots as they were."""
    return np.random.default_rng([int(seed), 3, zlib.crc32(str(sensor_id).encode())])


def simulate_plots(scenario, *, frame: str = "wgs84", sensor_ids=None,
                   progress=None) -> pd.DataFrame:
    """Plots of the scenario's sensors (all, or ``sensor_ids``) over the whole run.

    Columns: ``t`` (the sensor's own clock), ``sensor_id, range_m, azimuth_rad,
    elevation_rad, range_rate_mps`` (NaN where not measured), ``truth_id`` (-1 for clutter),
    and for analysis ``t_true_s, t_report_s, amplitude_db``. Rows are in the order the plots
    leave their sensors (true report time), as a fusion centre would receive them.
    ``progress`` (rig.progress.Stages) advances by one per sensor simulated.
    """
    import pandas as pd          # here: an emulator that imports this module needs no pandas

    wanted = None if sensor_ids is None else {str(s) for s in sensor_ids}
    parts = []
    for spec in scenario.sensors:
        if wanted is not None and spec.id not in wanted:
            continue
        model = RadarModel(spec, scenario.origin, frame=frame)
        p = model.plots(scenario.trajectories, 0.0, scenario.duration_s,
                        sensor_rng(scenario.seed, spec.id))
        parts.append(pd.DataFrame({
            "t": p["t_sensor_s"], "sensor_id": spec.id, "range_m": p["range_m"],
            "azimuth_rad": p["az_rad"], "elevation_rad": p["el_rad"],
            "range_rate_mps": p["range_rate_mps"], "truth_id": p["truth_id"],
            "t_true_s": p["t_true_s"], "t_report_s": p["t_report_s"],
            "amplitude_db": p["amplitude_db"].astype(float)}))
        if progress is not None:
            progress.advance()
    if not parts:
        return pd.DataFrame(columns=["t", "sensor_id", "range_m", "azimuth_rad",
                                     "elevation_rad", "range_rate_mps", "truth_id",
                                     "t_true_s", "t_report_s", "amplitude_db"])
    plots = pd.concat(parts, ignore_index=True)
    return plots.sort_values(["t_report_s", "t_true_s"], kind="stable", ignore_index=True)
