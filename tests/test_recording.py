"""Recordings: round trip, rotation, torn tails, damage, and a writer killed with SIGKILL."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from rig.errors import ConfigError
from rig.record import Kind, RecordWriter, read_recording, recording_files
from rig.record.format import CHUNK_HEADER_SIZE, FILE_HEADER, chunk_spans


def write_some(path, n=500, **kwargs):
    with RecordWriter(path, meta={"config": {"name": "t"}}, **kwargs) as w:
        for i in range(n):
            w.write(Kind.RAW, i % 3, 1000 + i, bytes([i % 256]) * (i % 50 + 1))
        w.write_json(Kind.EVENT, 0, 5000, {"event": "end"})
    return w


def test_round_trip_keeps_every_record_in_order(tmp_path):
    w = write_some(tmp_path / "rec", chunk_bytes=4096)
    records, report = read_recording(tmp_path / "rec")
    raw = [r for r in records if r.kind == Kind.RAW]
    assert len(raw) == 500 and w.dropped_records == 0
    assert [r.t_ns for r in raw] == list(range(1000, 1500))
    assert all(r.data == bytes([i % 256]) * (i % 50 + 1) for i, r in enumerate(raw))
    assert [r for r in records if r.kind == Kind.EVENT][0].json() == {"event": "end"}
    assert report.clean and report.chunks_ok > 3 and report.ended
    assert report.meta["config"] == {"name": "t"}
    assert records[-1].kind == Kind.END and records[-1].json()["dropped_records"] == 0


def test_rotation_by_size_keeps_a_readable_set(tmp_path):
    w = write_some(tmp_path / "rec", n=3000, chunk_bytes=2048, max_file_bytes=10_000)
    files = recording_files(tmp_path / "rec")
    assert len(files) > 3 and files == w.files
    records, report = read_recording(tmp_path / "rec")
    assert sum(r.kind == Kind.RAW for r in records) == 3000
    assert report.clean and report.chunk_gaps == 0


def test_rotation_with_keep_files_bounds_the_disk(tmp_path):
    w = write_some(tmp_path / "rec", n=3000, chunk_bytes=2048, max_file_bytes=10_000, keep_files=2)
    remaining = sorted(p.name for p in tmp_path.iterdir())
    assert len(remaining) == 2 and len(w.files) == 2


@pytest.mark.parametrize("cut", [1, 7, CHUNK_HEADER_SIZE - 1, CHUNK_HEADER_SIZE + 3])
def test_torn_tail_is_reported_never_misread(tmp_path, cut):
    write_some(tmp_path / "rec", chunk_bytes=4096)
    data = (tmp_path / "rec").read_bytes()
    complete, full_report = read_recording(tmp_path / "rec")
    # append the beginning of one more chunk, as a crash in the middle of a write leaves it
    last_chunk_at = data.rfind(b"RCK1")
    (tmp_path / "rec").write_bytes(data + data[last_chunk_at:last_chunk_at + cut])
    records, report = read_recording(tmp_path / "rec")
    assert len(records) == len(complete)
    assert report.torn_tail and report.torn_tail[0]["bytes"] == cut
    assert not report.damaged


def test_damaged_chunk_in_the_middle_is_skipped_and_reported(tmp_path):
    write_some(tmp_path / "rec", chunk_bytes=2048)
    data = bytearray((tmp_path / "rec").read_bytes())
    second = data.find(b"RCK1", data.find(b"RCK1", FILE_HEADER.size + 1) + 1)
    data[second + CHUNK_HEADER_SIZE + 10] ^= 0xFF
    (tmp_path / "rec").write_bytes(bytes(data))
    complete = write_some(tmp_path / "ok", chunk_bytes=2048)
    records, report = read_recording(tmp_path / "rec")
    assert len(report.damaged) == 1 and report.damaged[0]["why"] == "payload CRC mismatch"
    assert report.chunk_gaps == 1
    assert 0 < sum(r.kind == Kind.RAW for r in records) < 500
    assert complete.records_written > len(records)


def test_not_a_recording_is_a_clear_error(tmp_path):
    (tmp_path / "x").write_bytes(b"hello world, not a recording")
    with pytest.raises(ConfigError, match="not a rig recording"):
        read_recording(tmp_path / "x")
    with pytest.raises(ConfigError, match="no such recording"):
        read_recording(tmp_path / "missing")


def test_pending_bound_drops_and_counts(tmp_path):
    w = RecordWriter(tmp_path / "rec", meta={}, max_pending_bytes=1000, flush_interval_s=60,
                     chunk_bytes=1 << 20)
    accepted = sum(w.write(Kind.RAW, 0, i, b"x" * 100) for i in range(50))
    w.close()
    assert accepted < 50 and w.dropped_records == 50 - accepted


def test_kill_9_loses_at_most_the_unflushed_tail(tmp_path):
    """A writer process killed with SIGKILL: every chunk it completed is readable."""
    script = textwrap.dedent(f"""
        import sys, time
        from rig.record import Kind, RecordWriter
        w = RecordWriter({str(tmp_path / 'rec')!r}, meta={{}}, chunk_bytes=1024,
                         flush_interval_s=0.05)
        i = 0
        while True:
            w.write(Kind.RAW, 0, i, i.to_bytes(8, 'little') * 8)
            i += 1
            if i == 2000:
                print('written', flush=True)
            time.sleep(0.0001)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "written"
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    records, report = read_recording(tmp_path / "rec")
    raw = [r for r in records if r.kind == Kind.RAW]
    assert len(raw) >= 2000
    # nothing misread: every record is exactly what was written, in order, with no hole
    assert [r.t_ns for r in raw] == list(range(len(raw)))
    assert all(r.data == r.t_ns.to_bytes(8, "little") * 8 for r in raw)
    assert not report.damaged
    # but the run never closed it: not clean, and it says why
    assert not report.ended and not report.clean
    assert any("cut short" in p for p in report.problems())


def test_records_reach_the_disk_within_the_flush_interval(tmp_path):
    """A record written after an idle spell is on disk one flush interval later, not at close."""
    w = RecordWriter(tmp_path / "rec", meta={}, flush_interval_s=0.05)
    try:
        for i in range(3):
            w.write(Kind.RAW, 0, i, b"x")
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                records, _ = read_recording(tmp_path / "rec")
                if sum(r.kind == Kind.RAW for r in records) == i + 1:
                    break
                time.sleep(0.01)
            assert sum(r.kind == Kind.RAW for r in records) == i + 1
            time.sleep(0.2)            # idle: the writer thread waits for the next record
    finally:
        w.close()


def test_a_recording_without_its_end_record_is_cut_short(tmp_path):
    write_some(tmp_path / "rec", chunk_bytes=2048)
    data = (tmp_path / "rec").read_bytes()
    whole, _ = read_recording(tmp_path / "rec")
    last_start, _ = chunk_spans(data)[-1]
    (tmp_path / "rec").write_bytes(data[:last_start])       # the last chunk never written
    records, report = read_recording(tmp_path / "rec")
    assert records == whole[:len(records)] and len(records) > 400   # the rest is all there
    assert not any(r.kind == Kind.END for r in records)
    assert not report.clean and not report.ended and not report.torn_tail
    assert report.to_json()["problems"] == [
        "no end-of-run record: the run was cut short (or the recording's last chunks are "
        "lost)"]


def test_a_damaged_meta_chunk_is_read_through_the_end_record_s_copy(tmp_path):
    write_some(tmp_path / "rec", chunk_bytes=2048)
    data = bytearray((tmp_path / "rec").read_bytes())
    meta_start, meta_end = chunk_spans(bytes(data))[0]
    data[meta_end - 3] ^= 0x01                                 # one bit of the META chunk
    (tmp_path / "rec").write_bytes(bytes(data))
    records, report = read_recording(tmp_path / "rec")
    assert report.meta_from_end and report.meta["config"] == {"name": "t"}
    assert records[0].kind == Kind.META and records[0].json()["config"] == {"name": "t"}
    assert sum(r.kind == Kind.RAW for r in records) == 500
    assert len(report.damaged) == 1 and not report.clean


@pytest.mark.parametrize("flips", [1, 10, 100])
def test_every_chunk_no_flipped_byte_touched_is_recovered(tmp_path, flips):
    import numpy as np

    write_some(tmp_path / "rec", n=2000, chunk_bytes=1024)
    data = bytearray((tmp_path / "rec").read_bytes())
    spans = chunk_spans(bytes(data))
    rng = np.random.default_rng(flips)
    offsets = rng.choice(np.arange(FILE_HEADER.size, len(data)), flips, replace=False)
    for at in offsets:
        data[at] ^= int(rng.integers(1, 256))
    (tmp_path / "rec").write_bytes(bytes(data))
    hit = {i for i, (a, b) in enumerate(spans) if any(a <= o < b for o in offsets)}
    if 0 in hit and len(spans) - 1 in hit:                      # both copies of META lost
        with pytest.raises(ConfigError, match="META"):
            read_recording(tmp_path / "rec")
        return
    _, report = read_recording(tmp_path / "rec")
    assert report.chunks_ok == len(spans) - len(hit)            # every undamaged chunk
    assert not report.clean and (report.damaged or report.torn_tail)
