"""Subprocesses import the same rig as their parent, whatever their working directory."""

import json
import subprocess
import sys

import rig
from rig.emulation.process import EmulatorProcess
from rig.launch import module_command, rig_command


def shadow_checkout(tmp_path):
    """A working directory holding a ``rig/`` folder that is not the installed package (a
    checkout whose extensions were never built in place)."""
    (tmp_path / "rig").mkdir(parents=True)
    (tmp_path / "rig" / "__init__.py").write_text('raise ImportError("the shadow rig")\n')
    (tmp_path / "rig" / "__main__.py").write_text("")
    return tmp_path


def test_plain_python_m_picks_up_the_folder_in_the_working_directory(tmp_path):
    # what the launch helper is for: without it the shadow folder wins
    done = subprocess.run([sys.executable, "-m", "rig", "--help"], cwd=shadow_checkout(tmp_path),
                          capture_output=True, text=True)
    assert done.returncode != 0 and "the shadow rig" in done.stderr


def test_rig_command_runs_the_installed_rig_from_a_shadowing_directory(tmp_path):
    done = subprocess.run(rig_command("--help"), cwd=shadow_checkout(tmp_path),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "usage: rig" in done.stdout


def test_module_command_passes_arguments_and_imports_the_parent_s_package(tmp_path):
    probes = tmp_path / "probes"
    probes.mkdir()
    (probes / "probe.py").write_text(
        "import json, sys, rig; print(json.dumps([rig.__file__, sys.argv[1:]]))")
    done = subprocess.run(module_command("probe", "a", "--b"),
                          cwd=shadow_checkout(tmp_path / "checkout"), capture_output=True,
                          text=True, env={"PYTHONPATH": str(probes)})
    assert done.returncode == 0, done.stderr
    rig_file, argv = json.loads(done.stdout)
    assert rig_file == rig.__file__
    assert argv == ["a", "--b"]


def test_an_emulator_starts_from_a_shadowing_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(shadow_checkout(tmp_path))
    with EmulatorProcess(["emulate", "--port", "pty", "--rate", "10"],
                         name="from-shadow") as emu:
        assert emu.device.startswith("/dev/pts/")
