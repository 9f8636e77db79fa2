"""A sensor family that rig does not ship, installed through the ``rig.firmware_interfaces``
entry point (tests/data/plugin_family), checked, run end to end and replayed like the
built-in ones."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from rig.launch import rig_command

PLUGIN = Path(__file__).parent / "data" / "plugin_family"
CONFIG = PLUGIN / "bench.yaml"


def rig(*args, plugin=True, cwd=None):
    env = dict(os.environ)
    if plugin:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PLUGIN), env.get("PYTHONPATH"))
                                            if p)
    return subprocess.run(rig_command(*args), capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)


def test_an_unknown_family_is_a_config_error_naming_it():
    done = rig("check", str(CONFIG), plugin=False)
    assert done.returncode == 2
    assert "text-radar" not in done.stdout and "family" in done.stderr + done.stdout


@pytest.fixture(scope="module")
def plugin_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("plugin-run")
    done = rig("run", str(CONFIG), "--out", str(out), "--record", "run.rigrec", "--no-live")
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return out


def test_the_family_is_checked_through_its_entry_point():
    done = rig("check", str(CONFIG))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow                # a whole emulated run: CI runs it with -m slow
def test_a_run_streams_and_fuses_the_plugin_family_s_plots(plugin_run):
    report = json.loads((plugin_run / "report.json").read_text())
    rows = {r["id"]: r for r in report["sensors"]}
    assert rows["A2"]["family"] == "text-radar"
    assert rows["A2"]["plots"] > 10 and rows["A2"]["decoder_errors"] == 0
    assert rows["A1"]["plots"] > 20
    assert report["counts"]["tracks_published"] > 0


@pytest.mark.slow                # a whole emulated run: CI runs it with -m slow
def test_a_recording_of_the_plugin_family_replays_to_the_same_tracks(plugin_run, tmp_path):
    done = rig("replay", str(plugin_run / "run.rigrec"), "--out", str(tmp_path))
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert (tmp_path / "tracks.csv").read_bytes() == (plugin_run / "tracks.csv").read_bytes()
