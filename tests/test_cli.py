"""The command line as a user meets it: help, exit codes, messages."""

import json
import subprocess
import sys

import numpy as np
import pytest


def rig(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "rig", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_help_lists_the_commands():
    out = rig("--help")
    assert out.returncode == 0
    for command in ("emulate", "monitor", "ports"):
        assert command in out.stdout
    assert "Exit codes" in out.stdout


@pytest.mark.parametrize("command", ["emulate", "monitor", "ports"])
def test_each_subcommand_has_help(command):
    out = rig(command, "--help")
    assert out.returncode == 0 and "usage: rig " + command in out.stdout


def test_bad_option_is_a_usage_error():
    out = rig("emulate", "--rate", "fast")
    assert out.returncode == 2 and "usage:" in out.stderr
    assert rig("no-such-command").returncode == 2


def test_bad_value_is_a_usage_error():
    out = rig("emulate", "--rate", "-5")
    assert out.returncode == 2 and "--rate must be positive" in out.stderr


def test_missing_port_exits_3_naming_it():
    out = rig("monitor", "/dev/ttyNOSUCHPORT", "--duration", "1")
    assert out.returncode == 3
    assert "/dev/ttyNOSUCHPORT" in out.stderr and "no such port" in out.stderr


def test_ports_json_is_one_object():
    out = rig("ports", "--json")
    assert out.returncode == 0
    listing = json.loads(out.stdout)
    assert isinstance(listing["serial"], list) and isinstance(listing["visa"], list)


def test_monitor_streams_an_emulated_sensor():
    out = rig("monitor", "--duration", "2", "--rate", "5000")
    assert out.returncode == 0, out.stderr
    summary = out.stderr.strip().splitlines()[-1]
    received = int(summary.split()[1])
    assert 5000 <= received <= 2 * 5000 * 1.1
    assert "sequence gaps 0" in summary and "CRC errors 0" in summary


def test_an_internal_error_exits_4_with_the_traceback_in_the_output_folder(tmp_path,
                                                                           monkeypatch, capsys):
    from rig import cli
    from rig.commands import fuse

    def broken(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(fuse, "run", broken)
    code = cli.main(["fuse", str(tmp_path), "--out", str(tmp_path / "out" / "tracks.csv")])
    err = capsys.readouterr().err
    assert code == 4
    assert err.count("\n") == 1 and "internal error: ZeroDivisionError: a bug" in err
    log = tmp_path / "out" / "rig-error.log"
    assert str(log) in err and "Traceback" in log.read_text() and "broken" in log.read_text()


def test_json_outputs_are_strict(tmp_path):
    from rig.strict_json import dumps

    text = dumps({"a": float("nan"), "b": [float("inf"), 1.5], "c": np.float32(2.0)})
    assert json.loads(text) == {"a": None, "b": [None, 1.5], "c": 2.0}


@pytest.mark.parametrize("argv, verbose", [
    (["check", "x.yaml"], 0), (["-v", "check", "x.yaml"], 1), (["check", "x.yaml", "-v"], 1),
    (["check", "-vv", "x.yaml"], 2), (["run", "x.yaml", "--verbose"], 1),
    (["export", "r.rigrec", "-vv", "--csv", "d"], 2)])
def test_verbose_is_taken_before_or_after_the_subcommand(argv, verbose):
    from rig.cli import build_parser

    assert build_parser(argv).parse_args(argv).verbose == verbose


def test_a_config_with_several_problems_prints_one_a_line_each_naming_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\nduraton_s: 3\nsensors: []\nmode: emulatd\n")
    done = subprocess.run([sys.executable, "-m", "rig", "run", str(bad), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines[0] == f"rig run: error: {len(lines) - 1} problems:"
    assert len(lines) >= 3 and all(line.startswith(f"{bad}:") for line in lines[1:])
    assert any(":3:1: duraton_s: unknown key; did you mean duration_s?" in l for l in lines)
