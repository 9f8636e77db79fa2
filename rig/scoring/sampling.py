"""Truth and tracks on a common time grid.

An object (a target of ``truth.csv`` or a track of ``tracks.csv``) is sampled at a grid time
``g`` by its latest state at or before ``g``, extrapolated to ``g`` at constant velocity. It
exists at ``g`` if ``g`` lies between its first and last rows and its latest state is at most
``max_age_s`` old (longer gaps mean it was absent meanwhile).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

POSITION = ("east_m", "north_m", "up_m")
VELOCITY = ("ve", "vn", "vu")


@dataclass
class Sampled:
    """Long format: one row per (grid step, object) where the object exists."""

    ids: np.ndarray          # (n_objects,) the objects' ids
    step: np.ndarray         # (n,) grid index
    obj: np.ndarray          # (n,) index into ids
    position: np.ndarray     # (n, 3)
    velocity: np.ndarray     # (n, 3)


def typical_interval_s(t) -> float:
    """Median spacing of the distinct times (NaN if fewer than two)."""
    u = np.unique(np.asarray(t, float))
    return float(np.median(np.diff(u))) if len(u) > 1 else float("nan")


def sample(df: pd.DataFrame, id_column: str, grid: np.ndarray, max_age_s: float) -> Sampled:
    t = df["t"].to_numpy(float)
    pos = df[list(POSITION)].to_numpy(float)
    vel = np.nan_to_num(df[list(VELOCITY)].to_numpy(float))
    ids, inv = np.unique(df[id_column].to_numpy(), return_inverse=True)
    order = np.lexsort((t, inv))
    t, inv, pos, vel = t[order], inv[order], pos[order], vel[order]
    n_obj = len(ids)
    first_row = np.searchsorted(inv, np.arange(n_obj), "left")
    last_row = np.searchsorted(inv, np.arange(n_obj), "right") - 1
    if len(grid) == 0 or n_obj == 0:
        empty = np.zeros(0, np.int64)
        return Sampled(ids, empty, empty, np.zeros((0, 3)), np.zeros((0, 3)))
    eps = 1e-9 * max(1.0, float(np.abs(grid).max()))
    k0 = np.searchsorted(grid, t[first_row] - eps, "left")
    k1 = np.searchsorted(grid, t[last_row] + eps, "right")
    count = np.maximum(k1 - k0, 0)
    obj = np.repeat(np.arange(n_obj), count)
    step = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count) + k0[obj]
    g = grid[step]
    base = min(t[0] if len(t) else 0.0, grid[0]) - 1.0
    span = max(t.max() if len(t) else 0.0, grid[-1]) - base + 1.0
    key = inv * span + (t - base)
    row = np.searchsorted(key, obj * span + (g - base) + eps, "right") - 1
    row = np.clip(row, first_row[obj], last_row[obj])
    age = g - t[row]
    keep = age <= max_age_s + eps
    step, obj, row, age = step[keep], obj[keep], row[keep], age[keep]
    return Sampled(ids, step, obj, pos[row] + age[:, None] * vel[row], vel[row])
