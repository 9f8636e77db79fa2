"""The live view of ``rig monitor``: on a terminal the counters and a small table of the last
items received; elsewhere one ``key=value`` line a second (:class:`rig.live.LiveTable`)."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table

from rig.live import LiveTable


class MonitorView(LiveTable):
    """:class:`LiveTable` with the last items received under the counters."""

    def __init__(self, title: str, columns: tuple[str, ...], *, file=None):
        super().__init__(title, file=file)
        self.columns = columns
        self.rows: list[tuple] = []
        self._logged: dict | None = None

    def show(self, values: dict, rows: list[tuple]) -> None:
        self.rows = rows
        self.update(values)

    def _log(self, values: dict) -> None:
        if values != self._logged:
            self._logged = values
            super()._log(values)

    def _table(self, values: dict):
        counters = super()._table(values)
        if not self.rows:
            return counters
        last = Table(title="last received")
        for column in self.columns:
            last.add_column(column, justify="right")
        for row in self.rows:
            last.add_row(*map(str, row))
        return Group(counters, last)


def shown(value) -> str:
    """A value as one word: '-' for unknown, numbers kept short."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value).replace(" ", "_")
