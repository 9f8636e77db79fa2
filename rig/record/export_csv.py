"""A recording's plots and tracks as CSV files: ``plots.csv`` and ``tracks.csv``.

``plots.csv``: every plot the run fused (the PLOTS records), one row each, with the columns
of an interchange folder's plots.csv first (``t`` on the run's time line, ``sensor_id`` the
sensor's id in the config), then the rest of :data:`rig.records.PLOT_DTYPE`. Floats are
written in full (they read back equal).

``tracks.csv``: the format of a run's tracks.csv (:class:`rig.interchange.TracksCsvWriter`).
From the TRACKS records where the recording has them; otherwise the tracks the run published,
decoded from its CAT062 datagrams (OUTPUT records), each at its picture's time on the run's
time line: positions and times at CAT062's resolution, ``n_updates`` 0 (CAT062 does not
carry it). ``rig replay`` gives the run's own tracks.csv exactly.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pandas as pd

from rig.errors import CodecError
from rig.interchange import TracksCsvWriter
from rig.outfiles import atomic_path, output_folder
from rig.records import PLOT_DTYPE, TRACK_DTYPE

from .format import Kind
from .reader import Record

DAY_S = 86400.0
#: plots.csv: (column, PLOT_DTYPE field); ``sensor_id`` is the sensor's id, ``sensor_index``
#: its index in the run (the dtype's ``sensor_id``)
PLOT_CSV_COLUMNS = (
    ("t", "t_sensor"), ("sensor_id", None), ("range_m", "range_m"),
    ("azimuth_rad", "az_rad"), ("elevation_rad", "el_rad"),
    ("range_rate_mps", "range_rate_mps"), ("amplitude_db", "amplitude_db"),
    ("flags", "flags"), ("seq", "seq"), ("sensor_index", "sensor_id"),
    ("t_arrival_ns", "t_arrival_ns"), ("t_arrival_utc", None))
FLUSH_ROWS = 65536


class CsvExport:
    """Writes plots.csv and tracks.csv into ``folder`` from the records handed to
    :meth:`add`; each file appears whole when the block ends without an error."""

    def __init__(self, folder: str | Path, meta: dict, clock):
        self.folder = output_folder(Path(folder))
        self.meta = meta
        self.clock = clock
        config = meta.get("config")
        sensors = config.get("sensors") if isinstance(config, dict) else None
        self.sensor_ids = [str(s.get("id", i)) if isinstance(s, dict) else str(i)
                           for i, s in enumerate(sensors if isinstance(sensors, list) else [])]
        self.plots = 0
        self.tracks_recorded = 0          # rows from TRACKS records
        self.tracks_published = 0         # rows decoded from OUTPUT records
        self.undecodable_outputs = 0
        self.bad_records = 0              # PLOTS or TRACKS not a whole number of rows
        self.tracks_note = ""             # why published tracks could not be decoded
        self._pending: list[np.ndarray] = []
        self._pending_rows = 0
        self._decoder = None
        self._stack = ExitStack()

    def __enter__(self) -> "CsvExport":
        s = self._stack
        self._plots_file = s.enter_context(open(
            s.enter_context(atomic_path(self.folder / "plots.csv")), "w", newline=""))
        self._plots_file.write(",".join(name for name, _ in PLOT_CSV_COLUMNS) + "\n")
        self._recorded = TracksCsvWriter(s.enter_context(atomic_path(self.folder / "tracks.csv")))
        s.callback(self._recorded.close)
        fd, published = tempfile.mkstemp(prefix=".tracks.csv.", suffix=".published",
                                         dir=self.folder)
        os.close(fd)
        s.callback(Path(published).unlink, missing_ok=True)
        self._published = TracksCsvWriter(published)
        s.callback(self._published.close)
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self._flush_plots()
            self._recorded.close()
            self._published.close()
            if not self.tracks_recorded:          # none recorded: the published ones serve
                os.replace(self._published.path, self._recorded.path)
        self._stack.__exit__(*exc)

    @property
    def tracks(self) -> int:
        """Rows of tracks.csv."""
        return self.tracks_recorded or self.tracks_published

    def add(self, rec: Record) -> None:
        if rec.kind == Kind.PLOTS:
            plots = self._array(rec, PLOT_DTYPE)
            self._pending.append(plots)
            self._pending_rows += len(plots)
            self.plots += len(plots)
            if self._pending_rows >= FLUSH_ROWS:
                self._flush_plots()
        elif rec.kind == Kind.TRACKS:
            tracks = self._array(rec, TRACK_DTYPE)
            self._recorded.add(tracks)
            self.tracks_recorded += len(tracks)
        elif rec.kind == Kind.OUTPUT and not self.tracks_recorded:
            tracks = self._decode(rec.data)
            if tracks is not None and len(tracks):
                self._published.add(tracks)
                self.tracks_published += len(tracks)

    def _array(self, rec: Record, dtype: np.dtype) -> np.ndarray:
        if len(rec.data) % dtype.itemsize:
            self.bad_records += 1
            return np.zeros(0, dtype)
        return np.frombuffer(rec.data, dtype=dtype)

    def _flush_plots(self) -> None:
        if not self._pending:
            return
        plots = np.concatenate(self._pending)
        self._pending, self._pending_rows = [], 0
        index = plots["sensor_id"].astype(np.int64)
        ids = np.array(self.sensor_ids + ["?"], dtype=object)
        utc = plots["t_arrival_ns"] + np.int64(self.clock.offset_ns)
        columns = {}
        for name, field in PLOT_CSV_COLUMNS:
            if name == "sensor_id":
                columns[name] = ids[np.minimum(index, len(self.sensor_ids))]
            elif name == "t_arrival_utc":
                columns[name] = np.datetime_as_string(utc.astype("datetime64[ns]"), unit="ns")
            else:
                columns[name] = plots[field]
        pd.DataFrame(columns).to_csv(self._plots_file, header=False, index=False)

    def _decode(self, datagram: bytes) -> np.ndarray | None:
        """The tracks of one published CAT062 datagram, on the run's time line; None (and
        counted) when they cannot be decoded."""
        from rig.publish.cat062 import decode_tracks
        from rig.publish.codec import Cat062Decoder

        if self._decoder is None:
            self._origin = _origin(self.meta)
            tod0 = self.meta.get("utc_tod_at_t0_s")
            if self._origin is None or not isinstance(tod0, (int, float)):
                self.tracks_note = ("META lacks the run's scenario origin or time line: the "
                                    "published CAT062 tracks cannot be placed")
            self._tod0 = float(tod0) if isinstance(tod0, (int, float)) else 0.0
            self._decoder = Cat062Decoder()
        if self.tracks_note:
            self.undecodable_outputs += 1
            return None
        try:
            tracks, _ = decode_tracks(self._decoder, datagram, self._origin)
        except CodecError:
            self.undecodable_outputs += 1
            return None
        t = tracks["t"] - self._tod0
        tracks["t"] = np.where(t < -DAY_S / 2, t + DAY_S, t)
        return tracks


def _origin(meta: dict) -> dict | None:
    """The origin of the run's tracks: its scenario's (a config's origin is baked in)."""
    scenario = meta.get("scenario")
    origin = scenario.get("origin") if isinstance(scenario, dict) else None
    if not (isinstance(origin, dict) and all(
            isinstance(origin.get(k), (int, float)) for k in ("lat_deg", "lon_deg"))):
        return None
    alt = origin.get("alt_m")
    return {"lat_deg": origin["lat_deg"], "lon_deg": origin["lon_deg"],
            "alt_m": alt if isinstance(alt, (int, float)) else 0.0}
