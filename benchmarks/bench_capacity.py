"""Live capacity: the largest picture ``rig run`` holds in real time on this machine.

    python benchmarks/bench_capacity.py [--duration S] [--radars N] [--targets N]
                                        [--clutter N] [--grow both|radars|targets]
                                        [--bisect N] [--max-runs N] [--budget-s S]
                                        [--factors F,F,...] [--fusion KEY=VALUE]
                                        [--period S] [--out DIR] [--profile]

Each run is an ordinary emulated bench run (``rig run`` in its own process: one emulator
process per radar, serial sensors on ptys, CAT048 over UDP, SCPI over VISA) of a bench
config and scenario written into ``--out`` for its load: ``radars`` radars on a ring around
the origin (families serial, CAT048 and SCPI in turn, partners A and B in turn), ``targets``
random targets and ``clutter`` false plots per scan per radar. Load factor 1 is
``--radars`` × ``--targets``; ``--grow`` says what the factor scales. The factor doubles
until a run fails (or halves until one holds), then ``--bisect`` runs halve the gap
between the last load held and the first that failed; a run left unjudged by a busy machine
is made once more. ``--factors 1,2,4`` runs those loads instead of searching (a table of
costs against load); ``--fusion KEY=VALUE`` sets a fusion setting in every run's config.
``--engine-only`` times the fusion engine alone at each load (``rig scenario``'s plots fed
as the loop feeds them, CPU time): its cost per plot and per track, and its slowest cycles.

A load is held when the run's processing latency p99 is at most 5 ms, no plot was dropped,
no frame was refused by a decoder, no picture missed its deadline and no tick came later
than 5 ms on rig's account (``tick_lateness_ms: {max: 5}``, judged as every limit is: a late
tick that only the machine's own lateness explains makes the run inconclusive, exit 5,
and the load is reported as not judged rather than failed; docs/bench-run.md, "Verdicts").

One line per run: the load, plots/s, tracks, processing p50/p99, the CPU seconds a second of
the loop thread (the platform probe's record), of the loop process (loop and reader
threads), of the emulators in total and of the probe (read from /proc while the loop runs),
of the rig's whole process tree and of the others on the machine (report.json), RSS of the
loop process and of the emulators in total (report.json ``memory_mb``), and the machine's
load average before the run; each run's figures also go to ``DIR/<run>/figures.json``.
The last line is JSON: ``max_plots_per_s``, ``max_tracks``, ``max_sensors`` and the
figures of the largest load held. ``--profile`` samples the loop process of each run with
py-spy (``pip install -e '.[bench]'``) into ``DIR/<run>/profile.txt``. docs/capacity.md
has the figures of the development machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from rig.launch import rig_command

ROOT = Path(__file__).resolve().parent.parent
USER_HZ = os.sysconf("SC_CLK_TCK")
FAMILIES = ("serial-sensor", "asterix-cat048", "scpi-sensor")
ORIGIN = {"lat_deg": 52.0, "lon_deg": 21.0, "alt_m": 100.0}
RING_RADIUS_M = 120_000.0
#: radar models taken in turn (those of bench_configs/scenarios/stress.yaml)
RADAR_MODELS = (
    {"scan_period_s": 4.0, "sigma_range_m": 40.0, "sigma_az_rad": 0.0015,
     "sigma_el_rad": 0.0025, "pd": 0.9, "range_min_m": 1000, "range_max_m": 320000,
     "latency_s": 0.05, "latency_jitter_s": 0.02},
    {"scan_period_s": 10.0, "sigma_range_m": 80.0, "sigma_az_rad": 0.002,
     "sigma_el_rad": 0.004, "pd": 0.8, "pd_model": "swerling1",
     "pd_reference_range_m": 280000, "range_min_m": 2000, "range_max_m": 360000,
     "latency_s": 0.12, "latency_jitter_s": 0.05},
    {"scan_period_s": 5.0, "sigma_range_m": 30.0, "sigma_az_rad": 0.0012,
     "sigma_el_rad": 0.002, "sigma_range_rate_mps": 1.5, "pd": 0.92, "range_min_m": 1000,
     "range_max_m": 300000, "latency_s": 0.08, "latency_jitter_s": 0.02},
    {"scan_period_s": 6.0, "sigma_range_m": 50.0, "sigma_az_rad": 0.0018,
     "sigma_el_rad": 0.003, "sigma_range_rate_mps": 2.0, "pd": 0.85,
     "pd_model": "swerling1", "pd_reference_range_m": 260000, "range_min_m": 1500,
     "range_max_m": 300000, "latency_s": 0.1, "latency_jitter_s": 0.03},
)
LIMITS = {
    "processing_latency_ms": {"p99": 5},
    "tick_lateness_ms": {"max": 5},
    "dropped_plots": {"max": 0},
    "decoder_errors": {"max": 0},
    "deadline_misses": {"max": 0},
}


@dataclass(frozen=True)
class Load:
    radars: int
    targets: int
    clutter: float

    def __str__(self) -> str:
        return f"{self.radars}x{self.targets}+{self.clutter:g}c"


def load_at(factor: float, args) -> Load:
    """The load of ``factor`` times the starting one, scaling what ``--grow`` names."""
    radars = args.radars * factor if args.grow in ("both", "radars") else args.radars
    targets = args.targets * factor if args.grow in ("both", "targets") else args.targets
    return Load(max(1, round(radars)), max(0, round(targets)), args.clutter)


def radar(i: int, n: int, clutter: float) -> dict:
    """The ``i``-th of ``n`` radars on a ring around the origin."""
    angle = 2 * math.pi * i / n
    east, north = RING_RADIUS_M * math.sin(angle), RING_RADIUS_M * math.cos(angle)
    lat = ORIGIN["lat_deg"] + north / 111_195.0
    lon = ORIGIN["lon_deg"] + east / (111_195.0 * math.cos(math.radians(ORIGIN["lat_deg"])))
    model = RADAR_MODELS[i % len(RADAR_MODELS)]
    partner = "AB"[i % 2]
    return {"id": f"{partner}{i // 2 + 1}", "partner": partner,
            "site": {"lat_deg": round(lat, 5), "lon_deg": round(lon, 5), "alt_m": 150.0},
            **model, "scan_phase_s": round((0.37 * i) % model["scan_period_s"], 3),
            "clutter_per_scan": clutter, "el_max_rad": 0.6}


def write_config(load: Load, folder: Path, duration_s: float, period_s: float,
                 seed: int, fusion: dict | None = None) -> Path:
    """The scenario and bench config of ``load`` in ``folder``; the config's path."""
    folder.mkdir(parents=True, exist_ok=True)
    radars = [radar(i, load.radars, load.clutter) for i in range(load.radars)]
    scenario = {"spec": "1.0", "name": f"capacity-{load}", "origin": ORIGIN,
                "duration_s": max(600.0, duration_s + 60.0), "seed": seed, "sensors": radars,
                "random": {"count": load.targets, "crossings": load.targets // 40,
                           "formations": load.targets // 80}}
    (folder / "scenario.yaml").write_text(yaml.safe_dump(scenario, sort_keys=False))
    config = {
        "version": 1, "name": f"capacity-{load}", "mode": "emulated",
        "duration_s": duration_s, "scenario": {"source": "scenario.yaml", "seed": seed},
        "sensors": [{"id": r["id"], "family": FAMILIES[i % len(FAMILIES)],
                     "transport": "emulated"} for i, r in enumerate(radars)],
        "fusion": {"window_s": 0.01, "hold_back_s": 0.0, "oos_tolerance_s": 1.5,
                   **(fusion or {})},
        "outputs": {"period_s": period_s, "feeds": [
            {"partner": "A", "format": "cat062", "transport": "udp://127.0.0.1:8610"},
            {"partner": "B", "format": "cat062", "transport": "udp://127.0.0.1:8611"}]},
        "accuracy": {"warmup_s": max(1.0, duration_s + 1.0)},     # timing only: no scoring
        "limits": LIMITS,
    }
    path = folder / "bench.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# --- what the processes used, read from /proc while the loop runs ----------------------------
def _proc_ticks(pid: int | str) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


def _thread_ticks(pid: int) -> dict[int, tuple[str, int]]:
    """Per thread of ``pid``: ("main" for its main thread, the loop's, else "readers"), CPU
    ticks so far."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        ticks = _proc_ticks(f"{pid}/task/{tid}")
        if ticks is not None:
            out[int(tid)] = ("main" if int(tid) == pid else "readers", ticks)
    return out


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def _kind(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            words = f.read().split(b"\0")
    except OSError:
        return "other"
    text = b" ".join(words)
    if b"rig.harness.platform" in text:
        return "probe"
    if b"emulate" in words and b"--family" in words:
        return "emulator:" + words[words.index(b"--family") + 1].decode()
    return "other"


@dataclass
class CpuSampler:
    """CPU ticks of the rig process and of each of its children, every ``period_s`` while
    ``active`` is set: CPU seconds a second of the loop process and of the emulators."""

    pid: int
    period_s: float = 1.0
    active: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    first: dict = field(default_factory=dict)      # pid -> (t, ticks, kind)
    last: dict = field(default_factory=dict)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        return thread

    def _run(self) -> None:
        while not self.done.wait(self.period_s):
            if not self.active.is_set():
                continue
            now = time.monotonic()
            for pid in [self.pid, *_children(self.pid)]:
                ticks = _proc_ticks(pid)
                if ticks is None:
                    continue
                kind = "loop" if pid == self.pid else self.first.get(pid, (0, 0, None))[2]
                kind = kind or _kind(pid)
                self.first.setdefault(pid, (now, ticks, kind))
                self.last[pid] = (now, ticks, kind)
            for tid, (group, ticks) in _thread_ticks(self.pid).items():
                key = ("thread", tid)
                self.first.setdefault(key, (now, ticks, "thread:" + group))
                self.last[key] = (now, ticks, "thread:" + group)

    def threads(self) -> dict[str, float]:
        """CPU seconds a second of the loop process's threads, by group."""
        groups = sorted({kind for _, _, kind in self.last.values()
                         if kind.startswith("thread:")})
        return {g.removeprefix("thread:"): self.cpu_s_per_s(g) for g in groups}

    def cpu_s_per_s(self, kind: str) -> float | None:
        """CPU seconds a second used by the processes of ``kind`` (``emulator`` takes in
        ``emulator:FAMILY``), summed."""
        total, seen = 0.0, False
        for pid, (t1, k1, kd) in self.last.items():
            t0, k0, _ = self.first[pid]
            if (kd == kind or kd.startswith(kind + ":")) and t1 - t0 > 1.0:
                total += (k1 - k0) / USER_HZ / (t1 - t0)
                seen = True
        return round(total, 3) if seen else None


# --- one run ---------------------------------------------------------------------------------
def run_once(load: Load, folder: Path, args) -> dict:
    """One ``rig run`` of ``load`` in ``folder``; its figures."""
    config = write_config(load, folder, args.duration, args.period, args.seed, args.fusion)
    out = folder / "run"
    load_avg = os.getloadavg()
    proc = subprocess.Popen(rig_command("run", str(config), "--out", str(out), "--no-live"),
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1)
    sampler = CpuSampler(proc.pid)
    sampler.start()
    profiler = None
    log = []
    # a run that overstays its duration, start-up and reports by minutes is stopped
    watchdog = threading.Timer(args.duration + 180.0 + 1.0 * load.radars, proc.terminate)
    watchdog.start()
    try:
        for text in proc.stdout:
            log.append(text)
            if "loop started" in text:
                sampler.active.set()
                if args.profile:
                    profiler = start_profiler(proc.pid, folder, args.duration)
            elif "run closed" in text:
                sampler.active.clear()
    finally:
        watchdog.cancel()
        if proc.poll() is None:          # the benchmark itself was stopped: so is the run
            proc.terminate()
        code = proc.wait()
    sampler.done.set()
    if profiler is not None:
        profiler.wait()
    (folder / "rig-run.log").write_text("".join(log))
    try:
        report = json.loads((out / "report.json").read_text())
    except (OSError, ValueError):
        return {"load": load, "exit_code": code, "held": False,
                "why": f"no report.json (exit {code}; see {folder / 'rig-run.log'})",
                "load_average": load_avg[0]}
    result = {"load": load, "exit_code": code, "load_average": load_avg[0],
              **figures(report, out, sampler, code)}
    (folder / "figures.json").write_text(json.dumps({**result, "load": str(load)}, indent=1))
    return result


def start_profiler(pid: int, folder: Path, duration_s: float) -> subprocess.Popen | None:
    """py-spy sampling the loop process for most of the run, or None without py-spy."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        return None
    seconds = max(5, int(duration_s) - 10)
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--duration", str(seconds),
                             "--rate", "200", "--format", "raw", "--nonblocking", "--threads",
                             "--output", str(folder / "profile.txt")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def loop_thread_cpu(out: Path) -> float | None:
    """CPU seconds a second of the loop thread, from the platform probe's record."""
    try:
        with np.load(out / "platform-probe.npz") as d:
            ran, t = d["ran_ns"], d["target_ns"]
    except (OSError, KeyError, ValueError):
        return None
    if len(t) < 2 or not ran[-1]:
        return None
    return round(float(ran[-1] - ran[0]) / float(t[-1] - t[0]), 3)


def figures(report: dict, out: Path, sampler: CpuSampler, code: int) -> dict:
    """What a run's report and the samplers say of it, and whether its load was held."""
    timing = report.get("timing", {})
    counts = report.get("counts", {})
    processing = timing.get("processing_latency_ms", {})
    probe = report.get("environment", {}).get("platform_probe", {})
    memory = report.get("memory_mb") or []
    duration = report.get("duration_s") or 1.0
    limits = report.get("limits", [])
    failed = [lim["name"] for lim in limits if lim.get("outcome") == "fail"]
    unjudged = [lim["name"] for lim in limits if lim.get("outcome") in ("inconclusive",
                                                                        "no data")]
    p99 = processing.get("p99")
    held = code == 0 and p99 is not None and p99 <= LIMITS["processing_latency_ms"]["p99"]
    why = ", ".join(failed) or (("inconclusive: " + ", ".join(unjudged)) if unjudged else "")
    if not held and not why:
        why = f"exit {code}"
    return {
        "held": held, "judged": not unjudged or bool(failed), "why": why,
        "plots_per_s": round(counts.get("plots_received", 0) / duration, 1),
        "tracks": counts.get("tracks_published"),
        "processing_p50_ms": _round(processing.get("p50")),
        "processing_p99_ms": _round(p99),
        "processing_max_ms": _round(processing.get("max")),
        "cycle_p99_ms": _round(timing.get("cycle_time_ms", {}).get("p99")),
        "tick_lateness_max_ms": _round(timing.get("tick_lateness_ms", {}).get("max")),
        "dropped_plots": counts.get("dropped_plots"),
        "decoder_errors": counts.get("decoder_errors"),
        "deadline_misses": timing.get("deadline_misses"),
        "loop_thread_cpu_s_per_s": loop_thread_cpu(out),
        "loop_process_cpu_s_per_s": sampler.cpu_s_per_s("loop"),
        "emulators_cpu_s_per_s": sampler.cpu_s_per_s("emulator"),
        "emulators_cpu_s_per_s_by_family": {
            family: sampler.cpu_s_per_s("emulator:" + family) for family in FAMILIES},
        "probe_cpu_s_per_s": sampler.cpu_s_per_s("probe"),
        "loop_threads_cpu_s_per_s": sampler.threads(),
        "rig_cpu_s_per_s": probe.get("rig_cpu_s_per_s"),
        "others_cpu_s_per_s": probe.get("others_cpu_s_per_s"),
        "loop_rss_mb": round(max(m[1] for m in memory), 1) if memory else None,
        "emulators_rss_mb": round(max(sum(m[2]) for m in memory), 1) if memory else None,
        "emulator_rss_mb_each": (round(max(max(m[2]) for m in memory if m[2]), 1)
                                 if memory and any(m[2] for m in memory) else None),
    }


def _compact(groups: dict) -> str:
    return ",".join(f"{name}:{value}" for name, value in groups.items())


def _round(value, digits: int = 3):
    return None if value is None else round(float(value), digits)


def line(result: dict) -> str:
    """One run as one line."""
    r = result
    if "plots_per_s" not in r:
        return f"load {r['load']}: FAILED TO RUN ({r['why']}) loadavg={r['load_average']:.2f}"
    verdict = "held" if r["held"] else ("NOT JUDGED" if not r["judged"] else "FAILED")
    return (f"load {r['load']}: {verdict}{' (' + r['why'] + ')' if r['why'] else ''} "
            f"plots/s={r['plots_per_s']} tracks={r['tracks']} "
            f"p50/p99={r['processing_p50_ms']}/{r['processing_p99_ms']} ms "
            f"cycle_p99={r['cycle_p99_ms']} ms tick_late_max={r['tick_lateness_max_ms']} ms "
            f"cpu loop_thread={r['loop_thread_cpu_s_per_s']} "
            f"loop_proc={r['loop_process_cpu_s_per_s']} emulators={r['emulators_cpu_s_per_s']} "
            f"probe={r['probe_cpu_s_per_s']} rig={r['rig_cpu_s_per_s']} "
            f"others={r['others_cpu_s_per_s']} s/s "
            f"threads={_compact(r['loop_threads_cpu_s_per_s'])} "
            f"rss loop={r['loop_rss_mb']} emulators={r['emulators_rss_mb']} MB "
            f"loadavg={r['load_average']:.2f}")


def search(args, work: Path) -> list[dict]:
    """Double the load factor until a run fails (or halve it until one holds, when the first
    fails), then bisect; every run's figures. A run the machine left unjudged (inconclusive
    on the platform's account) is made once more; unjudged twice, it counts as failed."""
    started = time.monotonic()
    results: list[dict] = []

    def budget_left() -> bool:
        return (len(results) < args.max_runs
                and time.monotonic() - started < args.budget_s)

    def attempt(f: float) -> bool:
        load = load_at(f, args)
        same = [r for r in results if r["load"] == load]
        if same:
            return same[-1]["held"]
        for _ in range(2):
            result = run_once(load, work / f"run{len(results) + 1:02d}-{load}", args)
            result["factor"] = f
            results.append(result)
            print(line(result), flush=True)
            if result.get("judged", True) or not budget_left():
                break
        return result["held"]

    held_f, failed_f = None, None
    factor = args.start_factor
    if budget_left() and not attempt(factor):
        failed_f = factor
        while budget_left() and factor > args.start_factor / 16:
            factor /= 2
            if attempt(factor):
                held_f = factor
                break
            failed_f = factor
    else:
        held_f = factor
        while budget_left():
            factor *= 2
            if not attempt(factor):
                failed_f = factor
                break
            held_f = factor
    for _ in range(args.bisect):
        if held_f is None or failed_f is None or not budget_left():
            break
        middle = (held_f + failed_f) / 2
        if load_at(middle, args) in (load_at(held_f, args), load_at(failed_f, args)):
            break
        if attempt(middle):
            held_f = middle
        else:
            failed_f = middle
    return results


def measure(factors: list[float], args, work: Path) -> list[dict]:
    """One run at each load factor; every run's figures."""
    results = []
    for f in factors:
        load = load_at(f, args)
        result = run_once(load, work / f"run{len(results) + 1:02d}-{load}", args)
        result["factor"] = f
        results.append(result)
        print(line(result), flush=True)
    return results


def engine_only(factors: list[float], args, work: Path) -> list[dict]:
    """The fusion engine alone at each load, as the loop calls it (a cycle every 5 ms of
    scenario time, updates extrapolated each cycle) on the plots of ``rig scenario``: CPU
    time over the second half of ``--duration``, and the slowest cycles."""
    import gc

    from rig.fusion.offline import engine_for, plots_from_frame
    from rig.fusion.params import FusionParams
    from rig.interchange import read_interchange

    params = FusionParams(window_s=0.01, hold_back_s=0.0, oos_tolerance_s=1.5, **args.fusion)
    step_s, results = 0.005, []
    for f in factors:
        load = load_at(f, args)
        folder = work / f"engine-{load}"
        config = write_config(load, folder, args.duration, args.period, args.seed)
        subprocess.run(rig_command("scenario", str(config.parent / "scenario.yaml"),
                                   "--out", str(folder / "plots"),
                                   "--duration", str(args.duration)),
                       check=True, capture_output=True)
        ic = read_interchange(folder / "plots")
        plots = plots_from_frame(ic.plots, list(ic.sensors["sensor_id"]))
        plots = plots[np.argsort(plots["t_sensor"], kind="stable")]
        engine = engine_for(ic, params)
        t_plot = plots["t_sensor"]
        steps, tracks, cut = [], [], 0
        gc.collect()
        gc.disable()
        try:
            for k in range(1, int(args.duration / step_s) + 1):
                now = k * step_s
                end = int(np.searchsorted(t_plot, now, side="right"))
                c0 = time.process_time_ns()
                engine.process(plots[cut:end], until_s=now)
                engine.tracks_updated(now)
                steps.append((now, end - cut, (time.process_time_ns() - c0) * 1e-6))
                cut = end
                if k % 200 == 0:
                    tracks.append(len(engine.track_rows()))
        finally:
            gc.enable()
        s = np.array(steps)
        late = s[s[:, 0] > args.duration / 2]
        seconds = late[-1, 0] - late[0, 0] + step_s
        slowest = late[np.argmax(late[:, 2])]
        result = {"load": str(load), "tracks": int(np.mean(tracks[len(tracks) // 2:])),
                  "plots_per_s": round(late[:, 1].sum() / seconds, 1),
                  "fusion_cpu_s_per_s": round(late[:, 2].sum() * 1e-3 / seconds, 4),
                  "us_per_plot": round(late[:, 2].sum() * 1e3 / max(late[:, 1].sum(), 1), 1),
                  "slowest_cycle_ms": round(float(slowest[2]), 2),
                  "slowest_cycle_at_s": round(float(slowest[0]), 3),
                  "cycle_p99_ms": round(float(np.percentile(late[:, 2], 99)), 3),
                  "cycles_over_3_ms": int((late[:, 2] > 3).sum()), "cycles": len(late)}
        results.append(result)
        print(" ".join(f"{k}={v}" for k, v in result.items()), flush=True)
    return results


def summary(results: list[dict]) -> dict:
    """The largest load held, and its figures."""
    held = [r for r in results if r["held"]]
    best = max(held, key=lambda r: r["plots_per_s"], default=None)
    first_failed = min((r for r in results if not r["held"]), default=None,
                       key=lambda r: r.get("plots_per_s") or 0.0)
    out = {"runs": len(results), "max_plots_per_s": None, "max_tracks": None,
           "max_sensors": None, "max_targets": None}
    if best is not None:
        out.update({
            "max_plots_per_s": best["plots_per_s"], "max_tracks": best["tracks"],
            "max_sensors": best["load"].radars, "max_targets": best["load"].targets,
            "clutter_per_scan": best["load"].clutter,
            **{k: best[k] for k in ("processing_p50_ms", "processing_p99_ms",
                                    "loop_thread_cpu_s_per_s", "loop_process_cpu_s_per_s",
                                    "emulators_cpu_s_per_s", "rig_cpu_s_per_s",
                                    "loop_rss_mb", "emulators_rss_mb", "load_average")}})
    if first_failed is not None:
        out["first_failed"] = {"load": str(first_failed["load"]), "why": first_failed["why"],
                               "plots_per_s": first_failed.get("plots_per_s")}
    return out


def fusion_setting(text: str, ap: argparse.ArgumentParser) -> tuple[str, object]:
    """``KEY=VALUE`` of ``--fusion`` as a key and its YAML value."""
    from rig.fusion.params import FusionParams

    key, sep, value = text.partition("=")
    if not sep or key not in FusionParams.model_fields:
        ap.error(f"--fusion {text!r}: expected KEY=VALUE with KEY a fusion setting "
                 f"(rig/fusion/params.py), e.g. register_every_s=0.5")
    return key, yaml.safe_load(value)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=60.0,
                    help="seconds each run lasts (default 60; shorter for a quick look)")
    ap.add_argument("--radars", type=int, default=8, help="radars at load factor 1")
    ap.add_argument("--targets", type=int, default=400, help="random targets at factor 1")
    ap.add_argument("--clutter", type=float, default=5.0,
                    help="false plots per scan per radar (default 5)")
    ap.add_argument("--grow", choices=("both", "radars", "targets"), default="both",
                    help="what the load factor scales (default both)")
    ap.add_argument("--start-factor", type=float, default=1.0)
    ap.add_argument("--bisect", type=int, default=3, help="bisection runs after the doubling")
    ap.add_argument("--max-runs", type=int, default=10)
    ap.add_argument("--budget-s", type=float, default=900.0,
                    help="start no run after this many seconds (default 900)")
    ap.add_argument("--period", type=float, default=1.0,
                    help="seconds between whole pictures (outputs.period_s, default 1)")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--plot", type=Path, default=None, metavar="PNG",
                    help="draw the loop's cost against the load of the runs made into PNG")
    ap.add_argument("--out", type=Path, default=None,
                    help="folder for the configs and runs (default: a temporary one, removed)")
    ap.add_argument("--profile", action="store_true",
                    help="sample each run's loop process with py-spy into profile.txt")
    ap.add_argument("--factors", default=None,
                    help="run these load factors (comma-separated, e.g. 1,2,3) instead of "
                         "searching")
    ap.add_argument("--engine-only", action="store_true",
                    help="time the fusion engine alone at each of --factors (no emulators, "
                         "no transports; CPU time, so the machine's load matters little)")
    ap.add_argument("--fusion", action="append", default=[], metavar="KEY=VALUE",
                    help="a fusion setting of every run's config (repeatable), e.g. "
                         "register_every_s=0.5")
    args = ap.parse_args(argv)
    args.fusion = dict(fusion_setting(text, ap) for text in args.fusion)
    try:
        factors = ([float(f) for f in args.factors.split(",")] if args.factors else None)
    except ValueError:
        ap.error(f"--factors must be numbers separated by commas, got {args.factors!r}")
    if factors is not None and min(factors) <= 0:
        ap.error("--factors must be positive")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    for name in ("duration", "period"):
        if getattr(args, name) <= 0:
            ap.error(f"--{name} must be positive")
    if args.radars < 1 or args.targets < 0 or args.clutter < 0 or args.start_factor <= 0:
        ap.error("--radars must be at least 1; --targets, --clutter and --start-factor "
                 "must not be negative")
    work = args.out or Path(tempfile.mkdtemp(prefix="rig-capacity-"))
    print(f"# capacity search in {work}: {time.strftime('%Y-%m-%d %H:%M')} "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)
    try:
        if args.engine_only:
            print(json.dumps(engine_only(factors or [1.0, 2.0, 4.0], args, work)))
            return 0
        results = measure(factors, args, work) if factors else search(args, work)
        if args.plot is not None:
            plot_costs(results, args.plot)
    finally:
        if args.out is None:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(summary(results)))
    return 0


def plot_costs(results: list[dict], path: Path) -> None:
    """The loop thread's CPU against the load it fused, and its cost per plot and per track,
    with a line proportional to the load through the smallest run (growth no faster than
    linear stays on or below it)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = sorted((r for r in results if r.get("plots_per_s") and r.get("tracks")
                   and r.get("loop_thread_cpu_s_per_s")), key=lambda r: r["plots_per_s"])
    if not runs:
        return
    plots = np.array([r["plots_per_s"] for r in runs])
    tracks = np.array([r["tracks"] for r in runs], float)
    cpu = np.array([r["loop_thread_cpu_s_per_s"] for r in runs])
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(plots, cpu, "o-", label="loop thread, measured")
    left.plot(plots, cpu[0] / plots[0] * plots, "--", color="grey",
              label="proportional to the load")
    left.set_xlabel("plots fused per second")
    left.set_ylabel("loop thread CPU, s per s")
    left.set_title("the loop's cost as the load grows")
    left.legend()
    right.plot(plots, cpu / plots * 1e6, "o-", label="µs per plot")
    right.plot(plots, cpu / tracks * 1e6, "s-", label="µs per track, each second")
    right.set_xlabel("plots fused per second")
    right.set_ylabel("µs of loop thread CPU")
    right.set_title("per plot and per track")
    right.set_ylim(bottom=0)
    right.legend()
    for ax, r in ((left, runs), (right, runs)):
        for x, run in zip(plots, r):
            ax.annotate(str(run["load"]).split("+")[0], (x, ax.get_ylim()[0]),
                        textcoords="offset points", xytext=(0, 4), ha="center", fontsize=7,
                        color="grey")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
