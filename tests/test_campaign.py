"""rig campaign: seeds × grid on Dask distributed (a LocalCluster, and a real scheduler with
workers started as subprocesses on loopback), the cache that resumes, lost workers, failed
and hanging runs, bad files."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import cloudpickle
import pytest

from rig.campaign.execute import close, connect, run_campaign
from rig.campaign.runs import isolate_ports, run_command, run_one
from rig.campaign.spec import load_campaign

cloudpickle.register_pickle_by_value(sys.modules[__name__])

DASK = [sys.executable, "-c", "import sys; from dask.cli import run_cli; sys.argv[0] = 'dask'; "
        "run_cli()"]
TINY = """
name: tiny
offline:
  scenario: {{source: builtin, targets: 2, duration_s: 30}}
seeds: {seeds}
grid:
  fusion.confirm_updates: [2, 4]
limits: {{ospa_m: {limit}}}
"""


def write(tmp_path: Path, text: str, name: str = "campaign.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def rig_campaign(*args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rig", "campaign", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def dask_cluster(tmp_path):
    """A real ``dask scheduler`` and two ``dask worker`` processes (no nanny, one thread
    each) on 127.0.0.1; yields (address, [worker processes]); all killed at the end."""
    scheduler_file = tmp_path / "scheduler.json"
    procs = []
    try:
        procs.append(subprocess.Popen(
            DASK + ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                    "--dashboard-address", "127.0.0.1:0", "--scheduler-file",
                    str(scheduler_file)], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        workers = [subprocess.Popen(
            DASK + ["worker", address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1",
                    "--no-dashboard", "--name", f"w{i}"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL) for i in range(2)]
        procs += workers
        from distributed import Client
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address, workers
    finally:
        for proc in reversed(procs):
            stop(proc)


def test_offline_campaign_on_a_local_cluster(tmp_path):
    out = tmp_path / "out"
    result = rig_campaign(write(tmp_path, TINY.format(seeds=2, limit=1000)), "--out", out,
                          "--workers", 2)
    assert result.returncode == 0, result.stderr
    data = json.loads((out / "campaign.json").read_text())
    assert data["computed"] == 4 and data["cached"] == 0
    assert [a["runs"] for a in data["aggregates"]] == [2, 2]
    for agg in data["aggregates"]:
        ospa = agg["metrics"]["ospa_m"]
        assert ospa["n"] == 2 and 0 <= ospa["ci_low"] <= ospa["mean"] <= ospa["ci_high"] <= 1000
    assert {r["seed"] for r in data["runs"]} == {1, 2}
    assert all(r["figures"]["verdict"] == "done" for r in data["runs"])
    assert {c["metric"] for c in data["comparisons"]} >= {"ospa_m", "false_tracks"}
    assert "<img src=\"data:image/png;base64," in (out / "campaign.html").read_text()
    cases = ET.parse(out / "junit.xml").getroot().iter("testcase")
    names = [c.get("name") for c in cases]
    assert "fusion.confirm_updates=4: ospa_m <= 1000" in names
    assert "tiny: mean [95 % CI]" in result.stdout.replace("campaign ", "")
    # a limit no setting can hold: exit 1, each setting a failure in junit.xml; limits are
    # not part of a run's key, so every run comes from the cache
    failing = rig_campaign(write(tmp_path, TINY.format(seeds=2, limit=1), "f.yaml"), "--out",
                           out, "--workers", 1)
    assert failing.returncode == 1, failing.stderr
    assert json.loads((out / "campaign.json").read_text())["cached"] == 4
    root = ET.parse(out / "junit.xml").getroot()
    assert root.get("failures") == "2"
    assert "fail: ospa_m" in failing.stdout


def test_an_interrupted_campaign_resumes_from_its_cache(tmp_path):
    campaign = write(tmp_path, TINY.format(seeds=2, limit=1000))
    out = tmp_path / "out"
    assert rig_campaign(campaign, "--out", out, "--workers", 2).returncode == 0
    first = json.loads((out / "campaign.json").read_text())
    entries = sorted((out / "cache").glob("*.json"))
    assert len(entries) == 4
    entries[0].unlink()
    again = rig_campaign(campaign, "--out", out, "--workers", 2)
    assert again.returncode == 0, again.stderr
    second = json.loads((out / "campaign.json").read_text())
    assert second["computed"] == 1 and second["cached"] == 3
    redone = [r for r in second["runs"] if not r["cached"]]
    assert [r["key"] for r in redone] == [entries[0].stem]
    assert "1 runs computed, 3 from the cache" in again.stdout
    by_key = {r["key"]: r["figures"]["ospa_m"] for r in first["runs"]}
    assert all(r["figures"]["ospa_m"] == by_key[r["key"]] for r in second["runs"])


@pytest.mark.slow   # a real scheduler and workers: CI runs it with -m slow
def test_a_campaign_on_a_real_scheduler(tmp_path, dask_cluster):
    address, _ = dask_cluster
    out = tmp_path / "out"
    result = rig_campaign(write(tmp_path, TINY.format(seeds=2, limit=1000)), "--out", out,
                          "--scheduler", address)
    assert result.returncode == 0, result.stderr
    data = json.loads((out / "campaign.json").read_text())
    assert data["computed"] == 4 and data["counts"]["errors"] == 0
    assert len({r["worker"] for r in data["runs"]}) >= 1
    assert f"scheduler={address}" in result.stderr


def slow_runner(run, folder):
    time.sleep(1.0)
    return run_one(run, folder)


@pytest.mark.slow   # a real cluster with a worker killed: CI runs it with -m slow
def test_killing_a_worker_mid_campaign_loses_no_result(tmp_path, dask_cluster):
    address, workers = dask_cluster
    campaign = load_campaign(write(tmp_path, TINY.format(seeds=2, limit=1000)))
    out = tmp_path / "out"
    killed = []

    def kill_one(record, from_cache):
        if not killed:
            workers[1].kill()
            killed.append(record)

    client = connect(address)
    try:
        records, counts = run_campaign(campaign, out, client, runner=slow_runner,
                                       on_record=kill_one)
    finally:
        client.close()
    assert killed and workers[1].wait(timeout=10) == -signal.SIGKILL
    assert counts == {"computed": 4, "cached": 0}
    assert all(r["figures"] and r["error"] is None for r in records), records
    assert len(list((out / "cache").glob("*.json"))) == 4


def test_bad_campaign_files_and_an_unreachable_scheduler(tmp_path):
    bad = write(tmp_path, """
offline: {scenario: builtin}
seedz: 3
grid:
  fusion.confirm_updatez: [2, 3]
  scenario.targets: []
""")
    result = rig_campaign(bad, "--out", tmp_path / "o")
    assert result.returncode == 2
    assert f"{bad}:3:1: seedz: unknown key; did you mean seeds?" in result.stderr
    assert (f"{bad}:5:3: grid.fusion.confirm_updatez: not a key of the offline config; "
            "did you mean fusion.confirm_updates?") in result.stderr
    assert f"{bad}:6:3: grid.scenario.targets: empty list of values" in result.stderr
    bench = write(tmp_path, f"""
bench: {Path('bench_configs/emulated.yaml').resolve()}
seeds: 2
grid: {{outputs.perod_s: [0.1, 0.2]}}
""", "bench.yaml")
    result = rig_campaign(bench, "--out", tmp_path / "o")
    assert result.returncode == 2
    assert "grid.outputs.perod_s: not a key of the bench config" in result.stderr
    assert "did you mean outputs.period_s?" in result.stderr
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]          # nothing listens there
    good = write(tmp_path, TINY.format(seeds=1, limit=1000), "good.yaml")
    result = rig_campaign(good, "--out", tmp_path / "o", "--scheduler",
                          f"tcp://127.0.0.1:{port}")
    assert result.returncode == 3
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in result.stderr


def flaky_runner(run, folder):
    """Seed 1 fails once then works; seed 2 always fails; seed 3 hangs past its timeout."""
    if run.seed == 1:
        marker = folder / "tried"
        if not marker.exists():
            folder.mkdir(parents=True, exist_ok=True)
            marker.write_text("")
            raise RuntimeError("first attempt fails")
        return run_one(run, folder)
    if run.seed == 2:
        raise RuntimeError("boom")
    folder.mkdir(parents=True, exist_ok=True)
    run_command([sys.executable, "-c", "import time; time.sleep(60)"], 1.0, folder / "log")


def test_failed_runs_are_retried_once_and_hung_runs_stopped(tmp_path):
    campaign = load_campaign(write(tmp_path, TINY.format(seeds=3, limit=1000).replace(
        "[2, 4]", "[2]")))
    out = tmp_path / "out"
    client = connect(workers=2)
    try:
        records, counts = run_campaign(campaign, out, client, runner=flaky_runner)
    finally:
        close(client)
    by_seed = {r["seed"]: r for r in records}
    assert by_seed[1]["figures"]["ospa_m"] >= 0 and by_seed[1]["attempts"] == 2
    assert by_seed[2]["figures"] is None and by_seed[2]["attempts"] == 2
    assert by_seed[2]["error"] == "RuntimeError: boom"
    assert by_seed[3]["attempts"] == 1 and "timed out after 1 s" in by_seed[3]["error"]
    assert len(list((out / "cache").glob("*.json"))) == 1     # only the finished run


def test_every_loopback_udp_port_of_a_bench_config_is_moved():
    config = {"sensors": [{"id": "A2", "transport": "udp://@127.0.0.1:8600"},
                          {"id": "A1", "transport": "emulated"}],
              "outputs": {"feeds": [{"partner": "A", "transport": "udp://127.0.0.1:8610"},
                                    {"partner": "B", "transport": "udp://10.1.2.3:8611"}]}}
    moved = isolate_ports(config)
    sensor, feeds = moved["sensors"][0]["transport"], moved["outputs"]["feeds"]
    assert sensor.startswith("udp://@127.0.0.1:") and not sensor.endswith(":8600")
    assert feeds[0]["transport"] != "udp://127.0.0.1:8610"
    assert feeds[1]["transport"] == "udp://10.1.2.3:8611"      # a real partner stays
    assert moved["sensors"][1]["transport"] == "emulated"
    assert config["sensors"][0]["transport"] == "udp://@127.0.0.1:8600"


def test_run_keys_change_with_config_and_seed(tmp_path):
    campaign = load_campaign(write(tmp_path, TINY.format(seeds=2, limit=1000)))
    keys = {run.key for run in campaign.runs}
    assert len(keys) == 4
    (tmp_path / "elsewhere").mkdir()
    moved = write(tmp_path / "elsewhere", TINY.format(seeds=2, limit=5))
    assert keys == {run.key for run in load_campaign(moved).runs}   # nor path nor limits
    more = write(tmp_path, TINY.format(seeds=3, limit=1000), "more.yaml")
    assert keys < {run.key for run in load_campaign(more).runs}
