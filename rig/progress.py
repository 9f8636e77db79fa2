"""Progress on stderr while a command works; its stdout stays as it is.

- :class:`Stages`: a command's work as stages, each a rich progress line (spinner, bar, count,
  elapsed time) on a terminal; nothing elsewhere. :meth:`Stages.advance` is cheap enough for
  a hot loop: rich hears of it at most :data:`UPDATES_PER_S` times a second.
- :class:`StepLog`: the steps of a long start-up or wind-down (``rig run``), one line each,
  ``LABEL: what key=value ... elapsed_s=S``, on a terminal and elsewhere.
- :func:`stderr_console`: the one rich console on stderr that progress and log records share.
"""

from __future__ import annotations

import json
import time

from rich.console import Console
from rich.progress import (BarColumn, Progress, ProgressColumn, SpinnerColumn, TextColumn,
                           TimeElapsedColumn)
from rich.text import Text

#: how often a progress display is updated and redrawn, at most
UPDATES_PER_S = 10

_console: Console | None = None


def stderr_console() -> Console:
    """The rich console on stderr of this process (made at first use)."""
    global _console
    if _console is None:
        _console = Console(stderr=True)
    return _console


class Stages:
    """Stages of a command's work, shown while they run. Use as a context manager::

        with Stages() as progress:
            progress.stage("reading plots.csv")
            progress.stage("fusing", total=len(ticks), unit="time steps")
            for tick in ticks:
                ...
                progress.advance()

    ``console``: where to draw (default :func:`stderr_console`); ``enabled``: draw or not
    (default: when the console is a terminal). Disabled, every method does nothing.
    """

    def __init__(self, console: Console | None = None, *, enabled: bool | None = None):
        if enabled is None:
            console = console or stderr_console()
            enabled = console.is_terminal
        self.enabled = bool(enabled)
        self._progress = None
        if self.enabled:
            self._progress = Progress(
                SpinnerColumn(finished_text="[green]✓"), TextColumn("{task.description}"),
                BarColumn(), _Count(), TimeElapsedColumn(),
                console=console or stderr_console(), transient=True,
                refresh_per_second=UPDATES_PER_S)
        self._task = None
        self._total: float | None = None
        self._done = 0
        self._next_update = 0.0

    def __enter__(self) -> "Stages":
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._end_stage()
            self._progress.stop()

    def stage(self, description: str, total: int | None = None, unit: str = "") -> None:
        """Begin a stage (the one before ends); ``total``: how many :meth:`advance` steps it
        has (None: unknown, a pulsing bar)."""
        if self._progress is None:
            return
        self._end_stage()
        self._total, self._done, self._next_update = total, 0, 0.0
        self._task = self._progress.add_task(description, total=total, unit=unit,
                                             counted=total is not None)

    def advance(self, n: int = 1) -> None:
        """``n`` more steps of the stage done."""
        if self._progress is None:
            return
        self._done += n
        now = time.monotonic()
        if now >= self._next_update:
            self._next_update = now + 1.0 / UPDATES_PER_S
            self._progress.update(self._task, completed=self._done)

    def _end_stage(self) -> None:
        if self._task is None:
            return
        done = self._done if self._total is None else self._total
        self._progress.update(self._task, total=done, completed=done)
        self._progress.stop_task(self._task)
        self._task = None


class _Count(ProgressColumn):
    """``done/total unit`` of a stage that counts its steps; nothing for one that does not."""

    def render(self, task) -> Text:
        if not task.fields.get("counted"):
            return Text("")
        unit = task.fields.get("unit") or ""
        return Text(f"{int(task.completed):,}/{int(task.total):,} {unit}".rstrip(),
                    style="progress.download")


def silent() -> Stages:
    """Stages that show nothing: the default of functions that take a ``progress``."""
    return Stages(enabled=False)


def token(key: str, value) -> str:
    """``key=value``; a value with spaces or quotes in it is quoted as a JSON string."""
    text = f"{value:g}" if isinstance(value, float) else str(value)
    if not text or any(c.isspace() or c in "\"'" for c in text):
        text = json.dumps(text)
    return f"{key}={text}"


class StepLog:
    """One line per step of a long start-up or wind-down, at once, on stderr::

        rig run: sensor opened id=A1 family=serial-sensor transport=/dev/pts/4 elapsed_s=1.02

    ``elapsed_s`` counts from the StepLog's making. On a terminal the lines are dimmed."""

    def __init__(self, label: str, console: Console | None = None):
        self.label = label
        self.console = console or stderr_console()
        self._start = time.monotonic()

    def __call__(self, what: str, **fields) -> str:
        fields["elapsed_s"] = f"{time.monotonic() - self._start:.2f}"
        line = " ".join([f"{self.label}: {what}"]
                        + [token(k, v) for k, v in fields.items() if v is not None])
        if self.console.is_terminal:
            self.console.print(line, style="dim", markup=False, highlight=False,
                               soft_wrap=True)
        else:
            self.console.file.write(line + "\n")
            self.console.file.flush()
        return line
