"""UTC time of a recording's records, whose stamps are the host's monotonic clock.

A recording of ``rig run`` keeps, in its META, the monotonic time of the run's start
(``t0_ns``) and the UTC time at that instant (``utc_at_t0_s``). Recordings made before
``utc_at_t0_s`` was kept hold only the time of day (``utc_tod_at_t0_s``): their date is the
one that puts the run's start last before the recording's files were last written (their
earliest modification time), right for any run shorter than a day whose files kept their
modification times. Without a time line, stamps stay host monotonic time.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

DAY_S = 86400


@dataclass(frozen=True)
class WallClock:
    """``utc_ns(t_ns)``: UTC nanoseconds since the epoch of a recorded monotonic stamp."""

    offset_ns: int
    source: str                       # how the offset was found, for the user

    def utc_ns(self, t_ns: int) -> int:
        return t_ns + self.offset_ns


def recording_clock(meta: dict, files: list[Path]) -> WallClock:
    """The wall clock of a recording with META ``meta`` made of ``files``."""
    t0_ns, tod_s = meta.get("t0_ns"), meta.get("utc_tod_at_t0_s")
    utc_s = meta.get("utc_at_t0_s")
    if (isinstance(t0_ns, int) and not isinstance(t0_ns, bool) and isinstance(utc_s, float)
            and math.isfinite(utc_s) and utc_s > 0):
        start_ns = round(utc_s * 1e9)
        start = dt.datetime.fromtimestamp(start_ns / 1e9, dt.timezone.utc)
        return WallClock(start_ns - t0_ns, f"UTC, run started "
                         f"{start.isoformat(timespec='milliseconds')}")
    if (not isinstance(t0_ns, int) or isinstance(t0_ns, bool)
            or not isinstance(tod_s, (int, float)) or isinstance(tod_s, bool)
            or not 0 <= tod_s < DAY_S):
        return WallClock(0, "host monotonic time (the recording has no run time line)")
    written_s = min(f.stat().st_mtime for f in files)
    day = math.floor((written_s - tod_s) / DAY_S)
    start_ns = day * DAY_S * 1_000_000_000 + round(tod_s * 1e9)
    start = dt.datetime.fromtimestamp(start_ns / 1e9, dt.timezone.utc)
    return WallClock(start_ns - t0_ns,
                     f"UTC, run started {start.isoformat(timespec='milliseconds')} (time of "
                     f"day recorded, date from the recording file's modification time)")
