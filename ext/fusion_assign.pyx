# cython: language_level=3
"""Assignment: clusters of contested candidate pairs and the optimal assignment in each
(Kuhn-Munkres), global nearest neighbour.

Twin: :mod:`rig.fusion.reference.assign` (same arguments, the equations written out)."""

import numpy as np

from fusion_maths cimport *

check_shared_layouts()

__all__ = ("pair_clusters", "solve_cluster", "gnn")


cdef Py_ssize_t find_root(Py_ssize_t[::1] parent, Py_ssize_t a) noexcept nogil:
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = parent[a]
    return a


def pair_clusters(const long long[::1] pi, const long long[::1] ti, Py_ssize_t n_plots,
                  Py_ssize_t n_tracks):
    """Connected components of the candidate pairs, labelled in order of first appearance
    (twin pair_clusters), by union-find."""
    cdef Py_ssize_t m = pi.shape[0], p, a, b, n_labels = 0
    parent_a = np.arange(n_plots + n_tracks, dtype=np.intp)
    seen_a = np.full(n_plots + n_tracks, -1, np.int64)
    label_a = np.empty(m, np.int64)
    cdef Py_ssize_t[::1] parent = parent_a
    cdef long long[::1] seen = seen_a, label = label_a
    for p in range(m):
        if pi[p] < 0 or pi[p] >= n_plots or ti[p] < 0 or ti[p] >= n_tracks:
            raise IndexError("pair_clusters: index out of range")
    with nogil:
        for p in range(m):
            a = find_root(parent, pi[p])
            b = find_root(parent, n_plots + ti[p])
            if a != b:
                if a < b:
                    parent[b] = a
                else:
                    parent[a] = b
        for p in range(m):
            a = find_root(parent, pi[p])
            if seen[a] < 0:
                seen[a] = n_labels
                n_labels += 1
            label[p] = seen[a]
    return label_a, n_labels


cdef void hungarian(const double *a, Py_ssize_t n, Py_ssize_t m, double *u, double *v,
                    Py_ssize_t *p, Py_ssize_t *way, double *minv, char *used) noexcept nogil:
    """Minimum-cost assignment of the ``n`` rows of ``a`` (n x m, row-major, ``n <= m``) to
    distinct columns: Kuhn-Munkres with potentials, O(n² m). Work arrays of ``m + 1``
    (``u`` of ``n + 1``); on return ``p[j]`` (1-based) is the row given column ``j - 1``,
    0 for none."""
    cdef Py_ssize_t i, j, i0, j0, j1
    cdef double delta, cur
    for i in range(n + 1):
        u[i] = 0.0
    for j in range(m + 1):
        v[j] = 0.0
        p[j] = 0
        way[j] = 0
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        for j in range(m + 1):
            minv[j] = INFINITY
            used[j] = 0
        while True:
            used[j0] = 1
            i0 = p[j0]
            delta = INFINITY
            j1 = 0
            for j in range(1, m + 1):
                if not used[j]:
                    cur = a[(i0 - 1) * m + j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j] = cur
                        way[j] = j0
                    if minv[j] < delta:
                        delta = minv[j]
                        j1 = j
            for j in range(m + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1


def solve_cluster(const long long[::1] pi, const long long[::1] ti, const double[::1] cost):
    """Optimal assignment in one cluster of candidate pairs (twin solve_cluster, which
    uses scipy's linear_sum_assignment; here the Kuhn-Munkres method in C): positions of the
    chosen pairs in the cluster's list."""
    rows_a, r_inv_a = np.unique(pi, return_inverse=True)
    cols_a, c_inv_a = np.unique(ti, return_inverse=True)
    cdef Py_ssize_t nr = rows_a.shape[0], nc = cols_a.shape[0], q, e, n, m
    cdef bint flip = nr > nc
    n, m = (nc, nr) if flip else (nr, nc)
    C_a = np.full(n * m, NO_PAIR)
    lookup_a = np.full(n * m, -1, np.int64)
    cdef double[::1] C = C_a
    cdef long long[::1] lookup = lookup_a
    cdef const long long[::1] r_inv = r_inv_a.astype(np.int64), c_inv = c_inv_a.astype(np.int64)
    for q in range(pi.shape[0]):
        e = c_inv[q] * m + r_inv[q] if flip else r_inv[q] * m + c_inv[q]
        C[e] = cost[q]
        lookup[e] = q
    u_a = np.empty(n + 1)
    v_a = np.empty(m + 1)
    p_a = np.empty(m + 1, np.intp)
    way_a = np.empty(m + 1, np.intp)
    minv_a = np.empty(m + 1)
    used_a = np.empty(m + 1, np.int8)
    cdef double[::1] u = u_a, v = v_a, minv = minv_a
    cdef Py_ssize_t[::1] pp = p_a, way = way_a
    cdef signed char[::1] used = used_a
    with nogil:
        hungarian(&C[0], n, m, &u[0], &v[0], &pp[0], &way[0], &minv[0], <char *>&used[0])
    out = []
    for q in range(1, m + 1):
        if pp[q] and C[(pp[q] - 1) * m + q - 1] < NO_PAIR:
            out.append(lookup[(pp[q] - 1) * m + q - 1])
    out.sort()
    return np.array(out, np.int64)


def gnn(const long long[::1] pair_plot, const long long[::1] pair_track,
        const double[::1] cost):
    """Global nearest neighbour on candidate pairs (twin gnn). A cluster of one pair
    is kept; a cluster with one plot or one track (a star) keeps its cheapest pair (what the
    dense solve gives, ties to the first); any other goes to solve_cluster."""
    cdef Py_ssize_t m = pair_plot.shape[0], p, q, c, n_plots = 0, n_tracks = 0, best
    if cost.shape[0] != m or pair_track.shape[0] != m:
        raise ValueError("gnn: one cost per pair")
    if m < 2:
        return np.arange(m)
    cdef long long hi = 0
    for p in range(m):
        if pair_plot[p] < 0:
            raise ValueError("gnn: negative plot index")
        if pair_plot[p] > hi:
            hi = pair_plot[p]
    plot_id_a = np.full(hi + 1, -1, np.int64)
    order_a = np.argsort(pair_track, kind="stable")
    pi_a = np.empty(m, np.int64)
    ti_a = np.empty(m, np.int64)
    cdef long long[::1] plot_id = plot_id_a, pi = pi_a, ti = ti_a
    cdef const long long[::1] order = order_a
    with nogil:
        for p in range(m):                          # compact ids, in order of value
            plot_id[pair_plot[p]] = 1
        for q in range(hi + 1):
            if plot_id[q] >= 0:
                plot_id[q] = n_plots
                n_plots += 1
        for p in range(m):
            pi[p] = plot_id[pair_plot[p]]
        for q in range(m):
            if q == 0 or pair_track[order[q]] != pair_track[order[q - 1]]:
                n_tracks += 1
            ti[order[q]] = n_tracks - 1
    if n_plots == m and n_tracks == m:
        return np.arange(m)                         # no plot or track is contested
    cdef Py_ssize_t n_labels
    label_a, n_labels = pair_clusters(pi_a, ti_a, n_plots, n_tracks)
    start_a = np.zeros(n_labels + 1, np.intp)
    members_a = np.empty(m, np.intp)
    chosen_a = np.empty(m, np.int64)
    cdef const long long[::1] label = label_a
    cdef Py_ssize_t[::1] start = start_a, members = members_a
    cdef long long[::1] chosen = chosen_a
    cdef Py_ssize_t n_chosen = 0, a, b, size
    cdef bint one_plot, one_track
    general = []
    with nogil:
        for p in range(m):                          # members of each cluster, in pair order
            start[label[p] + 1] += 1
        for c in range(n_labels):
            start[c + 1] += start[c]
        for p in range(m):
            members[start[label[p]]] = p
            start[label[p]] += 1
        for c in range(n_labels - 1, -1, -1):
            start[c + 1] = start[c]
        start[0] = 0
        for c in range(n_labels):
            a = start[c]
            b = start[c + 1]
            size = b - a
            if size == 1:
                chosen[n_chosen] = members[a]
                n_chosen += 1
                continue
            one_plot = True
            one_track = True
            for q in range(a + 1, b):
                if pi[members[q]] != pi[members[a]]:
                    one_plot = False
                if ti[members[q]] != ti[members[a]]:
                    one_track = False
            if one_plot or one_track:
                best = members[a]
                for q in range(a + 1, b):
                    if cost[members[q]] < cost[best]:
                        best = members[q]
                chosen[n_chosen] = best
                n_chosen += 1
            else:
                with gil:
                    general.append(c)
    if general:
        for c in general:
            idx = members_a[start_a[c]:start_a[c + 1]]
            picked = idx[solve_cluster(pi_a[idx], ti_a[idx], np.asarray(cost)[idx])]
            chosen_a[n_chosen:n_chosen + len(picked)] = picked
            n_chosen += len(picked)
    out = chosen_a[:n_chosen]
    out.sort()
    return out
