"""Counts, the rate over the last second and latency percentiles of what a monitor received."""

from __future__ import annotations

import time
from collections import deque

import numpy as np

DAY_S = 86400.0


def wrapped_to_day(t_s: np.ndarray) -> np.ndarray:
    """Times of day taken to the nearest day: into [-12 h, 12 h)."""
    return np.mod(t_s + DAY_S / 2, DAY_S) - DAY_S / 2


class Tally:
    """Everything received so far: :meth:`add` each batch (with its latencies, if known)."""

    def __init__(self, window_s: float = 1.0):
        self.window_s = window_s
        self.total = 0
        self.t_start = time.monotonic()
        self._recent: deque[tuple[float, int, np.ndarray | None]] = deque()
        self.last: np.ndarray | None = None          # the latest items received
        self._last_latency: np.ndarray | None = None

    def add(self, items: np.ndarray, latency_s: np.ndarray | None = None) -> None:
        now = time.monotonic()
        if len(items):
            self.total += len(items)
            self.last = items
            self._recent.append((now, len(items), latency_s))
        while self._recent and self._recent[0][0] < now - self.window_s:
            self._recent.popleft()

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.t_start

    def rate_per_s(self) -> float:
        """Items a second over the last window (or since the start, when shorter)."""
        span = min(self.window_s, max(self.elapsed_s, self.window_s / 4))
        return sum(n for _, n, _ in self._recent) / span

    def latency_ms(self, percentile: float) -> float | None:
        """A percentile of the last window's latencies (of the last batch when none came
        in the window), ms; None when none are known."""
        known = [lat for _, _, lat in self._recent if lat is not None and len(lat)]
        if known:
            self._last_latency = np.concatenate(known)
        if self._last_latency is None:
            return None
        return float(np.percentile(self._last_latency, percentile)) * 1e3
