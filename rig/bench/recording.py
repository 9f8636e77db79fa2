"""Recording a run: what the loop needs to be replayed bit for bit, and what it produced.

Into one crash-safe recording (:mod:`rig.record`):

- META: the config, the scenario as built, the run's time line (``t0_ns``, UTC at t0) and,
  per sensor, its family and how its clock maps onto the run's time line;
- RAW (stream = sensor index): every chunk each driver read, with its arrival stamp, before
  it was decoded; an EVENT ``{"reset": k}`` where a driver reset its decoder;
- CYCLE: one marker per loop cycle (plots taken from each sensor, the run times the fusion
  used, when the update went out) and per output tick (schedule, start, run time, done);
- PLOTS: the plots fused in each cycle (for inspection; replay decodes RAW instead);
- OUTPUT: every CAT062 datagram published, with its time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rig import __version__
from rig.record import Kind, RecordWriter


class RunRecorder:
    def __init__(self, path: Path, meta: dict, *, flush_interval_s: float = 0.5,
                 max_file_bytes: int | None = None, max_file_s: float | None = None,
                 keep_files: int | None = None):
        self.writer = RecordWriter(path, meta={"rig_version": __version__, **meta},
                                   flush_interval_s=flush_interval_s,
                                   max_file_bytes=max_file_bytes, max_file_s=max_file_s,
                                   keep_files=keep_files)

    def tap_for(self, sensor_index: int):
        """The driver tap of one sensor: raw chunks as read, and decoder resets."""
        def tap(t_ns: int, data) -> None:
            if data is None:
                self.writer.write_json(Kind.EVENT, sensor_index, t_ns, {"reset": sensor_index})
            else:
                self.writer.write(Kind.RAW, sensor_index, t_ns, data)
        return tap

    def output(self, t_ns: int, datagram: bytes) -> None:
        self.writer.write(Kind.OUTPUT, 0, t_ns, datagram)

    def cycle(self, now_ns: int, counts: list[int], until_s: float, t_update_s, done_ns,
              plots: np.ndarray) -> None:
        self.writer.write_json(Kind.CYCLE, 0, now_ns, {
            "n": counts, "until": until_s, "t_update": t_update_s, "done": done_ns})
        self.writer.write(Kind.PLOTS, 0, now_ns, plots.tobytes())

    def tick(self, k: int, sched_ns: int, start_ns: int, t_s: float, done_ns: int) -> None:
        self.writer.write_json(Kind.CYCLE, 0, start_ns, {
            "tick": k, "sched": sched_ns, "start": start_ns, "t": t_s, "done": done_ns})

    def snapshot(self, t_ns: int, t_s: float, rows: list[tuple]) -> None:
        """Every sensor's counters at a tick (what the fault report is made of)."""
        self.writer.write_json(Kind.CYCLE, 0, t_ns, {"snap": t_s, "rows": rows})

    def event(self, t_ns: int, event: dict) -> None:
        self.writer.write_json(Kind.EVENT, 0, t_ns, event)

    def close(self) -> dict:
        self.writer.close()
        return {"path": str(self.writer.path), "files": [str(p) for p in self.writer.files],
                "chunks": self.writer.chunks_written, "records": self.writer.records_written,
                "bytes": self.writer.bytes_written, "dropped_records": self.writer.dropped_records,
                "error": str(self.writer.error) if self.writer.error else None}
