"""A recording as the web view's messages (``rig view``): the picture partners received.

The tracks are the CAT062 datagrams the run published (its OUTPUT records), decoded; the
plots are those the loop fused (PLOTS); each sensor's health comes from the counters kept
at every tick. One ``state`` per ``refresh_s`` of run time, as the live view sends them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from rig.bench.replay import load_recorded_config, record_json
from rig.bench.run import sensor_table
from rig.publish.cat062 import decode_tracks
from rig.publish.codec import Cat062Decoder
from rig.record import Kind, RecordingReport, iter_recording
from rig.records import PLOT_DTYPE, TRACK_STATUS_DELETED, empty_tracks

from .feed import plots_message, setup_message, tracks_message

#: A track not in any picture for this many periods has left the picture.
GONE_AFTER_PERIODS = 3


def sensor_state(row) -> str:
    """A sensor's state from its counters at a tick: (plots, decoder errors, sequence gaps,
    disconnects, reconnects, stale)."""
    plots, _errors, _gaps, disconnects, reconnects, stale = row[:6]
    if stale:
        return "stale"
    if disconnects > reconnects:
        return "disconnected"
    return "streaming" if plots else "open"


def recording_messages(path: str | Path, refresh_s: float = 0.5,
                       report: RecordingReport | None = None) -> Iterator[dict]:
    """The ``setup`` message, then the ``state`` messages of the recording at ``path``."""
    path = Path(path)
    report = report if report is not None else RecordingReport()
    records = iter_recording(path, report)
    next(records, None)                          # META
    loaded = load_recorded_config(report.meta, path)
    cfg = loaded.config
    sensors = [{"id": e.id, "family": e.family, "transport": e.transport}
               for e in cfg.sensors]
    yield setup_message(cfg.name, cfg.duration_s, loaded.scenario.origin, loaded.radars,
                        sensors, sensor_table(loaded).partner_names, cfg.outputs.period_s,
                        sorted(cfg.limits))
    decoder = Cat062Decoder()
    tracks: dict[int, tuple[float, np.void]] = {}
    plots: list[np.ndarray] = []
    rows = [[e.id, r.partner, e.family, "open", 0, 0, 0, 0, 0]
            for e, r in zip(cfg.sensors, loaded.radars)]
    plots_in = 0
    t_now, t_sent = 0.0, -np.inf
    gone_s = GONE_AFTER_PERIODS * cfg.outputs.period_s
    for rec in records:
        if rec.kind == Kind.PLOTS:
            batch = np.frombuffer(rec.data, PLOT_DTYPE)
            plots.append(batch)
            plots_in += len(batch)
        elif rec.kind == Kind.OUTPUT:
            decoded, _info = decode_tracks(decoder, rec.data, loaded.scenario.origin)
            for row in decoded:
                tracks[int(row["track_id"])] = (t_now, row)
        elif rec.kind == Kind.CYCLE:
            marker = record_json(rec, path)
            if "snap" in marker:
                elapsed = max(marker["snap"], 1e-9)
                for out, counts in zip(rows, marker["rows"]):
                    out[3:8] = [sensor_state(counts), counts[0], round(counts[0] / elapsed),
                                counts[1], counts[2]]
            elif "tick" in marker:
                t_now = marker["t"]
                if t_now - t_sent < refresh_s:
                    continue
                t_sent = t_now
                live = [row for t, row in tracks.values() if t_now - t <= gone_s
                        and row["status"] != TRACK_STATUS_DELETED]
                picture = np.array(live, dtype=empty_tracks(0).dtype)
                fused = np.concatenate(plots) if plots else np.zeros(0, PLOT_DTYPE)
                plots.clear()
                yield {"type": "state", "name": cfg.name, "t": t_now,
                       "duration_s": cfg.duration_s, "plots_in": plots_in,
                       "plots_rejected": None, "processing_ms": [None, None],
                       "transport_ms": [None, None], "lateness_p99_ms": None,
                       "deadline_misses": None, "at_risk": [],
                       "sensors": [list(r) for r in rows],
                       "tracks": tracks_message(picture), "plots": plots_message(fused)}
