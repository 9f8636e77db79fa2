"""A whole bench run, from the config to the files it leaves, with a clean stop always."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rig.errors import TransportError
from rig.fusion import FusionEngine, SensorTable
from rig.geodesy import site_transform
from rig.interchange import TracksCsvWriter

from .config import LoadedConfig
from .live import LiveView
from .loop import LoopTiming, RealTimeLoop
from .outputs import feeds_summary, open_feeds
from .realtime import apply_realtime, is_fifo
from .recording import RunRecorder
from .report import sensor_row, write_reports
from .sensors import SensorHandle

log = logging.getLogger(__name__)

#: Host time allowed before emulation time 0 for emulators to start (a Python process
#: importing numpy each, in parallel on few cores) and for every driver to open.
STARTUP_LEAD_S = 1.5
STARTUP_LEAD_PER_EMULATOR_S = 0.75


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
        scan_period_s=np.array([r.scan_period_s for r in radars], float),
        sigma_range_rate_mps=np.array([np.nan if r.sigma_range_rate_mps is None
                                       else r.sigma_range_rate_mps for r in radars], float),
        **{name: np.array([getattr(r, name) for r in radars], float)
           for name in ("pd", "range_min_m", "range_max_m", "el_max_rad", "clutter_per_scan")})


def run_bench(loaded: LoadedConfig, out_dir: Path, *, live: bool | None = None,
              realtime: bool = False, console=None, record: Path | None = None) -> RunOutcome:
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
    pictures = TracksCsvWriter(out_dir / "tracks.csv")
    recorder = None
    recording_summary = None
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
    view = LiveView(sensors, engine, cfg, live=live, console=console)
    try:
        view.start()
        lead_s = STARTUP_LEAD_S + STARTUP_LEAD_PER_EMULATOR_S * sum(
            e.emulated for e in cfg.sensors)
        t0_ns = time.monotonic_ns() + round(lead_s * 1e9)
        utc_tod_at_t0 = (time.time() + lead_s) % 86400.0
        record_path = record or (Path(cfg.record.path) if cfg.record else None)
        if record_path is not None:
            if not record_path.is_absolute():
                record_path = out_dir / record_path
            rc = cfg.record
            recorder = RunRecorder(
                record_path, {"config": cfg.model_dump(mode="json"),
                              "config_file": str(loaded.path),
                              "scenario": loaded.resolved_scenario_spec().model_dump(mode="json"),
                              "t0_ns": t0_ns, "utc_tod_at_t0_s": utc_tod_at_t0},
                flush_interval_s=rc.flush_interval_s if rc else 0.5,
                max_file_bytes=rc.max_file_bytes if rc else None,
                max_file_s=rc.max_file_s if rc else None, keep_files=rc.keep_files if rc else None)
        feeds = open_feeds(cfg.outputs, origin, partner_sources={
            int(table.partner[s.index]): (s.entry.sac, s.sic) for s in sensors},
            tap=recorder.output if recorder else None)
        for s in sensors:
            try:
                s.prepare(recorder.tap_for(s.index) if recorder else None)
                if s.entry.emulated:
                    faults = [f.model_dump(exclude={"sensor"}) for f in cfg.faults
                              if f.sensor == s.id]
                    s.start_emulator(scenario_file, t0_ns, cfg.duration_s + 1.0, faults)
            except TransportError as e:
                _sensor_failed(s, e, failures)
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
        if recorder is not None:
            recorder.event(time.monotonic_ns(), {"timeline": [s.timeline() for s in sensors]})
        startup_late_s = (time.monotonic_ns() - t0_ns) * 1e-9
        if startup_late_s > 0:
            log.warning("start-up took %.2f s longer than its lead: early plots waited",
                        startup_late_s)
        expected = int(sum(50 * cfg.duration_s for _ in sensors)) + 1024
        if realtime:       # this thread (the loop's) alone: readers and the view keep theirs
            realtime_done = apply_realtime()
        loop = RealTimeLoop(
            sensors, engine, feeds, pictures, LoopTiming.of(cfg, t0_ns, fifo=is_fifo()),
            updates=cfg.outputs.updates, utc_tod_at_t0_s=utc_tod_at_t0, on_tick=view.update,
            expected_plots=expected, wakeup=wakeup, recorder=recorder)
        result = loop.run()
    finally:
        view.close()
        for s in sensors:
            s.close_driver()
        for s in sensors:
            emulator_summaries[s.id] = s.close()
        pictures.close()
        if feeds is not None:
            feeds.close()
        if recorder is not None:
            for s in sensors:
                for e in (s.emulator.events if s.emulator else []):
                    if e.get("event") == "fault":
                        recorder.event(time.monotonic_ns(), {**e, "sensor": s.id})
            recording_summary = recorder.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
    rows = [sensor_row(s.id, s.partner, s.family, s.entry.transport,
                       "failed" if s.error else ("stale" if s.stale else "ok"),
                       s.plots_received, s.counters(), result.elapsed_s,
                       stale_events=s.stale_events, error=s.error) for s in sensors]
    report = write_reports(loaded, rows, engine, result, out_dir, t0_ns=t0_ns, extra={
        "started_utc": started_utc, "realtime": realtime_done or None,
        "sensor_failures": failures, "emulators": emulator_summaries,
        "feeds": feeds_summary(cfg.outputs, feeds) if feeds is not None else [],
        "recording": recording_summary,
        "fault_events": {s.id: [e for e in (s.emulator.events if s.emulator else [])
                                if e.get("event") == "fault"] for s in sensors}})
    return RunOutcome(report["exit_code"], out_dir, report)


def _sensor_failed(s: SensorHandle, e: Exception, failures: list) -> None:
    s.error = str(e)
    s.state = "failed"
    failures.append({"sensor": s.id, "error": str(e), "required": s.entry.required})
    if s.entry.required:
        raise TransportError(f"sensor {s.id} ({s.family}, {s.entry.transport}): {e}") from e
    log.warning("sensor %s cannot be opened and is not required; running without it: %s",
                s.id, e)


