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
    waits on one event instead of polling each queue. ``empty(0)`` is what :meth:`get_all`
    gives when nothing is queued (a queue of another dtype's batches, e.g. tracks, sets it).
    """

    def __init__(self, max_batches: int = 4096, *, empty=empty_plots):
        self._queue: queue.Queue[np.ndarray] = queue.Queue(maxsize=max_batches)
        self._empty = empty
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
            return self._empty(0)
        return batches[0] if len(batches) == 1 else np.concatenate(batches)

    def __len__(self) -> int:
        return self._queue.qsize()


class PlotDriver:
    """What every host driver shares: the queue of decoded plots between its reader thread and
    the consumer, a raw tap, and a wake-up event for a consumer of many drivers."""

    def __init__(self, queue_batches: int = 4096):
        self._queue = PlotQueue(queue_batches)
        self._tap = None

    def read_plots(self, timeout_s: float | None = None) -> np.ndarray:
        """Every plot decoded since the last call; waits up to ``timeout_s`` for the first."""
        return self._queue.get_all(timeout_s)

    def set_tap(self, tap) -> None:
        """Call ``tap(t_arrival_ns, data)`` from the reader with every chunk of raw input as
        read, before it is decoded (``data`` None when the decoder is reset): for recording."""
        self._tap = tap

    def set_wakeup(self, event: threading.Event | None) -> None:
        """Set ``event`` whenever plots are queued (one consumer, many drivers)."""
        self._queue.wakeup = event

    @property
    def queued_batches(self) -> int:
        return len(self._queue)

    @property
    def plots_dropped(self) -> int:
        return self._queue.plots_dropped
