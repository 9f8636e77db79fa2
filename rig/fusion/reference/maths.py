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


#: the components of ``z = (range, az, el, range rate)`` a plot measures: an angle-only plot
#: (no range) azimuth and elevation; otherwise range, azimuth, elevation and, with a range
#: rate, that
ANGLES, POLAR, POLAR_RATE = np.array([1, 2]), np.array([0, 1, 2]), np.array([0, 1, 2, 3])


def measured(z) -> np.ndarray:
    """Indices of the components of ``z`` the plot measures (:data:`ANGLES`, :data:`POLAR`
    or :data:`POLAR_RATE`)."""
    if np.isnan(z[0]):
        return ANGLES
    return POLAR if np.isnan(z[3]) else POLAR_RATE


def dims(z) -> int:
    """Measurement size of a plot: 2 angle-only, 3 without a range rate, 4 with one."""
    return len(measured(z))


def residual(x, M, t_site, z):
    """``(ν, H, ż)`` of the components the plot measures at ``x`` (azimuth wrapped)."""
    idx = measured(z)
    zhat, H, zdot = measure(x, M, t_site, 4 if len(idx) == 4 else 3)
    nu = z[idx] - zhat[idx]
    az = 0 if idx[0] == 1 else 1
    nu[az] = wrap_pi(nu[az])
    return nu, H[idx], zdot[idx]


def innovation(xc, Pc, z, R_diag, var_clock, M, t_site):
    """``(ν, S, ż)`` of one plot against one Gaussian; ``S = H P Hᵀ + R + σ_c² ż żᵀ``."""
    nu, H, zdot = residual(xc, M, t_site, z)
    S = H @ Pc @ H.T + np.diag(R_diag[measured(z)]) + var_clock * np.outer(zdot, zdot)
    return nu, S, zdot


def ekf_update(x, P, z, R_diag, var_clock, M, t_site):
    """One EKF update in polar space, in square-root form; returns ``(x⁺, P⁺, log
    likelihood)``.

    S = H P Hᵀ + R = L Lᵀ (Cholesky);  W = P Hᵀ L⁻ᵀ;  g = L⁻¹ ν;  x⁺ = x + W g;
    P⁺ = P − W Wᵀ  (the gain is K = P Hᵀ S⁻¹ = W L⁻¹, and K S Kᵀ = W Wᵀ: only triangular
    solves, and P⁺ symmetric by construction).
    """
    nu, H, zdot = residual(x, M, t_site, z)
    m = len(nu)
    R = np.diag(R_diag[measured(z)]) + var_clock * np.outer(zdot, zdot)
    S = H @ P @ H.T + R
    d2, logdet, L = chol_terms(S, nu)
    W = solve_triangular(L, (P @ H.T).T, lower=True).T          # P Hᵀ L⁻ᵀ
    g = solve_triangular(L, nu, lower=True)
    Pn = P - W @ W.T
    Pn = 0.5 * (Pn + Pn.T)
    return x + W @ g, Pn, -0.5 * (d2 + logdet + m * LOG_2PI)
