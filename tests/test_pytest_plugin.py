"""The pytest plugin: a bench config is collected as tests (its run, its sensors, its limits),
with pytest's own counts, ids, selection and outcomes; rig_run gives custom tests the run."""

import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import yaml

SHORT = Path(__file__).parent / "data" / "bench" / "short.yaml"


def pytest_in(folder: Path, *args, timeout=300):
    installed = any(e.name == "rig" for e in entry_points(group="pytest11"))
    plugin = [] if installed else ["-p", "rig.pytest_plugin"]
    return subprocess.run([sys.executable, "-m", "pytest", *plugin, "-p", "no:cacheprovider",
                           *args], capture_output=True, text=True, cwd=folder, timeout=timeout)


def bench_config(folder: Path, **changes) -> Path:
    config = yaml.safe_load(SHORT.read_text())
    config.update(changes)
    path = folder / "bench.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def cases_of(junit: Path) -> dict:
    return {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}


@pytest.mark.slow                # an emulated run or emulator process: CI runs it with -m slow
def test_run_sensors_and_limits_become_tests_and_the_fixture_gives_the_run(tmp_path):
    limits = {**yaml.safe_load(SHORT.read_text())["limits"],
              "tick_jitter_ms": {"p99_9": 5}}       # ~3000 ticks needed: inconclusive
    bench_config(tmp_path, limits=limits)
    (tmp_path / "test_custom.py").write_text(textwrap.dedent("""
        def test_every_sensor_streamed(rig_run):
            assert rig_run.exit_code == 1           # short.yaml has an impossible limit
            assert all(s["plots"] > 0 for s in rig_run.report["sensors"])
    """))
    junit = tmp_path / "results.xml"
    out = pytest_in(tmp_path, "--rig-config", "bench.yaml", "--rig-duration", "6",
                    "--rig-out", "run", f"--junitxml={junit}", "-rA", "test_custom.py")
    assert "collected 11 items" in out.stdout, out.stdout[-3000:]
    cases = cases_of(junit)
    limit_ids = {"dropped_plots.max", "decoder_errors.max", "tick_lateness_ms.p50",
                 "processing_latency_ms.p50", "ospa_m.mean", "tick_jitter_ms.p99_9"}
    assert set(cases) == {"run", "sensor.A1", "sensor.A2", "sensor.B1",
                          "test_every_sensor_streamed"} | limit_ids
    assert {c.get("classname") for n, c in cases.items() if n != "test_every_sensor_streamed"
            } == {"bench.yaml"}
    assert "PASSED bench.yaml::tick_lateness_ms.p50" in out.stdout
    failed = {n for n, c in cases.items() if c.find("failure") is not None}
    assert failed == {"processing_latency_ms.p50"}
    skipped = cases["tick_jitter_ms.p99_9"].find("skipped")
    assert skipped is not None and "inconclusive" in skipped.get("message")
    assert not any(c.find("error") is not None for c in cases.values())
    # the run is its own test and carries the run's time; the limits only read the report
    assert float(cases["run"].get("time")) > 6.0
    assert all(float(cases[n].get("time")) < 1.0 for n in limit_ids)
    props = {p.get("name"): p.get("value") for p in cases["run"].iter("property")}
    assert props["exit_code"] == "1" and Path(props["out_dir"]).name == "run"
    assert out.returncode == 1
    assert (tmp_path / "run" / "report.html").is_file()


def test_selection_and_counts_are_pytest_s_own(tmp_path):
    bench_config(tmp_path)
    out = pytest_in(tmp_path, "--rig-config", "bench.yaml", "--collect-only", "-q",
                    "-k", "latency or sensor.A")
    assert "3/9 tests collected (6 deselected)" in out.stdout, out.stdout
    ids = [line for line in out.stdout.splitlines() if "::" in line]
    assert ids == ["bench.yaml::sensor.A1", "bench.yaml::sensor.A2",
                   "bench.yaml::processing_latency_ms.p50"]


def test_a_missing_or_invalid_config_is_a_usage_error_one_problem_a_line(tmp_path):
    out = pytest_in(tmp_path, "--rig-config", "nope.yaml")
    assert out.returncode == 4
    assert out.stderr.strip() == "ERROR: --rig-config: no such file: nope.yaml"
    (tmp_path / "bad.yaml").write_text("version: 1\nname: x\nduraton_s: 3\n")
    out = pytest_in(tmp_path, "--rig-config", "bad.yaml")
    assert out.returncode == 4
    lines = out.stderr.strip().splitlines()
    assert lines[0].startswith("ERROR: --rig-config: ") and len(lines) == 2
    assert all("bad.yaml:" in line for line in lines)
    assert any("bad.yaml:3:1: duraton_s: unknown key; did you mean duration_s?" in line
               for line in lines)
    assert "Traceback" not in out.stdout + out.stderr


def test_hardware_absent_is_errors_not_failures(tmp_path):
    bench_config(tmp_path, mode="bench", sensors=[
        {"id": "A1", "family": "serial-sensor", "transport": "/dev/ttyNOSUCHPORT"}])
    junit = tmp_path / "results.xml"
    out = pytest_in(tmp_path, "--rig-config", "bench.yaml", "--rig-out", "run",
                    f"--junitxml={junit}")
    cases = cases_of(junit)
    assert set(cases) >= {"run", "sensor.A1", "dropped_plots.max"}
    errors = {n for n, c in cases.items() if c.find("error") is not None}
    failures = {n for n, c in cases.items() if c.find("failure") is not None}
    assert failures == set()
    # the run could not start; the sensor is missing; the limits measured nothing
    assert errors == {"run", "sensor.A1", "dropped_plots.max", "decoder_errors.max",
                      "tick_lateness_ms.p50", "processing_latency_ms.p50"}, out.stdout[-3000:]
    assert "NOSUCHPORT" in cases["sensor.A1"].find("error").get("message")
    # accuracy needs truth, which a bench of real sensors does not have
    assert cases["ospa_m.mean"].find("skipped") is not None
    assert out.returncode == 1
