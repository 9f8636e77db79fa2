"""The environment that shaped a run's timing, recorded in every report."""

from __future__ import annotations

import gc
import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version

_POLICIES = {getattr(os, n): n for n in ("SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH",
                                          "SCHED_IDLE") if hasattr(os, n)}


def _version(dist: str) -> str | None:
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def describe_environment() -> dict:
    env = {
        "hostname": platform.node(),
        "kernel": platform.release(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        "gc_enabled": gc.isenabled(),
        "gc_frozen_objects": gc.get_freeze_count(),
        "versions": {d: _version(d) for d in ("rig", "numpy", "scipy", "pyserial", "pyvisa",
                                              "pyvisa-py", "Cython")},
    }
    try:
        env["load_average"] = os.getloadavg()
    except OSError:
        pass
    if hasattr(os, "sched_getaffinity"):
        env["cpu_affinity"] = sorted(os.sched_getaffinity(0))
    if hasattr(os, "sched_getscheduler"):
        policy = os.sched_getscheduler(0)
        env["sched_policy"] = _POLICIES.get(policy, str(policy))
        env["sched_priority"] = os.sched_getparam(0).sched_priority
    try:
        env["timer_slack_ns"] = int(open("/proc/self/timerslack_ns").read())
    except OSError:
        pass
    return env
