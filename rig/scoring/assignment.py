"""The optimal assignment of tracks to truth at every grid time, all times at once.

OSPA and GOSPA with cutoff ``c`` and order ``p`` are minimised by the same assignment: the
matching of truth ``i`` to track ``j`` (each used once) that maximises the sum of
``c^p − d_ij^p`` over matched pairs with ``d_ij < c``. Pairs at least ``c`` apart never help,
so the problem splits into the connected components of the graph whose edges are the pairs
closer than ``c`` (found with a k-d tree over all grid times at once: time is a fourth
coordinate, spaced wider than ``c``). A component of one target and one track is matched
directly; larger components are solved exactly with the Hungarian method
(``scipy.optimize.linear_sum_assignment``).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree


def optimal_pairs(truth_pos, truth_step, track_pos, track_step, cutoff_m: float, order: float):
    """``(truth_rows, track_rows, distance_m)`` of the optimal matching at every step."""
    n, m = len(truth_pos), len(track_pos)
    if n == 0 or m == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    gap = 4.0 * cutoff_m + 1.0
    a = np.column_stack([truth_pos, truth_step * gap])
    b = np.column_stack([track_pos, track_step * gap])
    found = cKDTree(a).sparse_distance_matrix(cKDTree(b), cutoff_m, output_type="ndarray")
    i, j = found["i"].astype(np.int64), found["j"].astype(np.int64)
    d = np.linalg.norm(truth_pos[i] - track_pos[j], axis=1)
    close = d < cutoff_m
    i, j, d = i[close], j[close], d[close]
    if not len(i):
        return i, j, d
    graph = coo_matrix((np.ones(len(i)), (i, n + j)), shape=(n + m, n + m))
    _, label = connected_components(graph, directed=False)
    n_truth = np.bincount(label[:n], minlength=label.max() + 1)
    n_track = np.bincount(label[n:], minlength=label.max() + 1)
    comp = label[i]
    simple = (n_truth[comp] == 1) & (n_track[comp] == 1)
    keep = [np.flatnonzero(simple)]
    hard = np.flatnonzero(~simple)
    if len(hard):
        hard = hard[np.argsort(comp[hard], kind="stable")]
        bounds = np.flatnonzero(np.diff(comp[hard])) + 1
        weight_all = cutoff_m**order - d**order
        for edges in np.split(hard, bounds):
            rows, ri = np.unique(i[edges], return_inverse=True)
            cols, ci = np.unique(j[edges], return_inverse=True)
            w = np.zeros((len(rows), len(cols)))
            w[ri, ci] = weight_all[edges]
            edge = np.full(w.shape, -1, np.int64)
            edge[ri, ci] = edges
            r, c = linear_sum_assignment(w, maximize=True)
            chosen = w[r, c] > 0
            keep.append(edge[r[chosen], c[chosen]])
    sel = np.concatenate(keep)
    return i[sel], j[sel], d[sel]
