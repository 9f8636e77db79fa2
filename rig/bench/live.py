"""The live view of a run: a rich table on a terminal, a plain line now and then elsewhere.

It is drawn from the loop's tick callback, never from a thread of its own, so rendering
never competes with the loop for the interpreter (at most ``refresh_s`` apart).
"""

from __future__ import annotations

import sys
import time

import numpy as np
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table


def _pct(buffer, q: float, last: int = 20000) -> float | None:
    n = buffer.n
    if not n:
        return None
    return float(np.percentile(buffer._data[max(0, n - last):n], q))


def _fmt(x, spec=".2f") -> str:
    return "-" if x is None else format(x, spec)


class LiveView:
    def __init__(self, sensors, engine, config, *, live: bool | None = None, console=None,
                 refresh_s: float = 0.5, log_period_s: float = 5.0):
        self.sensors = sensors
        self.engine = engine
        self.config = config
        self.console = console or Console(file=sys.stdout)
        self.interactive = self.console.is_terminal if live is None else live
        self.refresh_s = refresh_s if self.interactive else log_period_s
        self._live: Live | None = None
        self._last = 0.0
        self._limits = {(k, s): v for k, stats in (config.limits or {}).items()
                        for s, v in stats.items() if isinstance(v, (int, float))}

    def __enter__(self) -> "LiveView":
        if self.interactive:
            self._live = Live(Table(), console=self.console, auto_refresh=False,
                              transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)

    def update(self, loop) -> None:
        now = time.monotonic()
        if now - self._last < self.refresh_s:
            return
        self._last = now
        if self._live is not None:
            self._live.update(self._render(loop), refresh=True)
        else:
            self._log(loop)

    def _timing(self, loop) -> dict:
        return {"processing p50/p99 ms": (_pct(loop.processing, 50), _pct(loop.processing, 99)),
                "transport p50/p99 ms": (_pct(loop.transport, 50), _pct(loop.transport, 99)),
                "tick lateness p99 ms": (_pct(loop.lateness, 99), None)}

    def _at_risk(self, loop) -> list[str]:
        risky = []
        p99 = _pct(loop.processing, 99)
        bound = self._limits.get(("processing_latency_ms", "p99"))
        if bound is not None and p99 is not None and p99 > 0.8 * bound:
            risky.append(f"processing_latency_ms p99 {p99:.2f} (limit {bound:g})")
        bound = self._limits.get(("deadline_misses", "max"))
        if bound is not None and loop.deadline_misses > bound:
            risky.append(f"deadline_misses {loop.deadline_misses} (limit {bound:g})")
        drops = sum(s.counters().get("plots_dropped", 0) for s in self.sensors)
        bound = self._limits.get(("dropped_plots", "max"))
        if bound is not None and drops > bound:
            risky.append(f"dropped_plots {drops} (limit {bound:g})")
        return risky

    def _render(self, loop):
        t = loop.run_time_s(time.monotonic_ns())
        head = Table(title=f"rig run: {self.config.name}  t = {t:6.1f} / "
                     f"{self.config.duration_s:g} s", show_header=False)
        head.add_column(style="bold")
        head.add_column(justify="right")
        tracks = len(loop.pictures.last)
        head.add_row("tracks published", str(tracks))
        head.add_row("plots fused / rejected", f"{self.engine.counters.plots_in} / "
                     f"{self.engine.counters.plots_rejected}")
        for label, (a, b) in self._timing(loop).items():
            head.add_row(label, _fmt(a) + ("" if b is None and "/" not in label else
                                           f" / {_fmt(b)}"))
        head.add_row("deadline misses", str(loop.deadline_misses))
        risky = self._at_risk(loop)
        head.add_row("limits at risk", ", ".join(risky) if risky else "none")
        table = Table(title="sensors")
        for col in ("sensor", "partner", "family", "state", "plots", "rate /s", "decoder errors",
                    "gaps", "dropped"):
            table.add_column(col, justify="left" if col in ("sensor", "partner", "family",
                                                            "state") else "right")
        elapsed = max(t, 1e-9)
        for s in self.sensors:
            c = s.counters()
            errors = sum(c.get(k, 0) for k in ("header_errors", "crc_errors", "bad_frames",
                                               "records_bad", "bad_blocks"))
            table.add_row(s.id, s.partner, s.family, s.driver_state, str(s.plots_received),
                          f"{s.plots_received / elapsed:.0f}", str(errors),
                          str(c.get("seq_gaps", 0)), str(c.get("plots_dropped", 0)))
        return Group(head, table)

    def _log(self, loop) -> None:
        t = loop.run_time_s(time.monotonic_ns())
        timing = self._timing(loop)
        states = " ".join(f"{s.id}={s.driver_state}:{s.plots_received}" for s in self.sensors)
        p50, p99 = timing["processing p50/p99 ms"]
        print(f"t={t:.1f}s tracks={len(loop.pictures.last)} "
              f"processing_ms p50={_fmt(p50)} p99={_fmt(p99)} deadline_misses="
              f"{loop.deadline_misses} sensors {states}", file=self.console.file, flush=True)
