"""Writing recordings without ever blocking the real-time loop."""

from __future__ import annotations

import json
import os
import threading
import time
import zlib
from pathlib import Path

from rig.errors import RigError

from .format import (CHUNK_HEADER, CHUNK_MAGIC, FILE_HEADER, FILE_MAGIC, FILE_VERSION,
                     MAX_CHUNK_PAYLOAD, RECORD_HEADER, Kind)


class RecordWriter:
    """Appends records from any thread; a background thread writes them in chunks.

    :meth:`write` only queues (it never touches the disk). A chunk is written when
    ``chunk_bytes`` are pending or ``flush_interval_s`` after its first record, and is
    ``fdatasync``-ed before the next one. Pending data is bounded by ``max_pending_bytes``;
    past it records are dropped and counted in :attr:`dropped_records` (a disk slower than the
    sensors is reported, not hidden). With ``max_file_bytes`` or ``max_file_s`` the
    recording rotates to ``PATH.1``, ``PATH.2`` ...; ``keep_files`` bounds how many stay.
    """

    def __init__(self, path: str | Path, *, meta: dict | None = None, chunk_bytes: int = 262144,
                 flush_interval_s: float = 0.5, max_pending_bytes: int = 256 * 1024 * 1024,
                 max_file_bytes: int | None = None, max_file_s: float | None = None,
                 keep_files: int | None = None, fsync: bool = True):
        self.path = Path(path)
        self.meta = dict(meta or {})
        self.chunk_bytes = min(chunk_bytes, MAX_CHUNK_PAYLOAD // 2)
        self.flush_interval_s = flush_interval_s
        self.max_pending_bytes = max_pending_bytes
        self.max_file_bytes = max_file_bytes
        self.max_file_s = max_file_s
        self.keep_files = keep_files
        self.fsync = fsync
        self.dropped_records = 0
        self.records_written = 0
        self.chunks_written = 0
        self.bytes_written = 0
        self.files: list[Path] = []
        self.error: BaseException | None = None
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._pending_t: list[int] = []
        self._first_pending_s: float | None = None
        self._cond = threading.Condition()
        self._closed = False
        self._chunk_seq = 0
        self._file = None
        self._file_index = -1
        self._file_bytes = 0
        self._file_chunks = 0
        self._file_opened_s = 0.0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._open_next_file()
        self._thread = threading.Thread(target=self._run, name="rig-recorder", daemon=True)
        self._thread.start()

    # --- producer side -------------------------------------------------------------------
    def write(self, kind: Kind, stream: int, t_ns: int, data: bytes) -> bool:
        """Queue one record; False (and counted) if the pending bound is reached."""
        record = RECORD_HEADER.pack(int(kind), 0, stream, len(data), t_ns) + bytes(data)
        with self._cond:
            if self._closed:
                raise RigError(f"{self.path}: recording is closed")
            if self._pending_bytes + len(record) > self.max_pending_bytes or len(record) > MAX_CHUNK_PAYLOAD:
                self.dropped_records += 1
                return False
            first = self._first_pending_s is None
            if first:
                self._first_pending_s = time.monotonic()
            self._pending.append(record)
            self._pending_t.append(t_ns)
            self._pending_bytes += len(record)
            if first or self._pending_bytes >= self.chunk_bytes:
                self._cond.notify()      # start the flush clock, or write a full chunk now
        return True

    def write_json(self, kind: Kind, stream: int, t_ns: int, obj) -> bool:
        return self.write(kind, stream, t_ns, json.dumps(obj, separators=(",", ":")).encode())

    def close(self) -> None:
        """Write everything pending and the END record, sync and close."""
        t = time.monotonic_ns()
        with self._cond:
            if self._closed:
                return
            body = json.dumps({"dropped_records": self.dropped_records,
                               "meta": {**self.meta, "file_index": 0}},
                              separators=(",", ":")).encode()
            # past the pending bound too: a recording closed by its run says so
            self._pending.append(RECORD_HEADER.pack(int(Kind.END), 0, 0, len(body), t) + body)
            self._pending_t.append(t)
            self._pending_bytes += RECORD_HEADER.size + len(body)
            self._closed = True
            self._cond.notify()
        self._thread.join()
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> "RecordWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- writer thread ---------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    if self._pending_bytes >= self.chunk_bytes:
                        break
                    if self._first_pending_s is not None:
                        wait = self._first_pending_s + self.flush_interval_s - time.monotonic()
                        if wait <= 0:
                            break
                        self._cond.wait(wait)
                    else:
                        self._cond.wait()
                records, times = self._take()
                closing = self._closed
            if records:
                try:
                    self._write_chunks(records, times)
                except OSError as e:
                    self.error = e
                    self.dropped_records += len(records)
            if closing and not self._pending:
                return

    def _take(self) -> tuple[list[bytes], list[int]]:
        records, times = self._pending, self._pending_t
        self._pending, self._pending_t = [], []
        self._pending_bytes = 0
        self._first_pending_s = None
        return records, times

    def _write_chunks(self, records: list[bytes], times: list[int]) -> None:
        start = 0
        while start < len(records):
            size, end = 0, start
            while end < len(records) and (end == start or size + len(records[end]) <= self.chunk_bytes):
                size += len(records[end])
                end += 1
            self._write_chunk(records[start:end], times[start], times[end - 1])
            start = end

    def _write_chunk(self, records: list[bytes], t_first: int, t_last: int) -> None:
        if self._should_rotate():
            self._open_next_file()
        payload = b"".join(records)
        head = CHUNK_HEADER.pack(CHUNK_MAGIC, self._chunk_seq & 0xFFFFFFFF, t_first, t_last,
                                 len(records), len(payload), zlib.crc32(payload))
        chunk = head + zlib.crc32(head).to_bytes(4, "little") + payload
        self._file.write(chunk)
        self._file.flush()
        if self.fsync:
            os.fdatasync(self._file.fileno())
        self._chunk_seq += 1
        self.chunks_written += 1
        self.records_written += len(records)
        self.bytes_written += len(chunk)
        self._file_bytes += len(chunk)
        self._file_chunks += 1

    def _should_rotate(self) -> bool:
        if self._file_chunks <= 1:      # never leave a file with nothing but its META chunk
            return False
        if self.max_file_bytes is not None and self._file_bytes >= self.max_file_bytes:
            return True
        return (self.max_file_s is not None
                and time.monotonic() - self._file_opened_s >= self.max_file_s)

    def _open_next_file(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file_index += 1
        path = self.path if self._file_index == 0 else self.path.with_name(
            f"{self.path.name}.{self._file_index}")
        self._file = open(path, "wb")
        self.files.append(path)
        header = FILE_HEADER.pack(FILE_MAGIC, FILE_VERSION, self._file_index)
        self._file.write(header)
        self._file_bytes = len(header)
        self._file_chunks = 0
        self._file_opened_s = time.monotonic()
        if self.keep_files is not None:
            while len(self.files) > self.keep_files:
                self.files.pop(0).unlink(missing_ok=True)
        # every file describes itself
        meta = json.dumps({**self.meta, "file_index": self._file_index}).encode()
        record = RECORD_HEADER.pack(int(Kind.META), 0, 0, len(meta), time.monotonic_ns()) + meta
        t = time.monotonic_ns()
        self._write_chunk([record], t, t)
