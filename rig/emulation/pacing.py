"""Absolute deadlines on the monotonic clock."""

from __future__ import annotations

import time


class Pacer:
    """Ticks every ``period_s`` at absolute times ``t0 + k·period_s``.

    Sleeping to absolute deadlines does not accumulate error the way ``sleep(period)`` does.
    When the caller falls more than ``max_behind_ticks`` behind, the schedule skips forward
    (counted in :attr:`skipped_ticks`) instead of bursting to catch up.
    """

    def __init__(self, period_s: float, *, start_ns: int | None = None,
                 max_behind_ticks: int = 50):
        if period_s <= 0:
            raise ValueError("period_s must be positive")
        self.period_ns = round(period_s * 1e9)
        self.start_ns = time.monotonic_ns() if start_ns is None else start_ns
        self.next_ns = self.start_ns + self.period_ns
        self.max_behind_ns = max_behind_ticks * self.period_ns
        self.skipped_ticks = 0

    def due(self, now_ns: int | None = None) -> bool:
        """True (and the deadline advanced) when the next tick's time has come."""
        now_ns = time.monotonic_ns() if now_ns is None else now_ns
        if now_ns < self.next_ns:
            return False
        behind = now_ns - self.next_ns
        if behind > self.max_behind_ns:
            skip = behind // self.period_ns
            self.skipped_ticks += skip
            self.next_ns += skip * self.period_ns
        self.next_ns += self.period_ns
        return True

    def remaining_s(self, now_ns: int | None = None) -> float:
        now_ns = time.monotonic_ns() if now_ns is None else now_ns
        return max(0.0, (self.next_ns - now_ns) * 1e-9)
