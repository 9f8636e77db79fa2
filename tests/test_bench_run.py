"""`rig run` end to end: real emulator processes, real drivers, the live loop, the reports."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from rig.publish.cat062 import decode_tracks
from rig.publish.codec import Cat062Decoder

DATA = Path(__file__).parent / "data" / "bench"


def rig(*args, timeout=180, **kwargs):
    return subprocess.run([sys.executable, "-m", "rig", *args], capture_output=True, text=True,
                          timeout=timeout, **kwargs)


def emulators_of(out_dir: Path) -> list[int]:
    """Processes still running whose command line names this run's scenario file."""
    marker = str(out_dir / "scenario.yaml")
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline:
            pids.append(int(entry.name))
    return pids


def write_config(tmp_path, **changes) -> Path:
    config = yaml.safe_load((DATA / "short.yaml").read_text())
    for key, value in changes.items():
        config[key] = value
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    """One short emulated run, its CAT062 feed captured on loopback."""
    tmp = tmp_path_factory.mktemp("run")
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    config = yaml.safe_load((DATA / "short.yaml").read_text())
    config["outputs"]["feeds"][0]["transport"] = f"udp://127.0.0.1:{port}"
    path = tmp / "bench.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp / "out"
    proc = subprocess.Popen([sys.executable, "-m", "rig", "run", str(path), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    datagrams = []
    while proc.poll() is None:
        try:
            datagrams.append(listener.recv(65536))
        except socket.timeout:
            pass
    stdout, stderr = proc.communicate()
    listener.close()
    return {"code": proc.returncode, "out": out, "stdout": stdout, "stderr": stderr,
            "datagrams": datagrams, "config": config}


def test_run_writes_every_report(short_run):
    out = short_run["out"]
    for name in ("tracks.csv", "report.json", "junit.xml", "report.html", "truth.csv",
                 "scenario.yaml", "timing-samples.npz"):
        assert (out / name).is_file(), name
    with np.load(out / "timing-samples.npz") as samples:
        report = json.loads((out / "report.json").read_text())
        for name in ("processing_latency_ms", "tick_lateness_ms", "tick_jitter_ms"):
            assert len(samples[name]) == report["timing"][name]["count"]
            assert len(samples[f"platform_{name}"]) == len(samples[name])
    assert not emulators_of(out), "an emulator outlived the run"


def test_the_report_follows_its_schema_and_is_strict_json(short_run):
    import jsonschema

    from rig.bench.report import report_schema

    text = (short_run["out"] / "report.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    report = json.loads(text)
    jsonschema.validate(report, report_schema())
    assert report["schema_version"] == 1
    assert report["counts"]["feed_send_errors"] == sum(f["send_errors"] for f in report["feeds"])
    with pytest.raises(jsonschema.ValidationError):     # the schema does check
        jsonschema.validate({**report, "exit_code": 7}, report_schema())


def test_report_figures_are_present_and_sane(short_run):
    r = json.loads((short_run["out"] / "report.json").read_text())
    assert r["mode"] == "emulated" and r["stopped_by"] == "duration"
    assert 9.0 <= r["duration_s"] <= 10.5
    t = r["timing"]
    for key in ("processing_latency_ms", "transport_latency_ms", "tick_lateness_ms",
                "tick_jitter_ms", "cycle_time_ms"):
        s = t[key]
        assert s["count"] > 0, key
        assert 0 <= s["p50"] <= s["p99"] <= s["max"], key
    assert r["counts"]["plots_received"] > 50
    assert r["counts"]["ticks"] >= 9
    assert r["counts"]["dropped_plots"] == 0 and r["counts"]["decoder_errors"] == 0
    assert {s["id"] for s in r["sensors"]} == {"A1", "A2", "B1"}
    assert all(s["plots"] > 0 for s in r["sensors"])
    # the transport latency is the model's (50-170 ms) plus the line, never negative
    assert 10 < t["transport_latency_ms"]["p50"] < 500
    pictures = r["accuracy"]["pictures"]
    assert set(pictures) == {"joint", "partner A alone", "partner B alone"}
    assert 0 <= pictures["joint"]["ospa_mean_m"] <= 1000
    assert r["environment"]["kernel"] and r["environment"]["cpu_count"] >= 1
    assert r["environment"]["fusion_kernels"] == "compiled"
    assert r["config"]["name"] == "short-emulated"


def test_transport_latency_agrees_with_each_emulated_sensor_s_true_latency(short_run):
    """The scenario the run emulated says how late each radar reports (latency_s plus up to
    latency_jitter_s, and no clock error here); what rig measured lies in that band plus the
    line, per sensor, and the report's own truth check agrees."""
    r = json.loads((short_run["out"] / "report.json").read_text())
    scenario = yaml.safe_load((short_run["out"] / "scenario.yaml").read_text())
    truth = {s["id"]: s for s in scenario["sensors"]}
    for row in r["sensors"]:
        spec = truth[row["id"]]
        assert spec.get("clock_offset_s", 0.0) == 0.0
        lat = row["transport_latency_ms"]
        assert lat["count"] == row["plots"]
        assert lat["min"] >= spec["latency_s"] * 1e3 - 4.0, row["id"]
        assert lat["max"] <= (spec["latency_s"] + spec["latency_jitter_s"]) * 1e3 + 50, row["id"]
    check = r["truth_check"]
    assert [x["sensor"] for x in check["transport_latency"]] == [s["id"] for s in r["sensors"]]
    assert sum(x["below"] + x["above"] for x in check["transport_latency"]) == 0
    for row in check["registration"]:
        for q in ("range_bias", "az_bias", "el_bias", "clock_offset"):
            assert row[q]["error"] == pytest.approx(row[q]["estimate"] - row[q]["truth"])
    assert "Against the emulation" in (short_run["out"] / "report.html").read_text()


def test_report_explains_the_joint_pictures_bad_tracks(short_run):
    r = json.loads((short_run["out"] / "report.json").read_text())
    explained = r["accuracy"]["joint_explained"]
    assert set(explained) == {"tracks_explained", "switches", "breaks"}
    s = r["accuracy"]["pictures"]["joint"]
    assert len(explained["switches"]) == s["identity_switches"]
    assert len(explained["breaks"]) == s["track_breaks"]
    bad = [t for t in explained["tracks_explained"] if t["kind"] != "true"]
    assert len(bad) == s["false_tracks"] + s["mostly_false_tracks"]
    assert all(set(t["partners"]) <= {"A", "B"} for t in explained["tracks_explained"])
    page = (short_run["out"] / "report.html").read_text()
    for title in ("Tracks that were not one target", "Identity switches", "Track breaks"):
        assert title in page


def test_failing_limit_gives_exit_1_and_a_failing_junit_case(short_run):
    assert short_run["code"] == 1, short_run["stderr"]
    root = ET.parse(short_run["out"] / "junit.xml").getroot()
    cases = root.findall("./testsuite/testcase")
    limit_cases = [c for c in cases if c.get("classname").startswith("rig.limits.")]
    sensor_cases = [c for c in cases if c.get("classname").startswith("rig.sensors.")]
    assert len(limit_cases) == len(short_run["config"]["limits"])
    assert len(sensor_cases) == len(short_run["config"]["sensors"])
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    assert failed == {"processing_latency_ms.p50"}
    assert root.get("failures") == "1"
    run = root.find("./testsuite/testcase[@name='run']")
    assert float(run.get("time")) == pytest.approx(
        json.loads((short_run["out"] / "report.json").read_text())["duration_s"], abs=1e-3)


def test_tracks_csv_is_the_interchange_schema(short_run):
    tracks = pd.read_csv(short_run["out"] / "tracks.csv")
    assert list(tracks.columns[:8]) == ["t", "track_id", "east_m", "north_m", "up_m", "ve",
                                        "vn", "vu"]
    assert len(tracks) > 0 and np.all(np.diff(np.unique(tracks["t"])) > 0.5)


def test_cat062_feed_is_decodable_and_matches_the_published_tracks(short_run):
    assert short_run["datagrams"], "no CAT062 datagram reached the partner's feed"
    decoder = Cat062Decoder()
    origin = yaml.safe_load((short_run["out"] / "scenario.yaml").read_text())["origin"]
    decoded = [decode_tracks(decoder, d, origin)[0] for d in short_run["datagrams"]]
    assert sum(len(d) for d in decoded) > 0
    c = decoder.counters()
    assert c["records_bad"] == c["records_incomplete"] == c["bytes_skipped"] == 0
    tracks = pd.read_csv(short_run["out"] / "tracks.csv")
    last = tracks[tracks["t"] == tracks["t"].max()]
    ids = set(int(i) % 65536 for i in last["track_id"])
    seen = set(int(i) for d in decoded for i in d["track_id"])
    assert ids <= seen


def test_config_error_exits_2_naming_the_key(tmp_path):
    path = write_config(tmp_path, outputs={"period_s": 1.0, "colour": "red"})
    out = rig("run", str(path), "--out", str(tmp_path / "o"))
    assert out.returncode == 2
    assert "outputs.colour" in out.stderr and str(path) in out.stderr
    out = rig("check", str(path))
    assert out.returncode == 2 and "outputs.colour" in out.stderr


def test_sensor_not_in_the_scenario_is_a_config_error(tmp_path):
    path = write_config(tmp_path, sensors=[{"id": "Z9", "transport": "emulated"}])
    out = rig("check", str(path))
    assert out.returncode == 2 and "sensors[0].id" in out.stderr and "A1" in out.stderr


def test_required_sensor_that_cannot_be_opened_exits_3(tmp_path):
    path = write_config(tmp_path, mode="bench", sensors=[
        {"id": "A1", "family": "serial-sensor", "transport": "/dev/ttyNOSUCHPORT"}])
    out = rig("run", str(path), "--out", str(tmp_path / "o"))
    assert out.returncode == 3
    assert "A1" in out.stderr and "/dev/ttyNOSUCHPORT" in out.stderr
    # the verdict is written all the same: the run did not start, and why
    import jsonschema

    from rig.bench.report import report_schema

    report = json.loads((tmp_path / "o" / "report.json").read_text())
    jsonschema.validate(report, report_schema())
    assert report["outcome"] == "error" and report["exit_code"] == 3
    assert report["sensors"][0]["state"] == "failed" and "NOSUCHPORT" in report["error"]
    outcomes = {lim["name"].split(" ")[0]: lim["outcome"] for lim in report["limits"]}
    assert outcomes.pop("ospa_m.mean") == "skipped"      # real sensors: no truth to score
    assert set(outcomes.values()) == {"no data"}
    suite = ET.parse(tmp_path / "o" / "junit.xml").getroot().find("testsuite")
    sensor_case = suite.find("testcase[@name='sensor.A1']")
    assert sensor_case.find("error") is not None
    assert "NOSUCHPORT" in suite.find("testcase[@name='run']/error").get("message")
    assert int(suite.get("errors")) == 2 + len(outcomes)


def test_a_recording_that_cannot_be_written_is_a_usage_error_and_nothing_is_left(tmp_path):
    path = write_config(tmp_path, duration_s=3)
    # a device is no recording: refused before anything starts, even with --force
    out = rig("run", str(path), "--out", str(tmp_path / "o"), "--no-live",
              "--record", "/dev/full", "--force")
    assert out.returncode == 2, out.stderr
    assert "/dev/full is not a regular file" in out.stderr
    # a file that cannot be made (its folder is a file): refused when it is opened
    (tmp_path / "blocker").write_text("a file, not a folder")
    target = tmp_path / "blocker" / "run.rigrec"
    out = rig("run", str(path), "--out", str(tmp_path / "o"), "--no-live", "--record",
              str(target))
    assert out.returncode == 2, out.stderr
    assert f"cannot record to {target}" in out.stderr
    assert "Traceback" not in out.stderr
    assert not emulators_of(tmp_path / "o")


def test_check_estimates_the_plots_a_run_fuses(short_run):
    """rig check draws the radars' models over the scenario; the run's emulators draw their
    own (in other chunks, so other numbers): about as many plots."""
    out = rig("check", str(DATA / "short.yaml"))
    estimate = int(re.search(r"about (\d+) plots over the run", out.stdout).group(1))
    received = json.loads((short_run["out"] / "report.json").read_text())[
        "counts"]["plots_received"]
    assert 0.75 * estimate <= received <= 1.25 * estimate, (estimate, received)


def test_check_describes_a_valid_config():
    out = rig("check", str(DATA / "short.yaml"))
    assert out.returncode == 0, out.stderr
    assert "sensor A2 (partner A): asterix-cat048 via emulated" in out.stdout


def processes_marked(marker: str) -> list[int]:
    """Processes still running with ``RIG_TEST_MARKER=marker`` in their environment."""
    tag = f"RIG_TEST_MARKER={marker}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and tag in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


@pytest.mark.parametrize("sig, live", [(signal.SIGINT, "--live"), (signal.SIGTERM, "--no-live")])
def test_signal_stops_cleanly_with_no_process_left(tmp_path, sig, live):
    """Emulators, and with --live the view process, all end with the run."""
    path = write_config(tmp_path, duration_s=60)
    out = tmp_path / "o"
    marker = str(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "rig", "run", str(path), "--out", str(out),
                             live], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "RIG_TEST_MARKER": marker})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(emulators_of(out)) < 3:
        time.sleep(0.2)
    assert len(emulators_of(out)) == 3
    # the run, its emulators, the platform probe, and the view process on --live
    assert len(processes_marked(marker)) == 5 + (live == "--live")
    time.sleep(6.0)            # into the loop
    proc.send_signal(sig)
    sent = time.monotonic()
    proc.wait(timeout=60)
    stopped_after_s = time.monotonic() - sent
    stdout, stderr = proc.communicate(timeout=10)
    assert proc.returncode in (0, 1, 5), stderr
    assert stopped_after_s < 2.0, stderr
    report = json.loads((out / "report.json").read_text())
    assert report["stopped_by"] == signal.Signals(sig).name
    assert report["duration_s"] < 30 and report["timing"]["processing_latency_ms"]["count"]
    assert (out / "junit.xml").exists() and (out / "report.html").exists()
    assert not list(out.glob(".*.tmp"))
    if live == "--live":
        assert "rig run: short-emulated" in stdout and "sensors" in stdout   # the view drew
    deadline = time.monotonic() + 5
    while processes_marked(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not processes_marked(marker)
    assert not emulators_of(out)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_starting_ends_the_run_within_two_seconds_with_a_report(tmp_path, sig):
    path = write_config(tmp_path, duration_s=60)
    out = tmp_path / "o"
    proc = subprocess.Popen([sys.executable, "-m", "rig", "run", str(path), "--out", str(out),
                             "--no-live"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not emulators_of(out):
        time.sleep(0.05)
    proc.send_signal(sig)               # the first emulator is up, the others are starting
    sent = time.monotonic()
    proc.wait(timeout=60)
    stopped_after_s = time.monotonic() - sent
    _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 128 + sig and "Traceback" not in stderr, stderr
    assert stopped_after_s < 2.0, stderr
    report = json.loads((out / "report.json").read_text())
    assert report["stopped_by"] == signal.Signals(sig).name and "while starting" in report["error"]
    deadline = time.monotonic() + 5
    while emulators_of(out) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not emulators_of(out)


def test_a_stop_python_could_not_raise_while_starting_is_raised_at_the_next_step(tmp_path):
    """A signal whose KeyboardInterrupt lands where Python swallows it (an at-fork hook while
    an emulator starts) still stops the start-up, without a traceback on stderr."""
    from rig.bench.config import load_bench_config
    from rig.bench.run import Bench

    class RaisesWhenCollected:            # Python reports its exception as unraisable
        def __del__(self):
            raise KeyboardInterrupt()

    loaded = load_bench_config(write_config(tmp_path))
    bench = Bench(loaded, tmp_path / "o")
    hook = sys.unraisablehook
    with bench:
        bench.watchdog.arm(signal.SIGINT)
        try:
            errors = []
            previous_stderr, sys.stderr = sys.stderr, _Collect(errors)
            try:
                RaisesWhenCollected()
            finally:
                sys.stderr = previous_stderr
            assert not "".join(errors)
            with pytest.raises(KeyboardInterrupt):
                bench._stop_if_signalled()
        finally:
            bench.watchdog.disarm()
    assert sys.unraisablehook is hook


class _Collect:
    def __init__(self, into: list):
        self.write = into.append

    def flush(self):
        pass


def test_a_duration_override_is_the_run_s_whole_duration():
    """--duration rebuilds the scenario to last as long, and is validated like the file's."""
    from rig.bench.config import load_bench_config
    from rig.errors import ConfigError

    default = DATA.parent.parent.parent / "bench_configs" / "emulated.yaml"
    loaded = load_bench_config(default, duration_s=900)
    assert loaded.config.duration_s == 900 and loaded.scenario.duration_s >= 900
    assert loaded.resolved_scenario_spec().duration_s >= 900
    with pytest.raises(ConfigError, match="duration_s"):
        load_bench_config(default, duration_s=-1)
    with pytest.raises(ConfigError, match="faults"):      # a fault scheduled after the end
        load_bench_config(DATA / "faults.yaml", duration_s=10)


def test_every_shipped_bench_config_is_valid():
    configs = sorted((Path(__file__).parent.parent / "bench_configs").glob("*.yaml"))
    assert len(configs) >= 4
    for path in configs:
        out = rig("check", str(path))
        assert out.returncode == 0, (path, out.stderr)


def test_optional_sensor_that_cannot_be_opened_is_reported_and_the_run_goes_on(tmp_path):
    path = write_config(tmp_path, mode="mixed", duration_s=5, limits={}, sensors=[
        {"id": "A1", "family": "serial-sensor", "transport": "emulated"},
        {"id": "B1", "family": "serial-sensor", "transport": "/dev/ttyNOSUCHPORT",
         "required": False}])
    out = rig("run", str(path), "--out", str(tmp_path / "o"), "--no-live")
    assert out.returncode == 0, out.stderr
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["sensor_failures"][0]["sensor"] == "B1"
    rows = {s["id"]: s for s in report["sensors"]}
    assert rows["B1"]["state"] == "failed" and rows["A1"]["plots"] > 0
    suite = ET.parse(tmp_path / "o" / "junit.xml").getroot().find("testsuite")
    skipped = suite.find("testcase[@name='sensor.B1']/skipped")
    assert skipped is not None and "optional sensor B1" in skipped.get("message")
    assert suite.find("testcase[@name='sensor.A1']/*") is None      # present: passed
    assert report["accuracy"]["not_measurable"].startswith("mode mixed")


@pytest.mark.slow                # an emulated run or emulator process: CI runs it with -m slow
def test_a_sensor_that_goes_silent_is_marked_stale_and_the_run_goes_on(tmp_path):
    path = write_config(tmp_path, duration_s=22, limits={"stale_sensors": {"max": 0}})
    out = tmp_path / "o"
    proc = subprocess.Popen([sys.executable, "-m", "rig", "run", str(path), "--out", str(out),
                             "--no-live"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(emulators_of(out)) < 3:
        time.sleep(0.2)
    time.sleep(8.0)
    victim = next(p for p in emulators_of(out)
                  if "A1" in (Path("/proc") / str(p) / "cmdline").read_bytes().decode())
    os.kill(victim, signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1, stderr          # the stale_sensors limit fails, nothing else
    report = json.loads((out / "report.json").read_text())
    rows = {s["id"]: s for s in report["sensors"]}
    assert rows["A1"]["state"] == "stale" and rows["A1"]["stale_events"] == 1
    assert rows["A1"]["counters"]["disconnects"] == 1
    assert rows["A2"]["state"] == "ok" and rows["B1"]["state"] == "ok"
    assert report["stopped_by"] == "duration" and report["duration_s"] > 21
    assert [l["outcome"] for l in report["limits"]] == ["fail"]
