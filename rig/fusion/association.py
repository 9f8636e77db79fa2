"""Global nearest neighbour assignment of one sensor's plots to tracks.

Candidate pairs come from the gate (each with cost −2 log likelihood). The bipartite graph of
candidates splits into connected clusters (union-find); a cluster of one plot and one track
is assigned directly, a cluster of one plot or one track takes its cheapest pair, every other
cluster is solved by ``scipy.optimize.linear_sum_assignment`` on its dense cost matrix (pairs
outside the gate cost ``NO_PAIR`` of :mod:`rig.fusion.reference.assign` and are never kept).
This is the same assignment as one 2-D assignment over the whole batch, at a fraction of its
cost.
"""

from __future__ import annotations

import numpy as np

from rig.fusion import kernels as fusion_kernels


def assign(pair_plot: np.ndarray, pair_track: np.ndarray, cost: np.ndarray, *,
           kernels=None):
    """Chosen ``(plot, track)`` pairs, each plot and each track at most once, in the order
    of the candidates (plot-major); ``kernels``: the fusion kernels (``gnn``),
    :func:`rig.fusion.kernels.default` when not given."""
    if len(pair_plot) < 2:
        return pair_plot, pair_track
    sel = (kernels or fusion_kernels.default()).gnn(pair_plot, pair_track, cost)
    if len(sel) == len(pair_plot):
        return pair_plot, pair_track
    return pair_plot[sel], pair_track[sel]
