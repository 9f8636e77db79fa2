"""bench_configs/passive.yaml end to end: four radars and two emulated ESM receivers, each in
its own process on its own real transport (pty, UDP, VISA, UDP bearings), fused live, the
picture of the radars alone scored beside the joint one. Slow (a whole run): CI runs it with
``pytest -m slow``."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_radars_and_passive_sensors_fused_live_through_real_transports(tmp_path):
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "rig", "run", str(ROOT / "bench_configs" /
                                                                  "passive.yaml"),
                           "--out", str(out), "--duration", "30", "--no-live"],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    sensors = {s["id"]: s for s in report["sensors"]}
    for passive in ("AP1", "BP1"):
        s = sensors[passive]
        assert s["family"] == "esm-sensor" and s["state"] == "ok"
        assert s["plots"] > 50 and s["decoder_errors"] == 0 and s["dropped_plots"] == 0
    pictures = report["accuracy"]["pictures"]
    assert {"joint", "radars only", "partner A alone", "partner B alone"} <= set(pictures)
    assert pictures["joint"]["false_tracks"] <= 10
    assert report["counts"]["decoder_errors"] == 0 and report["counts"]["dropped_plots"] == 0
