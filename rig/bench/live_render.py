"""Drawing the live view of a run from its state (a plain dict, see :mod:`.live`).

``python -m rig.bench.live_render`` is the view process of a run on a terminal: it reads one
JSON state per line on stdin, redraws the view in place for each, and ends at end of input.
It ignores SIGINT (the run that started it handles Ctrl-C and closes its stdin).
"""

from __future__ import annotations

import json
import signal
import sys

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

SENSOR_COLUMNS = ("sensor", "partner", "family", "state", "plots", "rate /s", "decoder errors",
                  "gaps", "dropped")
LEFT_COLUMNS = ("sensor", "partner", "family", "state")


def fmt(x, spec: str = ".2f") -> str:
    return "-" if x is None else format(x, spec)


def render(state: dict):
    """The view of one state: the run's figures, then one row per sensor."""
    head = Table(title=f"rig run: {state['name']}  t = {state['t']:6.1f} / "
                 f"{state['duration_s']:g} s", show_header=False)
    head.add_column(style="bold")
    head.add_column(justify="right")
    head.add_row("tracks published", str(state["tracks"]))
    head.add_row("plots fused / rejected", f"{state['plots_in']} / {state['plots_rejected']}")
    for label, key in (("processing p50 / p99 ms", "processing_ms"),
                       ("transport p50 / p99 ms", "transport_ms")):
        p50, p99 = state[key]
        head.add_row(label, f"{fmt(p50)} / {fmt(p99)}")
    head.add_row("tick lateness p99 ms", fmt(state["lateness_p99_ms"]))
    head.add_row("deadline misses", str(state["deadline_misses"]))
    head.add_row("limits at risk", ", ".join(state["at_risk"]) or "none")
    table = Table(title="sensors")
    for col in SENSOR_COLUMNS:
        table.add_column(col, justify="left" if col in LEFT_COLUMNS else "right")
    for row in state["sensors"]:
        table.add_row(*(str(v) for v in row))
    return Group(head, table)


def log_line(state: dict) -> str:
    """The state as one plain line of ``key=value`` tokens (logs, CI): no spaces inside a
    value, ``-`` for a figure not measured yet, ``at_risk`` the limits at risk as
    ``measurement.statistic`` joined by commas (``none``), and ``sensor.ID=state:plots``."""
    processing, transport = state["processing_ms"], state["transport_ms"]
    at_risk = ",".join(".".join(text.split()[:2]) for text in state["at_risk"]) or "none"
    fields = {
        "t": f"{state['t']:.1f}", "tracks": state["tracks"], "plots_in": state["plots_in"],
        "plots_rejected": state["plots_rejected"],
        "processing_p50_ms": fmt(processing[0]), "processing_p99_ms": fmt(processing[1]),
        "transport_p50_ms": fmt(transport[0]), "transport_p99_ms": fmt(transport[1]),
        "lateness_p99_ms": fmt(state["lateness_p99_ms"]),
        "deadline_misses": state["deadline_misses"], "at_risk": at_risk}
    for row in state["sensors"]:
        fields[f"sensor.{row[0]}"] = f"{row[3]}:{row[4]}"
    return " ".join(f"{_bare(key)}={_bare(value)}" for key, value in fields.items())


def _bare(value) -> str:
    """``value`` as text with no whitespace in it (a run of it becomes ``_``)."""
    return "_".join(str(value).split()) or "-"


def main(stream=None, console: Console | None = None) -> int:
    stream = stream or sys.stdin
    console = console or Console(file=sys.stdout)
    with Live(Table(), console=console, auto_refresh=False, transient=False) as live:
        for line in stream:
            try:
                state = json.loads(line)
            except ValueError:
                continue
            live.update(render(state), refresh=True)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(main())
