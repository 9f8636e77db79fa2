"""NumPy twin of ``ext/fusion_register.pyx`` (``rig._ext.fusion_register``): the same kernels
with the same arguments and results (to rounding), the equations written out. The
conventions of the arrays are in :mod:`rig.fusion.reference`."""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_triangular

from rig.fusion.models import enu_jacobian
from rig.fusion.reference.maths import chol_terms
from rig.records import TRACK_STATUS_CONFIRMED

__all__ = ("registration_pairs", "registration_terms", "registration_step")


def registration_pairs(st, pair_plot, pair_track, z, t_plot, sensor, bias, min_updates,
                       max_dt_s, out, start):
    """Plot pairs for registration, taken before the window's updates: each pair's plot of
    sensor s on a confirmed track with at least ``min_updates`` updates and the last plot of
    every other sensor r on that track within ``max_dt_s`` (both plots with a range: a
    passive sensor's bearings do not pair), in pair-major, r-ascending order,
    written into rows ``start …`` of ``out = (s, r, z_s (·,3), z_r (·,3), t_s, t_r, v (·,3),
    P_v (·,3,3))``: the plots and times as measured (registered ones plus ``bias``) and the
    track's mixture velocity and its covariance ``Σ μ_j P_j,vv``. Returns the row after the
    last; if ``out`` is too short, writes nothing and returns the row count it needs."""
    sensor_p = sensor[pair_plot]
    good = ((st.status[pair_track] == TRACK_STATUS_CONFIRMED)
            & (st.n_updates[pair_track] >= min_updates) & ~np.isnan(z[pair_plot, 0]))
    with np.errstate(invalid="ignore"):
        near = np.abs(t_plot[pair_plot][:, None] - st.sensor_t_last[pair_track]) <= max_dt_s
    near &= ~np.isnan(st.sensor_z_raw[pair_track, :, 0])
    near[np.arange(len(sensor_p)), sensor_p] = False
    i, r = np.nonzero(near & good[:, None])
    end = start + len(i)
    if end > len(out[0]):
        return end
    k = pair_track[i]
    mu = st.mu[k]
    z_raw = z[pair_plot, :3] + bias[sensor_p, :3]
    t_raw = t_plot[pair_plot] + bias[sensor_p, 3]
    pairs = (sensor_p[i], r, z_raw[i], st.sensor_z_raw[k, r], t_raw[i], st.sensor_t_raw[k, r],
             np.einsum("mk,mkd->md", mu, st.x[k, :, 3:]),
             np.einsum("mk,mkij->mij", mu, st.P[k, :, 3:, 3:]))
    for o, a in zip(out, pairs):
        o[start:end] = a
    return end


def registration_terms(s, r, z_s, z_r, t_s, t_r, v, P_v, b, P, M, t_site, R_diag, accel_mps2,
                       gate_d2):
    """Information from plot pairs for rig.fusion.registration (its docstring has the model):
    ``(Y (4S,4S), η (4S,), ok (m,))`` with ``Y = Σ Hᵀ N⁻¹ H``, ``η = Σ Hᵀ N⁻¹ (H b − y)``
    over the pairs whose ``d² = yᵀ (N + H P Hᵀ)⁻¹ y < gate_d2`` (``ok``; a pair whose
    covariance is not positive definite is left out)."""
    S = len(b)
    Y, eta = np.zeros((4 * S, 4 * S)), np.zeros(4 * S)
    ok = np.zeros(len(s), np.uint8)
    bv = b.ravel()
    for p in range(len(s)):
        J_s, l_s = enu_jacobian((z_s[p] - b[s[p], :3])[None])
        J_r, l_r = enu_jacobian((z_r[p] - b[r[p], :3])[None])
        A_s, A_r = M[s[p]] @ J_s[0], M[r[p]] @ J_r[0]
        dt = (t_s[p] - b[s[p], 3]) - (t_r[p] - b[r[p], 3])
        y = (M[s[p]] @ l_s[0] + t_site[s[p]]) - (M[r[p]] @ l_r[0] + t_site[r[p]]) - v[p] * dt
        H = np.zeros((3, 4 * S))
        H[:, 4 * s[p]:4 * s[p] + 3] = -A_s                    # H_s = [−A_s | v]
        H[:, 4 * s[p] + 3] = v[p]
        H[:, 4 * r[p]:4 * r[p] + 3] = A_r                     # H_r = [A_r | −v]
        H[:, 4 * r[p] + 3] = -v[p]
        N = ((A_s * R_diag[s[p]]) @ A_s.T + (A_r * R_diag[r[p]]) @ A_r.T + dt * dt * P_v[p]
             + (0.5 * accel_mps2 * dt * dt) ** 2 * np.eye(3))
        try:
            d2, _, _ = chol_terms(N + H @ P @ H.T, y)
            if not d2 < gate_d2:
                continue
            L = np.linalg.cholesky(N)
        except np.linalg.LinAlgError:
            continue
        W = solve_triangular(L.T, solve_triangular(L, H, lower=True), lower=False)  # N⁻¹ H
        Y += H.T @ W
        eta += W.T @ (H @ bv - y)
        ok[p] = 1
    return Y, eta, ok


def registration_step(P, Y, eta, b, gauge):
    """The registration's update from its information ``(Y, η)`` (rig.fusion.registration):
    ``A = I + P Y``, ``b⁺ = Π (b + A⁻¹ P (η − Y b))``, ``P⁺ = sym(Π A⁻¹ P Πᵀ)`` with the
    gauge ``Π`` that holds the unobservable common modes at zero. Returns ``(b⁺ (S,4),
    P⁺)``; raises ``numpy.linalg.LinAlgError`` if ``A`` is singular."""
    n = len(P)
    bv = b.ravel()
    A = np.eye(n) + P @ Y                                     # A = I + P Y
    bv = bv + np.linalg.solve(A, P @ (eta - Y @ bv))
    Pn = np.linalg.solve(A, P)                                # P⁺ = A⁻¹ P
    Pn = gauge @ Pn @ gauge.T                                 # the unobservable common modes
    return (gauge @ bv).reshape(b.shape), 0.5 * (Pn + Pn.T)

