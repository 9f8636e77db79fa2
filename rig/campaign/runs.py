"""One run of a campaign, in its own folder and its own subprocess.

A bench run is a real ``rig run`` of the resolved config (every loopback UDP port rewritten
to a free one, so runs side by side never collide; emulators pick their own ports). An
offline run is :mod:`rig.campaign.offline` (scenario folder, fusion, scoring). Either is
stopped when it outlives its timeout, and its figures are read back from its files.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from rig.campaign.spec import Run
from rig.errors import RigError
from rig.launch import module_command, rig_command

#: seconds a stopped run gets to end after SIGTERM before SIGKILL
GRACE_S = 5.0
#: exit codes of ``rig run`` that still wrote a report (pass, limit failed, inconclusive)
REPORTED_EXITS = (0, 1, 5)


class RunError(RigError):
    """A run ended without figures (its subprocess failed or wrote nothing readable)."""


class RunTimeout(RunError):
    """A run outlived its timeout and was stopped."""


def run_one(run: Run, folder: Path) -> dict:
    """The figures of ``run``, run in ``folder`` (made); RunError when it fails."""
    folder.mkdir(parents=True, exist_ok=True)
    if run.kind == "bench":
        return bench_run(run, folder)
    return offline_run(run, folder)


def run_command(argv: list[str], timeout_s: float, log: Path) -> int:
    """Run ``argv`` in its own session, output into ``log``; its exit code. Past
    ``timeout_s`` its whole process group gets SIGTERM, then SIGKILL, and RunTimeout."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            return proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _stop(proc)
            raise RunTimeout(f"timed out after {timeout_s:g} s and was stopped") from None
        except BaseException:
            _stop(proc)
            raise


def _stop(proc: subprocess.Popen) -> None:
    for sig, wait_s in ((signal.SIGTERM, GRACE_S), (signal.SIGKILL, GRACE_S)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def _last_lines(log: Path, n: int = 3) -> str:
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return " | ".join(lines[-n:])


def offline_run(run: Run, folder: Path) -> dict:
    job = folder / "offline.json"
    job.write_text(json.dumps({"config": run.config, "seed": run.seed}, indent=1))
    log = folder / "run.log"
    code = run_command(module_command("rig.campaign.offline", str(folder)), run.timeout_s, log)
    if code != 0:
        raise RunError(f"offline run exited with {code}: {_last_lines(log)}")
    return _read_json(folder / "figures.json")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise RunError(f"no figures in {path}: {e}") from None


def free_udp_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _loopback(host: str | None) -> bool:
    return host is None or host.startswith("127.") or host in ("localhost", "::1", "")


def with_free_port(url: str) -> str:
    """A loopback ``udp://`` URL with its port replaced by a free one; any other as it is
    (a real partner's or radar's address is where it is)."""
    if not url.startswith("udp://"):
        return url
    parts = urlsplit(url)
    if not _loopback(parts.hostname) or parts.port in (None, 0):
        return url
    host = parts.hostname or "127.0.0.1"
    at = "@" if "@" in parts.netloc else ""
    shown = f"[{host}]" if ":" in host else host
    netloc = f"{at}{shown}:{free_udp_port(host)}"
    return parts._replace(netloc=netloc).geturl()


def isolate_ports(config: dict) -> dict:
    """``config`` (a bench config's data) with every loopback UDP port of its feeds and
    sensors moved to a free port."""
    config = json.loads(json.dumps(config))
    for feed in (config.get("outputs") or {}).get("feeds") or []:
        if isinstance(feed.get("transport"), str):
            feed["transport"] = with_free_port(feed["transport"])
    for sensor in config.get("sensors") or []:
        if isinstance(sensor.get("transport"), str):
            sensor["transport"] = with_free_port(sensor["transport"])
    return config


def bench_run(run: Run, folder: Path) -> dict:
    config_path = folder / "config.yaml"
    config_path.write_text(yaml.safe_dump(isolate_ports(run.config), sort_keys=False))
    out, log = folder / "out", folder / "run.log"
    code = run_command(rig_command("run", str(config_path), "--out", str(out), "--no-live"),
                       run.timeout_s, log)
    if code not in REPORTED_EXITS:
        raise RunError(f"rig run exited with {code}: {_last_lines(log)}")
    return bench_figures(_read_json(out / "report.json"))


def bench_figures(report: dict) -> dict:
    """A campaign's figures from a ``rig run`` report.json."""
    joint = ((report.get("accuracy") or {}).get("pictures") or {}).get("joint") or {}
    processing = (report.get("timing") or {}).get("processing_latency_ms") or {}
    return {"ospa_m": joint.get("ospa_mean_m"), "false_tracks": joint.get("false_tracks"),
            "identity_switches": joint.get("identity_switches"),
            "missed_targets": joint.get("missed_targets"),
            "processing_p50_ms": processing.get("p50"),
            "processing_p99_ms": processing.get("p99"),
            "verdict": report.get("outcome"), "exit_code": report.get("exit_code")}
