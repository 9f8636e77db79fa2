"""A small live view: a rich table on a terminal, plain log lines elsewhere (CI)."""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.live import Live
from rich.table import Table


class LiveTable:
    """Shows a name -> value mapping, redrawn in place on a terminal; when stdout is not a
    terminal, prints one line every ``log_period_s`` instead."""

    def __init__(self, title: str, *, log_period_s: float = 1.0, file=None):
        self.title = title
        self.file = file or sys.stdout
        self.console = Console(file=self.file)
        self.log_period_s = log_period_s
        self._live: Live | None = None
        self._last_log = 0.0
        self._last: dict = {}

    def __enter__(self) -> "LiveTable":
        if self.console.is_terminal:
            self._live = Live(self._table({}), console=self.console, refresh_per_second=4,
                              transient=False)
            self._live.__enter__()
        return self

    def update(self, values: dict) -> None:
        self._last = values
        if self._live is not None:
            self._live.update(self._table(values))
            return
        now = time.monotonic()
        if now - self._last_log >= self.log_period_s:
            self._last_log = now
            self._log(values)

    def _log(self, values: dict) -> None:
        print(" ".join(f"{k}={v}" for k, v in values.items()), file=self.file, flush=True)

    def _table(self, values: dict) -> Table:
        table = Table(title=self.title, show_header=False)
        table.add_column(style="bold")
        table.add_column(justify="right")
        for key, value in values.items():
            table.add_row(str(key), str(value))
        return table

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)
        elif self._last:
            self._log(self._last)
