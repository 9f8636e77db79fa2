"""Fault injection: the schedule itself, and a run in which every kind of fault strikes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from firmware_interfaces.serial_sensor.codec import SerialFrameDecoder, encode_frame
from rig.emulation import SensorClock
from rig.emulation.faults import FaultSchedule, FaultSpec

#: CI runs this file again on the pure-Python twins (RIG_PUREPYTHON=1)
pytestmark = pytest.mark.twins

FAULTS = Path(__file__).parent / "data" / "bench" / "faults.yaml"


def frames(n, start=0):
    return [encode_frame(2, start + i, 0, b"p" * 40) for i in range(n)]


def through(schedule, frames_in, t_s):
    out = schedule.frames(frames_in, t_s)
    decoder = SerialFrameDecoder()
    decoder.feed(b"".join(out))
    return out, decoder


def test_no_fault_outside_its_window():
    s = FaultSchedule([FaultSpec(kind="drop_frames", at_s=5, duration_s=1, probability=1.0)])
    assert len(s.frames(frames(10), 4.99)) == 10
    assert len(s.frames(frames(10), 5.0)) == 0
    assert len(s.frames(frames(10), 6.0)) == 10


def test_drop_duplicate_reorder_are_what_the_decoder_sees():
    s = FaultSchedule([FaultSpec(kind="drop_frames", at_s=0, duration_s=1, probability=0.5)], 1)
    out, d = through(s, frames(400), 0.5)
    seqs = [m[1] for m in d.messages()]
    assert d.frames_ok == len(seqs) == 400 - s.counts["frames_dropped"]
    assert d.seq_gaps == seqs[-1] - seqs[0] + 1 - len(seqs) > 0    # the missing numbers
    s = FaultSchedule([FaultSpec(kind="duplicate_frames", at_s=0, duration_s=1, probability=0.5)], 1)
    out, d = through(s, frames(400), 0.5)
    assert len(out) == 400 + s.counts["frames_duplicated"]
    assert d.duplicates == s.counts["frames_duplicated"] and d.frames_ok == 400
    s = FaultSchedule([FaultSpec(kind="reorder_frames", at_s=0, duration_s=1, probability=0.3)], 1)
    out, d = through(s, frames(400), 0.5)
    assert d.frames_ok == 400 and d.seq_restarts == s.counts["frames_reordered"] > 0


def test_bit_errors_are_caught_by_the_crcs():
    s = FaultSchedule([FaultSpec(kind="bit_errors", at_s=0, duration_s=1, rate=0.001)], 2)
    out, d = through(s, frames(2000), 0.5)
    damaged = s.counts["frames_damaged"]
    assert damaged > 10
    assert d.frames_ok == 2000 - damaged        # each damaged frame lost, every other one kept
    assert d.crc_errors > 0 and d.bytes_skipped > 0


def test_garbage_is_sent_once_and_skipped():
    s = FaultSchedule([FaultSpec(kind="garbage", at_s=1, bytes=5000)], 3)
    assert len(b"".join(s.frames(frames(3), 0.5))) == 3 * 64
    out, d = through(s, frames(3, 3), 1.5)
    assert s.counts["garbage_bytes"] == 5000 and d.frames_ok == 3
    assert len(s.frames([], 2.0)) == 0


def test_a_latency_spike_holds_everything_in_order():
    s = FaultSchedule([FaultSpec(kind="latency_spike", at_s=1, duration_s=1, delay_s=0.5)])
    assert s.frames(frames(2), 1.2) == []               # held until 1.7
    first = s.frames(frames(2, 2), 1.9)                 # the first two out; these until 2.4
    assert len(first) == 2
    assert s.frames(frames(2, 4), 2.1) == []            # spike over, yet behind the held ones
    rest = s.frames([], 2.5)
    assert len(rest) == 4
    d = SerialFrameDecoder()
    d.feed(b"".join(first + rest))
    assert d.frames_ok == 6 and d.seq_gaps == d.seq_restarts == 0


def test_clock_jumps_and_drift_changes_accumulate():
    base = SensorClock(0.1, 5.0, 0.0)
    s = FaultSchedule([FaultSpec(kind="clock_jump", at_s=10, offset_s=0.5),
                       FaultSpec(kind="drift_change", at_s=20, drift_ppm=100.0)])
    assert s.clock(base, 5).sensor_time(5) == base.sensor_time(5)
    assert s.clock(base, 15).sensor_time(15) == pytest.approx(base.sensor_time(15) + 0.5)
    c = s.clock(base, 30)
    assert c.sensor_time(30) == pytest.approx(base.sensor_time(30) + 0.5 + 100e-6 * 10)
    assert c.sensor_time(20) == pytest.approx(base.sensor_time(20) + 0.5)   # continuous


def test_windows_and_events():
    s = FaultSchedule([FaultSpec(kind="silent", at_s=1, duration_s=2),
                       FaultSpec(kind="disconnect", at_s=4, duration_s=1)])
    assert not s.silent(0.5) and s.silent(1.5) and not s.silent(3.0)
    assert s.disconnected(4.5) and not s.disconnected(5.0)
    assert [(e["kind"], e["phase"]) for e in s.events(1.5)] == [("silent", "start")]
    assert [(e["kind"], e["phase"]) for e in s.events(6.0)] == [
        ("silent", "end"), ("disconnect", "start"), ("disconnect", "end")]
    assert s.events(7.0) == []


@pytest.mark.parametrize("bad", [
    {"kind": "silent", "at_s": 1},                        # a window needs a duration
    {"kind": "meteor", "at_s": 1},
    {"kind": "bit_errors", "at_s": 1, "duration_s": 1, "rate": 2},
    {"kind": "garbage", "at_s": 1, "colour": "red"},
])
def test_bad_fault_specs_are_refused(bad):
    with pytest.raises(ValidationError):
        FaultSpec.model_validate(bad)


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("faults")
    proc = subprocess.run([sys.executable, "-m", "rig", "run", str(FAULTS), "--out", str(out),
                           "--record", "run.rigrec", "--no-live"], capture_output=True,
                          text=True, timeout=300)
    return proc, out


@pytest.mark.slow                # a whole emulated run: CI runs it with -m slow
def test_the_rig_survives_every_fault_and_reports_each(faulty_run):
    proc, out = faulty_run
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())
    rows = report["faults"]
    assert len(rows) == 12
    assert all(r["injected"] for r in rows), rows
    assert all(r["recovered"] for r in rows), rows
    by = {(r["sensor"], r["kind"]): r for r in rows}
    assert by[("A1", "disconnect")]["disconnects"] == 1 and by[("A1", "disconnect")]["reconnects"] == 1
    assert by[("B1", "disconnect")]["reconnects"] >= 1
    assert by[("A1", "bit_errors")]["decoder_errors"] > 0
    assert by[("B2", "drop_frames")]["sequence_gaps"] > 0
    assert report["counts"]["losses_outside_faults"] == 0
    assert report["counts"]["dropped_plots"] == 0
    assert all(s["plots"] > 0 for s in report["sensors"])
    assert report["stopped_by"] == "duration"


@pytest.mark.slow                # a whole emulated run: CI runs it with -m slow
def test_a_faulty_run_replays_bit_for_bit(faulty_run, tmp_path):
    _, out = faulty_run
    proc = subprocess.run([sys.executable, "-m", "rig", "replay", str(out / "run.rigrec"),
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "tracks.csv").read_bytes() == (out / "tracks.csv").read_bytes()
    live = json.loads((out / "report.json").read_text())
    again = json.loads((tmp_path / "report.json").read_text())
    assert again["faults"] == live["faults"]
