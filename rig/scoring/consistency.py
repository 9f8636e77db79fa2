"""Filter consistency against the truth: normalised estimation error squared (NEES).

For a consistent filter the position NEES ``eᵀ P⁻¹ e`` of a track (error ``e`` against its
target, ``P`` the track's position covariance) is chi-square with 3 degrees of freedom: its
mean per degree of freedom is 1, larger when the covariance claims more than the filter
knows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def position_nees(truth: pd.DataFrame, tracks: np.ndarray, gate_m: float = 500.0) -> np.ndarray:
    """Position NEES of every track (a TRACK_DTYPE array, with covariances) at every one of
    its times where ``truth`` (rows of truth.csv) has a row, against the target nearest it if
    that is within ``gate_m``."""
    out = []
    t_truth = truth["t"].to_numpy(float)
    p_all = truth[["east_m", "north_m", "up_m"]].to_numpy(float)
    for t in np.unique(tracks["t"]):
        now = np.isclose(t_truth, t)
        if not now.any():
            continue
        rows = tracks[tracks["t"] == t]
        est = np.stack([rows["east"], rows["north"], rows["up"]], 1)
        err = est[:, None, :] - p_all[now][None, :, :]
        nearest = np.argmin(np.linalg.norm(err, axis=2), axis=1)
        e = err[np.arange(len(rows)), nearest]
        near = np.linalg.norm(e, axis=1) < gate_m
        out += [x @ np.linalg.solve(c, x) for x, c in zip(e[near],
                                                          rows["covariance"][near, :3, :3])]
    return np.array(out)
