"""Helpers shared by the fusion kernels' twins (the inline maths of ``ext/fusion_maths.pxd``)."""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_triangular

from rig.fusion.models import LOG_2PI, measure, wrap_pi


def chol_terms(S, nu):
    """``(d², log det S, L)`` by Cholesky: ``S = L Lᵀ``, ``d² = |L⁻¹ ν|²``."""
    L = np.linalg.cholesky(S)
    w = solve_triangular(L, nu, lower=True)
    return float(w @ w), 2.0 * float(np.sum(np.log(np.diag(L)))), L


def dims(z) -> int:
    """Measurement size of a plot: 4 with a range rate, 3 without."""
    return 3 if np.isnan(z[3]) else 4


def innovation(xc, Pc, z, R_diag, var_clock, M, t_site):
    """``(ν, S, ż)`` of one plot against one Gaussian; ``S = H P Hᵀ + R + σ_c² ż żᵀ``."""
    m = dims(z)
    zhat, H, zdot = measure(xc, M, t_site, m)
    R_diag = R_diag[:m]
    nu = z[:m] - zhat
    nu[1] = wrap_pi(nu[1])
    S = H @ Pc @ H.T + np.diag(R_diag) + var_clock * np.outer(zdot, zdot)
    return nu, S, zdot


def ekf_update(x, P, z, R_diag, var_clock, M, t_site):
    """One EKF update in polar space, in square-root form; returns ``(x⁺, P⁺, log
    likelihood)``.

    S = H P Hᵀ + R = L Lᵀ (Cholesky);  W = P Hᵀ L⁻ᵀ;  g = L⁻¹ ν;  x⁺ = x + W g;
    P⁺ = P − W Wᵀ  (the gain is K = P Hᵀ S⁻¹ = W L⁻¹, and K S Kᵀ = W Wᵀ: only triangular
    solves, and P⁺ symmetric by construction).
    """
    m = dims(z)
    zhat, H, zdot = measure(x, M, t_site, m)
    nu = z[:m] - zhat
    nu[1] = wrap_pi(nu[1])
    R = np.diag(R_diag[:m]) + var_clock * np.outer(zdot, zdot)
    S = H @ P @ H.T + R
    d2, logdet, L = chol_terms(S, nu)
    W = solve_triangular(L, (P @ H.T).T, lower=True).T          # P Hᵀ L⁻ᵀ
    g = solve_triangular(L, nu, lower=True)
    Pn = P - W @ W.T
    Pn = 0.5 * (Pn + Pn.T)
    return x + W @ g, Pn, -0.5 * (d2 + logdet + m * LOG_2PI)
