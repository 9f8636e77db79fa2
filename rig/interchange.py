"""The offline interchange folder (docs/architecture.md, "Offline interchange"): read, check, write.

A folder holds ``scenario.json``, ``sensors.csv``, ``truth.csv`` and ``plots.csv``; trackers
write ``tracks.csv``. Sensor ids are strings. The emulation's ground truth (biases, clock
offset and drift in ``sensors.csv``, ``truth_id`` in ``plots.csv``) is read only when asked
for with ``with_truth=True``: a fuser never asks, so it cannot see it. A sensor's ``kind`` is
``radar`` (the default when the column is absent) or ``passive``: an angle-only sensor, whose
``sigma_range_m`` may be empty and whose plots have an empty ``range_m``.

Problems with a file (missing, unreadable, a missing column, a value out of range in
``scenario.json`` or ``sensors.csv``) raise :class:`rig.errors.ConfigError` naming the file,
the key and what was expected. Bad *plots* are not errors: the fuser rejects them, counts
each under its reason and goes on (``rig.fusion``).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rig.errors import ConfigError
from rig.geodesy import Geodetic, site_transform
from rig.outfiles import atomic_path, output_folder
from rig.records import TRACK_DTYPE

FRAMES = ("wgs84", "flat")

SITE_COLUMNS = {"wgs84": ("lat_deg", "lon_deg", "alt_m"), "flat": ("east_m", "north_m", "up_m")}
SENSOR_COLUMNS = ("sensor_id", "partner", "scan_period_s", "sigma_range_m", "sigma_az_rad",
                  "sigma_el_rad", "pd", "clutter_per_scan", "range_max_m")
SENSOR_OPTIONAL = {"scan_phase_s": 0.0, "range_min_m": 0.0, "el_max_rad": math.pi / 2,
                   "kind": "radar"}
#: Values of sensors.csv's ``kind``; a passive (angle-only) sensor may leave sigma_range_m empty.
SENSOR_KINDS = ("radar", "passive")
#: Ground-truth columns of sensors.csv that a fuser must never read.
SENSOR_TRUTH_COLUMNS = ("range_bias_m", "az_bias_rad", "el_bias_rad", "clock_offset_s",
                        "clock_drift_ppm")
TRUTH_COLUMNS = ("t", "target_id", "east_m", "north_m", "up_m", "ve", "vn", "vu")
PLOT_COLUMNS = ("t", "sensor_id", "range_m", "azimuth_rad", "elevation_rad")
TRACK_COLUMNS = ("t", "track_id", "east_m", "north_m", "up_m", "ve", "vn", "vu")

FLOAT_FORMAT = "%.10g"


@dataclass(frozen=True)
class ScenarioInfo:
    """``scenario.json``."""

    frame: str
    origin: Geodetic
    duration_s: float

    def to_json(self) -> dict:
        o = self.origin
        return {"frame": self.frame, "duration_s": self.duration_s,
                "origin": {"lat_deg": o.lat_deg, "lon_deg": o.lon_deg, "alt_m": o.alt_m}}


@dataclass
class Interchange:
    """A whole folder as read."""

    folder: Path
    scenario: ScenarioInfo
    sensors: pd.DataFrame
    plots: pd.DataFrame
    truth: pd.DataFrame | None = None


# --- reading -------------------------------------------------------------------------------
def _need_file(path: Path) -> Path:
    if not path.is_file():
        raise ConfigError("file is missing", file=str(path), expected="a file of the "
                          "interchange folder (docs/architecture.md)")
    return path


def _read_csv(path: Path, dtype: dict | None = None, *,
              skip_bad_rows: bool = False) -> pd.DataFrame:
    """A CSV file; with ``skip_bad_rows`` a row with more fields than the header is left out
    and counted in ``attrs["malformed_rows"]`` instead of refusing the file."""
    _need_file(path)
    try:
        df = pd.read_csv(path, dtype=dtype, skipinitialspace=True,
                         on_bad_lines="skip" if skip_bad_rows else "error")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError,
            OSError) as e:
        raise ConfigError(f"cannot read CSV: {e}", file=str(path)) from e
    if skip_bad_rows:
        with open(path, "rb") as f:
            rows = sum(1 for line in f if line.strip()) - 1
        df.attrs["malformed_rows"] = max(rows - len(df), 0)
    return df


def _require_columns(df: pd.DataFrame, columns, path: Path) -> None:
    for column in columns:
        if column not in df.columns:
            raise ConfigError("missing column", file=str(path), key=column,
                              expected=f"columns {', '.join(columns)}")


def _check_range(df: pd.DataFrame, column: str, lo: float, hi: float, path: Path,
                 *, lo_open: bool = False, blank_ok=None) -> None:
    """Every value of ``column`` a number within the bounds; rows where ``blank_ok`` is
    True may instead be empty."""
    values = pd.to_numeric(df[column], errors="coerce").to_numpy(float)
    bad = ~np.isfinite(values) | (values > hi) | ((values <= lo) if lo_open else (values < lo))
    if blank_ok is not None:
        bad &= ~np.asarray(blank_ok, bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ConfigError(f"row {i + 2} has {df[column].iloc[i]!r}", file=str(path), key=column,
                          expected=f"a number {'>' if lo_open else '>='} {lo} and <= {hi}")


def read_scenario(folder: str | Path) -> ScenarioInfo:
    path = _need_file(Path(folder) / "scenario.json")
    try:
        raw = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as e:
        raise ConfigError(f"not valid JSON: {e}", file=str(path)) from e
    if not isinstance(raw, dict):
        raise ConfigError("not a JSON object", file=str(path))
    frame = raw.get("frame")
    if frame not in FRAMES:
        raise ConfigError(f"frame is {frame!r}", file=str(path), key="frame",
                          expected="'wgs84' or 'flat'")
    origin = raw.get("origin")
    if not isinstance(origin, dict):
        raise ConfigError("missing or not an object", file=str(path), key="origin",
                          expected='{"lat_deg", "lon_deg", "alt_m"}')
    values = {}
    for key, lo, hi in (("lat_deg", -90, 90), ("lon_deg", -180, 360), ("alt_m", -1e4, 1e5)):
        v = origin.get(key, 0.0 if key == "alt_m" else None)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not lo <= v <= hi:
            raise ConfigError(f"is {v!r}", file=str(path), key=f"origin.{key}",
                              expected=f"a number from {lo} to {hi}")
        values[key] = float(v)
    duration = raw.get("duration_s")
    if (not isinstance(duration, (int, float)) or isinstance(duration, bool)
            or not 0 < duration < math.inf):
        raise ConfigError(f"is {duration!r}", file=str(path), key="duration_s",
                          expected="a positive number of seconds")
    return ScenarioInfo(frame, Geodetic(**values), float(duration))


def read_sensors(folder: str | Path, frame: str, *, with_truth: bool = False) -> pd.DataFrame:
    """``sensors.csv`` as a DataFrame with string ``sensor_id`` and ``partner``; optional
    columns filled with their defaults (``kind`` "radar"); ground-truth columns only
    ``with_truth``. ``sigma_range_m`` is NaN for a passive sensor that leaves it empty."""
    path = Path(folder) / "sensors.csv"
    df = _read_csv(path, dtype={"sensor_id": str, "partner": str, "kind": str})
    columns = SENSOR_COLUMNS + SITE_COLUMNS[frame]
    _require_columns(df, columns, path)
    for column, default in SENSOR_OPTIONAL.items():
        if column not in df.columns:
            df[column] = default
    keep = list(columns) + list(SENSOR_OPTIONAL)
    if with_truth:
        for column in SENSOR_TRUTH_COLUMNS:
            if column not in df.columns:
                df[column] = 0.0
        keep += SENSOR_TRUTH_COLUMNS
    df = df[keep].copy()
    if df["sensor_id"].isna().any() or df["sensor_id"].duplicated().any():
        raise ConfigError("sensor ids must be present and unique", file=str(path),
                          key="sensor_id", expected="one row per sensor")
    if not len(df):
        raise ConfigError("no sensors", file=str(path), expected="a row per sensor")
    if frame == "wgs84":
        _check_range(df, "lat_deg", -90, 90, path)
        _check_range(df, "lon_deg", -180, 360, path)
        _check_range(df, "alt_m", -1e4, 1e5, path)
    else:                                          # metres from the scenario's origin
        for column in SITE_COLUMNS["flat"]:
            _check_range(df, column, -1e7, 1e7, path)
    for column in ("scan_period_s", "range_max_m"):
        _check_range(df, column, 0, np.inf, path, lo_open=True)
    bad_kind = ~df["kind"].isin(SENSOR_KINDS).to_numpy()
    if bad_kind.any():
        i = int(np.flatnonzero(bad_kind)[0])
        raise ConfigError(f"row {i + 2} has {df['kind'].iloc[i]!r}", file=str(path), key="kind",
                          expected="'radar' or 'passive'")
    passive = (df["kind"] == "passive").to_numpy()
    _check_range(df, "sigma_range_m", 0, np.inf, path,
                 blank_ok=passive & df["sigma_range_m"].isna().to_numpy())
    for column in ("sigma_az_rad", "sigma_el_rad", "clutter_per_scan", "range_min_m"):
        _check_range(df, column, 0, np.inf, path)
    _check_range(df, "pd", 0, 1, path)
    return df.reset_index(drop=True)


def read_plots(folder: str | Path, *, with_truth: bool = False) -> pd.DataFrame:
    """``plots.csv``; ``range_rate_mps`` is NaN where absent; ``truth_id`` only
    ``with_truth``. Values are not checked here (the fuser screens every plot)."""
    path = Path(folder) / "plots.csv"
    df = _read_csv(path, dtype={"sensor_id": str}, skip_bad_rows=True)
    malformed = df.attrs["malformed_rows"]
    _require_columns(df, PLOT_COLUMNS, path)
    keep = list(PLOT_COLUMNS) + ["range_rate_mps"]
    if "range_rate_mps" not in df.columns:
        df["range_rate_mps"] = np.nan
    if with_truth:
        if "truth_id" not in df.columns:
            df["truth_id"] = -1
        keep.append("truth_id")
    df = df[keep].copy()
    for column in keep:
        if column != "sensor_id":
            df[column] = pd.to_numeric(df[column], errors="coerce")
    df.attrs["malformed_rows"] = malformed
    return df


def read_truth(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    df = _read_csv(path)
    _require_columns(df, TRUTH_COLUMNS, path)
    return df


def read_tracks(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    df = _read_csv(path)
    _require_columns(df, TRACK_COLUMNS, path)
    return df


def read_interchange(folder: str | Path, *, with_truth: bool = False) -> Interchange:
    """Read a folder. A fuser calls this without ``with_truth``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError("not a folder", file=str(folder),
                          expected="an interchange folder (scenario.json, sensors.csv, plots.csv)")
    scenario = read_scenario(folder)
    sensors = read_sensors(folder, scenario.frame, with_truth=with_truth)
    plots = read_plots(folder, with_truth=with_truth)
    truth = None
    if with_truth and (folder / "truth.csv").is_file():
        truth = read_truth(folder / "truth.csv")
    return Interchange(folder, scenario, sensors, plots, truth)


# --- geometry of the sensors -----------------------------------------------------------------
def sensor_transforms(scenario: ScenarioInfo, sensors: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per sensor ``(M, t)`` (shapes ``(n, 3, 3)``, ``(n, 3)``) taking the sensor's measuring
    frame to the origin's ENU: ``p_origin = M @ p_sensor + t``.

    In ``wgs84`` the measuring frame is the site's own local tangent plane; in ``flat`` it is
    the origin's ENU axes shifted to the site.
    """
    n = len(sensors)
    m = np.empty((n, 3, 3))
    t = np.empty((n, 3))
    for i, row in enumerate(sensors.itertuples(index=False)):
        if scenario.frame == "wgs84":
            m[i], t[i] = site_transform(Geodetic(row.lat_deg, row.lon_deg, row.alt_m),
                                        scenario.origin)
        else:
            m[i], t[i] = np.eye(3), (row.east_m, row.north_m, row.up_m)
    return m, t


# --- writing -------------------------------------------------------------------------------
def write_scenario(folder: str | Path, scenario: ScenarioInfo) -> None:
    path = Path(folder) / "scenario.json"
    path.write_text(json.dumps(scenario.to_json(), indent=1) + "\n")


#: rows of a CSV file written at a time when its progress is shown
CSV_CHUNK_ROWS = 50_000


def write_csv(path: str | Path, df: pd.DataFrame, progress=None) -> None:
    """``df`` as CSV, written whole or not at all; ``progress`` (rig.progress.Stages)
    shows the rows written as a stage of its own (the file is the same)."""
    with atomic_path(Path(path)) as tmp:
        if progress is None:
            df.to_csv(tmp, index=False, float_format=FLOAT_FORMAT)
            return
        progress.stage(f"writing {Path(path).name}", total=len(df), unit="rows")
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            for start in range(0, max(len(df), 1), CSV_CHUNK_ROWS):
                chunk = df.iloc[start:start + CSV_CHUNK_ROWS]
                chunk.to_csv(f, index=False, header=start == 0, float_format=FLOAT_FORMAT)
                progress.advance(len(chunk))


def write_interchange(folder: str | Path, scenario: ScenarioInfo, sensors: pd.DataFrame,
                      truth: pd.DataFrame, plots: pd.DataFrame, progress=None) -> Path:
    """Write a whole folder (created if needed); columns in the order docs/architecture.md gives.
    ``progress`` (rig.progress.Stages) shows truth.csv and plots.csv rows written."""
    folder = output_folder(Path(folder))
    write_scenario(folder, scenario)
    sensor_cols = (["sensor_id", "partner", *SITE_COLUMNS[scenario.frame]]
                   + [c for c in SENSOR_COLUMNS[2:]] + list(SENSOR_OPTIONAL)
                   + [c for c in SENSOR_TRUTH_COLUMNS if c in sensors.columns])
    write_csv(folder / "sensors.csv", sensors[sensor_cols])
    write_csv(folder / "truth.csv", truth[list(TRUTH_COLUMNS)], progress)
    plot_cols = list(PLOT_COLUMNS) + [c for c in ("range_rate_mps", "truth_id") if c in plots.columns]
    write_csv(folder / "plots.csv", plots[plot_cols], progress)
    return folder


def write_tracks(path: str | Path, tracks: pd.DataFrame) -> None:
    """``tracks.csv``: the required columns first, any extra columns after."""
    extra = [c for c in tracks.columns if c not in TRACK_COLUMNS]
    write_csv(path, tracks[list(TRACK_COLUMNS) + extra])


# --- tracks.csv of a run, written as the pictures go out ---------------------------------------
#: tracks.csv columns of a run: (header, TRACK_DTYPE field, printf format): TRACK_COLUMNS, then
#: status, update count and partner mask. Floats as :func:`write_csv` prints them, counts
#: and ids as integers.
PICTURE_COLUMNS = tuple(zip(
    TRACK_COLUMNS + ("status", "n_updates", "partners"),
    ("t", "track_id", "east", "north", "up", "v_east", "v_north", "v_up",
     "status", "n_updates", "partners"),
    (FLOAT_FORMAT, "%d") + (FLOAT_FORMAT,) * 6 + ("%d", "%d", "%d")))
_ROW_FORMAT = ",".join(fmt for _, _, fmt in PICTURE_COLUMNS) + "\n"
_NAN_CELL = re.compile(r"(?<![^,\n])nan(?=[,\n])")


def picture_csv_rows(tracks: np.ndarray) -> str:
    """The rows of tracks.csv for one picture (TRACK_DTYPE; no header), as pandas would
    write them with the interchange float format (an empty cell for NaN), at a small
    fraction of the cost: this runs in the real-time loop at every tick."""
    columns = [tracks[field].tolist() for _, field, _ in PICTURE_COLUMNS]
    text = "".join(_ROW_FORMAT % row for row in zip(*columns))
    return _NAN_CELL.sub("", text) if "nan" in text else text


class TracksCsvWriter:
    """A run's published pictures, appended to ``tracks.csv`` as they go out, so memory
    stays flat however long the run; :attr:`last` is the latest picture."""

    def __init__(self, path):
        self.path = path
        self._file = open(path, "w", newline="")
        self._file.write(",".join(name for name, _, _ in PICTURE_COLUMNS) + "\n")
        self.last = np.zeros(0, TRACK_DTYPE)
        self.count = 0

    def add(self, tracks: np.ndarray) -> None:
        self._file.write(picture_csv_rows(tracks))
        self._file.flush()
        self.last = tracks
        self.count += 1

    def close(self) -> None:
        self._file.close()


def pictures_table(pictures: list[np.ndarray]) -> pd.DataFrame:
    """Pictures (TRACK_DTYPE arrays) as the rows of a run's tracks.csv."""
    tracks = np.concatenate(pictures) if pictures else np.zeros(0, TRACK_DTYPE)
    return pd.DataFrame({name: tracks[field] for name, field, _ in PICTURE_COLUMNS})
