"""The live view of a run: a rich table on a terminal, a plain line now and then elsewhere.

The loop gathers the figures from its tick callback into a small dict (:meth:`LiveView.state`),
never from a thread of its own. Drawing them is the costly part (rich lays out its tables
for milliseconds, long enough to delay the plots that arrive meanwhile), so on a terminal
it happens in a view process of its own (:mod:`.live_render`), fed one JSON line per state
through a non-blocking pipe: the loop never waits for it, and a state the pipe cannot take
at once is skipped. Elsewhere (CI logs) the loop prints one plain line every ``log_period_s``.
"""

from __future__ import annotations

import json
import logging
import math
import subprocess
import sys
import time

import numpy as np
from rich.console import Console

from rig.harness.limits import parse_limits
from rig.harness.measurements import PERCENTILES
from rig.launch import module_command

from .live_render import log_line
from rig.firmware import decoder_errors
from .view_pipe import ViewPipe, view_process_setup

log = logging.getLogger(__name__)

#: Live percentiles are over the latest samples only: cheap at any run length, and they show
#: what the run does now.
RECENT_SAMPLES = 4096


def recent_percentiles(buffer, qs) -> list[float | None]:
    """Nearest-rank percentiles ``qs`` of the latest samples of a loop's SampleBuffer."""
    n = buffer.n
    if not n:
        return [None] * len(qs)
    recent = np.sort(buffer._data[max(0, n - RECENT_SAMPLES):n])
    return [float(recent[max(0, math.ceil(q / 100 * recent.size) - 1)]) for q in qs]


def recent_statistic(buffer, statistic: str) -> float | None:
    """One statistic (a limit's: p99, max, mean, ...) of the latest samples of a buffer."""
    if statistic in PERCENTILES:
        return recent_percentiles(buffer, (PERCENTILES[statistic],))[0]
    n = buffer.n
    if not n:
        return None
    recent = buffer._data[max(0, n - RECENT_SAMPLES):n]
    value = {"max": recent.max, "min": recent.min, "mean": recent.mean}.get(statistic)
    return float(value()) if value else float(n) if statistic == "count" else None


class LiveView:
    def __init__(self, sensors, engine, config, *, live: bool | None = None, console=None,
                 refresh_s: float = 0.5, log_period_s: float = 5.0):
        self.sensors = sensors
        self.engine = engine
        self.config = config
        self.console = console or Console(file=sys.stdout)
        self.interactive = self.console.is_terminal if live is None else live
        self.refresh_s = refresh_s if self.interactive else log_period_s
        self._view: ViewPipe | None = None
        self._last = 0.0
        self._limits = parse_limits(config.limits)
        self._state: dict | None = None
        self._state_tick: int | None = None

    @classmethod
    def of_bench(cls, bench, **options) -> "LiveView":
        """The view of a :class:`rig.bench.run.Bench` (``options``: ``live``, ``console``)."""
        return cls(bench.sensors, bench.engine, bench.cfg, **options)

    def start(self) -> None:
        """Start the view process (on a terminal): early, so that its start-up is over
        before the run's clock starts."""
        if self.interactive and self._view is None:
            self._view = ViewPipe(subprocess.Popen(           # draws on our stdout
                module_command("rig.bench.live_render"), stdin=subprocess.PIPE,
                preexec_fn=view_process_setup), "live view")

    def close(self) -> None:
        if self._view is not None:
            self._view.close()
            self._view = None

    def update(self, loop) -> None:
        now = time.monotonic()
        if now - self._last < self.refresh_s:
            return
        self._last = now
        state = self.state(loop)
        if self._view is not None and self._view.alive:
            self._view.send(json.dumps(state).encode() + b"\n")
        else:
            print(log_line(state), file=self.console.file, flush=True)

    def state(self, loop) -> dict:
        """The figures the view shows, as plain JSON-able values: gathered once per tick of
        the loop, however many views ask (the terminal's and the web's)."""
        if self._state_tick != loop.ticks:
            self._state, self._state_tick = self._gather(loop), loop.ticks
        return self._state

    def _gather(self, loop) -> dict:
        t = loop.run_time_s(time.monotonic_ns())
        elapsed = max(t, 1e-9)
        rows = []
        for s in self.sensors:
            c = s.counters()
            rows.append([s.id, s.partner, s.family, s.driver_state, s.plots_received,
                         round(s.plots_received / elapsed), decoder_errors(c),
                         int(c.get("seq_gaps", 0)), int(c.get("plots_dropped", 0))])
        processing = recent_percentiles(loop.processing, (50, 99))
        return {
            "name": self.config.name, "t": t, "duration_s": self.config.duration_s,
            "tracks": len(loop.pictures.last), "plots_in": int(self.engine.counters.plots_in),
            "plots_rejected": int(self.engine.counters.plots_rejected),
            "processing_ms": processing,
            "transport_ms": recent_percentiles(loop.transport, (50, 99)),
            "lateness_p99_ms": recent_percentiles(loop.lateness, (99,))[0],
            "deadline_misses": loop.deadline_misses,
            "at_risk": self._at_risk(loop, rows),
            "sensors": rows,
        }

    def _at_risk(self, loop, rows: list) -> list[str]:
        """Every limit of the config whose measurement, so far, is beyond 80 % of its bound
        (or, for a count, beyond the bound; for a lower bound, still below it)."""
        series = {"processing_latency_ms": loop.processing, "transport_latency_ms": loop.transport,
                  "tick_lateness_ms": loop.lateness, "tick_jitter_ms": loop.jitter,
                  "cycle_time_ms": loop.cycle, "queue_depth": loop.depth}
        counts = {"deadline_misses": loop.deadline_misses,
                  "plots_received": sum(r[4] for r in rows),
                  "decoder_errors": sum(r[6] for r in rows),
                  "sequence_gaps": sum(r[7] for r in rows),
                  "dropped_plots": sum(r[8] for r in rows),
                  "tracks_published": len(loop.pictures.last)}
        risky = []
        for lim in self._limits:
            if lim.measurement in series:
                value = recent_statistic(series[lim.measurement], lim.statistic)
                margin = 0.8
            elif lim.measurement in counts:
                value, margin = counts[lim.measurement], 1.0
            else:
                continue                    # known only at the end (accuracy, soak)
            if value is None:
                continue
            if value > margin * lim.bound if lim.op == "<=" else value < lim.bound:
                risky.append(f"{lim.measurement} {lim.statistic} {value:.3g} "
                             f"(limit {lim.op} {lim.bound:g})")
        return risky
