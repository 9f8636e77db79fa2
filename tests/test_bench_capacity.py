"""benchmarks/bench_capacity.py: the configs it generates are bench configs rig accepts, and
its search reports the largest load held."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rig.launch import rig_command

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def capacity():
    spec = importlib.util.spec_from_file_location(
        "bench_capacity", ROOT / "benchmarks" / "bench_capacity.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_capacity"] = module
    spec.loader.exec_module(module)
    return module


def test_generated_config_passes_rig_check(capacity, tmp_path):
    load = capacity.Load(radars=7, targets=90, clutter=2.0)
    config = capacity.write_config(load, tmp_path, 30.0, 1.0, 3, {"register_every_s": 0.5})
    done = subprocess.run(rig_command("check", str(config)), capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "90 targets" in done.stdout
    bench = yaml.safe_load(config.read_text())
    families = [s["family"] for s in bench["sensors"]]
    assert families[:3] == ["serial-sensor", "asterix-cat048", "scpi-sensor"]
    assert len(families) == 7 and bench["fusion"]["register_every_s"] == 0.5
    scenario = yaml.safe_load((tmp_path / "scenario.yaml").read_text())
    assert [s["id"] for s in scenario["sensors"]] == [s["id"] for s in bench["sensors"]]
    assert {s["clutter_per_scan"] for s in scenario["sensors"]} == {2.0}


def test_load_factor_scales_what_grow_names(capacity):
    def args(grow):
        return type("Args", (), {"radars": 8, "targets": 400, "clutter": 5.0, "grow": grow})

    assert capacity.load_at(1.5, args("both")) == capacity.Load(12, 600, 5.0)
    assert capacity.load_at(2, args("radars")) == capacity.Load(16, 400, 5.0)
    assert capacity.load_at(2, args("targets")) == capacity.Load(8, 800, 5.0)
    assert capacity.load_at(0.01, args("both")).radars == 1


def test_summary_is_the_largest_load_held(capacity):
    def run(radars, plots, held):
        return {"load": capacity.Load(radars, radars * 50, 5.0), "held": held,
                "why": "" if held else "tick_lateness_ms.max <= 5", "plots_per_s": plots,
                "tracks": radars * 30, "processing_p50_ms": 0.3, "processing_p99_ms": 3.0,
                "loop_thread_cpu_s_per_s": 0.1, "loop_process_cpu_s_per_s": 0.2,
                "emulators_cpu_s_per_s": 0.3, "rig_cpu_s_per_s": 0.6, "loop_rss_mb": 200.0,
                "emulators_rss_mb": 90.0 * radars, "load_average": 0.5}

    out = capacity.summary([run(8, 240.0, True), run(16, 1000.0, False),
                            run(12, 560.0, True), run(14, 760.0, False)])
    assert (out["max_plots_per_s"], out["max_sensors"], out["max_tracks"]) == (560.0, 12, 360)
    assert out["first_failed"]["load"] == "14x700+5c"


def test_bad_options_are_named(capacity, capsys):
    for argv, word in ((["--fusion", "no_such_setting=1"], "no_such_setting"),
                       (["--factors", "1,two"], "--factors"),
                       (["--duration", "0"], "--duration")):
        with pytest.raises(SystemExit) as stop:
            capacity.main(argv)
        assert stop.value.code == 2
        assert word in capsys.readouterr().err


def test_engine_only_times_the_fusion_of_a_generated_scenario(capacity, tmp_path, capsys):
    assert capacity.main(["--engine-only", "--factors", "0.25", "--duration", "20",
                          "--out", str(tmp_path)]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])[0]
    assert result["load"] == "2x100+5c"
    assert result["plots_per_s"] > 5 and result["tracks"] > 10
    assert 0 < result["fusion_cpu_s_per_s"] < 1
    assert result["cycles"] == 2000 and result["slowest_cycle_ms"] >= result["cycle_p99_ms"]
