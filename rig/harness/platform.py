"""The machine measured beside the rig: how late the operating system wakes a sleeper up,
how long it keeps the rig's loop waiting for a CPU, and who was using the CPUs then.

During a run a separate process (:class:`PlatformProbe`, ``python -m rig.harness.platform``)
sleeps to absolute deadlines every millisecond, as the loop sleeps to its ticks, and writes
down how late each wake-up came and how much time the rig's loop thread has spent runnable
but not running (its run-queue wait, ``/proc/PID/task/TID/schedstat``); every 100 ms it also
reads the machine's busy and stolen CPU time and run queue (``/proc/stat``) and the CPU time
of the rig's whole process tree (loop, readers, emulators). Its own process keeps it off the
rig's GIL and the rig off its own. At the end :class:`PlatformSamples` says, for any stretch
of the run, how late the platform itself was then: the later of a sleeper's wake-up and the
loop's wait for a CPU, each counted in the share of CPU time that others than the rig used
around it (other processes, the hypervisor). A machine kept busy by the rig's own load
excuses nothing; one kept busy by others excuses a late tick of the rig.
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
USER_HZ = 100                    # CPU ticks a second in /proc/stat and /proc/PID/stat
SHARE_HALF_WIDTH_S = 0.25        # who used the CPUs: judged over half a second


def read_proc_stat() -> tuple[int, int, int]:
    """(CPU ticks idle (with I/O wait) and stolen, each summed over CPUs, processes running)
    from ``/proc/stat``; zeros where the file has none of them (not Linux). The idle time is
    accounted exactly on a tickless kernel; the busy times are sampled at each tick, and miss
    much of a load of short wake-ups such as the rig's, so busy CPU is what is not idle."""
    idle = steal = running = 0
    try:
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("cpu "):
                    # user nice system idle iowait irq softirq steal ...
                    ticks = [int(x) for x in line.split()[1:9]] + [0] * 8
                    idle, steal = ticks[3] + ticks[4], ticks[7]
                elif line.startswith("procs_running"):
                    running = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return idle, steal, running


def process_tree_ticks(pid: int) -> int:
    """CPU ticks (user + system) used so far by the process ``pid`` and all its living
    descendants (0 once it is gone)."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])          # utime, stime
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (OSError, IndexError, ValueError):
            continue
    return total


def read_schedstat(schedstat: str | None) -> tuple[int, int]:
    """(time on a CPU, time waiting on a run queue), cumulative ns, of a thread from its
    ``schedstat`` file ((0, 0) where there is none)."""
    if schedstat is None:
        return 0, 0
    try:
        with open(schedstat) as f:
            ran, waited = f.read().split()[:2]
        return int(ran), int(waited)
    except (OSError, ValueError):
        return 0, 0


def probe(start_ns: int, end_ns: int, out: Path, watch: str | None = None,
          tree: int | None = None) -> None:
    """Sleep to ``start_ns + k·PERIOD_NS`` until ``end_ns`` (or SIGTERM), then write to
    ``out`` (.npz) the lateness of every wake-up and the CPU and run-queue times of the thread
    whose ``schedstat`` file is ``watch`` at each; every STAT_PERIOD_NS also the machine's
    busy and stolen CPU, its run queue and the CPU used by the process tree of ``tree``."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    n = max(1, (end_ns - start_ns) // PERIOD_NS + 1)
    target_ns = np.empty(n, np.int64)
    late_ns = np.empty(n, np.int64)
    ran_ns = np.empty(n, np.int64)
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
            ran_ns[k], wait_ns[k] = read_schedstat(watch)
            k += 1
        if woke >= next_stat:
            stats.append((woke, *read_proc_stat(), process_tree_ticks(tree) if tree else 0))
            next_stat = woke + STAT_PERIOD_NS
        target += PERIOD_NS
        if target < woke:                  # overslept whole periods: skip them
            target += (woke - target) // PERIOD_NS * PERIOD_NS
    stat = np.array(stats, np.int64).reshape(-1, 5)
    np.savez_compressed(out, target_ns=target_ns[:k], late_ns=late_ns[:k], ran_ns=ran_ns[:k],
                        wait_ns=wait_ns[:k], stat_t_ns=stat[:, 0], idle_ticks=stat[:, 1],
                        steal_ticks=stat[:, 2], procs_running=stat[:, 3],
                        rig_ticks=stat[:, 4], cpus=os.cpu_count() or 1)


@dataclass
class PlatformSamples:
    """The probe's record: wake-up times and lateness, the loop's CPU and run-queue times,
    and the machine's CPU use over time (cumulative ticks of USER_HZ)."""

    target_ns: np.ndarray
    late_ms: np.ndarray
    ran_ms: np.ndarray           # cumulative CPU time of the rig's loop thread
    wait_ms: np.ndarray          # cumulative run-queue wait of the rig's loop thread
    stat_t_ns: np.ndarray
    idle_ticks: np.ndarray       # the whole machine's idle CPU (with I/O wait)
    steal_ticks: np.ndarray
    rig_ticks: np.ndarray        # the rig's process and all its children
    procs_running: np.ndarray
    cpus: int
    t0_ns: int

    @classmethod
    def load(cls, path: Path, t0_ns: int) -> "PlatformSamples":
        with np.load(path) as d:
            return cls(d["target_ns"], d["late_ns"] * 1e-6, d["ran_ns"] * 1e-6,
                       d["wait_ns"] * 1e-6, d["stat_t_ns"], d["idle_ticks"],
                       d["steal_ticks"], d["rig_ticks"], d["procs_running"], int(d["cpus"]),
                       t0_ns)

    @property
    def busy_ticks(self) -> np.ndarray:
        """The CPU time processes used, cumulative ticks: what was neither idle nor stolen."""
        capacity = (self.stat_t_ns - self.stat_t_ns[:1]) * 1e-9 * USER_HZ * self.cpus
        return capacity - self.idle_ticks - self.steal_ticks

    def outside_shares(self, times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per run time ``t`` (s), over ``t ± SHARE_HALF_WIDTH_S``: the share of the CPU time
        used by anyone else than the rig (other processes, and the hypervisor's steal) (1) in
        all CPU time used, (2) in the CPU time used by anyone but the rig's loop thread. A
        sleeper woken late, or the loop kept waiting for a CPU, is the platform's doing in
        that share; the rest was the rig's own load (its emulators, readers, loop). 1 where
        the probe has no such record or nobody used a CPU."""
        times_s = np.asarray(times_s, float)
        ones = np.ones(len(times_s))
        if len(self.stat_t_ns) < 2 or not self.rig_ticks.any():
            return ones, ones
        stat_t = (self.stat_t_ns - self.t0_ns) * 1e-9
        wake_t = (self.target_ns - self.t0_ns) * 1e-9

        def used(counter, at=stat_t):
            return (np.interp(times_s + SHARE_HALF_WIDTH_S, at, counter)
                    - np.interp(times_s - SHARE_HALF_WIDTH_S, at, counter))

        rig = used(self.rig_ticks)
        outside = np.maximum(used(self.busy_ticks) - rig, 0.0) + used(self.steal_ticks)
        loop = used(self.ran_ms * USER_HZ * 1e-3, wake_t) if len(wake_t) else 0.0
        rig_but_loop = np.maximum(rig - loop, 0.0)
        return _share(outside, outside + rig), _share(outside, outside + rig_but_loop)

    def late_around(self, times_s: np.ndarray, before_s: np.ndarray,
                    after_s: float = 0.002) -> np.ndarray:
        """Per run time ``t`` (s): how late the platform was in ``[t − before_s, t + after_s]``
        (ms): the later of its latest wake-up there and the time the rig's loop waited for a
        CPU there, each counted in the share the rig's own load did not cause
        (:meth:`outside_shares`)."""
        times_s = np.asarray(times_s, float)
        if not len(self.target_ns) or not len(times_s):
            return np.zeros(len(times_s))
        before_s = np.broadcast_to(before_s, times_s.shape)
        t = (self.target_ns - self.t0_ns) * 1e-9
        lo = np.searchsorted(t, times_s - before_s, "left")
        hi = np.searchsorted(t, times_s + after_s, "right")
        seen = hi > lo
        lo, hi = lo[seen], hi[seen]
        # the latest wake-up in each window [lo, hi): maximum.reduceat over the pairs (lo, hi)
        # (the reductions between one window's end and the next one's start are dropped)
        late = np.append(self.late_ms, 0.0)
        latest = np.maximum.reduceat(late, np.ravel(np.column_stack((lo, hi))))[::2]
        waited = self.wait_ms[hi - 1] - self.wait_ms[np.maximum(lo - 1, 0)]
        share_wake, share_wait = self.outside_shares((times_s - before_s / 2)[seen])
        out = np.zeros(len(times_s))
        out[seen] = np.maximum(latest * share_wake, waited * share_wait)
        return out

    def summary(self) -> dict:
        """Wake-up lateness percentiles, the loop's waits for a CPU, the CPU used by the rig
        and by everyone else, stolen CPU and the run queue over the whole run."""
        from rig.harness.measurements import summarize

        out = {"wakeup_lateness_ms": summarize(self.late_ms)}
        if len(self.wait_ms) > 1 and self.wait_ms[-1] > 0:
            seconds = (self.target_ns[-1] - self.target_ns[0]) * 1e-9
            out["loop_cpu_wait_ms_per_s"] = round(
                float(self.wait_ms[-1] - self.wait_ms[0]) / seconds, 3) if seconds > 0 else None
        if len(self.stat_t_ns) > 1:
            seconds = (self.stat_t_ns[-1] - self.stat_t_ns[0]) * 1e-9

            def per_s(ticks):
                return round(float(ticks[-1] - ticks[0]) / USER_HZ / seconds, 4) \
                    if seconds > 0 else None

            out["steal_cpu_s_per_s"] = per_s(self.steal_ticks)
            if self.rig_ticks.any():
                out["rig_cpu_s_per_s"] = per_s(self.rig_ticks)
                out["others_cpu_s_per_s"] = per_s(self.busy_ticks - self.rig_ticks)
            out["procs_running"] = {"mean": round(float(self.procs_running.mean()), 2),
                                    "max": int(self.procs_running.max())}
        return out


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """``part / whole``, within [0, 1]; 1 where ``whole`` is nothing."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(whole > 0, np.clip(part / whole, 0.0, 1.0), 1.0)


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
                           str(end_ns), "--out", str(self.path), "--watch", watch,
                           "--tree", str(os.getpid())),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def terminate(self) -> None:
        """Tell the probe to end now, without waiting for it (:meth:`stop` waits)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout_s: float = 10.0) -> PlatformSamples | None:
        """Stop the probe and read what it measured (None if it could not run, or has not
        written its record ``timeout_s`` after being told to end)."""
        if self.proc is None:
            return None
        self.terminate()
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        try:
            samples = PlatformSamples.load(self.path, self.t0_ns)
        except (OSError, ValueError, KeyError):
            return None
        return samples                     # its record stays in the run folder


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m rig.harness.platform",
                                 description="wake up every millisecond and record how late")
    ap.add_argument("--start-ns", type=int, required=True)
    ap.add_argument("--end-ns", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--watch", default=None, help="schedstat file of the thread to watch")
    ap.add_argument("--tree", type=int, default=None,
                    help="process whose tree's CPU use is the rig's own")
    args = ap.parse_args(argv)
    probe(args.start_ns, args.end_ns, args.out, args.watch, args.tree)


if __name__ == "__main__":
    main()
