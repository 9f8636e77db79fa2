"""A score as tables for people (rich)."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

from .metrics import ScoreResult

_ROWS = (
    ("ospa_mean_m", "OSPA, mean over time", "m"),
    ("ospa_localisation_m", "  of it: localisation", "m"),
    ("ospa_missed_m", "  of it: missed targets", "m"),
    ("ospa_false_m", "  of it: false tracks", "m"),
    ("ospa_p95_m", "OSPA, 95th percentile", "m"),
    ("gospa_mean_m", "GOSPA, mean over time", "m"),
    ("position_rmse_m", "position RMSE (assigned)", "m"),
    ("velocity_rmse_mps", "velocity RMSE (assigned)", "m/s"),
    ("targets", "targets", ""),
    ("tracks", "tracks", ""),
    ("tracks_per_target", "tracks per target", ""),
    ("missed_targets", "missed targets (never assigned)", ""),
    ("false_tracks", "false tracks (never held a target)", ""),
    ("mostly_false_tracks", "mostly false tracks (held < half their time)", ""),
    ("duplicate_tracks", "  of those: duplicates (beside a held target)", ""),
    ("coverage", "coverage (share of target-time with a track)", ""),
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
                  f"{s['order']:g}, {s['grid_times']} grid times {s['dt_s']:g} s apart; "
                  f"identity gate {s['gate_m']:g} m")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("unit")
    for key, label, unit in _ROWS:
        table.add_row(label, _fmt(s[key]), unit)
    return table


def _sensors_of(tracks: pd.DataFrame | None) -> dict:
    """Track id (as text) -> the sensors whose plots updated it, from the ``sensors`` column
    of tracks.csv (its last row per track) where there is one."""
    if tracks is None or "sensors" not in tracks.columns:
        return {}
    last = tracks.sort_values("t", kind="stable").groupby("track_id")["sensors"].last()
    return {str(k): str(v) for k, v in last.items()}


def _ids(values) -> str:
    return ", ".join(str(v) for v in values) or "-"


def explain_tables(result: ScoreResult, tracks: pd.DataFrame | None = None) -> list[Table]:
    """Tables of what went wrong: tracks that were not one target's clean track (false,
    mostly false, duplicate, or holding several targets), identity switches, track breaks."""
    explained = result.explain()
    sensors = _sensors_of(tracks)
    bad = Table(title="tracks that were not one target's", caption="held: grid times it "
                "held a target / times it existed; beside: targets within the gate that "
                "another track held")
    for column in ("track", "kind", "from (s)", "to (s)", "held", "targets held", "beside",
                   "sensors"):
        bad.add_column(column, justify="right" if column in ("from (s)", "to (s)", "held")
                       else "left")
    for t in explained["tracks_explained"]:
        kind = t["kind"] + (", duplicate" if t["duplicate"] else "")
        if t["kind"] == "true":
            kind = "held several targets"
        bad.add_row(str(t["track_id"]), kind, f"{t['t_first_s']:g}", f"{t['t_last_s']:g}",
                    f"{t['held']}/{t['times']}", _ids(t["targets"]), _ids(t["beside"]),
                    sensors.get(str(t["track_id"]), "-"))
    switches = Table(title="identity switches")
    for column in ("t (s)", "target", "from track", "to track"):
        switches.add_column(column)
    for e in explained["switches"]:
        switches.add_row(f"{e['t']:g}", str(e["target_id"]), str(e["from_track"]),
                         str(e["to_track"]))
    breaks = Table(title="track breaks")
    for column in ("t (s)", "target", "track lost"):
        breaks.add_column(column)
    for e in explained["breaks"]:
        breaks.add_row(f"{e['t']:g}", str(e["target_id"]), str(e["track_id"]))
    return [bad, switches, breaks]


def print_score(result: ScoreResult, console: Console | None = None) -> None:
    (console or Console()).print(score_table(result))


def print_explanation(result: ScoreResult, tracks: pd.DataFrame | None = None,
                      console: Console | None = None) -> None:
    console = console or Console()
    for table in explain_tables(result, tracks):
        console.print(table)
