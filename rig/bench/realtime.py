"""``--realtime``: what the operating system can do for the loop's timing, when permitted.

SCHED_FIFO (a real-time priority above every normal process), the loop pinned to one CPU,
and a timer slack of 1 ns, for the calling thread only (Linux applies each per thread): call
it from the loop's thread after the drivers' reader threads have started, so that they keep
normal scheduling on every CPU and never wait behind the loop. Each step is tried on its own;
what is refused is reported, never required. Under SCHED_FIFO the loop must never busy-wait,
so the caller turns the spin off.
"""

from __future__ import annotations

import ctypes
import os

PR_SET_TIMERSLACK = 29


def apply_realtime(priority: int = 50, cpu: int | None = None) -> dict:
    """Try each setting; returns what took effect and what was refused (and why)."""
    done: dict[str, object] = {}
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
        done["sched_fifo"] = priority
    except (PermissionError, OSError, AttributeError) as e:
        done["sched_fifo_refused"] = str(e)
    try:
        cpus = sorted(os.sched_getaffinity(0))
        pinned = cpu if cpu is not None else cpus[-1]
        os.sched_setaffinity(0, {pinned})
        done["cpu"] = pinned
    except (OSError, AttributeError, IndexError) as e:
        done["cpu_refused"] = str(e)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_TIMERSLACK) failed")
        done["timer_slack_ns"] = 1
    except (OSError, AttributeError) as e:
        done["timer_slack_refused"] = str(e)
    return done


def is_fifo() -> bool:
    return hasattr(os, "sched_getscheduler") and os.sched_getscheduler(0) == os.SCHED_FIFO
