"""The machine measured beside the rig: how late the operating system wakes a sleeper up,
and how long it keeps the rig's loop waiting for a CPU.

During a run a separate process (:class:`PlatformProbe`, ``python -m rig.harness.platform``)
sleeps to absolute deadlines every millisecond, as the loop sleeps to its ticks, and writes
down how late each wake-up came and how much time the rig's loop thread has spent runnable
but not running (its run-queue wait, ``/proc/PID/task/TID/schedstat``); every 100 ms it also
reads the CPU time the hypervisor stole (``/proc/stat``) and the run queue. Its own process
keeps it off the rig's GIL and the rig off its own. At the end :class:`PlatformSamples` says,
for any stretch of the run, how late the platform itself was then (the later of a sleeper's
wake-up and the loop's wait for a CPU), so that a late tick of the rig can be told from a
late or oversubscribed machine.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rig.launch import module_command

PERIOD_NS = 1_000_000            # one wake-up a millisecond
STAT_PERIOD_NS = 100_000_000     # /proc/stat every 100 ms


def read_proc_stat() -> tuple[int, int]:
    """(stolen CPU ticks summed over CPUs, processes running) from ``/proc/stat``; (0, 0)
    where the file has neither (not Linux)."""
    steal = running = 0
    try:
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("cpu "):
                    fields = line.split()
                    steal = int(fields[8]) if len(fields) > 8 else 0
                elif line.startswith("procs_running"):
                    running = int(line.split()[1])
    except OSError:
        pass
    return steal, running


def run_queue_wait_ns(schedstat: str | None) -> int:
    """The cumulative time (ns) a thread has waited on a run queue, from its ``schedstat``
    file (0 where there is none)."""
    if schedstat is None:
        return 0
    try:
        with open(schedstat) as f:
            return int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def probe(start_ns: int, end_ns: int, out: Path, watch: str | None = None) -> None:
    """Sleep to ``start_ns + k·PERIOD_NS`` until ``end_ns`` (or SIGTERM), then write the
    lateness of every wake-up, the run-queue wait of the thread whose ``schedstat`` file is
    ``watch`` at each, and the /proc/stat samples to ``out`` (.npz)."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    n = max(1, (end_ns - start_ns) // PERIOD_NS + 1)
    target_ns = np.empty(n, np.int64)
    late_ns = np.empty(n, np.int64)
    wait_ns = np.empty(n, np.int64)
    stats = []
    k = 0
    target = start_ns
    next_stat = start_ns
    while not stop and target <= end_ns and k < n:
        wait = target - time.monotonic_ns()
        if wait > 0:
            time.sleep(wait * 1e-9)
        woke = time.monotonic_ns()
        if woke >= start_ns:
            target_ns[k], late_ns[k] = target, woke - target
            wait_ns[k] = run_queue_wait_ns(watch)
            k += 1
        if woke >= next_stat:
            stats.append((woke, *read_proc_stat()))
            next_stat = woke + STAT_PERIOD_NS
        target += PERIOD_NS
        if target < woke:                  # overslept whole periods: skip them
            target += (woke - target) // PERIOD_NS * PERIOD_NS
    stat = np.array(stats, np.int64).reshape(-1, 3)
    np.savez(out, target_ns=target_ns[:k], late_ns=late_ns[:k], wait_ns=wait_ns[:k],
             stat_t_ns=stat[:, 0],
             steal_ticks=stat[:, 1], procs_running=stat[:, 2])


@dataclass
class PlatformSamples:
    """The probe's record: wake-up times and lateness, steal and run queue over time."""

    target_ns: np.ndarray
    late_ms: np.ndarray
    wait_ms: np.ndarray          # cumulative run-queue wait of the rig's loop thread
    stat_t_ns: np.ndarray
    steal_ticks: np.ndarray
    procs_running: np.ndarray
    t0_ns: int

    @classmethod
    def load(cls, path: Path, t0_ns: int) -> "PlatformSamples":
        with np.load(path) as d:
            return cls(d["target_ns"], d["late_ns"] * 1e-6, d["wait_ns"] * 1e-6,
                       d["stat_t_ns"], d["steal_ticks"], d["procs_running"], t0_ns)

    def late_around(self, times_s: np.ndarray, before_s: np.ndarray,
                    after_s: float = 0.002) -> np.ndarray:
        """Per run time ``t`` (s): how late the platform was in ``[t − before_s, t + after_s]``
        (ms): the later of its latest wake-up there and the time the rig's loop waited for a
        CPU there."""
        times_s = np.asarray(times_s, float)
        if not len(self.target_ns) or not len(times_s):
            return np.zeros(len(times_s))
        t = (self.target_ns - self.t0_ns) * 1e-9
        lo = np.searchsorted(t, times_s - np.broadcast_to(before_s, times_s.shape), "left")
        hi = np.searchsorted(t, times_s + after_s, "right")
        seen = hi > lo
        lo, hi = lo[seen], hi[seen]
        # the latest wake-up in each window [lo, hi): maximum.reduceat over the pairs (lo, hi)
        # (the reductions between one window's end and the next one's start are dropped)
        late = np.append(self.late_ms, 0.0)
        latest = np.maximum.reduceat(late, np.ravel(np.column_stack((lo, hi))))[::2]
        waited = self.wait_ms[hi - 1] - self.wait_ms[np.maximum(lo - 1, 0)]
        out = np.zeros(len(times_s))
        out[seen] = np.maximum(latest, waited)
        return out

    def summary(self) -> dict:
        """Wake-up lateness percentiles, stolen CPU share and run queue of the whole run."""
        from rig.harness.measurements import summarize

        out = {"wakeup_lateness_ms": summarize(self.late_ms)}
        if len(self.wait_ms) > 1 and self.wait_ms[-1] > 0:
            seconds = (self.target_ns[-1] - self.target_ns[0]) * 1e-9
            out["loop_cpu_wait_ms_per_s"] = round(
                float(self.wait_ms[-1] - self.wait_ms[0]) / seconds, 3) if seconds > 0 else None
        if len(self.stat_t_ns) > 1:
            seconds = (self.stat_t_ns[-1] - self.stat_t_ns[0]) * 1e-9
            ticks_per_s = 100.0                       # USER_HZ
            stolen = (self.steal_ticks[-1] - self.steal_ticks[0]) / ticks_per_s
            out["steal_cpu_s_per_s"] = round(stolen / seconds, 4) if seconds > 0 else None
            out["procs_running"] = {"mean": round(float(self.procs_running.mean()), 2),
                                    "max": int(self.procs_running.max())}
        return out


class PlatformProbe:
    """The probe process of one run: started before the run's clock starts, stopped after."""

    def __init__(self, out_dir: Path):
        self.path = out_dir / "platform-probe.npz"
        self.proc: subprocess.Popen | None = None
        self.t0_ns = 0

    def start(self, t0_ns: int, end_ns: int) -> None:
        """Probe from ``t0_ns`` to ``end_ns``, watching the calling thread (the loop's)."""
        self.t0_ns = t0_ns
        watch = f"/proc/{os.getpid()}/task/{threading.get_native_id()}/schedstat"
        self.proc = subprocess.Popen(
            module_command("rig.harness.platform", "--start-ns", str(t0_ns), "--end-ns",
                           str(end_ns), "--out", str(self.path), "--watch", watch),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> PlatformSamples | None:
        """Stop the probe and read what it measured (None if it could not run)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        try:
            samples = PlatformSamples.load(self.path, self.t0_ns)
        except (OSError, ValueError, KeyError):
            return None
        self.path.unlink(missing_ok=True)
        return samples


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m rig.harness.platform",
                                 description="wake up every millisecond and record how late")
    ap.add_argument("--start-ns", type=int, required=True)
    ap.add_argument("--end-ns", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--watch", default=None, help="schedstat file of the thread to watch")
    args = ap.parse_args(argv)
    probe(args.start_ns, args.end_ns, args.out, args.watch)


if __name__ == "__main__":
    main()
