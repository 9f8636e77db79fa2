"""A score as a table for people (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from .metrics import ScoreResult

_ROWS = (
    ("ospa_mean_m", "OSPA, mean over time", "m"),
    ("ospa_p95_m", "OSPA, 95th percentile", "m"),
    ("gospa_mean_m", "GOSPA, mean over time", "m"),
    ("position_rmse_m", "position RMSE (assigned)", "m"),
    ("velocity_rmse_mps", "velocity RMSE (assigned)", "m/s"),
    ("targets", "targets", ""),
    ("tracks", "tracks", ""),
    ("missed_targets", "missed targets (never assigned)", ""),
    ("false_tracks", "false tracks (never assigned)", ""),
    ("missed_per_time_mean", "missed targets per time, mean", ""),
    ("false_per_time_mean", "false tracks per time, mean", ""),
    ("track_breaks", "track breaks", ""),
    ("identity_switches", "identity switches", ""),
    ("time_to_first_track_mean_s", "time to first track, mean", "s"),
    ("time_to_first_track_median_s", "time to first track, median", "s"),
    ("time_to_first_track_max_s", "time to first track, max", "s"),
)


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}" if value == value else "-"


def score_table(result: ScoreResult) -> Table:
    s = result.summary()
    table = Table(title="score", caption=f"cutoff c = {s['cutoff_m']:g} m, order p = "
                  f"{s['order']:g}, {s['grid_times']} grid times {s['dt_s']:g} s apart")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("unit")
    for key, label, unit in _ROWS:
        table.add_row(label, _fmt(s[key]), unit)
    return table


def print_score(result: ScoreResult, console: Console | None = None) -> None:
    (console or Console()).print(score_table(result))
