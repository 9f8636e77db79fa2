"""Progress and messages on the command line: rich progress on a terminal's stderr only,
stdout unchanged, `rig run`'s start-up and report steps in plain mode, key=value live lines."""

import io
import logging
import os
import pty
import re
import shlex
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from rich.console import Console
from rich.logging import RichHandler

from rig import interchange, progress
from rig.bench import live_render
from rig.interchange import FLOAT_FORMAT, write_csv
from rig.logs import PLAIN_FORMAT, setup_logging
from rig.progress import Stages, StepLog, token

BENCH = Path(__file__).parent / "data" / "bench"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=120), out


# --- the helper -------------------------------------------------------------------------------


def test_stages_are_silent_off_a_terminal():
    out = io.StringIO()
    with Stages(Console(file=out, force_terminal=False)) as p:
        assert not p.enabled
        p.stage("reading plots.csv")
        p.stage("fusing", total=3, unit="time steps")
        for _ in range(3):
            p.advance()
    assert out.getvalue() == ""


def test_stages_draw_on_a_terminal():
    console, out = terminal()
    with Stages(console) as p:
        assert p.enabled
        p.stage("reading plots.csv")
        p.stage("fusing", total=600, unit="time steps")
        for _ in range(600):
            p.advance()
    text = ANSI.sub("", out.getvalue())
    assert "reading plots.csv" in text
    assert "fusing" in text and "600/600 time steps" in text
    assert "✓" in text                       # a stage that ended


def test_a_stage_without_a_count_shows_none():
    console, out = terminal()
    with Stages(console) as p:
        p.stage("writing tracks.csv")
    text = ANSI.sub("", out.getvalue())
    assert "writing tracks.csv" in text and "/" not in text.split("writing tracks.csv")[1]


def test_advance_reaches_rich_at_most_ten_times_a_second(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    console, _ = terminal()
    p = Stages(console)
    p.stage("fusing", total=10_000)
    updates = []
    monkeypatch.setattr(p._progress, "update", lambda task, **kw: updates.append(kw))
    for _ in range(10_000):                # 10 000 steps over 1 s of the fake clock
        p.advance()
        clock[0] += 1e-4
    assert 9 <= len(updates) <= 11
    assert updates[-1]["completed"] > 9_000


def test_silent_stages_do_nothing():
    p = progress.silent()
    assert not p.enabled
    with p:
        p.stage("x", total=2)
        p.advance()


def test_step_lines_are_plain_and_quote_what_has_spaces():
    out = io.StringIO()
    steps = StepLog("rig run", Console(file=out, force_terminal=False, width=40))
    steps("sensor opened", id="A1", transport="/dev/pts/4", missing=None)
    steps("sensor failed", id="B1", error="no such port: /dev/ttyX")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2                 # never wrapped, however narrow the console
    assert lines[0].startswith("rig run: sensor opened id=A1 transport=/dev/pts/4 elapsed_s=")
    assert "missing" not in lines[0]
    fields = dict(t.split("=", 1) for t in shlex.split(lines[1].split(": ", 1)[1])[2:])
    assert fields["error"] == "no such port: /dev/ttyX" and float(fields["elapsed_s"]) >= 0
    assert token("x", 1.5) == "x=1.5" and token("x", "") == 'x=""'


def test_logging_is_rich_on_a_terminal_and_plain_elsewhere():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        for console, kind in ((terminal()[0], RichHandler),
                              (Console(file=io.StringIO(), force_terminal=False), None)):
            root.handlers[:] = []
            setup_logging(1, console)
            (handler,) = root.handlers
            assert root.level == logging.INFO
            if kind is RichHandler:
                assert isinstance(handler, RichHandler) and handler.console is console
            else:
                assert type(handler) is logging.StreamHandler
                assert handler.stream is console.file
                assert handler.formatter._fmt == PLAIN_FORMAT
        root.handlers[:] = []
        setup_logging(5, terminal()[0])
        assert root.level == logging.DEBUG
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def test_a_csv_written_in_chunks_is_the_same_file(tmp_path, monkeypatch, rng):
    monkeypatch.setattr(interchange, "CSV_CHUNK_ROWS", 7)
    df = pd.DataFrame({"t": rng.normal(0, 1e5, 50), "id": np.arange(50),
                       "name": [f"s {i}" for i in range(50)], "v": rng.normal(0, 1, 50)})
    df.loc[3, "v"] = np.nan
    for frame in (df, df.iloc[:0], df.iloc[:7]):
        write_csv(tmp_path / "whole.csv", frame)
        p = Stages(enabled=False)
        write_csv(tmp_path / "chunks.csv", frame, p)
        assert (tmp_path / "chunks.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    expected = io.StringIO()
    df.to_csv(expected, index=False, float_format=FLOAT_FORMAT)
    write_csv(tmp_path / "chunks.csv", df, Stages(enabled=False))
    assert (tmp_path / "chunks.csv").read_text() == expected.getvalue()
    console, out = terminal()
    with Stages(console) as p:
        write_csv(tmp_path / "shown.csv", df, p)
    assert "writing shown.csv" in out.getvalue() and "50/50 rows" in ANSI.sub("", out.getvalue())


# --- live lines -------------------------------------------------------------------------------


def test_the_live_line_is_key_value_tokens_with_the_right_values():
    state = {"name": "bench x", "t": 12.04, "duration_s": 45, "tracks": 14, "plots_in": 520,
             "plots_rejected": 3, "processing_ms": [0.214, 0.8], "transport_ms": [None, 9.5],
             "lateness_p99_ms": 0.031, "deadline_misses": 2,
             "at_risk": ["processing_latency_ms p99 0.8 (limit <= 1)",
                         "tick_jitter_ms max 3 (limit <= 2)"],
             "sensors": [["R1", "A", "serial-sensor", "streaming", 123, 10, 0, 0, 0],
                         ["R2", "B", "scpi-sensor", "stale no data", 0, 0, 0, 0, 0]]}
    line = live_render.log_line(state)
    tokens = line.split(" ")
    assert all(re.fullmatch(r"[^=\s]+=[^=\s]+", t) for t in tokens), line
    fields = dict(t.split("=") for t in tokens)
    assert fields == {
        "t": "12.0", "tracks": "14", "plots_in": "520", "plots_rejected": "3",
        "processing_p50_ms": "0.21", "processing_p99_ms": "0.80", "transport_p50_ms": "-",
        "transport_p99_ms": "9.50", "lateness_p99_ms": "0.03", "deadline_misses": "2",
        "at_risk": "processing_latency_ms.p99,tick_jitter_ms.max",
        "sensor.R1": "streaming:123", "sensor.R2": "stale_no_data:0"}
    state.update(at_risk=[], sensors=[])
    assert dict(t.split("=") for t in live_render.log_line(state).split())["at_risk"] == "none"


# --- the commands -------------------------------------------------------------------------------


def rig_with_stderr_on_a_terminal(*args) -> tuple[subprocess.CompletedProcess, str]:
    """``rig ARGS`` with stdout a pipe and stderr a pseudo-terminal; returns the process
    and what it drew on the terminal."""
    master, slave = pty.openpty()
    drawn = []

    def drain():
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            drawn.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="120")
    try:
        done = subprocess.run([sys.executable, "-m", "rig", *args], stdout=subprocess.PIPE,
                              stderr=slave, text=True, timeout=120, env=env)
    finally:
        os.close(slave)
        reader.join(10)
        os.close(master)
    return done, ANSI.sub("", b"".join(drawn).decode(errors="replace"))


def rig(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rig", *args], capture_output=True, text=True,
                          timeout=120)


def test_rig_scenario_and_rig_score_print_the_same_with_progress_on(tmp_path):
    options = ["--seed", "5", "--targets", "10", "--duration", "120"]
    plain = rig("scenario", "--out", str(tmp_path / "a"), *options)
    assert plain.returncode == 0, plain.stderr
    assert plain.stderr == ""
    shown, drawn = rig_with_stderr_on_a_terminal("scenario", "--out", str(tmp_path / "b"),
                                                 *options)
    assert shown.returncode == 0, drawn
    assert shown.stdout.replace(str(tmp_path / "b"), str(tmp_path / "a")) == plain.stdout
    assert "writing plots.csv" in drawn and "simulating plots" in drawn and "rows" in drawn
    for name in ("scenario.json", "sensors.csv", "truth.csv", "plots.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()

    truth = pd.read_csv(tmp_path / "a" / "truth.csv")
    tracks = truth.rename(columns={"target_id": "track_id"})
    tracks["east_m"] += 25.0
    tracks.to_csv(tmp_path / "tracks.csv", index=False)
    for extra in ([], ["--json"]):
        plain = rig("score", str(tmp_path / "a"), str(tmp_path / "tracks.csv"), *extra)
        assert plain.returncode == 0 and plain.stderr == "", plain.stderr
        shown, drawn = rig_with_stderr_on_a_terminal("score", str(tmp_path / "a"),
                                                     str(tmp_path / "tracks.csv"), *extra)
        assert shown.returncode == 0, drawn
        assert shown.stdout == plain.stdout
        assert "judging identity" in drawn and "reading tracks.csv" in drawn


def test_rig_run_in_plain_mode_prints_its_steps_in_order(tmp_path):
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    config = yaml.safe_load((BENCH / "short.yaml").read_text())
    config["duration_s"] = 3
    config["outputs"]["feeds"][0]["transport"] = f"udp://127.0.0.1:{listener.getsockname()[1]}"
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(config))
    try:
        done = subprocess.run([sys.executable, "-m", "rig", "run", str(path), "--out",
                               str(tmp_path / "out"), "--record", "run.rigrec"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=120)
    finally:
        listener.close()
    assert done.returncode in (0, 1), done.stdout
    lines = done.stdout.splitlines()
    steps = [line.split(": ", 1)[1] for line in lines if line.startswith("rig run: ")
             and "elapsed_s=" in line]
    what = [re.sub(r" \w+=.*", "", s) for s in steps]
    assert what == ["config loaded", "recording", "feed opened", "emulators started",
                    "sensor opened", "sensor opened", "sensor opened", "loop started",
                    "run closed, tracks.csv written", "writing reports (accuracy, figures)",
                    "report.json, junit.xml written", "report.html written (figures)"], steps
    fields = [dict(t.split("=", 1) for t in shlex.split(s) if "=" in t) for s in steps]
    assert fields[0]["name"] == "short-emulated" and fields[0]["sensors"] == "3"
    assert fields[1]["path"] == str(tmp_path / "out" / "run.rigrec")
    assert fields[3]["started"] == "3/3"
    assert [f["id"] for f in fields[4:7]] == ["A1", "A2", "B1"]
    assert fields[5]["transport"].startswith("udp://127.0.0.1:")
    assert fields[10]["outcome"] in ("pass", "fail")
    elapsed = [float(f["elapsed_s"]) for f in fields]
    assert elapsed == sorted(elapsed)
    live = [i for i, line in enumerate(lines) if line.startswith("t=")]
    assert live, done.stdout
    loop_started = lines.index(next(x for x in lines if "loop started" in x))
    run_closed = lines.index(next(x for x in lines if "run closed" in x))
    assert loop_started < live[0] and live[-1] < run_closed
    assert all(re.fullmatch(r"([^=\s]+=[^=\s]+ ?)+", lines[i]) for i in live)
    for name in ("tracks.csv", "report.json", "junit.xml", "report.html"):
        assert (tmp_path / "out" / name).is_file()
