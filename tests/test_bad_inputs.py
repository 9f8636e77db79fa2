"""What a clumsy operator or a hostile network sends rig: each case with the exit code it must
give, a message naming the file, key or path at fault, no traceback, nothing written outside
the output folder, and the process ending by itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "bench_configs" / "emulated.yaml"


def rig_process(*args, timeout=60) -> subprocess.CompletedProcess:
    """``rig ARGS`` in its own process (a test that needs a process: signals, hangs)."""
    return subprocess.run([sys.executable, "-m", "rig", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def rig(*args, timeout=None) -> subprocess.CompletedProcess:
    """``rig ARGS`` through its entry point in this process (quicker: no interpreter start),
    with what it prints and its exit code."""
    import contextlib
    import io
    import signal

    from rig.cli import main

    out, err = io.StringIO(), io.StringIO()
    sigterm = signal.getsignal(signal.SIGTERM)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as e:                # argparse's usage errors
                code = e.code
    finally:
        signal.signal(signal.SIGTERM, sigterm)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def config_with(tmp_path: Path, **changes) -> Path:
    """The default bench config with ``changes`` (dotted keys: ``fusion.window_s``)."""
    config = yaml.safe_load(DEFAULT_CONFIG.read_text())
    for dotted, value in changes.items():
        *parents, key = dotted.split(".")
        node = config
        for part in parents:
            node = node.setdefault(part, {})
        node[key] = value
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def assert_clean_failure(done: subprocess.CompletedProcess, code: int, *names: str) -> None:
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    for name in names:
        assert name in done.stderr, (name, done.stderr)


# --- numbers without end -------------------------------------------------------------------
NON_FINITE = [
    ("fusion.window_s", float("inf")),
    ("fusion.window_s", float("nan")),
    ("fusion.hold_back_s", float("-inf")),
    ("duration_s", float("inf")),
    ("outputs.period_s", float("nan")),
    ("accuracy.cutoff_m", float("inf")),
    ("realtime.spin_s", float("nan")),
]


@pytest.mark.parametrize("key,value", NON_FINITE, ids=[f"{k}={v}" for k, v in NON_FINITE])
def test_a_number_without_end_is_refused_naming_its_key(tmp_path, key, value):
    done = rig("check", config_with(tmp_path, **{key: value}))
    assert_clean_failure(done, 2, "bench.yaml", key, "finite number")


def test_a_non_finite_limit_bound_or_sensor_key_is_refused(tmp_path):
    done = rig("check", config_with(tmp_path, **{"limits.ospa_m": {"mean": float("inf")}}))
    assert_clean_failure(done, 2, "limits.ospa_m.mean", "finite number")
    config = yaml.safe_load(DEFAULT_CONFIG.read_text())
    config["sensors"][0]["stale_after_s"] = float("nan")
    path = tmp_path / "sensor.yaml"
    path.write_text(yaml.safe_dump(config))
    assert_clean_failure(rig("check", path), 2, "sensors[0].stale_after_s", "finite number")


OUT_OF_RANGE = [
    ("scenario.targets", 1_000_000_000, "less than or equal to 100000"),
    ("fusion.window_s", 1e9, "less than or equal to 60"),
    ("fusion.hold_back_s", 1e9, "less than or equal to 600"),
    ("duration_s", 1e12, "less than or equal to 604800"),
]


@pytest.mark.parametrize("key,value,expected", OUT_OF_RANGE,
                         ids=[k for k, _, _ in OUT_OF_RANGE])
def test_a_number_out_of_range_is_refused_with_the_range(tmp_path, key, value, expected):
    done = rig("check", config_with(tmp_path, **{key: value}))
    assert_clean_failure(done, 2, key, expected)


def test_a_billion_laughs_config_is_refused_at_once(tmp_path):
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    path = tmp_path / "laughs.yaml"
    path.write_text(DEFAULT_CONFIG.read_text() + "\n" + "\n".join(lines) + "\n")
    done = rig_process("check", path, timeout=30)
    assert_clean_failure(done, 2, "laughs.yaml", "a0")


# --- outputs never destroyed ---------------------------------------------------------------
REPORT_NAMES = ["tracks.csv", "report.json", "junit.xml", "report.html", "timing-samples.npz"]


@pytest.mark.parametrize("name", REPORT_NAMES)
def test_a_recording_named_like_a_report_is_a_usage_error(tmp_path, name):
    out = tmp_path / "run"
    done = rig("run", DEFAULT_CONFIG, "--out", out, "--record", name, "--no-live")
    assert_clean_failure(done, 2, "--record", name)
    assert not (out / name).exists() and not (out / "report.json").exists()


def test_a_recording_path_may_not_climb_out_of_the_output_folder(tmp_path):
    out = tmp_path / "a" / "b"
    done = rig("run", DEFAULT_CONFIG, "--out", out, "--record", "../../p.txt", "--no-live")
    assert_clean_failure(done, 2, "../../p.txt", "inside the output folder")
    assert not (tmp_path / "p.txt").exists()
    config = config_with(tmp_path, record={"path": "../x.rigrec"})
    done = rig("run", config, "--out", out, "--no-live")
    assert_clean_failure(done, 2, "record.path", "../x.rigrec")
    assert not (tmp_path / "a" / "x.rigrec").exists()


def test_an_existing_recording_is_kept_without_force(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    kept = tmp_path / "earlier.rigrec"
    kept.write_bytes(b"an earlier run's recording")
    done = rig("run", DEFAULT_CONFIG, "--out", out, "--record", kept, "--no-live")
    assert_clean_failure(done, 2, str(kept), "--force")
    assert kept.read_bytes() == b"an earlier run's recording"
    folder = tmp_path / "folder.rigrec"
    folder.mkdir()
    done = rig("run", DEFAULT_CONFIG, "--out", out, "--record", folder, "--force", "--no-live")
    assert_clean_failure(done, 2, "not a regular file")


def test_out_naming_a_file_is_a_usage_error(tmp_path):
    existing = tmp_path / "notes.txt"
    existing.write_text("mine")
    done = rig("run", DEFAULT_CONFIG, "--out", existing, "--no-live")
    assert_clean_failure(done, 2, "notes.txt", "not a folder")
    assert existing.read_text() == "mine"


def test_reports_are_written_whole_or_not_at_all(tmp_path, monkeypatch):
    from rig import outfiles

    target = tmp_path / "report.json"
    target.write_text("the previous report")
    outfiles.write_atomic(target, "the new report")
    assert target.read_text() == "the new report"

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(outfiles.os, "replace", failing_replace)
    with pytest.raises(OSError):
        outfiles.write_atomic(target, "half")
    assert target.read_text() == "the new report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]   # no temporary left


# --- bounded memory on any input -----------------------------------------------------------
FOLDER = ROOT / "tests" / "data" / "interchange-flat"


def folder_with_stray_plot(tmp_path: Path, t: float) -> Path:
    import shutil

    folder = tmp_path / "folder"
    shutil.copytree(FOLDER, folder)
    with open(folder / "plots.csv", "a") as f:
        f.write(f"{t},3,57279.361,4.065671088,0.660267676,-1\n")
    return folder


def test_a_stray_plot_far_in_the_future_is_rejected_not_gridded(tmp_path):
    folder = folder_with_stray_plot(tmp_path, 1e9)
    done = rig("fuse", folder, "--out", tmp_path / "tracks.csv", "--json", timeout=120)
    assert done.returncode == 0, done.stderr
    import json

    summary = json.loads(done.stdout)
    assert summary["rejected"]["after the scenario's end"] == 1
    assert summary["plots_in"] == 692                       # the 691 rows and the stray
    assert summary["tracks"] > 0


def test_grids_too_fine_or_too_long_are_usage_errors(tmp_path):
    done = rig("fuse", FOLDER, "--out", tmp_path / "fine.csv", "--dt", "1e-9")
    assert_clean_failure(done, 2, "--dt", "1,000,000")
    assert not (tmp_path / "fine.csv").exists()
    tracks = tmp_path / "tracks.csv"
    assert rig("fuse", FOLDER, "--out", tracks, timeout=120).returncode == 0
    assert_clean_failure(rig("score", FOLDER, tracks, "--dt", "1e-9"), 2, "--dt", "1,000,000")
    truth = tmp_path / "truth.csv"
    rows = (FOLDER / "truth.csv").read_text().splitlines()
    stray = ",".join(["1e9", *rows[-1].split(",")[1:]])
    truth.write_text("\n".join([*rows, stray]) + "\n")
    assert_clean_failure(rig("score", truth, tracks), 2, "1,000,000", "stray")


# --- one error path ------------------------------------------------------------------------
def test_fuse_into_a_folder_is_a_usage_error(tmp_path):
    assert_clean_failure(rig("fuse", FOLDER, "--out", tmp_path), 2, "--out", "is a folder")


@pytest.mark.parametrize("command", ["record-info", "replay"])
def test_a_folder_or_a_fifo_is_no_recording(tmp_path, command):
    import os

    extra = ["--out", tmp_path / "replayed"] if command == "replay" else []
    assert_clean_failure(rig(command, tmp_path, *extra), 2, "not a regular file")
    fifo = tmp_path / "pipe.rigrec"
    os.mkfifo(fifo)
    assert_clean_failure(rig_process(command, fifo, *extra, timeout=20), 2, "pipe.rigrec",
                         "not a regular file")


def sensors_folder(tmp_path: Path, edit) -> Path:
    import shutil

    folder = tmp_path / "folder"
    shutil.copytree(FOLDER, folder)
    lines = (folder / "sensors.csv").read_text().splitlines()
    (folder / "sensors.csv").write_text("\n".join(edit(lines)) + "\n")
    return folder


def test_a_sensors_file_without_sensors_or_with_nan_sites_is_refused(tmp_path):
    empty = sensors_folder(tmp_path / "a", lambda lines: lines[:1])
    assert_clean_failure(rig("fuse", empty, "--out", tmp_path / "t.csv"), 2, "sensors.csv",
                         "no sensors")
    header = (FOLDER / "sensors.csv").read_text().splitlines()[0].split(",")
    east = header.index("east_m")

    def nan_east(lines):
        row = lines[1].split(",")
        row[east] = "nan"
        return [lines[0], ",".join(row), *lines[2:]]

    nan_site = sensors_folder(tmp_path / "b", nan_east)
    assert_clean_failure(rig("fuse", nan_site, "--out", tmp_path / "t.csv"), 2, "sensors.csv",
                         "east_m", "row 2")


@pytest.mark.parametrize("rate", ["inf", "nan", "1e12", "0"])
def test_emulate_refuses_rates_without_end(rate):
    assert_clean_failure(rig("emulate", "--rate", rate, "--duration", "1"), 2, "--rate")


@pytest.mark.parametrize("args,named", [
    (["--targets", "1000000000"], "100,000"),
    (["--truth-dt", "1e-9"], "--truth-dt"),
    (["--duration", "inf"], "--duration"),
])
def test_scenario_sizes_are_bounded(tmp_path, args, named):
    done = rig("scenario", "--out", tmp_path / "folder", *args)
    assert_clean_failure(done, 2, named)
    assert not (tmp_path / "folder").exists()


def test_out_naming_a_file_is_refused_by_every_command_that_makes_a_folder(tmp_path):
    existing = tmp_path / "notes.txt"
    existing.write_text("mine")
    assert_clean_failure(rig("scenario", "--out", existing, "--targets", "2"), 2,
                         "notes.txt", "not a folder")
    assert existing.read_text() == "mine"


# --- recordings that tell the truth ---------------------------------------------------------
def test_record_info_exits_non_zero_for_a_recording_cut_short(tmp_path):
    from rig.record import Kind, RecordWriter

    path = tmp_path / "cut.rigrec"
    with RecordWriter(path, meta={"config": {"name": "t", "sensors": []}}) as w:
        for i in range(100):
            w.write(Kind.RAW, 0, i, b"x" * 40)
    data = path.read_bytes()
    path.write_bytes(data[:data.rfind(b"RCK1")])             # as if killed before closing
    done = rig("record-info", path)
    assert done.returncode == 1 and "NOT CLEAN" in done.stdout
    assert "cut short" in done.stdout and "Traceback" not in done.stderr


# --- every wait is stoppable ---------------------------------------------------------------
@pytest.mark.parametrize("signum,code,word", [(15, 143, "terminated"), (2, 130, "interrupted")])
def test_a_long_command_stops_within_two_seconds_of_a_signal(tmp_path, signum, code, word):
    import time

    proc = subprocess.Popen([sys.executable, "-m", "rig", "scenario", "--out",
                             str(tmp_path / "big"), "--targets", "5000", "--duration",
                             "20000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(3.0)                        # well into building the scenario
    assert proc.poll() is None
    proc.send_signal(signum)
    sent = time.monotonic()
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 2.0
    assert proc.returncode == code and word in err and "Traceback" not in err


def test_allow_from_must_name_addresses(tmp_path):
    config = yaml.safe_load(DEFAULT_CONFIG.read_text())
    config["sensors"][1]["allow_from"] = ["radar-a2.example"]
    path = tmp_path / "allow.yaml"
    path.write_text(yaml.safe_dump(config))
    assert_clean_failure(rig("check", path), 2, "sensors[1].allow_from", "allow.yaml")
    config["sensors"][1]["allow_from"] = ["127.0.0.1", "::1"]
    path.write_text(yaml.safe_dump(config))
    assert rig("check", path).returncode == 0


@pytest.mark.parametrize("sensor_id", ["../A1", "A/1", ".hidden", "x" * 40, ""])
def test_sensor_ids_that_would_name_paths_are_refused(tmp_path, sensor_id):
    config = yaml.safe_load(DEFAULT_CONFIG.read_text())
    config["sensors"][0]["id"] = sensor_id
    path = tmp_path / "ids.yaml"
    path.write_text(yaml.safe_dump(config))
    assert_clean_failure(rig("check", path), 2, "sensors[0].id")


def test_a_huge_config_is_refused_unread(tmp_path):
    path = tmp_path / "huge.yaml"
    with open(path, "w") as f:
        f.write(DEFAULT_CONFIG.read_text())
        f.write("# padding\n" * 300_000)
    assert_clean_failure(rig_process("check", path, timeout=20), 2, "huge.yaml", "bytes")


@pytest.mark.parametrize("text", [
    "version: 1\nname: [unclosed\n", "{{{{", "- a\n- b\n", "", "version: !!python/name:os.system\n",
    "a: &x 1\nb: *y\n", "\t- tab", "name: x\nname: y\n" * 2, "\x00\x01\x02",
])
def test_broken_yaml_of_every_kind_is_a_config_error(tmp_path, text):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    assert_clean_failure(rig("check", path), 2, "broken.yaml")


def test_a_plots_row_with_extra_fields_is_rejected_alone(tmp_path):
    import json
    import shutil

    folder = tmp_path / "folder"
    shutil.copytree(FOLDER, folder)
    with open(folder / "plots.csv", "a") as f:
        f.write("1.0,3,57279.361,4.065671088,0.660267676,-1,extra,fields\n")
    done = rig("fuse", folder, "--out", tmp_path / "tracks.csv", "--json", timeout=120)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["rejected"]["malformed row"] == 1 and summary["plots_in"] == 692
