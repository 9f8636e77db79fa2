"""A whole bench run, from the config to the files it leaves, with a clean stop always."""

from __future__ import annotations

import datetime as dt
import json
import logging
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rig import __version__
from rig.errors import TransportError
from rig.fusion import FusionEngine, SensorTable
from rig.geodesy import site_transform
from rig.harness.environment import describe_environment
from rig.harness.html_report import write_html
from rig.harness.junit import write_junit
from rig.harness.limits import FAIL, check_limits
from rig.harness.measurements import summarize
from rig.interchange import write_csv, write_tracks

from .accuracy import accuracy
from .config import LoadedConfig
from .live import LiveView
from .loop import RealTimeLoop, pictures_table
from .outputs import Feeds
from .realtime import apply_realtime, is_fifo
from .sensors import SensorHandle

log = logging.getLogger(__name__)

#: Host time allowed before emulation time 0 for emulators to start (a Python process
#: importing numpy each, in parallel on few cores) and for every driver to open.
STARTUP_LEAD_S = 1.5
STARTUP_LEAD_PER_EMULATOR_S = 0.75
DECODER_ERROR_KEYS = ("header_errors", "crc_errors", "bad_frames", "records_bad",
                      "blocks_bad_length", "blocks_truncated", "records_incomplete",
                      "bad_blocks")


@dataclass
class RunOutcome:
    exit_code: int
    out_dir: Path
    report: dict


def default_out_dir() -> Path:
    return Path("runs") / dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def sensor_table(loaded: LoadedConfig) -> SensorTable:
    origin = loaded.scenario.origin
    radars = loaded.radars
    partners = tuple(dict.fromkeys(r.partner for r in radars))
    transforms = [site_transform(r.site.geodetic(), origin) for r in radars]
    return SensorTable(
        names=tuple(r.id for r in radars), partner_names=partners,
        partner=np.array([partners.index(r.partner) for r in radars], dtype=np.int64),
        M=np.array([m for m, _ in transforms]), t=np.array([t for _, t in transforms]),
        sigma_range_m=np.array([r.sigma_range_m for r in radars], float),
        sigma_az_rad=np.array([r.sigma_az_rad for r in radars], float),
        sigma_el_rad=np.array([r.sigma_el_rad for r in radars], float),
        scan_period_s=np.array([r.scan_period_s for r in radars], float))


def run_bench(loaded: LoadedConfig, out_dir: Path, *, live: bool | None = None,
              realtime: bool = False, console=None) -> RunOutcome:
    cfg = loaded.config
    out_dir.mkdir(parents=True, exist_ok=True)
    started_utc = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    scenario_file = loaded.write_scenario(out_dir / "scenario.yaml")
    table = sensor_table(loaded)
    origin = loaded.scenario.origin
    sensors = [SensorHandle(i, e, r) for i, e, r in zip(range(len(cfg.sensors)), cfg.sensors,
                                                        loaded.radars)]
    engine = FusionEngine(origin, table, cfg.fusion)
    feeds = None
    loop = None
    realtime_done: dict = {}
    failures: list[dict] = []
    emulator_summaries: dict[str, dict | None] = {}
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    stop_requested: list[str] = []

    def on_signal(signum, _frame):
        name = signal.Signals(signum).name
        stop_requested.append(name)
        if loop is not None:
            loop.stop(name)

    for s in previous:
        signal.signal(s, on_signal)
    try:
        feeds = Feeds(cfg.outputs, origin, partner_sources={
            int(table.partner[s.index]): (s.entry.sac, s.sic) for s in sensors})
        lead_s = STARTUP_LEAD_S + STARTUP_LEAD_PER_EMULATOR_S * sum(
            e.emulated for e in cfg.sensors)
        t0_ns = time.monotonic_ns() + round(lead_s * 1e9)
        utc_tod_at_t0 = (time.time() + lead_s) % 86400.0
        for s in sensors:
            try:
                s.prepare()
                if s.entry.emulated:
                    s.start_emulator(scenario_file, t0_ns, cfg.duration_s + 1.0, s.listen_port)
            except TransportError as e:
                _sensor_failed(s, e, failures)
        if realtime:
            realtime_done = apply_realtime()
        wakeup = threading.Event()
        for s in sensors:
            if s.error:
                continue
            try:
                s.open(wakeup, t0_ns)
            except TransportError as e:
                _sensor_failed(s, e, failures)
        if stop_requested:
            raise KeyboardInterrupt
        startup_late_s = (time.monotonic_ns() - t0_ns) * 1e-9
        if startup_late_s > 0:
            log.warning("start-up took %.2f s longer than its lead: early plots waited",
                        startup_late_s)
        expected = int(sum(50 * cfg.duration_s for _ in sensors)) + 1024
        view = LiveView(sensors, engine, cfg, live=live, console=console)
        loop = RealTimeLoop(
            sensors, engine, feeds, t0_ns=t0_ns, duration_s=cfg.duration_s,
            period_s=cfg.outputs.period_s, updates=cfg.outputs.updates,
            deadline_s=cfg.outputs.deadline_s, spin_s=0.0 if is_fifo() else cfg.realtime.spin_s,
            utc_tod_at_t0_s=utc_tod_at_t0, gc_freeze=cfg.realtime.gc_freeze,
            on_tick=view.update, expected_plots=expected, wakeup=wakeup)
        with view:
            result = loop.run()
    finally:
        for s in sensors:
            emulator_summaries[s.id] = s.close()
        if feeds is not None:
            feeds.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
    report = _report(loaded, sensors, engine, feeds, result, t0_ns, started_utc,
                     realtime_done, failures, emulator_summaries, out_dir)
    code = 1 if any(r["outcome"] == FAIL for r in report["limits"]) else 0
    report["exit_code"] = code
    report["outcome"] = "pass" if code == 0 else "fail"
    (out_dir / "report.json").write_text(json.dumps(report, indent=1, default=_json_default) + "\n")
    return RunOutcome(code, out_dir, report)


def _sensor_failed(s: SensorHandle, e: Exception, failures: list) -> None:
    s.error = str(e)
    s.state = "failed"
    failures.append({"sensor": s.id, "error": str(e), "required": s.entry.required})
    if s.entry.required:
        raise TransportError(f"sensor {s.id} ({s.family}, {s.entry.transport}): {e}") from e
    log.warning("sensor %s cannot be opened and is not required; running without it: %s",
                s.id, e)


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


def _decoder_errors(counters: dict) -> int:
    return int(sum(counters.get(k, 0) for k in DECODER_ERROR_KEYS))


def _sensor_rows(sensors, engine, result, registration) -> list[dict]:
    elapsed = max(result.elapsed_s, 1e-9)
    reg = {str(r["sensor"]) if "sensor" in r.dtype.names else str(i): r
           for i, r in enumerate(registration)} if registration is not None else {}
    rows = []
    for s in sensors:
        c = s.counters()
        row = {"id": s.id, "partner": s.partner, "family": s.family,
               "transport": s.entry.transport, "state": "failed" if s.error else (
                   "stale" if s.stale else "ok"),
               "plots": s.plots_received, "rate_per_s": s.plots_received / elapsed,
               "stale_events": s.stale_events, "decoder_errors": _decoder_errors(c),
               "sequence_gaps": int(c.get("seq_gaps", 0)),
               "dropped_plots": int(c.get("plots_dropped", 0)), "error": s.error,
               "counters": c}
        r = reg.get(s.id)
        if r is not None:
            row["registration"] = {name: float(r[name]) for name in r.dtype.names
                                   if r.dtype[name].kind == "f"}
        rows.append(row)
    return rows


def _report(loaded, sensors, engine, feeds, result, t0_ns, started_utc, realtime_done,
            failures, emulator_summaries, out_dir: Path) -> dict:
    cfg = loaded.config
    registration = engine.registration()
    sensor_rows = _sensor_rows(sensors, engine, result, registration)
    tracks = pictures_table(result.pictures)
    write_tracks(out_dir / "tracks.csv", tracks)
    timing = {
        "processing_latency_ms": summarize(result.processing_latency_ms),
        "transport_latency_ms": summarize(result.transport_latency_ms),
        "tick_lateness_ms": summarize(result.tick_lateness_ms),
        "tick_jitter_ms": summarize(result.tick_jitter_ms),
        "cycle_time_ms": summarize(result.cycle_time_ms),
        "queue_depth": summarize(result.queue_depth),
        "deadline_misses": result.deadline_misses,
    }
    counts = {
        "plots_received": int(sum(r["plots"] for r in sensor_rows)),
        "dropped_plots": int(sum(r["dropped_plots"] for r in sensor_rows)),
        "decoder_errors": int(sum(r["decoder_errors"] for r in sensor_rows)),
        "sequence_gaps": int(sum(r["sequence_gaps"] for r in sensor_rows)),
        "stale_sensors": int(sum(r["state"] == "stale" for r in sensor_rows)),
        "tracks_published": int(len(result.pictures[-1])) if result.pictures else 0,
        "ticks": result.ticks, "cycles": result.cycles,
    }
    measured = {**timing, **counts}
    series = {k: getattr(result, k) for k in ("processing_latency_ms", "transport_latency_ms",
                                              "tick_lateness_ms", "tick_jitter_ms")}
    series["tracks"] = tracks
    series["sites"] = [{"id": s.id, "east_m": float(t[0]), "north_m": float(t[1])}
                       for s, t in zip(sensors, engine.sensors.t)]
    if loaded.has_truth:
        truth = loaded.scenario.truth()
        write_csv(out_dir / "truth.csv", truth[truth["t"] <= result.elapsed_s])
        partner_names = engine.sensors.partner_names
        acc = accuracy(result, truth, engine_factory=lambda: FusionEngine(
            engine.origin, engine.sensors, engine.params),
            partner_names=partner_names, partner_of_sensor=engine.sensors.partner,
            t0_ns=t0_ns, cutoff_m=cfg.accuracy.cutoff_m, order=cfg.accuracy.order,
            warmup_s=cfg.accuracy.warmup_s)
        accuracy_json = acc["summary"]
        joint = acc["joint"]
        if joint is not None:
            s = joint.summary()
            measured.update({
                "ospa_m": summarize(joint.ospa_m), "gospa_m": summarize(joint.gospa_m),
                "position_rmse_m": s["position_rmse_m"],
                "velocity_rmse_mps": s["velocity_rmse_mps"],
                "false_tracks": s["false_tracks"], "missed_targets": s["missed_targets"],
                "track_breaks": s["track_breaks"], "identity_switches": s["identity_switches"]})
        series["truth"] = truth[truth["t"] <= result.elapsed_s]
        series["ospa_over_time"] = acc["curves"]
    else:
        accuracy_json = {"not_measurable": f"mode {cfg.mode}: the truth of real targets is "
                         "unknown; track counts, consistency and registration are reported"}
    accuracy_json["engine"] = engine.counters.as_dict()
    limits = [r.to_json() for r in check_limits(loaded.limits, measured,
                                                has_truth=loaded.has_truth)]
    env = describe_environment()
    env["realtime"] = realtime_done or None
    report = {
        "rig_version": __version__, "config_file": str(loaded.path), "name": cfg.name,
        "mode": cfg.mode, "started_utc": started_utc, "duration_s": result.elapsed_s,
        "stopped_by": result.stopped_by, "config": cfg.model_dump(mode="json"),
        "environment": env, "sensors": sensor_rows, "sensor_failures": failures,
        "emulators": emulator_summaries, "timing": timing, "counts": counts,
        "accuracy": accuracy_json, "registration": [
            {name: (r[name].item() if hasattr(r[name], "item") else r[name])
             for name in registration.dtype.names} for r in registration],
        "feeds": feeds.summary() if feeds is not None else [],
        "limits": limits,
    }
    write_junit(out_dir / "junit.xml", [_as_result(r) for r in limits],
                suite=cfg.name, duration_s=result.elapsed_s,
                properties={"config": loaded.path, "mode": cfg.mode})
    report["outcome"] = "fail" if any(r["outcome"] == FAIL for r in limits) else "pass"
    write_html(out_dir / "report.html", report, series)
    return report


def _as_result(row: dict):
    from rig.harness.limits import Limit, LimitResult

    return LimitResult(Limit(row["measurement"], row["statistic"], row["op"], row["bound"]),
                       row["outcome"], row["value"], row["reason"])
