"""Reading and validating recordings: every complete chunk, never a torn or damaged one."""

from __future__ import annotations

import json
import mmap
import os
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from rig.errors import ConfigError

from .format import (CHUNK_HEADER, CHUNK_HEADER_SIZE, CHUNK_MAGIC, FILE_HEADER, FILE_MAGIC,
                     FILE_VERSION, MAX_CHUNK_PAYLOAD, RECORD_HEADER, RECORD_KINDS, Kind)


@dataclass
class RecordingReport:
    """What reading found: good chunks, and every problem with where it was."""

    files: list[str] = field(default_factory=list)
    chunks_ok: int = 0
    records_ok: int = 0
    records_by_kind: dict[str, int] = field(default_factory=dict)
    bytes_by_stream: dict[int, int] = field(default_factory=dict)
    chunk_gaps: int = 0
    t_first_ns: int | None = None
    t_last_ns: int | None = None
    torn_tail: list[dict] = field(default_factory=list)   # {"file", "offset", "bytes"}
    damaged: list[dict] = field(default_factory=list)     # {"file", "offset", "why"}
    meta: dict | None = None
    ended: bool = False            # the END record was read: the run closed its recording
    meta_from_end: bool = False    # the first META was damaged; the END record's copy served

    @property
    def clean(self) -> bool:
        return (not self.torn_tail and not self.damaged and not self.chunk_gaps
                and self.ended)

    def problems(self) -> list[str]:
        """Why the recording is not clean, one line each (none when it is)."""
        out = [f"{d['why']}: damaged chunk in {d['file']} at offset {d['offset']} "
               f"({d.get('skipped_bytes', '?')} bytes skipped)" if d.get("chunk", True)
               else f"{d['why']}: damaged file header in {d['file']} at offset {d['offset']}"
               for d in self.damaged]
        out += [f"torn tail in {t['file']} at offset {t['offset']}: {t['bytes']} bytes "
                f"ignored" for t in self.torn_tail]
        if self.chunk_gaps:
            out.append(f"{self.chunk_gaps} gap(s) in the chunk sequence")
        if not self.ended:
            out.append("no end-of-run record: the run was cut short (or the recording's "
                       "last chunks are lost)")
        return out

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in (
            "files", "chunks_ok", "records_ok", "records_by_kind", "bytes_by_stream",
            "chunk_gaps", "t_first_ns", "t_last_ns", "torn_tail", "damaged", "ended",
            "meta_from_end")} | {
            "clean": self.clean, "problems": self.problems(),
            "duration_s": (None if self.t_first_ns is None else
                           (self.t_last_ns - self.t_first_ns) / 1e9)}


@dataclass(frozen=True)
class Record:
    kind: Kind
    stream: int
    t_ns: int
    data: bytes

    def json(self):
        return json.loads(self.data)


def recording_files(path: str | Path) -> list[Path]:
    """``PATH`` and its rotations ``PATH.1``, ``PATH.2`` ... in order (those that exist)."""
    path = Path(path)
    pattern = re.compile(re.escape(path.name) + r"\.(\d+)$")
    rotated = sorted(((int(m.group(1)), p) for p in path.parent.glob(path.name + ".*")
                      if (m := pattern.match(p.name))), key=lambda x: x[0])
    files = ([path] if path.exists() else []) + [p for _, p in rotated]
    if not files:
        raise ConfigError("no such recording", file=str(path))
    for f in files:
        if not f.is_file():            # a folder, a FIFO or a device would never end
            raise ConfigError("not a regular file", file=str(f),
                              expected="a recording made by rig run --record")
    return files


def _file_indexes(first: Path, path: Path) -> set[int]:
    """The indexes the header of ``path``, a file of the set ``first``, may name: N of a
    rotation ``NAME.N``; for ``first`` itself 0 (or N when it is one rotation, named)."""
    suffix = path.name.rpartition(".")[2]
    number = {int(suffix)} if suffix.isdigit() else set()
    return {0} | number if path.name == first.name else number


def _read_file(path: Path, report: RecordingReport, last_seq: list,
               indexes: set[int] = frozenset({0})) -> Iterator[Record]:
    report.files.append(str(path))
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            report.torn_tail.append({"file": str(path), "offset": 0, "bytes": 0})
            return
        # mapped, not read: memory stays bounded by one chunk however long the recording
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield from _read_chunks(path, data, report, last_seq, indexes)


def _read_chunks(path: Path, data, report: RecordingReport, last_seq: list,
                 indexes: set[int] = frozenset({0})) -> Iterator[Record]:
    if len(data) < FILE_HEADER.size:
        report.torn_tail.append({"file": str(path), "offset": 0, "bytes": len(data)})
        return
    magic, version, file_index = FILE_HEADER.unpack_from(data)
    if magic != FILE_MAGIC:
        raise ConfigError("not a rig recording (bad magic)", file=str(path))
    if version != FILE_VERSION:
        raise ConfigError(f"recording format version {version}", file=str(path),
                          expected=f"version {FILE_VERSION}")
    if file_index not in indexes:       # a damaged header, or files of the set renamed
        report.damaged.append({"file": str(path), "offset": FILE_HEADER.size - 4,
                               "why": f"file header names file {file_index} of the set, "
                                      f"not {' or '.join(map(str, sorted(indexes)))}",
                               "chunk": False})
    pos = FILE_HEADER.size
    while pos < len(data):
        if len(data) - pos < CHUNK_HEADER_SIZE:
            report.torn_tail.append({"file": str(path), "offset": pos, "bytes": len(data) - pos})
            return
        head = data[pos:pos + CHUNK_HEADER.size]
        magic, seq, t_first, t_last, n_records, payload_len, payload_crc = CHUNK_HEADER.unpack(head)
        header_ok = (magic == CHUNK_MAGIC and payload_len <= MAX_CHUNK_PAYLOAD
                     and zlib.crc32(head) == int.from_bytes(
                         data[pos + CHUNK_HEADER.size:pos + CHUNK_HEADER_SIZE], "little"))
        end = pos + CHUNK_HEADER_SIZE + payload_len
        if header_ok and end > len(data):
            report.torn_tail.append({"file": str(path), "offset": pos, "bytes": len(data) - pos})
            return
        payload = data[pos + CHUNK_HEADER_SIZE:end] if header_ok else b""
        if not header_ok or zlib.crc32(payload) != payload_crc:
            why = "bad chunk header" if not header_ok else "payload CRC mismatch"
            nxt = data.find(CHUNK_MAGIC, pos + 1)
            if nxt < 0:
                # nothing after it: a chunk torn while being written
                report.torn_tail.append({"file": str(path), "offset": pos,
                                         "bytes": len(data) - pos, "why": why})
                return
            report.damaged.append({"file": str(path), "offset": pos, "why": why,
                                   "skipped_bytes": nxt - pos})
            pos = nxt
            continue
        records = _parse_records(payload, n_records)
        if records is None:
            report.damaged.append({"file": str(path), "offset": pos,
                                   "why": "records do not tile the chunk"})
            pos = end
            continue
        if last_seq and seq != (last_seq[0] + 1) & 0xFFFFFFFF:
            report.chunk_gaps += 1
        last_seq[:] = [seq]
        report.chunks_ok += 1
        report.t_first_ns = t_first if report.t_first_ns is None else report.t_first_ns
        report.t_last_ns = t_last
        for rec in records:
            report.records_ok += 1
            name = rec.kind.name
            report.records_by_kind[name] = report.records_by_kind.get(name, 0) + 1
            if rec.kind == Kind.RAW:
                report.bytes_by_stream[rec.stream] = report.bytes_by_stream.get(rec.stream, 0) + len(rec.data)
            if rec.kind == Kind.META and report.meta is None:
                report.meta = _meta(rec, path)
            elif rec.kind == Kind.END:
                report.ended = True
            yield rec
        pos = end


def _meta(rec: Record, path: Path) -> dict:
    try:
        meta = rec.json()
    except (ValueError, UnicodeDecodeError) as e:
        raise ConfigError(f"META record is not JSON: {e}", file=str(path)) from e
    if not isinstance(meta, dict):
        raise ConfigError("META record is not a JSON object", file=str(path))
    return meta


def _parse_records(payload: bytes, n_records: int) -> list[Record] | None:
    """The chunk's records, or None unless exactly ``n_records`` tile the payload."""
    pos = 0
    records = []
    for _ in range(n_records):
        if len(payload) - pos < RECORD_HEADER.size:
            return None
        kind, _r, stream, length, t_ns = RECORD_HEADER.unpack_from(payload, pos)
        pos += RECORD_HEADER.size
        if kind not in RECORD_KINDS or length > len(payload) - pos:
            return None
        records.append(Record(Kind(kind), stream, t_ns, payload[pos:pos + length]))
        pos += length
    return records if pos == len(payload) else None


def iter_recording(path: str | Path, report: RecordingReport) -> Iterator[Record]:
    """Every record of every complete chunk of a recording (and its rotations), validated as
    it is read; ``report`` fills in as the reading goes (complete at the end). Memory stays
    bounded by one chunk."""
    last_seq: list = []
    files = recording_files(path)
    for f in files:
        for rec in _read_file(f, report, last_seq, _file_indexes(Path(path), f)):
            if report.meta is None:
                # the first META chunk is damaged: the copy the END record keeps serves
                report.meta = _meta_from_end(files)
                if report.meta is None:
                    raise ConfigError("recording does not start with its META record, and "
                                      "has no end-of-run record keeping a copy",
                                      file=str(path))
                report.meta_from_end = True
                yield Record(Kind.META, 0, rec.t_ns, json.dumps(report.meta).encode())
            yield rec
    if report.meta is None:
        raise ConfigError("recording has no META record", file=str(path))


def _meta_from_end(files: list[Path]) -> dict | None:
    """The copy of the run's META in the END record of a recording, if it has one."""
    scratch = RecordingReport()
    last_seq: list = []
    for f in files:
        for rec in _read_file(f, scratch, last_seq):
            if rec.kind == Kind.END:
                try:
                    meta = rec.json().get("meta")
                except (ValueError, UnicodeDecodeError, AttributeError):
                    return None
                return meta if isinstance(meta, dict) else None
    return None


def read_recording(path: str | Path) -> tuple[list[Record], RecordingReport]:
    """Every record of a recording as a list, and the report (for small recordings)."""
    report = RecordingReport()
    return list(iter_recording(path, report)), report
