"""Global nearest neighbour assignment of one sensor's plots to tracks.

Candidate pairs come from the gate (each with cost −2 log likelihood). The bipartite graph of
candidates splits into connected clusters; a cluster of one plot and one track is assigned
directly, every larger cluster is solved by ``scipy.optimize.linear_sum_assignment`` on its
dense cost matrix (pairs outside the gate cost ``NO_PAIR`` and are never kept). This is the
same assignment as one 2-D assignment over the whole batch, at a fraction of its cost.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

NO_PAIR = 1e9


def assign(pair_plot: np.ndarray, pair_track: np.ndarray, cost: np.ndarray):
    """Chosen ``(plot, track)`` pairs, each plot and each track at most once, in the order
    of the candidates (plot-major)."""
    if len(pair_plot) == 0:
        return pair_plot, pair_track
    if (len(np.unique(pair_plot)) == len(pair_plot)
            and len(np.unique(pair_track)) == len(pair_track)):
        return pair_plot, pair_track                   # no plot or track is contested
    plots, pi = np.unique(pair_plot, return_inverse=True)
    tracks, ti = np.unique(pair_track, return_inverse=True)
    n_p = len(plots)
    graph = coo_matrix((np.ones(len(pi)), (pi, n_p + ti)), shape=(n_p + len(tracks),) * 2)
    _, label = connected_components(graph, directed=False)
    pair_label = label[pi]
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
