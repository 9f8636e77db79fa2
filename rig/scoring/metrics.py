"""Scoring tracks against truth.

Truth and tracks are sampled on a grid of times (every ``dt_s`` from the first truth time to
the last) by their latest state, extrapolated at constant velocity (:mod:`.sampling`). At
every grid time the tracks are assigned to truth by the assignment that is optimal for OSPA
and GOSPA (:mod:`.assignment`); a truth and a track are *assigned* when that assignment pairs
them (so they are less than the cutoff ``c`` apart). Positions alone decide the assignment.
With ``X`` the targets and ``Y`` the tracks at one time, ``d`` the euclidean distance of
positions, ``d_c = min(d, c)``:

- **OSPA** (Schuhmacher, Vo & Vo 2008): with ``m = min(|X|, |Y|)``, ``n = max(|X|, |Y|)``,
  ``(1/n · (min over assignments of the m pairs Σ d_c^p + c^p·(n − m)))^(1/p)``; 0 when both
  sets are empty. A missed target or a false track costs ``c``; at most ``c``.
- **GOSPA** (Rahmathullah, García-Fernández & Svensson 2017, α = 2): ``(Σ_assigned d^p +
  c^p/2 · (missed + false))^(1/p)``, not normalised: it grows with the number of errors, and
  splits into localisation, missed and false parts.
- **Position / velocity RMSE**: root mean square of ``|p_track − p_truth|`` and
  ``|v_track − v_truth|`` over every assigned pair at every grid time.
- **Parts**: OSPA at each time splits into a localisation part and a cardinality part in
  proportion to ``Σ d^p`` and ``c^p·(n − assigned)`` (exact for p = 1, where the parts are
  ``Σ d / n`` and ``c·(n − assigned) / n``); the cardinality part splits again into missed
  and false in proportion to the missed targets and the false tracks at that time. GOSPA's
  parts are its own terms: ``Σ d^p`` of assigned pairs, and the numbers of missed targets
  and false tracks.
- **Missed targets**: targets that exist at some grid time but are never assigned.
- **Time to first track**: for each target ever assigned, its first assigned grid time minus
  its first grid time (summarised as mean, median and max).

Identity is judged on the sticky assignment of :mod:`.identity` (a target keeps its track
while it stays within ``gate_m``): **identity switches**, **track breaks**, **false tracks**
(never held), **mostly false tracks** (held at fewer than half of their times), **duplicate
tracks** (of those, the ones mostly unheld within ``gate_m`` of a target another track holds)
and **tracks per target** (tracks over targets).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rig import strict_json
from rig.errors import ConfigError, UsageError
from rig.progress import Stages, silent

from .assignment import optimal_pairs
from .defaults import DEFAULT_CUTOFF_M, DEFAULT_DT_S, DEFAULT_ORDER
from .identity import Identity, judge_identity
from .sampling import POSITION, VELOCITY, sample, typical_interval_s

#: Default oldest usable state, in typical reporting intervals of the data.
MAX_AGE_INTERVALS = 1.5
#: the most grid steps one scoring takes (a day every 0.1 s is 864,000)
MAX_GRID_STEPS = 1_000_000


def _set_pairs(truth, tracks, cutoff_m, order):
    x = np.asarray(truth, float).reshape(-1, 3)
    y = np.asarray(tracks, float).reshape(-1, 3)
    i, j, d = optimal_pairs(x, np.zeros(len(x)), y, np.zeros(len(y)), cutoff_m, order)
    return len(x), len(y), d


def ospa(truth, tracks, cutoff_m: float = DEFAULT_CUTOFF_M, order: float = DEFAULT_ORDER) -> float:
    """OSPA distance between two sets of positions ``(n, 3)`` and ``(m, 3)``."""
    n_x, n_y, d = _set_pairs(truth, tracks, cutoff_m, order)
    big = max(n_x, n_y)
    if big == 0:
        return 0.0
    return float(((np.sum(d**order) + cutoff_m**order * (big - len(d))) / big) ** (1 / order))


def gospa(truth, tracks, cutoff_m: float = DEFAULT_CUTOFF_M, order: float = DEFAULT_ORDER) -> float:
    """GOSPA distance (α = 2) between two sets of positions."""
    n_x, n_y, d = _set_pairs(truth, tracks, cutoff_m, order)
    unassigned = n_x + n_y - 2 * len(d)
    return float((np.sum(d**order) + 0.5 * cutoff_m**order * unassigned) ** (1 / order))


@dataclass
class ScoreResult:
    """Every metric of one scoring; per-grid-time series in the arrays."""

    cutoff_m: float
    order: float
    dt_s: float
    max_age_s: float
    times_s: np.ndarray
    ospa_m: np.ndarray
    gospa_m: np.ndarray
    n_truth: np.ndarray
    n_tracks: np.ndarray
    n_assigned: np.ndarray
    position_rmse_m: float
    velocity_rmse_mps: float
    targets: int
    tracks: int
    missed_targets: list = field(default_factory=list)
    time_to_first_track_s: dict = field(default_factory=dict)
    gate_m: float = DEFAULT_CUTOFF_M
    ospa_parts_m: dict = field(default_factory=dict)   # part -> (n_times,) in metres
    gospa_localisation: np.ndarray = field(default_factory=lambda: np.zeros(0))
    identity: Identity | None = None

    @property
    def false_tracks(self) -> list:
        return [t.track_id for t in self.identity.false_tracks] if self.identity else []

    @property
    def track_breaks(self) -> int:
        return len(self.identity.breaks) if self.identity else 0

    @property
    def identity_switches(self) -> int:
        return len(self.identity.switches) if self.identity else 0

    @property
    def n_missed(self) -> np.ndarray:
        return self.n_truth - self.n_assigned

    @property
    def n_false(self) -> np.ndarray:
        return self.n_tracks - self.n_assigned

    def summary(self) -> dict:
        ttft = np.array(list(self.time_to_first_track_s.values()), float)
        ident = self.identity

        def stat(values, fn):
            return float(fn(values)) if len(values) else None

        return {
            "cutoff_m": self.cutoff_m, "order": self.order, "dt_s": self.dt_s,
            "max_age_s": self.max_age_s, "gate_m": self.gate_m, "grid_times": int(len(self.times_s)),
            "ospa_mean_m": stat(self.ospa_m, np.mean),
            "ospa_p95_m": stat(self.ospa_m, lambda v: np.percentile(v, 95)),
            "gospa_mean_m": stat(self.gospa_m, np.mean),
            "position_rmse_m": self.position_rmse_m,
            "velocity_rmse_mps": self.velocity_rmse_mps,
            "targets": self.targets, "tracks": self.tracks,
            "ospa_localisation_m": stat(self.ospa_parts_m.get("localisation", []), np.mean),
            "ospa_missed_m": stat(self.ospa_parts_m.get("missed", []), np.mean),
            "ospa_false_m": stat(self.ospa_parts_m.get("false", []), np.mean),
            "gospa_localisation_mean": stat(self.gospa_localisation, np.mean),
            "missed_targets": len(self.missed_targets), "false_tracks": len(self.false_tracks),
            "mostly_false_tracks": len(ident.mostly_false_tracks) if ident else 0,
            "duplicate_tracks": len(ident.duplicate_tracks) if ident else 0,
            "tracks_per_target": self.tracks / self.targets if self.targets else None,
            "coverage": (float(self.n_assigned.sum() / self.n_truth.sum())
                         if self.n_truth.sum() else None),
            "missed_per_time_mean": stat(self.n_missed, np.mean),
            "false_per_time_mean": stat(self.n_false, np.mean),
            "track_breaks": self.track_breaks, "identity_switches": self.identity_switches,
            "time_to_first_track_mean_s": stat(ttft, np.mean),
            "time_to_first_track_median_s": stat(ttft, np.median),
            "time_to_first_track_max_s": stat(ttft, np.max),
        }

    def to_json(self, *, series: bool = False) -> dict:
        """The summary; with ``series`` also the per-time arrays and the id lists."""
        out = self.summary()
        if series:
            out["series"] = {
                "t": self.times_s.tolist(), "ospa_m": self.ospa_m.tolist(),
                "gospa_m": self.gospa_m.tolist(), "n_truth": self.n_truth.tolist(),
                "n_tracks": self.n_tracks.tolist(), "n_assigned": self.n_assigned.tolist()}
            out["missed_target_ids"] = [_plain(x) for x in self.missed_targets]
            out["false_track_ids"] = [_plain(x) for x in self.false_tracks]
            out["time_to_first_track_by_target_s"] = {
                str(_plain(k)): v for k, v in self.time_to_first_track_s.items()}
            out.update(self.explain())
        return out

    def explain(self) -> dict:
        """Every track that was not a clean one-target track, and every switch and break."""
        ident = self.identity
        if ident is None:
            return {"tracks_explained": [], "switches": [], "breaks": []}
        return {
            "tracks_explained": [t.as_dict() for t in ident.tracks
                                 if t.kind != "true" or len(t.targets) > 1],
            "switches": [dict(zip(("t", "target_id", "from_track", "to_track"), e))
                         for e in ident.switches],
            "breaks": [dict(zip(("t", "target_id", "track_id"), e)) for e in ident.breaks]}

    def dumps(self, **kw) -> str:
        return strict_json.dumps(self.to_json(**kw))


def _plain(x):
    return x.item() if isinstance(x, np.generic) else x


def _clean(df: pd.DataFrame, id_column: str, what: str) -> pd.DataFrame:
    columns = ["t", id_column, *POSITION, *VELOCITY]
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ConfigError("missing column", file=what, key=missing[0],
                          expected="columns " + ", ".join(columns))
    out = df[columns].copy()
    for c in ["t", *POSITION, *VELOCITY]:
        out[c] = pd.to_numeric(out[c], errors="coerce")
    ok = np.isfinite(out[["t", *POSITION]].to_numpy(float)).all(axis=1)
    return out[ok & out[id_column].notna().to_numpy()]


def score(truth: pd.DataFrame, tracks: pd.DataFrame, *, cutoff_m: float = DEFAULT_CUTOFF_M,
          order: float = DEFAULT_ORDER, dt_s: float = DEFAULT_DT_S,
          max_age_s: float | None = None, t_start_s: float | None = None,
          t_end_s: float | None = None, gate_m: float | None = None,
          progress: Stages | None = None) -> ScoreResult:
    """Score ``tracks`` (columns of ``tracks.csv``) against ``truth`` (of ``truth.csv``).

    ``max_age_s``: how old a track's latest state may be and still count (default 1.5 of the
    tracks' typical output interval, at least ``dt_s``). The grid runs every ``dt_s`` from
    ``t_start_s`` to ``t_end_s`` (default: the truth's first and last times). ``gate_m``:
    how far a track may be from the target it holds for identity (default ``cutoff_m``).
    ``progress`` shows the stages.
    """
    progress = progress or silent()
    if not (cutoff_m > 0 and np.isfinite(cutoff_m)):
        raise UsageError(f"the cutoff must be a positive number of metres, not {cutoff_m}")
    if not order >= 1:
        raise UsageError(f"the order must be at least 1, not {order}")
    if not dt_s > 0:
        raise UsageError(f"the grid step must be positive, not {dt_s}")
    gate_m = cutoff_m if gate_m is None else gate_m
    if not (gate_m > 0 and np.isfinite(gate_m)):
        raise UsageError(f"the identity gate must be a positive number of metres, not {gate_m}")
    truth = _clean(truth, "target_id", "truth")
    tracks = _clean(tracks, "track_id", "tracks")
    times = (truth if len(truth) else tracks)["t"].to_numpy(float)
    t0 = t_start_s if t_start_s is not None else (times.min() if len(times) else 0.0)
    t1 = t_end_s if t_end_s is not None else (times.max() if len(times) else t0)
    n_grid = int(np.floor((t1 - t0) / dt_s + 1e-9)) + 1 if len(times) else 0
    if n_grid > MAX_GRID_STEPS:
        raise UsageError(f"a grid every {dt_s:g} s from {t0:g} s to {t1:g} s would have "
                         f"{n_grid:,} steps, more than {MAX_GRID_STEPS:,}: give a larger --dt, "
                         f"or look for {'truth' if len(truth) else 'track'} rows whose times "
                         f"stray far from the others")
    grid = t0 + dt_s * np.arange(max(n_grid, 0))
    truth_age = MAX_AGE_INTERVALS * np.nan_to_num(typical_interval_s(truth["t"]), nan=dt_s)
    if max_age_s is None:
        max_age_s = max(dt_s, MAX_AGE_INTERVALS * np.nan_to_num(
            typical_interval_s(tracks["t"]), nan=dt_s))
    progress.stage("sampling truth and tracks")
    x = sample(truth, "target_id", grid, max(truth_age, 1e-6))
    y = sample(tracks, "track_id", grid, max_age_s)

    progress.stage("assigning tracks to truth")
    i, j, d = optimal_pairs(x.position, x.step, y.position, y.step, cutoff_m, order)
    n_steps = len(grid)
    n_truth = np.bincount(x.step, minlength=n_steps)
    n_tracks = np.bincount(y.step, minlength=n_steps)
    n_assigned = np.bincount(x.step[i], minlength=n_steps)
    loc = np.bincount(x.step[i], weights=d**order, minlength=n_steps)
    big = np.maximum(n_truth, n_tracks)
    c_p = cutoff_m**order
    with np.errstate(invalid="ignore", divide="ignore"):
        ospa_m = np.where(big > 0, ((loc + c_p * (big - n_assigned)) / big) ** (1 / order), 0.0)
    gospa_m = (loc + 0.5 * c_p * (n_truth + n_tracks - 2 * n_assigned)) ** (1 / order)

    dv = y.velocity[j] - x.velocity[i]
    pos_rmse = float(np.sqrt(np.mean(d**2))) if len(d) else float("nan")
    vel_rmse = float(np.sqrt(np.mean(np.sum(dv**2, axis=1)))) if len(d) else float("nan")

    parts = _ospa_parts(ospa_m, loc, c_p * (big - n_assigned), n_truth - n_assigned,
                        n_tracks - n_assigned)
    seen_truth = np.unique(x.obj)
    assigned_truth = np.unique(x.obj[i])
    first_step = np.full(len(x.ids), np.iinfo(np.int64).max)
    np.minimum.at(first_step, x.obj, x.step)
    first_assigned = np.full(len(x.ids), np.iinfo(np.int64).max)
    np.minimum.at(first_assigned, x.obj[i], x.step[i])
    ttft = {_plain(x.ids[o]): float((first_assigned[o] - first_step[o]) * dt_s)
            for o in assigned_truth}
    progress.stage("judging identity", total=len(grid), unit="grid times")
    identity = judge_identity(x, y, grid, gate_m, progress)
    return ScoreResult(
        cutoff_m=float(cutoff_m), order=float(order), dt_s=float(dt_s),
        max_age_s=float(max_age_s), times_s=grid, ospa_m=ospa_m, gospa_m=gospa_m,
        n_truth=n_truth, n_tracks=n_tracks, n_assigned=n_assigned,
        position_rmse_m=pos_rmse, velocity_rmse_mps=vel_rmse,
        targets=int(len(seen_truth)), tracks=int(len(np.unique(y.obj))),
        missed_targets=[_plain(v) for v in x.ids[np.setdiff1d(seen_truth, assigned_truth)]],
        time_to_first_track_s=ttft, gate_m=float(gate_m), ospa_parts_m=parts,
        gospa_localisation=loc, identity=identity)


def _ospa_parts(ospa_m, loc, card, missed, false) -> dict:
    """OSPA at each time split in proportion to its terms (see the module's docstring)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        total = loc + card
        share_loc = np.where(total > 0, loc / total, 0.0)
        share_missed = np.where(missed + false > 0, missed / (missed + false), 0.0)
    card_m = ospa_m * (1.0 - share_loc)
    return {"localisation": ospa_m * share_loc, "missed": card_m * share_missed,
            "false": card_m * (1.0 - share_missed)}
