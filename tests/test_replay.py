"""Record a live run, replay it: identical fused output, same figures, validated input."""

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from rig.bench.report import report_schema
from rig.record import Kind, read_recording

SHORT = Path(__file__).parent / "data" / "bench" / "short.yaml"


def rig(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "rig", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def recorded(short_recorded_run):
    return short_recorded_run


def test_recording_holds_every_stream_the_cycles_and_the_outputs(recorded):
    records, report = read_recording(recorded / "run.rigrec")
    assert report.clean
    kinds = report.records_by_kind
    assert kinds["RAW"] > 0 and kinds["CYCLE"] > 0 and kinds["OUTPUT"] > 0
    assert set(report.bytes_by_stream) == {0, 1, 2}         # every sensor's raw stream
    live = json.loads((recorded / "report.json").read_text())
    assert live["recording"]["dropped_records"] == 0
    assert live["recording"]["records"] == len(records)
    assert all(r.data[:1] in (b"\x3e",) for r in records if r.kind == Kind.OUTPUT)  # CAT062


@pytest.mark.parametrize("run", range(2))
def test_replay_is_bit_identical_to_the_live_run(recorded, tmp_path, run):
    out = tmp_path / f"replay{run}"
    result = rig("replay", str(recorded / "run.rigrec"), "--out", str(out))
    assert result.returncode == 1, result.stderr        # the same limit fails again
    assert (out / "tracks.csv").read_bytes() == (recorded / "tracks.csv").read_bytes()
    live = json.loads((recorded / "report.json").read_text())
    again = json.loads((out / "report.json").read_text())
    jsonschema.validate(again, report_schema())
    for key in ("processing_latency_ms", "transport_latency_ms", "tick_lateness_ms",
                "tick_jitter_ms"):
        assert again["timing"][key] == live["timing"][key], key
    assert again["accuracy"]["pictures"] == live["accuracy"]["pictures"]
    # the live run was judged on its recording as well; the replay on the config's limits
    *judged, recording = live["limits"]
    assert recording["name"] == "recording_lost_records.max <= 0"
    assert recording["outcome"] == "pass"
    assert [l["outcome"] for l in again["limits"]] == [l["outcome"] for l in judged]
    for name in ("junit.xml", "report.html", "truth.csv"):
        assert (out / name).is_file()


def test_record_info_summarises(recorded):
    out = rig("record-info", str(recorded / "run.rigrec"), "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["clean"] and info["run"]["name"] == "short-emulated"
    assert info["run"]["sensors"] == ["A1", "A2", "B1"]
    human = rig("record-info", str(recorded / "run.rigrec"))
    assert "clean" in human.stdout and "raw bytes per sensor stream" in human.stdout


def test_a_torn_recording_replays_what_is_complete_and_says_so(recorded, tmp_path):
    data = (recorded / "run.rigrec").read_bytes()
    torn = tmp_path / "torn.rigrec"
    torn.write_bytes(data[:int(len(data) * 0.6)])          # the end record holds a META copy
    info = json.loads(rig("record-info", str(torn), "--json").stdout)
    assert not info["clean"] and info["torn_tail"]
    result = rig("replay", str(torn), "--out", str(tmp_path / "o"))
    assert result.returncode in (0, 1), result.stderr
    assert "torn tail" in result.stderr
    ticks = json.loads((tmp_path / "o" / "report.json").read_text())["counts"]["ticks"]
    assert 0 < ticks < json.loads((recorded / "report.json").read_text())["counts"]["ticks"]
    replayed = (tmp_path / "o" / "tracks.csv").read_text().splitlines()
    live = (recorded / "tracks.csv").read_text().splitlines()
    assert replayed == live[:len(replayed)]     # what was complete replays identically


def test_not_a_recording_is_refused(tmp_path):
    bogus = tmp_path / "x.rigrec"
    bogus.write_bytes(b"#!/bin/sh\nrm -rf /\n")
    result = rig("replay", str(bogus), "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "not a rig recording" in result.stderr


def test_a_recording_with_damaged_chunks_replays_the_rest_and_says_partial(recorded, tmp_path):
    data = bytearray((recorded / "run.rigrec").read_bytes())
    starts, at = [], data.find(b"RCK1")
    while at >= 0:
        starts.append(at)
        at = data.find(b"RCK1", at + 1)
    assert len(starts) > 15
    for start in starts[3:14]:                                 # 11 chunks, one byte each
        data[start + 50] ^= 0x5A
    damaged = tmp_path / "damaged.rigrec"
    damaged.write_bytes(bytes(data))
    info = rig("record-info", str(damaged), "--json")
    assert info.returncode == 1 and len(json.loads(info.stdout)["damaged"]) >= 11
    result = rig("replay", str(damaged), "--out", str(tmp_path / "o"))
    assert result.returncode in (0, 1), result.stderr
    assert "partial recording" in result.stderr and "damaged chunk" in result.stderr
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["counts"]["ticks"] > 0 and not report["recording"]["clean"]
