"""A bounded queue of plot batches between a driver's reader thread and its consumer."""

from __future__ import annotations

import queue
import threading

import numpy as np

from rig.records import empty_plots


class PlotQueue:
    """Holds at most ``max_batches`` PLOT_DTYPE arrays; when full, the oldest batch is dropped
    and its plots counted in :attr:`plots_dropped`, so a slow consumer never blocks the reader.

    :attr:`wakeup`, when set, is an event set after every batch: one consumer of many drivers
    waits on one event instead of polling each queue.
    """

    def __init__(self, max_batches: int = 4096):
        self._queue: queue.Queue[np.ndarray] = queue.Queue(maxsize=max_batches)
        self.plots_dropped = 0
        self.wakeup: threading.Event | None = None

    def put(self, plots: np.ndarray) -> None:
        while True:
            try:
                self._queue.put_nowait(plots)
                if self.wakeup is not None:
                    self.wakeup.set()
                return
            except queue.Full:
                try:
                    self.plots_dropped += len(self._queue.get_nowait())
                except queue.Empty:
                    pass

    def get_all(self, timeout_s: float | None = None) -> np.ndarray:
        """Every plot queued; waits up to ``timeout_s`` for the first batch (0: no wait)."""
        batches = []
        try:
            batches.append(self._queue.get(timeout=timeout_s) if timeout_s != 0
                           else self._queue.get_nowait())
            while True:
                batches.append(self._queue.get_nowait())
        except queue.Empty:
            pass
        if not batches:
            return empty_plots(0)
        return batches[0] if len(batches) == 1 else np.concatenate(batches)

    def __len__(self) -> int:
        return self._queue.qsize()
