"""A recording exported in one pass: wire traffic to pcapng, plots and tracks to CSV.

Every complete chunk is exported; a torn or damaged one is skipped and listed in the
result's ``report.problems()``. A file that is not a recording is a :class:`ConfigError`.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from rig.errors import UsageError

from .export_clock import WallClock, recording_clock
from .export_csv import CsvExport
from .export_pcapng import PcapngExport
from .format import RECORD_HEADER
from .reader import RecordingReport, iter_recording, recording_files


@dataclass
class ExportResult:
    report: RecordingReport
    clock: WallClock
    interfaces: list[dict] = field(default_factory=list)   # PcapngExport.summary()
    plots: int = 0
    tracks: int = 0
    tracks_from: str = ""                # "TRACKS records", "published CAT062" or ""
    skipped: list[str] = field(default_factory=list)        # what could not be exported


def recording_bytes(path: str | Path) -> int:
    """The size of a recording's files, what progress is measured against."""
    return sum(f.stat().st_size for f in recording_files(path))


def export_recording(path: str | Path, *, pcapng: str | Path | None = None,
                     csv_dir: str | Path | None = None,
                     progress: Callable[[int], None] | None = None) -> ExportResult:
    """Export the recording at ``path`` to a ``pcapng`` file and/or plots.csv and tracks.csv
    in ``csv_dir``; ``progress(n)`` is told each record's size as it is read."""
    if pcapng is None and csv_dir is None:
        raise UsageError("nothing to export to: give --pcapng FILE, --csv DIR, or both")
    files = recording_files(path)
    if pcapng is not None:
        pcapng = Path(pcapng)
        if not pcapng.parent.is_dir():
            raise UsageError(f"--pcapng {pcapng}: folder {pcapng.parent} does not exist")
        if pcapng.is_dir():
            raise UsageError(f"--pcapng {pcapng}: is a folder; give a file name")
        if any(pcapng.resolve() == f.resolve() for f in files):
            raise UsageError(f"--pcapng {pcapng}: is the recording itself")
    report = RecordingReport()
    records = iter_recording(path, report)
    next(records)                            # META, or a ConfigError: not a recording
    meta = report.meta
    clock = recording_clock(meta, files)
    result = ExportResult(report, clock)
    with ExitStack() as stack:
        sinks = []
        capture = table = None
        if pcapng is not None:
            capture = stack.enter_context(PcapngExport(pcapng, meta, clock))
            sinks.append(capture)
        if csv_dir is not None:
            table = stack.enter_context(CsvExport(csv_dir, meta, clock))
            sinks.append(table)
        for rec in records:
            for sink in sinks:
                sink.add(rec)
            if progress is not None:
                progress(RECORD_HEADER.size + len(rec.data))
    if capture is not None:
        result.interfaces = capture.summary()
        result.skipped += [f"raw data of sensor {s} ({n} records): the run's config has "
                           f"{len(capture.sensors)} sensors"
                           for s, n in sorted(capture.unknown_streams.items())]
        result.skipped += capture.not_exportable
    if table is not None:
        result.plots, result.tracks = table.plots, table.tracks
        result.tracks_from = ("TRACKS records" if table.tracks_recorded else
                              "published CAT062" if table.tracks_published else "")
        if table.bad_records:
            result.skipped.append(f"{table.bad_records} PLOTS/TRACKS records not a whole "
                                  f"number of rows")
        if table.undecodable_outputs:
            result.skipped.append(f"{table.undecodable_outputs} published CAT062 datagrams "
                                  f"not decoded" + (f": {table.tracks_note}"
                                                    if table.tracks_note else ""))
    return result
