"""Each injected fault beside what the rig saw, and the losses no fault explains.

The loop samples every sensor's counters at each output tick (plots received, decoder
errors, sequence gaps, disconnects, reconnects, stale). For a fault on sensor S from ``at_s``
to ``end_s``, what the rig saw is the change of S's counters from the last tick before
``at_s`` to the first tick ``settle_s`` after ``end_s``, and whether S delivered plots again
after it (recovered, and how soon). Decoder errors and sequence gaps outside every fault's
window (widened by ``settle_s``) are losses no injected fault explains: a healthy rig has none.
"""

from __future__ import annotations

import numpy as np

PLOTS, ERRORS, GAPS, DISCONNECTS, RECONNECTS, STALE = range(6)
SETTLE_S = 2.0


def _series(snapshots) -> tuple[np.ndarray, np.ndarray]:
    times = np.array([t for t, _ in snapshots])
    counts = np.array([rows for _, rows in snapshots], dtype=float)   # (ticks, sensors, 6)
    return times, counts


def fault_rows(faults, sensor_ids: list[str], snapshots, injected: dict[str, list[dict]],
               settle_s: float = SETTLE_S) -> list[dict]:
    """One row per configured fault: what was injected and what the rig saw."""
    if not snapshots:
        return []
    times, counts = _series(snapshots)
    rows = []
    for f in faults:
        k = sensor_ids.index(f.sensor)
        end_s = f.at_s + f.duration_s
        i0 = max(int(np.searchsorted(times, f.at_s, "right")) - 1, 0)
        i1 = min(int(np.searchsorted(times, end_s + settle_s, "left")), len(times) - 1)
        during = counts[i0:i1 + 1, k]
        delta = counts[i1, k] - counts[i0, k]
        after = np.flatnonzero((times > end_s) & (np.diff(counts[:, k, PLOTS], prepend=0) > 0))
        started = any(e.get("phase") == "start" and e.get("kind") == f.kind
                      and abs(e.get("at_s", -1) - f.at_s) < 1e-9 for e in injected.get(f.sensor, []))
        rows.append({
            "sensor": f.sensor, "kind": f.kind, "at_s": f.at_s, "duration_s": f.duration_s,
            "injected": started,
            "plots_in_window": int(delta[PLOTS]),
            "decoder_errors": int(delta[ERRORS]), "sequence_gaps": int(delta[GAPS]),
            "disconnects": int(delta[DISCONNECTS]), "reconnects": int(delta[RECONNECTS]),
            "stale": bool(during[:, STALE].any()),
            "recovered": bool(len(after)) or end_s >= times[-1],
            "recovered_after_s": float(times[after[0]] - end_s) if len(after) else None,
        })
    return rows


def losses_outside_faults(faults, sensor_ids: list[str], snapshots,
                          settle_s: float = SETTLE_S) -> int:
    """Decoder errors and sequence gaps at ticks that no fault window (plus settle) covers."""
    if len(snapshots) < 2:
        return 0
    times, counts = _series(snapshots)
    steps = np.diff(counts[:, :, [ERRORS, GAPS]], axis=0).sum(axis=2)    # (ticks-1, sensors)
    t_step = times[1:]
    covered = np.zeros_like(steps, dtype=bool)
    for f in faults:
        k = sensor_ids.index(f.sensor)
        covered[:, k] |= (t_step >= f.at_s) & (t_step <= f.at_s + f.duration_s + settle_s)
    return int(steps[~covered].sum())
