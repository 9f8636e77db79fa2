"""Global nearest neighbour assignment of one sensor's plots to tracks.

Candidate pairs come from the gate (each with cost −2 log likelihood). The bipartite graph of
candidates splits into connected clusters (union-find, ``pair_clusters``); a cluster of one plot and one track is assigned
directly, every larger cluster is solved by ``scipy.optimize.linear_sum_assignment`` on its
dense cost matrix (pairs outside the gate cost ``NO_PAIR`` and are never kept). This is the
same assignment as one 2-D assignment over the whole batch, at a fraction of its cost.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from rig.fusion import kernels_ref

NO_PAIR = 1e9


def assign(pair_plot: np.ndarray, pair_track: np.ndarray, cost: np.ndarray, *,
           clusters=None):
    """Chosen ``(plot, track)`` pairs, each plot and each track at most once, in the order
    of the candidates (plot-major). ``clusters``: the connected-components kernel
    (``pair_clusters`` of the fusion kernels; the NumPy reference's by default)."""
    if len(pair_plot) < 2:
        return pair_plot, pair_track
    plots, pi = np.unique(pair_plot, return_inverse=True)
    tracks, ti = np.unique(pair_track, return_inverse=True)
    if len(plots) == len(pair_plot) and len(tracks) == len(pair_track):
        return pair_plot, pair_track                   # no plot or track is contested
    clusters = clusters or kernels_ref.pair_clusters
    pair_label, _ = clusters(pi.astype(np.int64), ti.astype(np.int64), len(plots), len(tracks))
    size = np.bincount(pair_label)
    single = size[pair_label] == 1
    chosen = [np.flatnonzero(single)]
    for c in np.unique(pair_label[~single]):
        idx = np.flatnonzero(pair_label == c)
        rows, r_inv = np.unique(pi[idx], return_inverse=True)
        cols, c_inv = np.unique(ti[idx], return_inverse=True)
        C = np.full((len(rows), len(cols)), NO_PAIR)
        C[r_inv, c_inv] = cost[idx]
        a, b = linear_sum_assignment(C)
        ok = C[a, b] < NO_PAIR
        lookup = np.full((len(rows), len(cols)), -1, np.int64)
        lookup[r_inv, c_inv] = idx
        chosen.append(lookup[a[ok], b[ok]])
    sel = np.sort(np.concatenate(chosen))
    return pair_plot[sel], pair_track[sel]
