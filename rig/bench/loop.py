"""The real-time loop: plots in from every sensor, fused at once, the picture out on time.

One thread does it all. It sleeps on one event that every driver sets when it has plots, or
until ``tick_guard_s`` before the next output tick; from then on it starts no cycle (plots
arriving meanwhile wait for the tick), sleeps to just before the tick holding the GIL (so
that no reader thread holds it when the tick comes) and waits for the tick in a short busy
spin (the sleep-then-spin wait; never under SCHED_FIFO), so the tick is never late because a
cycle was under way or another thread had the interpreter. Each cycle drains every sensor,
fuses what arrived (plots older than the fused horizon are fused by retrodiction), and, with
``outputs.updates``, sends the tracks those plots updated at once. Every ``period_s`` it
sends the whole picture. Garbage collection is frozen after start-up and kept out of the loop.

Timing, measured by the loop itself (``time.monotonic_ns``):

- processing latency, per plot: the host time its update was sent (or, without updates, the
  next picture) minus its arrival stamp;
- transport latency, per plot: arrival minus its sensor time on the run's time line (the
  sensor clock as placed at the start; registration's relative clock estimate plays no part);
- tick lateness (start minus schedule), tick jitter (interval minus period, absolute),
  deadline misses (pictures sent later than ``deadline_s`` after their schedule);
- cycle time, and queue depth (batches waiting in the drivers) per cycle.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from rig.harness.measurements import transport_latency_ms
from rig.interchange import TracksCsvWriter
from rig.records import PLOT_DTYPE, empty_plots

from .realtime import sleep_until_holding_gil

log = logging.getLogger(__name__)

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


#: no plots (a cycle with a track-level partner's tracks only; windows closed on time)
EMPTY_PLOTS = empty_plots(0)

#: The largest buffer preallocated up front; beyond it a buffer doubles as it fills.
MAX_PREALLOCATED = 1 << 22


class SampleBuffer:
    """A preallocated buffer (float64, or any dtype such as PLOT_DTYPE) that doubles when
    full (rarely, outside steady state). Its pages become resident only as they fill, so
    memory grows by exactly the samples kept, with no object per sample or per batch."""

    def __init__(self, capacity: int = 1 << 16, dtype=np.float64):
        self._data = np.empty(min(max(16, capacity), MAX_PREALLOCATED), dtype)
        self.n = 0

    def extend(self, values) -> None:
        values = np.asarray(values, dtype=self._data.dtype)
        need = self.n + values.size
        if need > self._data.size:
            grown = np.empty(max(need, 2 * self._data.size), self._data.dtype)
            grown[:self.n] = self._data[:self.n]
            self._data = grown
        self._data[self.n:need] = values.ravel()
        self.n = need

    def append(self, value: float) -> None:
        self.extend((value,))

    def values(self) -> np.ndarray:
        return self._data[:self.n].copy()

    def since(self, start: int) -> np.ndarray:
        """The samples from index ``start`` on (a view: read it before the next extend)."""
        return self._data[start:self.n]


@dataclass
class LoopResult:
    """What the loop measured and produced."""

    processing_latency_ms: np.ndarray
    transport_latency_ms: np.ndarray
    tick_lateness_ms: np.ndarray
    tick_jitter_ms: np.ndarray
    cycle_time_ms: np.ndarray
    queue_depth: np.ndarray
    deadline_misses: int
    ticks: int
    cycles: int
    pictures: "TracksCsvWriter | None" = None    # the published pictures (tracks.csv)
    processing_times_s: np.ndarray = field(default_factory=lambda: np.zeros(0))  # publication
    tick_times_s: np.ndarray = field(default_factory=lambda: np.zeros(0))  # run time of each
    snapshots: list = field(default_factory=list)   # (run time, per-sensor counts) per tick
    memory: list = field(default_factory=list)      # (run time, rig MB, [emulator MB]) per tick
    plots: np.ndarray = field(default_factory=lambda: empty_plots(0))  # every plot fused
    stopped_by: str = "duration"
    elapsed_s: float = 0.0


class FusionStep:
    """The deterministic part of a cycle, shared by the live loop and replay: given the plots
    of a cycle and the run times it used, the same tracks come out, bit for bit."""

    def __init__(self, engine, *, updates: bool):
        self.engine = engine
        self.updates = updates

    def cycle(self, plots: np.ndarray, until_s: float, t_update_s: float | None,
              partner_tracks: np.ndarray | None = None):
        """Fuse ``plots``, fuse every window ended by ``until_s``, then any track-level
        partners' ``partner_tracks``; with updates, the tracks updated since the last cycle,
        extrapolated to ``t_update_s`` (else None)."""
        self.engine.process(plots, until_s=until_s)
        if partner_tracks is not None:
            self.engine.process_tracks(partner_tracks)
        if not self.updates:
            return None
        return self.engine.tracks_updated(t_update_s)

    def picture(self, t_s: float) -> np.ndarray:
        """The whole picture at ``t_s``. Fusion time moves on to ``t_s`` first, so that
        deletion runs even when no sensor has sent a plot for a while (tracks of silent
        sensors coast, then go, instead of being extrapolated forever)."""
        self.engine.process(EMPTY_PLOTS, until_s=t_s)
        return self.engine.tracks(t_s)


def rss_mb(pid: int | str = "self") -> float | None:
    """Resident memory of a process, MB (None if it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE_BYTES / 1e6
    except (OSError, ValueError, IndexError):
        return None


def tod_of(utc_tod_at_t0_s: float, tracks: np.ndarray) -> float:
    """UTC time of day of a picture (what CAT062 carries)."""
    t = float(tracks["t"][0]) if len(tracks) else 0.0
    return (utc_tod_at_t0_s + t) % 86400.0


@dataclass(frozen=True)
class LoopTiming:
    """When the loop starts, ends and ticks, and how it waits for a tick (host monotonic
    nanoseconds)."""

    t0_ns: int                   # run time 0
    end_ns: int
    period_ns: int               # output ticks (the whole picture)
    deadline_ns: int             # a picture later than this after its tick misses it
    spin_ns: int                 # busy-wait before each tick (0 under SCHED_FIFO)
    guard_ns: int                # no fusion cycle starts this close to a tick
    switch_interval_s: float     # the interpreter's switch interval during the run
    gc_freeze: bool = True       # gc.freeze() after start-up, no collection in the loop
    stall_ns: int = 0            # injected fault: every fusion cycle busy-waits this long

    @classmethod
    def of(cls, cfg, t0_ns: int, *, fifo: bool = False) -> "LoopTiming":
        """From a bench config (its ``duration_s``, ``outputs`` and ``realtime``)."""
        spin_ns = 0 if fifo else round(cfg.realtime.spin_s * 1e9)
        return cls(t0_ns=t0_ns, end_ns=t0_ns + round(cfg.duration_s * 1e9),
                   period_ns=round(cfg.outputs.period_s * 1e9),
                   deadline_ns=round(cfg.outputs.deadline_s * 1e9), spin_ns=spin_ns,
                   guard_ns=max(spin_ns, round(cfg.realtime.tick_guard_s * 1e9)),
                   switch_interval_s=cfg.realtime.switch_interval_s,
                   gc_freeze=cfg.realtime.gc_freeze,
                   stall_ns=round(cfg.realtime.stall_s * 1e9))


class RealTimeLoop:
    """Runs ``engine`` over ``sensors`` as ``timing`` says.

    ``feeds`` (a :class:`rig.publish.Feeds`) publishes: ``publish(tracks, t_tod_s) ->
    done_ns``; ``pictures`` (a :class:`rig.interchange.TracksCsvWriter`) keeps every picture
    published; ``updates``: each track is also sent as soon as a plot updates it;
    ``utc_tod_at_t0_s`` turns run time into the time of day CAT062 carries; ``on_tick`` is
    called after each picture with the loop (for the live view).
    """

    def __init__(self, sensors, engine, feeds, pictures: TracksCsvWriter, timing: LoopTiming,
                 *, updates: bool, utc_tod_at_t0_s: float, on_tick=None,
                 expected_plots: int = 1 << 16, wakeup: threading.Event | None = None,
                 recorder=None):
        self.sensors = sensors
        self.engine = engine
        self.feeds = feeds
        self.timing = timing
        self.t0_ns, self.end_ns = timing.t0_ns, timing.end_ns
        self.period_ns, self.deadline_ns = timing.period_ns, timing.deadline_ns
        self.spin_ns, self.guard_ns = timing.spin_ns, timing.guard_ns
        self.updates = updates
        self.utc_tod_at_t0_s = utc_tod_at_t0_s
        self.on_tick = on_tick
        self.recorder = recorder
        self.fusion = FusionStep(engine, updates=updates)
        self.wakeup = wakeup or threading.Event()
        self._stop_reason: str | None = None
        n = expected_plots
        self.processing = SampleBuffer(n)
        self.processing_at = SampleBuffer(n)      # run time (s) of each latency's publication
        self.transport = SampleBuffer(n)
        self.lateness = SampleBuffer(4096)
        self.jitter = SampleBuffer(4096)
        self.cycle = SampleBuffer(1 << 15)
        self.depth = SampleBuffer(1 << 15)
        self.deadline_misses = 0
        self.ticks = 0
        self.cycles = 0
        self.pictures = pictures
        self.tick_times_s: list[float] = []
        self.snapshots: list[tuple[float, list[tuple]]] = []   # per tick, per sensor counts
        self.memory: list[tuple[float, float | None, list]] = []
        self._plots = SampleBuffer(n, PLOT_DTYPE)     # every plot fused (partner-alone runs)
        self._pending_latency: list[np.ndarray] = []   # arrivals awaiting the next picture

    def stop(self, reason: str) -> None:
        """Ask the loop to end (safe from a signal handler), the fusion within a window."""
        self._stop_reason = reason
        self.fusion.engine.interrupt()
        self.wakeup.set()

    def run_time_s(self, host_ns: int) -> float:
        return (host_ns - self.t0_ns) * 1e-9

    def plots_since(self, start: int) -> tuple[np.ndarray, int]:
        """The plots fused from the ``start``-th on, and the index to ask from next time."""
        return self._plots.since(start), self._plots.n

    # --- the loop ---------------------------------------------------------------------------
    def run(self) -> LoopResult:
        if self.timing.gc_freeze:
            gc.collect()
            gc.freeze()
            gc.disable()
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(self.timing.switch_interval_s)
        try:
            self._wait_until(self.t0_ns)
            next_tick = self.t0_ns + self.period_ns
            last_tick_start = None
            while self._stop_reason is None:
                now = time.monotonic_ns()
                if now >= self.end_ns:
                    break
                quiet_at = min(next_tick, self.end_ns) - self.guard_ns
                if now < quiet_at:               # fuse plots as they come
                    self.wakeup.wait((quiet_at - now) * 1e-9)
                    self.wakeup.clear()
                    self._cycle()
                    continue
                if next_tick > self.end_ns:      # the run ends before the next tick
                    self._wait_until(self.end_ns)
                    self._cycle()
                    break
                # the tick is near: no cycle starts now; sleep holding the GIL (no reader
                # thread can hold it when the tick comes), then spin the last stretch
                sleep_until_holding_gil(next_tick - self.spin_ns)
                if self.spin_ns:
                    while time.monotonic_ns() < next_tick:
                        pass
                start = time.monotonic_ns()
                self.lateness.append((start - next_tick) * 1e-6)
                if last_tick_start is not None:
                    self.jitter.append(abs(start - last_tick_start - self.period_ns) * 1e-6)
                last_tick_start = start
                self._cycle()                 # the picture holds every plot arrived
                done = self._picture(next_tick, start)
                self._cycle_if_woken()
                if done - next_tick > self.deadline_ns:
                    self.deadline_misses += 1
                next_tick += self.period_ns
                while next_tick <= time.monotonic_ns():   # a tick missed entirely
                    self.deadline_misses += 1
                    next_tick += self.period_ns
                self._tick_chores(start)
        finally:
            sys.setswitchinterval(switch_interval)
            if self.timing.gc_freeze:
                gc.enable()
                gc.unfreeze()
        return self._result()

    def _tick_chores(self, start: int) -> None:
        """The bookkeeping of a tick, with any plots that arrive meanwhile fused between
        chores, so that they wait for at most one chore."""
        for s in self.sensors:
            s.check_stale(start, self.t0_ns)
        snapshot = (self.run_time_s(start), [s.snapshot() for s in self.sensors])
        self.snapshots.append(snapshot)
        if self.recorder is not None:
            self.recorder.snapshot(start, *snapshot)
        self._cycle_if_woken()
        self.memory.append((snapshot[0], rss_mb(), [
            rss_mb(s.emulator.proc.pid) if s.emulator else None for s in self.sensors]))
        self._cycle_if_woken()
        if self.on_tick is not None:
            self.on_tick(self)
            self._cycle_if_woken()

    def _cycle_if_woken(self) -> None:
        if self.wakeup.is_set():
            self.wakeup.clear()
            self._cycle()

    def _wait_until(self, t_ns: int) -> None:
        while self._stop_reason is None:
            remaining = t_ns - time.monotonic_ns()
            if remaining <= 0:
                return
            time.sleep(min(remaining * 1e-9, 0.05))
            # plots that arrive early wait in the driver queues

    def _cycle(self) -> None:
        t_start = time.perf_counter_ns()
        now = time.monotonic_ns()
        if self.timing.stall_ns:                 # the injected fault: a slow cycle
            while time.monotonic_ns() < now + self.timing.stall_ns:
                pass
            now = time.monotonic_ns()
        batches = []
        track_batches = []
        counts = []
        depth = 0
        for s in self.sensors:
            if s.driver is None:
                counts.append(0)
                continue
            depth += s.queued_batches()          # what waited for this cycle
            if s.delivers_tracks:                # a track-level partner
                tracks = s.read_tracks(now)
                if len(tracks):
                    track_batches.append(tracks)
                counts.append(len(tracks))
                continue
            plots = s.read_plots(now)
            counts.append(len(plots))
            if len(plots):
                batches.append(plots)
        if not batches and not track_batches:
            return
        plots = (batches[0] if len(batches) == 1 else np.concatenate(batches)) if batches \
            else EMPTY_PLOTS
        partner_tracks = np.concatenate(track_batches) if track_batches else None
        self.depth.append(depth)
        self.cycles += 1
        self._plots.extend(plots)
        until_s = self.run_time_s(time.monotonic_ns())
        t_update_s = self.run_time_s(time.monotonic_ns()) if self.updates else None
        updated = self.fusion.cycle(plots, until_s, t_update_s, partner_tracks)
        self.transport.extend(transport_latency_ms(plots, self.t0_ns))
        done = None
        if updated is not None:
            done = self.feeds.publish(updated, tod_of(self.utc_tod_at_t0_s, updated))
            self.processing.extend((done - plots["t_arrival_ns"]) * 1e-6)
            self.processing_at.extend(np.full(len(plots), self.run_time_s(done)))
        else:
            self._pending_latency.append(plots["t_arrival_ns"].copy())
        if self.recorder is not None:
            self.recorder.cycle(now, counts, until_s, t_update_s, done, plots)
        self.cycle.append((time.perf_counter_ns() - t_start) * 1e-6)

    def _picture(self, tick_ns: int, start_ns: int) -> int:
        t_s = self.run_time_s(tick_ns)
        tracks = self.fusion.picture(t_s)
        done = self.feeds.publish(tracks, tod_of(self.utc_tod_at_t0_s, tracks))
        if self.recorder is not None:
            self.recorder.tick(self.ticks, tick_ns, start_ns, t_s, done)
        self.pictures.add(tracks)
        self.tick_times_s.append(self.run_time_s(tick_ns))
        self.ticks += 1
        if self._pending_latency:
            arrivals = np.concatenate(self._pending_latency)
            self.processing.extend((done - arrivals) * 1e-6)
            self.processing_at.extend(np.full(len(arrivals), self.run_time_s(done)))
            self._pending_latency.clear()
        return done

    def _result(self) -> LoopResult:
        plots = self._plots.values()
        return LoopResult(
            processing_latency_ms=self.processing.values(),
            processing_times_s=self.processing_at.values(),
            transport_latency_ms=self.transport.values(),
            tick_lateness_ms=self.lateness.values(), tick_jitter_ms=self.jitter.values(),
            cycle_time_ms=self.cycle.values(), queue_depth=self.depth.values(),
            deadline_misses=self.deadline_misses, ticks=self.ticks, cycles=self.cycles,
            pictures=self.pictures, tick_times_s=np.array(self.tick_times_s), plots=plots,
            snapshots=self.snapshots, memory=self.memory, stopped_by=self._stop_reason or "duration",
            elapsed_s=(min(time.monotonic_ns(), self.end_ns) - self.t0_ns) * 1e-9)
