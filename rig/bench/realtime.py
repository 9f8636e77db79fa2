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
import errno
import os
import sys
import time

PR_SET_TIMERSLACK = 29
CLOCK_MONOTONIC = 1
TIMER_ABSTIME = 1


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def _clock_nanosleep():
    """libc's clock_nanosleep called through ctypes.PyDLL, which keeps the GIL."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.PyDLL(None, use_errno=True).clock_nanosleep
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.POINTER(_Timespec), ctypes.c_void_p]
    function.restype = ctypes.c_int
    return function


_CLOCK_NANOSLEEP = _clock_nanosleep()


def sleep_until_holding_gil(t_ns: int) -> None:
    """Sleep until ``time.monotonic_ns()`` reaches ``t_ns`` without letting go of the GIL, so
    that no other thread of this process holds it when the sleep ends: the loop's last
    stretch before a tick. Other threads wait meanwhile (their input waits in the kernel's
    buffers), so keep it short. Falls back to ``time.sleep`` where libc is not reachable."""
    if _CLOCK_NANOSLEEP is None:
        remaining = t_ns - time.monotonic_ns()
        if remaining > 0:
            time.sleep(remaining * 1e-9)
        return
    deadline = _Timespec(t_ns // 1_000_000_000, t_ns % 1_000_000_000)
    while _CLOCK_NANOSLEEP(CLOCK_MONOTONIC, TIMER_ABSTIME, ctypes.byref(deadline), None) \
            == errno.EINTR:
        pass


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
