"""A whole bench run, from the config to the files it leaves, with a clean stop always."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from rig.errors import Terminated, TransportError, UsageError
from rig.harness.platform import PlatformProbe, PlatformSamples
from rig.fusion import FusionEngine, SensorTable
from rig.interchange import TracksCsvWriter
from rig.outfiles import output_folder, recording_path
from rig.progress import StepLog

from .config import LoadedConfig
from .loop import LoopResult, LoopTiming, RealTimeLoop
from .outputs import feeds_summary, open_feeds
from .realtime import apply_realtime, is_fifo
from .recording import RunRecorder
from .report import sensor_row, write_aborted_reports, write_reports
from .sensor_handles import SensorHandle
from .stopping import QUICK_REPORT, REPORT_WITHOUT_FIGURES, StopWatchdog

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
    """The fuser's table of the run's sensors: their nominal specs only."""
    return SensorTable.of_radars([radar.nominal() for radar in loaded.radars],
                                 loaded.scenario.origin)


def run_bench(loaded: LoadedConfig, out_dir: Path, *, view=None, realtime: bool = False,
              record: Path | None = None, force: bool = False) -> RunOutcome:
    """One bench run into ``out_dir``. ``view``: a callable that makes the run's view from
    the :class:`Bench` (an object with ``start()``, ``update(loop)`` each tick, ``close()``;
    :meth:`rig.bench.live.LiveView.of_bench`), or None for none. ``record`` (or the
    config's ``record.path``) is checked before anything runs (:func:`recording_path`;
    ``force`` overwrites an existing recording)."""
    steps = StepLog("rig run")
    out_dir = output_folder(out_dir)
    cfg = loaded.config
    steps("config loaded", config=loaded.path, name=cfg.name, mode=cfg.mode,
          sensors=len(cfg.sensors), duration_s=cfg.duration_s, out=out_dir)
    if record is not None:
        record = recording_path(out_dir, record, force=force)
    elif cfg.record is not None:
        record = recording_path(out_dir, Path(cfg.record.path), force=force,
                                option=f"{loaded.path}: record.path")
    started_utc = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    watchdog = StopWatchdog(out_dir)
    bench = Bench(loaded, out_dir, record=record, watchdog=watchdog, steps=steps)
    try:
        with bench:
            bench.open(view=view)
            result = bench.run(realtime=realtime)
    except TransportError as e:        # a required sensor missing: the verdict says so too
        write_aborted_reports(loaded, bench.sensors, out_dir, error=str(e),
                              exit_code=e.exit_code, started_utc=started_utc)
        raise
    except (KeyboardInterrupt, Terminated):
        name = watchdog.signal_name or "SIGINT"
        write_aborted_reports(loaded, bench.sensors, out_dir, started_utc=started_utc,
                              error=f"stopped by {name} while starting", stopped_by=name,
                              exit_code=128 + signal.Signals[name].value)
        watchdog.disarm()
        raise
    steps("run closed, tracks.csv written", stopped_by=result.stopped_by,
          pictures=result.ticks)
    rows = [sensor_row(s.id, s.partner, s.family, s.entry.transport,
                       "failed" if s.error else ("stale" if s.stale else "ok"),
                       s.plots_received, s.counters(), result.elapsed_s,
                       stale_events=s.stale_events, error=s.error,
                       foreign_sources=s.foreign_sources(),
                       tracks=s.tracks_received if s.delivers_tracks else None)
            for s in bench.sensors]
    feeds = (feeds_summary(loaded.config.outputs, bench.feeds) if bench.feeds is not None
             else [])
    extra = {"started_utc": started_utc, "realtime": bench.realtime_done or None,
             "sensor_failures": bench.failures, "emulators": bench.emulator_summaries,
             "feeds": feeds, "recording": bench.recording_summary,
             "fault_events": {s.id: fault_events(s) for s in bench.sensors},
             "platform": bench.platform}
    def scored(report: dict) -> None:
        steps("report.json, junit.xml written", outcome=report["outcome"])
        if watchdog.armed:
            watchdog.reported(report["exit_code"], REPORT_WITHOUT_FIGURES)

    if watchdog.armed:     # stopped by a signal: what was measured first, then the rest
        quick = write_reports(loaded, rows, bench.engine, result, out_dir, t0_ns=bench.t0_ns,
                              extra=extra, scored=False)
        watchdog.reported(quick["exit_code"], QUICK_REPORT)
        steps("quick report written (no accuracy, no figures)", outcome=quick["outcome"])
    steps("writing reports (accuracy, figures)")
    report = write_reports(loaded, rows, bench.engine, result, out_dir, t0_ns=bench.t0_ns,
                           extra=extra, on_verdict=scored, page_first=watchdog.armed)
    watchdog.disarm()
    steps("report.html written (figures)")
    return RunOutcome(report["exit_code"], out_dir, report)


def fault_events(sensor: SensorHandle) -> list[dict]:
    """The faults a sensor's emulator reported injecting."""
    return [e for e in (sensor.emulator.events if sensor.emulator else [])
            if e.get("event") == "fault"]


class Bench:
    """The parts of one run: sensors (emulators and drivers), the fusion engine, the partner
    feeds, tracks.csv, the recording, the live view and the signal handlers. Used as a
    context manager, everything opened is closed in the reverse order however the run ends:
    the view, then every driver (before any emulator stops, so an emulator that ends is no
    disconnect), the emulators, the feeds, the recording (with the faults the emulators
    injected), tracks.csv, and last the signal handlers."""

    def __init__(self, loaded: LoadedConfig, out_dir: Path, *, record: Path | None = None,
                 watchdog: StopWatchdog | None = None, steps: StepLog | None = None):
        self.loaded = loaded
        self.cfg = cfg = loaded.config
        self.out_dir = out_dir
        self.record_path = record or (Path(cfg.record.path) if cfg.record else None)
        self.table = sensor_table(loaded)
        self.origin = loaded.scenario.origin
        self.sensors = [SensorHandle(i, e, r, origin=self.origin,
                                     partner_index=int(self.table.partner[i]))
                        for i, (e, r) in enumerate(zip(cfg.sensors, loaded.radars))]
        self.engine = FusionEngine(self.origin, self.table, cfg.fusion)
        self.feeds = None
        self.recorder = None
        self.view = None
        self.loop: RealTimeLoop | None = None
        self.probe = PlatformProbe(out_dir)
        self.platform: PlatformSamples | None = None
        self.pictures: TracksCsvWriter | None = None
        self.recording_summary = None
        self.realtime_done: dict = {}
        self.failures: list[dict] = []
        self.emulator_summaries: dict[str, dict | None] = {}
        self.watchdog = watchdog or StopWatchdog(out_dir)
        self.steps = steps or StepLog("rig run")
        self.wakeup = threading.Event()
        self.t0_ns = 0
        self.utc_tod_at_t0 = 0.0
        self.utc_at_t0_s = 0.0
        self._stack = ExitStack()

    # --- closing -------------------------------------------------------------------------
    def __enter__(self) -> "Bench":
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        for s in previous:
            signal.signal(s, self._on_signal)
        self._stack.callback(lambda: [signal.signal(s, h) for s, h in previous.items()])
        previous_hook = sys.unraisablehook
        sys.unraisablehook = self._on_unraisable
        self._stack.callback(setattr, sys, "unraisablehook", previous_hook)
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.view is not None:
                self.view.close()
        finally:
            self._stack.close()

    def _on_signal(self, signum, _frame) -> None:
        """Stop the loop (a second signal, or the stop budget spent, ends the process:
        :class:`StopWatchdog`); while starting, stop where the start-up is."""
        self.watchdog.arm(signum)
        if self.loop is None:
            raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
        self.loop.stop(self.watchdog.signal_name)

    def _on_unraisable(self, unraisable) -> None:
        """A stop raised where Python cannot propagate it (e.g. in an at-fork hook while an
        emulator starts) is not lost: :meth:`_stop_if_signalled` raises it again at the next
        step of the start-up. Anything else is reported as usual."""
        if isinstance(unraisable.exc_value, (KeyboardInterrupt, Terminated)) \
                and self.watchdog.armed:
            return
        sys.__unraisablehook__(unraisable)

    def _stop_if_signalled(self) -> None:
        if self.watchdog.armed:
            raise Terminated() if self.watchdog.signal_name == "SIGTERM" else KeyboardInterrupt()

    def _close_recorder(self) -> None:
        for s in self.sensors:
            for e in fault_events(s):
                self.recorder.event(time.monotonic_ns(), {**e, "sensor": s.id})
        self.recording_summary = self.recorder.close()

    def _stop_probe(self) -> None:
        if self.platform is None:
            self.platform = self.probe.stop(1.0 if self.watchdog.armed else 10.0)

    def _close_sensors(self) -> None:
        for s in self.sensors:
            s.close_driver()
        for s in self.sensors:
            if s.emulator is not None:
                s.emulator.terminate()
        timeout_s = 0.5 if self.watchdog.armed else 5.0    # a stop has no time to wait
        for s in self.sensors:
            self.emulator_summaries[s.id] = s.close(timeout_s)

    # --- opening -------------------------------------------------------------------------
    def open(self, *, view=None) -> None:
        """Write the scenario, start the view (``view(bench)`` makes it), open the recording,
        the feeds and every sensor (emulators first, all on the shared time ``t0_ns``)."""
        cfg = self.cfg
        scenario_file = self.loaded.write_scenario(self.out_dir / "scenario.yaml")
        self.pictures = TracksCsvWriter(self.out_dir / "tracks.csv")
        self._stack.callback(self.pictures.close)
        if view is not None:
            self.view = view(self)
            self.view.start()              # its start-up is over before the clock starts
        lead_s = STARTUP_LEAD_S + STARTUP_LEAD_PER_EMULATOR_S * sum(
            e.emulated for e in cfg.sensors)
        self.t0_ns = time.monotonic_ns() + round(lead_s * 1e9)
        self.utc_at_t0_s = time.time() + lead_s
        self.utc_tod_at_t0 = self.utc_at_t0_s % 86400.0
        self.probe.start(self.t0_ns, self.t0_ns + round((cfg.duration_s + 5.0) * 1e9))
        self._stack.callback(self._stop_probe)
        if self.record_path is not None:
            self.recorder = self._open_recorder()
            self._stack.callback(self._close_recorder)
            self.steps("recording", path=self.recorder.writer.path)
        self.feeds = open_feeds(cfg.outputs, self.origin, partner_sources={
            int(self.table.partner[s.index]): (s.entry.sac, s.sic) for s in self.sensors},
            tap=self.recorder.output if self.recorder else None)
        self._stack.callback(self.feeds.close)
        for entry in cfg.outputs.feeds:
            self.steps("feed opened", partner=entry.partner, format=entry.format,
                       transport=entry.transport)
        self._stack.callback(self._close_sensors)
        for s in self.sensors:
            try:
                s.prepare(self.recorder.tap_for(s.index) if self.recorder else None)
                if s.entry.emulated:
                    faults = [f.model_dump(exclude={"sensor"}) for f in cfg.faults
                              if f.sensor == s.id]
                    s.start_emulator(scenario_file, self.t0_ns, cfg.duration_s + 1.0, faults)
            except TransportError as e:
                _sensor_failed(s, e, self.failures)
            self._stop_if_signalled()
        emulated = [s for s in self.sensors if s.entry.emulated]
        if emulated:
            started = sum(s.emulator is not None for s in emulated)
            self.steps("emulators started", started=f"{started}/{len(emulated)}")
        for s in self.sensors:
            if s.error:
                continue
            try:
                s.open(self.wakeup, self.t0_ns)
            except TransportError as e:
                _sensor_failed(s, e, self.failures)
                self.steps("sensor failed", id=s.id, family=s.family, error=s.error)
            else:
                self.steps("sensor opened", id=s.id, family=s.family, transport=(
                    s.emulator.device if s.emulator is not None else s.entry.transport))
            self._stop_if_signalled()
        if self.recorder is not None:
            self.recorder.event(time.monotonic_ns(),
                                {"timeline": [s.timeline() for s in self.sensors]})

    def _open_recorder(self) -> RunRecorder:
        cfg, path = self.cfg, self.record_path
        if not path.is_absolute():
            path = self.out_dir / path
        rc = cfg.record
        try:
            return RunRecorder(
                path, {"config": cfg.model_dump(mode="json"),
                       "config_file": str(self.loaded.path),
                       "scenario": self.loaded.resolved_scenario_spec().model_dump(mode="json"),
                       "t0_ns": self.t0_ns, "utc_tod_at_t0_s": self.utc_tod_at_t0,
                       "utc_at_t0_s": self.utc_at_t0_s},
                flush_interval_s=rc.flush_interval_s if rc else 0.5,
                max_file_bytes=rc.max_file_bytes if rc else None,
                max_file_s=rc.max_file_s if rc else None,
                keep_files=rc.keep_files if rc else None)
        except OSError as e:
            raise UsageError(f"cannot record to {path}: {e.strerror or e}") from None

    # --- running -------------------------------------------------------------------------
    def run(self, *, realtime: bool = False) -> LoopResult:
        """The real-time loop, on this thread (with ``realtime``, under SCHED_FIFO)."""
        cfg = self.cfg
        startup_late_s = (time.monotonic_ns() - self.t0_ns) * 1e-9
        if startup_late_s > 0:
            log.warning("start-up took %.2f s longer than its lead: early plots waited",
                        startup_late_s)
        expected = int(sum(50 * cfg.duration_s for _ in self.sensors)) + 1024
        if realtime:       # this thread (the loop's) alone: readers and the view keep theirs
            self.realtime_done = apply_realtime()
        self._stop_if_signalled()
        self.loop = RealTimeLoop(
            self.sensors, self.engine, self.feeds, self.pictures,
            LoopTiming.of(cfg, self.t0_ns, fifo=is_fifo()), updates=cfg.outputs.updates,
            utc_tod_at_t0_s=self.utc_tod_at_t0,
            on_tick=self.view.update if self.view is not None else None,
            expected_plots=expected, wakeup=self.wakeup, recorder=self.recorder)
        self.steps("loop started", period_s=cfg.outputs.period_s,
                   t0_in_s=f"{-startup_late_s:.2f}")
        result = self.loop.run()
        self.probe.terminate()        # it ends while the sensors close; read at the close
        return result


def _sensor_failed(s: SensorHandle, e: Exception, failures: list) -> None:
    s.error = str(e)
    s.state = "failed"
    failures.append({"sensor": s.id, "error": str(e), "required": s.entry.required})
    if s.entry.required:
        raise TransportError(f"sensor {s.id} ({s.family}, {s.entry.transport}): {e}") from e
    log.warning("sensor %s cannot be opened and is not required; running without it: %s",
                s.id, e)


