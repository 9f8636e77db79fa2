"""How late this machine wakes a thread that sleeps to an absolute deadline: the floor under
every tick lateness ``rig run`` can report.

    python benchmarks/bench_timer.py [--seconds 30] [--period-ms 10]

In one run, three waits for deadlines every ``--period-ms``, each for ``--seconds``:

- ``sleep``: a plain ``clock_nanosleep`` to the deadline under normal scheduling;
- ``sleep_spin``: the loop's wait without SCHED_FIFO (sleep to ``realtime.spin_s`` before,
  2 ms by default, then spin);
- ``fifo_sleep``: ``clock_nanosleep`` under SCHED_FIFO, pinned, 1 ns timer slack (the loop's
  wait under ``--realtime``; skipped where SCHED_FIFO is refused).

It also reads the CPU time the hypervisor took from this machine meanwhile (``steal`` in
/proc/stat): on a shared virtual machine no scheduling policy inside the guest wins that back.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from rig.bench.config import RealtimeEntry
from rig.bench.realtime import apply_realtime, sleep_until_holding_gil

SPIN_NS = round(RealtimeEntry().spin_s * 1e9)     # the loop's default


def steal_ticks() -> int | None:
    try:
        with open("/proc/stat") as f:
            return int(f.readline().split()[8])
    except (OSError, IndexError, ValueError):
        return None


def lateness_us(seconds: float, period_ns: int, spin_ns: int = 0) -> np.ndarray:
    late = []
    deadline = time.monotonic_ns() + period_ns
    end = time.monotonic_ns() + int(seconds * 1e9)
    while deadline < end:
        sleep_until_holding_gil(deadline - spin_ns)
        while spin_ns and time.monotonic_ns() < deadline:
            pass
        late.append(time.monotonic_ns() - deadline)
        deadline += period_ns
    return np.array(late) / 1e3


def figures(late: np.ndarray) -> dict:
    return {"n": int(late.size), "p50_us": round(float(np.percentile(late, 50)), 1),
            "p99_us": round(float(np.percentile(late, 99)), 1),
            "p99_9_us": round(float(np.percentile(late, 99.9)), 1),
            "max_us": round(float(late.max()), 1),
            "over_1ms": int((late > 1000).sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--period-ms", type=float, default=10.0)
    args = ap.parse_args()
    period_ns = int(args.period_ms * 1e6)
    result: dict = {"cpu_count": os.cpu_count()}
    ticks_per_s = os.sysconf("SC_CLK_TCK")
    steal0, t0 = steal_ticks(), time.monotonic()
    result["sleep"] = figures(lateness_us(args.seconds, period_ns))
    print("sleep     ", result["sleep"])
    result["sleep_spin"] = figures(lateness_us(args.seconds, period_ns, SPIN_NS))
    print("sleep_spin", result["sleep_spin"])
    done = apply_realtime()
    if "sched_fifo" in done:
        result["fifo_sleep"] = figures(lateness_us(args.seconds, period_ns))
        print("fifo_sleep", result["fifo_sleep"])
    else:
        print("fifo_sleep skipped:", done.get("sched_fifo_refused"))
    steal1, t1 = steal_ticks(), time.monotonic()
    if steal0 is not None and steal1 is not None:
        share = (steal1 - steal0) / ticks_per_s / ((t1 - t0) * (os.cpu_count() or 1))
        result["steal_percent"] = round(100 * share, 2)
        print(f"hypervisor steal: {100 * share:.2f} % of the CPU time meanwhile")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
