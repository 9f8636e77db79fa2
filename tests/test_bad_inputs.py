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


# --- malformed interchange folders ---------------------------------------------------------
def folder_copy(tmp_path: Path, edit=None) -> Path:
    """A copy of the test folder, ``edit(folder)`` applied."""
    import shutil

    folder = tmp_path / "folder"
    shutil.copytree(FOLDER, folder)
    if edit is not None:
        edit(folder)
    return folder


def rewrite(name: str, text: str | bytes):
    def edit(folder: Path) -> None:
        path = folder / name
        path.write_bytes(text.encode() if isinstance(text, str) else text)
    return edit


def remove(name: str):
    return lambda folder: (folder / name).unlink()


def replace_with_folder(name: str):
    def edit(folder: Path) -> None:
        (folder / name).unlink()
        (folder / name).mkdir()
    return edit


def replace_text(name: str, old: str, new: str):
    def edit(folder: Path) -> None:
        text = (folder / name).read_text()
        assert old in text
        (folder / name).write_text(text.replace(old, new, 1))
    return edit


def append_line(name: str, line: str | bytes):
    def edit(folder: Path) -> None:
        with open(folder / name, "ab") as f:
            f.write((line.encode() if isinstance(line, str) else line) + b"\n")
    return edit


def scenario_with(**changes):
    def edit(folder: Path) -> None:
        import json

        scenario = json.loads((folder / "scenario.json").read_text())
        scenario.update(changes)
        (folder / "scenario.json").write_text(json.dumps(scenario))
    return edit


SENSOR_ROW = (FOLDER / "sensors.csv").read_text().splitlines()[1]
PLOT_ROWS = (FOLDER / "plots.csv").read_text().splitlines()

BROKEN_FOLDERS = {
    "no sensors.csv": (remove("sensors.csv"), "sensors.csv"),
    "no plots.csv": (remove("plots.csv"), "plots.csv"),
    "no scenario.json": (remove("scenario.json"), "scenario.json"),
    "plots.csv a folder": (replace_with_folder("plots.csv"), "plots.csv"),
    "plots.csv wrong header": (
        rewrite("plots.csv", "\n".join(["when,who,how_far,az,el", *PLOT_ROWS[1:]]) + "\n"),
        "plots.csv"),
    "plots.csv empty": (rewrite("plots.csv", ""), "plots.csv"),
    "plots.csv binary": (rewrite("plots.csv", bytes(range(256)) * 8), "plots.csv"),
    "plots.csv latin-1": (append_line("plots.csv", b"1.0,caf\xe9"), "plots.csv"),
    "plots.csv open quote": (append_line("plots.csv", '1.0,"3,57279.361'), "plots.csv"),
    "sensors.csv empty": (rewrite("sensors.csv", ""), "sensors.csv"),
    "sensors.csv binary": (rewrite("sensors.csv", b"\x00\xff\xfe" * 100), "sensors.csv"),
    "sensors.csv duplicate id": (append_line("sensors.csv", SENSOR_ROW), "sensors.csv",
                                 "sensor_id"),
    "sensors.csv text for pd": (
        replace_text("sensors.csv", "0.9263350835837778", "high"), "sensors.csv", ": pd: "),
    "sensors.csv missing column": (
        replace_text("sensors.csv", "sigma_range_m", "sigma_rng"), "sensors.csv",
        "sigma_range_m"),
    "scenario.json not JSON": (rewrite("scenario.json", "{"), "scenario.json"),
    "scenario.json binary": (rewrite("scenario.json", b"\xff\xfe\x00"), "scenario.json"),
    "scenario.json a list": (rewrite("scenario.json", "[]"), "scenario.json"),
    "scenario.json NaN duration": (scenario_with(duration_s=float("nan")), "scenario.json",
                                   "duration_s"),
    "scenario.json infinite duration": (scenario_with(duration_s=float("inf")), "scenario.json",
                                        "duration_s"),
    "scenario.json true latitude": (
        scenario_with(origin={"lat_deg": True, "lon_deg": 21.0}), "scenario.json",
        "origin.lat_deg"),
}


@pytest.mark.parametrize("case", BROKEN_FOLDERS)
def test_a_broken_interchange_file_stops_fuse_naming_it(tmp_path, case):
    edit, name, *keys = BROKEN_FOLDERS[case]
    folder = folder_copy(tmp_path, edit)
    out = tmp_path / "tracks.csv"
    done = rig("fuse", folder, "--out", out)
    assert_clean_failure(done, 2, str(folder / name), *keys)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


BAD_PLOT_ROWS = {
    "text for numbers": ("abc,3,xyz,4.06,0.66,-1", "not a number"),
    "NaN time": ("nan,3,57279.361,4.065671088,0.660267676,-1", "not a number"),
    "minus infinite time": ("-inf,3,57279.361,4.065671088,0.660267676,-1", "not a number"),
    "NaN range": ("1.0,3,nan,4.065671088,0.660267676,-1", "not a number"),
    "too few fields": ("1.0,3", "not a number"),
    "unknown sensor id": ("1.0,99,57279.361,4.065671088,0.660267676,-1", "unknown sensor"),
    "empty sensor id": ("1.0,,57279.361,4.065671088,0.660267676,-1", "unknown sensor"),
    "time far before the start": ("-1e12,3,57279.361,4.065671088,0.660267676,-1",
                                  "before the scenario's start"),
}


@pytest.mark.parametrize("case", BAD_PLOT_ROWS)
def test_a_bad_plot_row_is_rejected_alone_and_counted(tmp_path, case):
    import json

    row, reason = BAD_PLOT_ROWS[case]
    folder = folder_copy(tmp_path, append_line("plots.csv", row))
    done = rig("fuse", folder, "--out", tmp_path / "tracks.csv", "--json", timeout=120)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["rejected"] == {reason: 1}
    assert summary["plots_in"] == len(PLOT_ROWS)                 # the 691 rows and the bad one
    assert summary["tracks"] > 0


def tracks_of_truth(path: Path) -> Path:
    """The truth itself as tracks.csv (the same columns, track_id for target_id)."""
    header, *rows = (FOLDER / "truth.csv").read_text().splitlines()
    path.write_text("\n".join([header.replace("target_id", "track_id"), *rows]) + "\n")
    return path


TRUTH_TEXT = (FOLDER / "truth.csv").read_text()

BROKEN_SCORE_FILES = {
    "truth missing": ("truth", None),
    "truth empty": ("truth", ""),
    "truth wrong header": ("truth", "a,b\n1,2\n"),
    "truth binary": ("truth", b"\x00\xff" * 50),
    "truth row with extra fields": ("truth", TRUTH_TEXT + "1,3,1,2,3,4,5,6,7,8\n"),
    "tracks missing": ("tracks", None),
    "tracks empty": ("tracks", ""),
    "tracks binary": ("tracks", b"\x00\xff" * 50),
    "tracks wrong header": ("tracks", TRUTH_TEXT),
}


@pytest.mark.parametrize("case", BROKEN_SCORE_FILES)
def test_a_broken_truth_or_tracks_file_stops_score_naming_it(tmp_path, case):
    which, content = BROKEN_SCORE_FILES[case]
    files = {"truth": FOLDER / "truth.csv", "tracks": tracks_of_truth(tmp_path / "t.csv")}
    files[which] = tmp_path / f"broken-{which}.csv"
    if content is not None:
        files[which].write_bytes(content.encode() if isinstance(content, str) else content)
    done = rig("score", files["truth"], files["tracks"], "--json")
    assert_clean_failure(done, 2, files[which].name)
    assert done.stdout == ""


def test_score_of_a_folder_without_truth_names_the_missing_file(tmp_path):
    folder = folder_copy(tmp_path, remove("truth.csv"))
    done = rig("score", folder, tracks_of_truth(tmp_path / "t.csv"))
    assert_clean_failure(done, 2, str(folder / "truth.csv"))


@pytest.mark.parametrize("row", ["abc,3,1,2,3,4,5,6", "nan,3,1,2,3,4,5,6", "1,3,nan,2,3,4,5,6",
                                 "1,3,inf,2,3,4,5,6"])
def test_a_bad_truth_row_is_skipped_and_the_score_unchanged(tmp_path, row):
    import json

    tracks = tracks_of_truth(tmp_path / "t.csv")
    clean = rig("score", FOLDER / "truth.csv", tracks, "--json")
    truth = tmp_path / "truth.csv"
    truth.write_text(TRUTH_TEXT + row + "\n")
    done = rig("score", truth, tracks, "--json")
    assert clean.returncode == 0 and done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(clean.stdout)
    assert json.loads(done.stdout)["ospa_mean_m"] == 0


@pytest.mark.parametrize("flag,value", [("--cutoff", "nan"), ("--cutoff", "-1"),
                                        ("--gate", "inf"), ("--dt", "0"), ("--order", "0.5"),
                                        ("--max-age", "0"), ("--cutoff", "1e308"),
                                        ("--order", "1e308")])
def test_score_options_out_of_range_are_usage_errors(tmp_path, flag, value):
    tracks = tracks_of_truth(tmp_path / "t.csv")
    assert_clean_failure(rig("score", FOLDER, tracks, flag, value), 2, flag)


# --- truncated, bit-flipped and forged recordings --------------------------------------------
SHORT = ROOT / "tests" / "data" / "bench" / "short.yaml"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A recording of a short emulated run of every family (radars scanning every second,
    so that tracks come within the run), and the tracks its whole replay gives."""
    from rig.scenario import load_scenario_spec

    folder = tmp_path_factory.mktemp("recorded")
    scenario = load_scenario_spec("builtin").model_dump(mode="json")
    for radar in scenario["sensors"]:
        radar.update(scan_period_s=1.0, scan_phase_s=min(radar["scan_phase_s"], 0.9))
    (folder / "fast.yaml").write_text(yaml.safe_dump(scenario, sort_keys=False))
    config = yaml.safe_load(SHORT.read_text())
    config["scenario"]["source"] = "fast.yaml"
    config.update(duration_s=4, limits={"dropped_plots": {"max": 0},
                                        "decoder_errors": {"max": 0}})
    path = folder / "short.yaml"
    path.write_text(yaml.safe_dump(config))
    live = rig_process("run", path, "--out", folder / "live", "--record", "run.rigrec",
                       "--no-live", timeout=180)
    recording = folder / "live" / "run.rigrec"
    assert recording.is_file(), live.stderr
    whole = rig("replay", recording, "--out", folder / "whole")
    assert whole.returncode == 0, whole.stderr
    tracks = (folder / "whole" / "tracks.csv").read_bytes()
    assert len(tracks.splitlines()) > 1, "no tracks in the run"
    return recording, tracks


def chunk_offsets(data: bytes) -> list[int]:
    """Where each chunk of a recording starts (its magic, with a valid header CRC)."""
    import zlib

    from rig.record.format import CHUNK_HEADER, CHUNK_MAGIC

    found, pos = [], data.find(CHUNK_MAGIC)
    while pos >= 0:
        head = data[pos:pos + CHUNK_HEADER.size]
        crc = data[pos + CHUNK_HEADER.size:pos + CHUNK_HEADER.size + 4]
        if zlib.crc32(head) == int.from_bytes(crc, "little"):
            found.append(pos)
        pos = data.find(CHUNK_MAGIC, pos + 1)
    return found


def copy_with(recording: Path, tmp_path: Path, change) -> Path:
    """The recording's bytes, through ``change(data, chunks)``, in a new file."""
    data = recording.read_bytes()
    path = tmp_path / "damaged.rigrec"
    path.write_bytes(change(bytearray(data), chunk_offsets(data)))
    return path


def flip(offset):
    def change(data, chunks):
        data[offset(data, chunks)] ^= 0x10
        return bytes(data)
    return change


def middle_chunk(chunks):
    return chunks[len(chunks) // 2]


CUTS_BEFORE_THE_META = {
    "empty": lambda data, chunks: 0,
    "inside the file magic": lambda data, chunks: 5,
    "inside the file header": lambda data, chunks: 14,
    "inside the META chunk header": lambda data, chunks: chunks[0] + 21,
    "inside the META payload": lambda data, chunks: chunks[1] - 7,
}
CUTS_AFTER_THE_META = {
    "after the META chunk": lambda data, chunks: chunks[1],
    "inside a chunk header": lambda data, chunks: middle_chunk(chunks) + 9,
    "inside a chunk payload": lambda data, chunks: middle_chunk(chunks) + 45,
    "inside the END chunk": lambda data, chunks: chunks[-1] + 30,
    "one byte short": lambda data, chunks: len(data) - 1,
}


@pytest.mark.parametrize("where", CUTS_BEFORE_THE_META)
def test_a_recording_cut_before_its_meta_is_no_recording(recorded, tmp_path, where):
    cut = CUTS_BEFORE_THE_META[where]
    path = copy_with(recorded[0], tmp_path, lambda data, chunks: bytes(data[:cut(data, chunks)]))
    assert_clean_failure(rig("record-info", path), 2, str(path), "META")
    out = tmp_path / "replayed"
    assert_clean_failure(rig("replay", path, "--out", out), 2, str(path), "META")
    assert not out.exists()


@pytest.mark.parametrize("where", CUTS_AFTER_THE_META)
def test_record_info_reports_a_recording_cut_anywhere_after_its_meta(recorded, tmp_path, where):
    cut = CUTS_AFTER_THE_META[where]
    path = copy_with(recorded[0], tmp_path, lambda data, chunks: bytes(data[:cut(data, chunks)]))
    done = rig("record-info", path)
    assert done.returncode == 1, done.stderr
    assert f"{path}: NOT CLEAN" in done.stdout and "cut short" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_a_recording_cut_in_the_middle_replays_what_it_holds(recorded, tmp_path):
    path = copy_with(recorded[0], tmp_path,
                     lambda data, chunks: bytes(data[:middle_chunk(chunks) + 45]))
    out = tmp_path / "replayed"
    done = rig("replay", path, "--out", out)
    assert done.returncode == 0, done.stderr
    assert "partial recording" in done.stderr and f"torn tail in {path}" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged.rigrec", "replayed"]
    partial = (out / "tracks.csv").read_bytes()
    assert len(partial) < len(recorded[1]) and recorded[1].startswith(partial)


FLIPS_REFUSED = {
    "file magic": (lambda data, chunks: 3, "bad magic"),
    "format version": (lambda data, chunks: 9, "version"),
}
FLIPS_REPORTED = {
    "file index": (lambda data, chunks: 13, "file header"),
    "META chunk header": (lambda data, chunks: chunks[0] + 10, "bad chunk header"),
    "META payload": (lambda data, chunks: chunks[1] - 10, "payload CRC mismatch"),
    "a middle chunk's payload": (lambda data, chunks: middle_chunk(chunks) + 50,
                                 "payload CRC mismatch"),
    "END record": (lambda data, chunks: len(data) - 3, "cut short"),
}


@pytest.mark.parametrize("where", FLIPS_REFUSED)
def test_a_bit_flip_in_the_file_header_refuses_the_recording(recorded, tmp_path, where):
    offset, named = FLIPS_REFUSED[where]
    path = copy_with(recorded[0], tmp_path, flip(offset))
    assert_clean_failure(rig("record-info", path), 2, str(path), named)


@pytest.mark.parametrize("where", FLIPS_REPORTED)
def test_a_bit_flip_anywhere_else_is_found_and_reported(recorded, tmp_path, where):
    offset, named = FLIPS_REPORTED[where]
    path = copy_with(recorded[0], tmp_path, flip(offset))
    done = rig("record-info", path)
    assert done.returncode == 1, done.stderr
    assert f"{path}: NOT CLEAN" in done.stdout and named in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_a_damaged_meta_is_read_from_the_end_record_and_replays_bit_for_bit(recorded, tmp_path):
    path = copy_with(recorded[0], tmp_path, flip(lambda data, chunks: chunks[1] - 10))
    out = tmp_path / "replayed"
    done = rig("replay", path, "--out", out)
    assert done.returncode == 0, done.stderr
    assert f"damaged chunk in {path}" in done.stderr
    assert (out / "tracks.csv").read_bytes() == recorded[1]


def test_a_damaged_meta_without_an_end_record_is_no_recording(recorded, tmp_path):
    def change(data, chunks):
        data[chunks[1] - 10] ^= 0x10
        return bytes(data[:chunks[-1]])

    path = copy_with(recorded[0], tmp_path, change)
    assert_clean_failure(rig("record-info", path), 2, str(path), "end-of-run record")


@pytest.mark.parametrize("content", [b"", b"hello, this is not a recording\n" * 20,
                                     bytes(range(256)) * 20, b"RIGREC\x00\x01" + b"\x00" * 8])
def test_a_file_that_is_no_recording_is_refused(tmp_path, content):
    path = tmp_path / "other.rigrec"
    path.write_bytes(content)
    assert_clean_failure(rig("record-info", path), 2, str(path))
    out = tmp_path / "replayed"
    assert_clean_failure(rig("replay", path, "--out", out), 2, str(path))
    assert not out.exists()


def test_a_rotation_of_garbage_or_a_copied_first_file_is_named(recorded, tmp_path):
    import shutil

    path = tmp_path / "run.rigrec"
    shutil.copy(recorded[0], path)
    rotation = tmp_path / "run.rigrec.1"
    rotation.write_bytes(b"garbage" * 100)
    assert_clean_failure(rig("record-info", path), 2, str(rotation), "bad magic")
    shutil.copy(recorded[0], rotation)
    done = rig("record-info", path)
    assert done.returncode == 1 and f"damaged file header in {rotation}" in done.stdout


def rewritten(recording: Path, path: Path, change=None, meta=None) -> Path:
    """``recording`` written again record by record (valid CRCs): each record through
    ``change`` (a list of records in its place), the META through ``meta``."""
    from rig.record import Kind, RecordWriter, read_recording

    records, report = read_recording(recording)
    run_meta = {k: v for k, v in report.meta.items() if k != "file_index"}
    with RecordWriter(path, meta=meta(run_meta) if meta else run_meta, fsync=False) as w:
        for rec in records[1:]:
            if rec.kind != Kind.END:
                for r in (change(rec) if change else [rec]):
                    w.write(r.kind, r.stream, r.t_ns, r.data)
    return path


def stream_of(recording: Path, family: str) -> int:
    from rig.record import RecordingReport, iter_recording

    report = RecordingReport()
    next(iter_recording(recording, report))
    families = [s["family"] for s in report.meta["config"]["sensors"]]
    return families.index(family)


def after_first_raw(stream: int, extra: list[bytes]):
    """A change for :func:`rewritten`: ``extra`` raw chunks after the stream's first one."""
    from rig.record import Kind
    from rig.record.reader import Record

    added = []

    def change(rec):
        if rec.kind != Kind.RAW or rec.stream != stream or added:
            return [rec]
        added.append(True)
        return [rec, *(Record(Kind.RAW, stream, rec.t_ns, d) for d in extra)]
    return change


def replay_report(path: Path, out: Path) -> tuple[subprocess.CompletedProcess, dict]:
    import json

    done = rig("replay", path, "--out", out)
    report = json.loads((out / "report.json").read_text()) if done.returncode in (0, 1) else {}
    return done, report


@pytest.mark.parametrize("sac,sic", [(99, 99), (0, 7)])
def test_forged_cat048_records_are_counted_as_foreign_and_never_fused(recorded, tmp_path,
                                                                      sac, sic):
    import numpy as np

    from firmware_interfaces.asterix_radar.codec import encode
    from tests.asterix_helpers import random_plots

    stream = stream_of(recorded[0], "asterix-cat048")
    forged = encode(random_plots(np.random.default_rng(7), 60), sac=sac, sic=sic)
    path = rewritten(recorded[0], tmp_path / "forged.rigrec", after_first_raw(stream, forged))
    done, report = replay_report(path, tmp_path / "replayed")
    assert done.returncode == 0, done.stderr
    row = report["sensors"][stream]
    assert row["foreign_records"] == 60 and row["decoder_errors"] == 0
    assert row["foreign_sources"] == [f"{sac}/{sic}"]
    assert (tmp_path / "replayed" / "tracks.csv").read_bytes() == recorded[1]


def test_garbage_datagrams_are_decoder_errors_and_never_fused(recorded, tmp_path):
    import numpy as np

    rng = np.random.default_rng(8)
    stream = stream_of(recorded[0], "asterix-cat048")
    garbage = [rng.bytes(int(n)) for n in rng.integers(1, 400, 20)]
    path = rewritten(recorded[0], tmp_path / "garbage.rigrec", after_first_raw(stream, garbage))
    done, report = replay_report(path, tmp_path / "replayed")
    assert done.returncode == 1 and "decoder_errors" in done.stderr, done.stderr
    assert report["sensors"][stream]["decoder_errors"] > 0
    assert (tmp_path / "replayed" / "tracks.csv").read_bytes() == recorded[1]


def test_a_scpi_block_of_no_whole_plots_is_a_decoder_error_in_replay_as_live(recorded,
                                                                           tmp_path):
    stream = stream_of(recorded[0], "scpi-sensor")
    path = rewritten(recorded[0], tmp_path / "block.rigrec",
                     after_first_raw(stream, [b"#17" + b"\x01" * 7]))
    done, report = replay_report(path, tmp_path / "replayed")
    assert done.returncode == 1 and "decoder_errors" in done.stderr, done.stderr
    assert report["sensors"][stream]["decoder_errors"] == 1
    assert (tmp_path / "replayed" / "tracks.csv").read_bytes() == recorded[1]


def test_an_incomplete_scpi_block_in_a_recording_is_a_decoder_error(recorded, tmp_path):
    stream = stream_of(recorded[0], "scpi-sensor")
    path = rewritten(recorded[0], tmp_path / "block.rigrec",
                     after_first_raw(stream, [b"#15ab"]))
    done, report = replay_report(path, tmp_path / "replayed")
    assert done.returncode == 1, done.stderr
    assert report["sensors"][stream]["decoder_errors"] == 1


@pytest.mark.parametrize("kind", ["CYCLE", "EVENT"])
def test_a_forged_record_that_is_not_json_is_named_not_a_crash(recorded, tmp_path, kind):
    from rig.record import Kind
    from rig.record.reader import Record

    def change(rec):
        return [Record(rec.kind, rec.stream, rec.t_ns, b"{not json") if rec.kind == Kind[kind]
                else rec]

    path = rewritten(recorded[0], tmp_path / "forged.rigrec", change)
    assert_clean_failure(rig("replay", path, "--out", tmp_path / "o"), 2, str(path), kind)


@pytest.mark.parametrize("key,value", [("t0_ns", "abc"), ("config", [1, 2]),
                                       ("utc_tod_at_t0_s", None)])
def test_a_forged_meta_is_named_not_a_crash(recorded, tmp_path, key, value):
    path = rewritten(recorded[0], tmp_path / "forged.rigrec", meta=lambda m: {**m, key: value})
    assert_clean_failure(rig("replay", path, "--out", tmp_path / "o"), 2, str(path), key)
    done = rig("record-info", path)
    assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr


# --- ports: missing, busy, wrong ------------------------------------------------------------
@pytest.mark.parametrize("port,code,named", [
    ("/dev/ttyNO_SUCH_RIG_PORT", 3, "no such port"),
    ("{tmp}", 3, "{tmp}"),
    ("{tmp}/plain-file", 3, "plain-file"),
    ("udp://127.0.0.1:notaport", 2, "notaport"),
    ("udp://@:99999", 2, "99999"),
    ("nonsense://x", 2, "nonsense://x"),
])
def test_monitor_on_a_port_that_cannot_work_ends_at_once(tmp_path, port, code, named):
    import time

    (tmp_path / "plain-file").write_text("not a serial port")
    port, named = port.format(tmp=tmp_path), named.format(tmp=tmp_path)
    start = time.monotonic()
    done = rig("monitor", port, "--duration", "5")
    assert_clean_failure(done, code, named)
    assert time.monotonic() - start < 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain-file"]


def test_monitor_on_a_busy_udp_port_is_a_transport_failure():
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        url = f"udp://@127.0.0.1:{holder.getsockname()[1]}"
        assert_clean_failure(rig("monitor", url, "--duration", "5"), 3, url, "in use")


def test_monitor_refuses_a_baud_rate_no_port_has():
    assert_clean_failure(rig("monitor", "/dev/ttyNO_SUCH_RIG_PORT", "--baudrate", "-5"), 2,
                         "--baudrate")


def sensor_config(tmp_path: Path, family: str, transport: str) -> Path:
    """A bench config with one real sensor of ``family`` on ``transport``."""
    config = yaml.safe_load(DEFAULT_CONFIG.read_text())
    config.update(mode="bench", duration_s=2, limits={})
    config["sensors"] = [{"id": "A1", "family": family, "transport": transport}]
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


STATIC_TRANSPORTS = [
    ("asterix-cat048", "udp://@127.0.0.1:notaport"),
    ("asterix-cat048", "udp://@:99999"),
    ("asterix-cat048", "udp://127.0.0.1:8600"),            # sends; a sensor's driver listens
    ("asterix-cat048", "/dev/ttyUSB0"),
    ("scpi-sensor", "TCPIP0::::nonsense::"),
    ("scpi-sensor", "not a resource"),
    ("scpi-sensor", "TCPIP0::127.0.0.1::notaport::SOCKET"),
    ("serial-sensor", "COM3x"),
    ("serial-sensor", "carrier://pigeon"),
]


@pytest.mark.parametrize("family,transport", STATIC_TRANSPORTS,
                         ids=[t for _, t in STATIC_TRANSPORTS])
def test_a_sensor_transport_that_cannot_work_is_refused_by_check(tmp_path, family, transport):
    path = sensor_config(tmp_path, family, transport)
    assert_clean_failure(rig("check", path), 2, str(path), "sensors[0].transport", family)
    out = tmp_path / "run"
    assert_clean_failure(rig("run", path, "--out", out, "--no-live"), 2,
                         "sensors[0].transport")
    assert not out.exists()


@pytest.mark.parametrize("what", ["a folder", "a regular file", "busy UDP", "busy UDP on ::1"])
def test_a_required_sensor_on_a_port_that_cannot_be_opened_exits_3(tmp_path, what):
    import json
    import socket

    family, holder = "serial-sensor", None
    if what == "a folder":
        transport = str(tmp_path)
    elif what == "a regular file":
        transport = str(tmp_path / "plain-file")
        (tmp_path / "plain-file").write_text("not a serial port")
    else:
        ipv6 = what.endswith("::1")
        holder = socket.socket(socket.AF_INET6 if ipv6 else socket.AF_INET, socket.SOCK_DGRAM)
        holder.bind(("::1" if ipv6 else "127.0.0.1", 0))
        host = "[::1]" if ipv6 else "127.0.0.1"
        family, transport = "asterix-cat048", f"udp://@{host}:{holder.getsockname()[1]}"
    try:
        before = set(tmp_path.iterdir())
        out = tmp_path / "run"
        done = rig("run", sensor_config(tmp_path, family, transport), "--out", out, "--no-live")
    finally:
        if holder is not None:
            holder.close()
    assert_clean_failure(done, 3, "A1", transport)
    report = json.loads((out / "report.json").read_text())
    assert report["exit_code"] == 3 and report["sensors"][0]["state"] == "failed"
    assert set(tmp_path.iterdir()) - before == {tmp_path / "bench.yaml", out}


@pytest.mark.parametrize("args", [["--json"], ["--json", "--visa-backend", "no-such-backend"]])
def test_ports_lists_what_there_is_and_never_fails(args):
    import json

    done = rig("ports", *args)
    assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr
    listed = json.loads(done.stdout)
    assert isinstance(listed["serial"], list) and isinstance(listed["visa"], list)
    if "no-such-backend" in args:
        assert listed["visa"] == [] and listed["visa_error"]


# --- command lines ---------------------------------------------------------------------------
@pytest.mark.parametrize("args,named", [
    (["frobnicate"], "frobnicate"),
    (["check", "--no-such-flag", "x.yaml"], "--no-such-flag"),
    (["check"], "config"),
    (["fuse", str(FOLDER)], "--out"),
    (["replay", "x.rigrec"], "--out"),
    (["score", "truth.csv"], "TRACKS.csv"),
    (["check", "-x", "x.yaml"], "-x"),
    (["emulate", "--family", "nonsense", "--duration", "1"], "--family"),
    (["scenario", "--out", "x", "--frame", "mercator"], "--frame"),
    (["fuse", str(FOLDER), "--out", "t.csv", "--dt", "soon"], "--dt"),
    (["run", "x.yaml", "--pace", "fast"], "--pace"),
])
def test_a_command_line_that_makes_no_sense_is_a_usage_error(tmp_path, monkeypatch, args, named):
    monkeypatch.chdir(tmp_path)
    done = rig(*args)
    assert_clean_failure(done, 2, named)
    assert "usage:" in done.stderr and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_before_or_after_the_command_is_taken(tmp_path, where):
    missing = tmp_path / "missing.yaml"
    done = rig("-v", "check", missing) if where == "before" else rig("check", missing, "-v")
    assert_clean_failure(done, 2, str(missing), "not found")
    assert "usage:" not in done.stderr


@pytest.mark.parametrize("content", [None, "folder", bytes(range(256)) * 4,
                                     "version: 1\n".encode("utf-16")])
def test_check_of_what_is_no_config_names_it(tmp_path, content):
    path = tmp_path / "bench.yaml"
    if content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    assert_clean_failure(rig("check", path), 2, str(path))


@pytest.mark.parametrize("command", ["replay", "record-info"])
def test_a_missing_recording_is_named(tmp_path, command):
    missing = tmp_path / "gone.rigrec"
    extra = ["--out", tmp_path / "o"] if command == "replay" else []
    assert_clean_failure(rig(command, missing, *extra), 2, str(missing), "no such recording")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args,named", [
    (["--targets", "-1"], "-1"),
    (["--duration", "0"], "--duration"),
    (["--duration", "-5"], "--duration"),
    (["--truth-dt", "0"], "--truth-dt"),
    (["--seed", "-1"], "--seed"),
    (["{tmp}/missing.yaml"], "missing.yaml"),
])
def test_scenario_arguments_out_of_range_make_no_folder(tmp_path, args, named):
    args = [a.format(tmp=tmp_path) for a in args]
    done = rig("scenario", "--out", tmp_path / "folder", *args)
    assert_clean_failure(done, 2, named)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args,named", [(["--dt", "nan"], "--dt"), (["--dt", "-1"], "--dt"),
                                        (["--partners", "Z"], "Z")])
def test_fuse_arguments_that_make_no_sense_write_nothing(tmp_path, args, named):
    out = tmp_path / "tracks.csv"
    assert_clean_failure(rig("fuse", FOLDER, "--out", out, *args), 2, named)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["no such folder", "under a file", "read-only"])
def test_fuse_out_where_nothing_can_be_written_is_a_usage_error(tmp_path, where):
    import os

    if where == "read-only" and os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
    elif where == "read-only":
        folder = Path("/proc")                       # read-only even for root
    else:
        folder = tmp_path / "missing" if where == "no such folder" else tmp_path / "file"
        if where == "under a file":
            folder.write_text("mine")
    before = sorted(tmp_path.rglob("*"))
    out = folder / "tracks.csv"
    done = rig("fuse", FOLDER, "--out", out, timeout=120)
    assert_clean_failure(done, 2, "--out", str(out))
    assert sorted(tmp_path.rglob("*")) == before and not out.exists()


@pytest.mark.parametrize("where", ["under a file", "read-only"])
def test_scenario_out_where_no_folder_can_be_made_is_a_usage_error(tmp_path, where):
    (tmp_path / "file").write_text("mine")
    out = tmp_path / "file" / "sub" if where == "under a file" else Path("/proc/rig-bad-inputs")
    done = rig("scenario", "--out", out, "--targets", "1", "--duration", "5")
    assert_clean_failure(done, 2, "--out", str(out))
    assert [p.name for p in tmp_path.iterdir()] == ["file"] and not out.exists()


@pytest.mark.parametrize("where", ["under a file", "read-only"])
def test_replay_out_where_no_folder_can_be_made_is_a_usage_error(recorded, tmp_path, where):
    (tmp_path / "file").write_text("mine")
    out = tmp_path / "file" / "sub" if where == "under a file" else Path("/proc/rig-bad-inputs")
    assert_clean_failure(rig("replay", recorded[0], "--out", out), 2, "--out", str(out))
    assert [p.name for p in tmp_path.iterdir()] == ["file"] and not out.exists()
