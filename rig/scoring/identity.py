"""Which track holds which target over time: a sticky assignment, and what it tells.

OSPA pairs targets and tracks afresh at every grid time, which is right for a distance but
wrong for identity: two tracks on one target would trade places with every noise. Identity
is judged on a *sticky* assignment instead (as CLEAR-MOT and most tracker evaluations do):

- a target keeps the track it last held while that track exists and stays within
  ``gate_m`` of it (and no other target has held that track since);
- the targets and tracks left over are paired by the assignment that minimises the summed
  distance among pairs closer than ``gate_m``.

From it, per target: a **switch** each time its track differs from the one it held last
(gaps in between do not reset the memory), a **break** each time it is held at one grid time,
still exists at the next and is held by nothing. Per track: the grid times it existed and was
held; a track **false** if never held, **mostly false** if held at fewer than half of its
times; a track's unheld time is a **duplicate** time when a target lies within ``gate_m``
(that target is held by another track: a second track on one target), else a false time.
A track is a **duplicate track** if it is false or mostly false and most of its unheld times
are duplicate times.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from rig.progress import Stages, silent

from .assignment import optimal_pairs
from .sampling import Sampled


@dataclass
class TrackLife:
    """One track's story against the truth."""

    track_id: object
    t_first_s: float
    t_last_s: float
    times: int                       # grid times it existed
    held: int                        # ... and held a target
    duplicate_times: int             # ... unheld, within the gate of a target held by another
    targets: list                    # the targets it held, in order of first holding
    beside: list                     # the targets it sat beside while unheld (duplicates)
    kind: str                        # "true", "mostly false", "false"
    duplicate: bool                  # false or mostly false, mostly as a second track

    def as_dict(self) -> dict:
        return {"track_id": _plain(self.track_id), "t_first_s": self.t_first_s,
                "t_last_s": self.t_last_s, "times": self.times, "held": self.held,
                "duplicate_times": self.duplicate_times,
                "targets": [_plain(t) for t in self.targets],
                "beside": [_plain(t) for t in self.beside], "kind": self.kind,
                "duplicate": self.duplicate}


@dataclass
class Identity:
    """The sticky assignment and its events."""

    truth_track: np.ndarray          # per truth sample: index of the holding track or -1
    track_target: np.ndarray         # per track sample: index of the held target or -1
    switches: list = field(default_factory=list)   # (t, target id, from track, to track)
    breaks: list = field(default_factory=list)     # (t, target id, track it lost)
    tracks: list = field(default_factory=list)     # TrackLife per track, in id order

    @property
    def false_tracks(self) -> list:
        return [t for t in self.tracks if t.kind == "false"]

    @property
    def mostly_false_tracks(self) -> list:
        return [t for t in self.tracks if t.kind == "mostly false"]

    @property
    def duplicate_tracks(self) -> list:
        return [t for t in self.tracks if t.duplicate]


def _by_step(step: np.ndarray, n_steps: int) -> list[np.ndarray]:
    order = np.argsort(step, kind="stable")
    bounds = np.searchsorted(step[order], np.arange(n_steps + 1))
    return [order[bounds[k]:bounds[k + 1]] for k in range(n_steps)]


def sticky_assignment(x: Sampled, y: Sampled, gate_m: float,
                      progress: Stages | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(truth_track, track_target)``: per sample of ``x`` the index (into ``y.ids``) of the
    track holding it, per sample of ``y`` the index (into ``x.ids``) of the target it holds;
    −1 for none. ``progress`` advances by one per grid time."""
    progress = progress or silent()
    n_steps = int(max(x.step.max(initial=-1), y.step.max(initial=-1))) + 1
    truth_track = np.full(len(x.step), -1, np.int64)
    track_target = np.full(len(y.step), -1, np.int64)
    last_track = np.full(len(x.ids), -1, np.int64)       # per target: the track it held last
    owner = np.full(len(y.ids), -1, np.int64)            # per track: the target it held last
    for xs, ys in zip(_by_step(x.step, n_steps), _by_step(y.step, n_steps)):
        progress.advance()
        if not len(xs) or not len(ys):
            continue
        row_of_track = np.full(len(y.ids), -1, np.int64)
        row_of_track[y.obj[ys]] = ys
        # sticky: the target's last track, present, still its owner's, within the gate
        k = last_track[x.obj[xs]]
        r = np.where(k >= 0, row_of_track[np.maximum(k, 0)], -1)
        keep = (r >= 0) & (owner[np.maximum(k, 0)] == x.obj[xs])
        keep[keep] = np.linalg.norm(x.position[xs[keep]] - y.position[r[keep]], axis=1) < gate_m
        truth_track[xs[keep]] = k[keep]
        track_target[r[keep]] = x.obj[xs[keep]]
        # the rest: least summed distance among pairs within the gate
        free_x = xs[~keep]
        free_y = ys[track_target[ys] < 0]
        if len(free_x) and len(free_y):
            i, j, _ = optimal_pairs(x.position[free_x], np.zeros(len(free_x)),
                                    y.position[free_y], np.zeros(len(free_y)), gate_m, 1.0)
            truth_track[free_x[i]] = y.obj[free_y[j]]
            track_target[free_y[j]] = x.obj[free_x[i]]
        held = xs[truth_track[xs] >= 0]
        last_track[x.obj[held]] = truth_track[held]
        owner[truth_track[held]] = x.obj[held]
    return truth_track, track_target


def judge_identity(x: Sampled, y: Sampled, grid: np.ndarray, gate_m: float,
                   progress: Stages | None = None) -> Identity:
    """The sticky assignment of ``y`` (tracks) to ``x`` (targets) sampled on ``grid``, with
    its switches, breaks and the story of every track; ``progress`` shows the grid times
    done."""
    truth_track, track_target = sticky_assignment(x, y, gate_m, progress)
    result = Identity(truth_track, track_target)
    # targets: switches and breaks, in time order per target
    order = np.lexsort((x.step, x.obj))
    obj, step, held = x.obj[order], x.step[order], truth_track[order]
    lost = np.flatnonzero((obj[1:] == obj[:-1]) & (step[1:] == step[:-1] + 1)
                          & (held[:-1] >= 0) & (held[1:] < 0))
    result.breaks = [(float(grid[step[a + 1]]), _plain(x.ids[obj[a]]), _plain(y.ids[held[a]]))
                     for a in lost]
    a = held >= 0
    obj, step, held = obj[a], step[a], held[a]
    changed = np.flatnonzero((obj[1:] == obj[:-1]) & (held[1:] != held[:-1])) + 1
    result.switches = [(float(grid[step[c]]), _plain(x.ids[obj[c]]), _plain(y.ids[held[c - 1]]),
                        _plain(y.ids[held[c]])) for c in changed]
    result.switches.sort(key=lambda e: e[0])
    result.breaks.sort(key=lambda e: e[0])
    # tracks: held, unheld near a target (duplicate) or far from every target (false)
    near = np.full(len(y.step), -1, np.int64)          # the target an unheld sample is near
    unheld = np.flatnonzero(track_target < 0)
    if len(unheld) and len(x.step):
        gap = 4.0 * gate_m + 1.0
        tree = cKDTree(np.column_stack([x.position, x.step * gap]))
        d, nearest = tree.query(np.column_stack([y.position[unheld], y.step[unheld] * gap]),
                                distance_upper_bound=gate_m)
        close = np.isfinite(d)
        near[unheld[close]] = x.obj[nearest[close]]
    order = np.lexsort((y.step, y.obj))
    bounds = np.searchsorted(y.obj[order], np.arange(len(y.ids) + 1))
    for o in range(len(y.ids)):
        rows = order[bounds[o]:bounds[o + 1]]
        if not len(rows):
            continue
        held_rows = track_target[rows] >= 0
        n, h = len(rows), int(held_rows.sum())
        beside = near[rows][near[rows] >= 0]
        kind = "false" if h == 0 else ("mostly false" if h < 0.5 * n else "true")
        result.tracks.append(TrackLife(
            _plain(y.ids[o]), float(grid[y.step[rows[0]]]), float(grid[y.step[rows[-1]]]),
            n, h, len(beside), _ids(x.ids, track_target[rows[held_rows]]),
            _ids(x.ids, beside), kind, kind != "true" and len(beside) >= 0.5 * (n - h)))
    return result


def _ids(ids: np.ndarray, index: np.ndarray) -> list:
    """The distinct ``ids[index]``, in order of first appearance."""
    return list(dict.fromkeys(_plain(ids[i]) for i in index))


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v
