"""NumPy twin of ``ext/fusion_assign.pyx`` (``rig._ext.fusion_assign``): the same kernels
with the same arguments and results (to rounding), the equations written out. The
conventions of the arrays are in :mod:`rig.fusion.reference`."""

from __future__ import annotations

import numpy as np

__all__ = ("pair_clusters", "solve_cluster", "gnn")


def pair_clusters(pi, ti, n_plots, n_tracks):
    """Connected components of the bipartite graph of candidate pairs (plot ``pi``, track
    ``ti``, both compact indices): a label per pair, numbered in order of first appearance,
    and the number of components."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if not len(pi):
        return np.zeros(0, np.int64), 0
    graph = coo_matrix((np.ones(len(pi)), (pi, n_plots + ti)),
                       shape=(n_plots + n_tracks,) * 2)
    _, label = connected_components(graph, directed=False)
    raw = label[pi]
    _, first = np.unique(raw, return_index=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[np.searchsorted(np.unique(raw), raw)], len(first)


#: Cost of a (plot, track) pair outside the gate in a cluster's dense cost matrix.
NO_PAIR = 1e9


def solve_cluster(pi, ti, cost):
    """Optimal assignment in one cluster of candidate pairs (compact plot and track indices
    ``pi``, ``ti``; ``cost`` per pair) by ``scipy.optimize.linear_sum_assignment`` on its
    dense cost matrix, pairs outside the gate costing ``NO_PAIR``: positions of the chosen
    pairs in the cluster's list."""
    from scipy.optimize import linear_sum_assignment

    rows, r_inv = np.unique(pi, return_inverse=True)
    cols, c_inv = np.unique(ti, return_inverse=True)
    C = np.full((len(rows), len(cols)), NO_PAIR)
    C[r_inv, c_inv] = cost
    a, b = linear_sum_assignment(C)
    ok = C[a, b] < NO_PAIR
    lookup = np.full((len(rows), len(cols)), -1, np.int64)
    lookup[r_inv, c_inv] = np.arange(len(pi))
    return lookup[a[ok], b[ok]]


def gnn(pair_plot, pair_track, cost):
    """Global nearest neighbour on candidate pairs (rig.fusion.association): positions of
    the chosen pairs, ascending, each plot and each track at most once. Every connected
    cluster of candidates is solved on its own (:func:`solve_cluster`)."""
    m = len(pair_plot)
    if m < 2:
        return np.arange(m)
    plots, pi = np.unique(pair_plot, return_inverse=True)
    tracks, ti = np.unique(pair_track, return_inverse=True)
    if len(plots) == m and len(tracks) == m:
        return np.arange(m)                            # no plot or track is contested
    label, _ = pair_clusters(pi.astype(np.int64), ti.astype(np.int64), len(plots), len(tracks))
    chosen = []
    for c in np.unique(label):
        idx = np.flatnonzero(label == c)
        chosen.append(idx if len(idx) == 1 else idx[solve_cluster(pi[idx], ti[idx], cost[idx])])
    return np.sort(np.concatenate(chosen))
