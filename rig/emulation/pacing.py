"""Absolute deadlines on the monotonic clock."""

from __future__ import annotations

import time


#: the longest an emulator waits between looks at its stop flag (a signal does not cut a sleep
#: or a select short: Python resumes it)
MAX_WAIT_S = 0.1


def ns_after(start_ns: int, t_s: float) -> int:
    """Host monotonic ns ``t_s`` seconds after ``start_ns`` (``inf``: about 115 days on)."""
    return start_ns + round(min(t_s, 1e7) * 1e9)


class Pacer:
    """Ticks every ``period_s`` at absolute times ``t0 + k·period_s``.

    Sleeping to absolute deadlines does not accumulate error the way ``sleep(period)`` does.
    When the caller falls more than ``max_behind_ticks`` behind, the schedule skips forward
    (counted in :attr:`skipped_ticks`) instead of bursting to catch up.

    ``phase`` (0 to 1) shifts every tick by that fraction of a period, so that pacers started
    from the same instant (the emulators of one run) do not all wake at once.
    """

    def __init__(self, period_s: float, *, start_ns: int | None = None,
                 max_behind_ticks: int = 50, phase: float = 0.0):
        if period_s <= 0:
            raise ValueError("period_s must be positive")
        if not 0.0 <= phase < 1.0:
            raise ValueError("phase must be in [0, 1)")
        self.period_ns = round(period_s * 1e9)
        start_ns = time.monotonic_ns() if start_ns is None else start_ns
        self.start_ns = start_ns + round(phase * self.period_ns)
        self.next_ns = self.start_ns + self.period_ns
        self._earliest_ns = self.next_ns      # the tick after the last one taken
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
        self._earliest_ns = self.next_ns
        return True

    def aim_at(self, t_ns: int) -> None:
        """Make the next tick the first at or after ``t_ns`` (the ticks before it have
        nothing to do; not counted as skipped), but never one already taken. Aiming again
        earlier brings the next tick back."""
        ticks = max(0, -(-(t_ns - self.start_ns) // self.period_ns))
        self.next_ns = max(self.start_ns + ticks * self.period_ns, self._earliest_ns)

    def remaining_s(self, now_ns: int | None = None) -> float:
        now_ns = time.monotonic_ns() if now_ns is None else now_ns
        return max(0.0, (self.next_ns - now_ns) * 1e-9)
