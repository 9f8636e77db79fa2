"""NumPy reference of every kernel in ``ext/fusion_kernels.pyx``: same arguments, same
results (to rounding). Slow and plain on purpose; the tests hold the compiled kernels to it.

Track arrays (``N`` rows): ``x (N,K,6)``, ``P (N,K,6,6)``, ``mu (N,K)``, ``t (N,)``. Plot
arrays (``n`` rows): ``z (n,3)`` registered (range, az, el), ``t (n,)`` registered time,
``sensor (n,)``, ``R_diag (n,3)`` measurement variances including registration
uncertainty, ``var_clock (n,)`` variance of the clock correction (s²). Plots are 4-vectors
``(range, az, el, range rate)`` with range rate NaN where the sensor does not measure it; such
a plot is a 3-vector measurement (``dims``), and the 4th entries of the outputs are 0.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_triangular

from rig.fusion.models import LOG_2PI, N_MODELS, combine, imm_predict, measure, wrap_pi


def _chol_terms(S, nu):
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


def gate(x, P, mu, t_trk, rows, pos0, vel0, sig_pos, sig_vel, z, t_plot, sensor, p_plot,
         radius_plot, R_diag, var_clock, M, t_site, model, gate_d2):
    """Candidate (plot, track) pairs: ``(plot, track, d², cost)`` with ``cost = d² + log det S``
    (−2 log likelihood up to a constant), in plot-major order. ``gate_d2 = (gate for 3-vector
    plots, gate for 4-vector plots)``.

    A pair is tried only if the track's straight-line position at the plot time lies within
    ``radius_plot + 4 σ(t) + 15 dt²`` of the plot's Cartesian position (pre-gate), where
    ``σ(t)² = sig_pos² + dt² sig_vel²``.
    """
    out = []
    for i in range(len(z)):
        s = sensor[i]
        for k in rows:
            dt = t_plot[i] - t_trk[k]
            d = pos0[k] + vel0[k] * dt - p_plot[i]
            lim = radius_plot[i] + 4.0 * np.sqrt(sig_pos[k] ** 2 + dt * dt * sig_vel[k] ** 2) \
                + 15.0 * dt * dt
            if d @ d > lim * lim:
                continue
            xp, Pp, cbar = imm_predict(x[k], P[k], mu[k], dt, model)
            xc, Pc = combine(xp, Pp, cbar)
            nu, S, _ = innovation(xc, Pc, z[i], R_diag[i], var_clock[i], M[s], t_site[s])
            d2, logdet, _ = _chol_terms(S, nu)
            if d2 <= gate_d2[dims(z[i]) - 3]:
                out.append((i, k, d2, d2 + logdet))
    if not out:
        return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
    a = np.array(out)
    return a[:, 0].astype(np.int64), a[:, 1].astype(np.int64), a[:, 2], a[:, 3]


def ekf_update(x, P, z, R_diag, var_clock, M, t_site):
    """One EKF update in polar space; returns ``(x⁺, P⁺, log likelihood)``.

    S = H P Hᵀ + R;  K = P Hᵀ S⁻¹ (Cholesky solve);  x⁺ = x + K ν;
    P⁺ = (I − K H) P (I − K H)ᵀ + K R Kᵀ  (Joseph form: stays symmetric positive definite).
    """
    m = dims(z)
    zhat, H, zdot = measure(x, M, t_site, m)
    nu = z[:m] - zhat
    nu[1] = wrap_pi(nu[1])
    R = np.diag(R_diag[:m]) + var_clock * np.outer(zdot, zdot)
    S = H @ P @ H.T + R
    d2, logdet, L = _chol_terms(S, nu)
    PHt = P @ H.T
    K = solve_triangular(L.T, solve_triangular(L, PHt.T, lower=True), lower=False).T
    A = np.eye(6) - K @ H
    Pn = A @ P @ A.T + K @ R @ K.T
    Pn = 0.5 * (Pn + Pn.T)
    return x + K @ nu, Pn, -0.5 * (d2 + logdet + m * LOG_2PI)


def update(x, P, mu, t_trk, pair_plot, pair_track, z, t_plot, sensor, R_diag, var_clock, M,
           t_site, model):
    """IMM-EKF update of each track with its plot, in place. Returns per pair the combined
    prediction's ``(ν (n,4), S (n,4,4), ż (n,4), d² (n,))`` and ``ok (n,)``: 0 where the
    innovation covariance was not positive definite and the track was left as it was (a
    model whose own update fails keeps its prediction and has likelihood 0).

    μ_j ∝ Λ_j c̄_j;  x = Σ μ_j x_j⁺ (the stored state keeps every model's x_j, P_j, μ_j).
    """
    n = len(pair_plot)
    nu_out, S_out = np.zeros((n, 4)), np.zeros((n, 4, 4))
    zdot_out, d2_out = np.zeros((n, 4)), np.zeros(n)
    ok = np.zeros(n, np.uint8)
    for p in range(n):
        i, k = pair_plot[p], pair_track[p]
        s = sensor[i]
        dt = t_plot[i] - t_trk[k]
        xp, Pp, cbar = imm_predict(x[k], P[k], mu[k], dt, model)
        xc, Pc = combine(xp, Pp, cbar)
        nu, S, zdot = innovation(xc, Pc, z[i], R_diag[i], var_clock[i], M[s], t_site[s])
        try:
            d2, _, _ = _chol_terms(S, nu)
        except np.linalg.LinAlgError:
            continue
        ok[p] = 1
        m = len(nu)
        nu_out[p, :m], S_out[p, :m, :m], zdot_out[p, :m], d2_out[p] = nu, S, zdot, d2
        ll = np.empty(N_MODELS)
        for j in range(N_MODELS):
            try:
                xp[j], Pp[j], ll[j] = ekf_update(xp[j], Pp[j], z[i], R_diag[i], var_clock[i],
                                                 M[s], t_site[s])
            except np.linalg.LinAlgError:
                ll[j] = -np.inf
        x[k], P[k] = xp, Pp
        w = cbar * np.exp(ll - ll.max()) if np.isfinite(ll.max()) else cbar.copy()  # μ ∝ Λ c̄
        w = np.maximum(w / w.sum(), 1e-6)
        mu[k] = w / w.sum()
        t_trk[k] = t_plot[i]
    return nu_out, S_out, zdot_out, d2_out, ok


def predict(x, P, mu, t_trk, rows, t, model):
    """Combined IMM prediction of tracks ``rows`` to time ``t``: ``(x (m,6), P (m,6,6))``."""
    xs = np.zeros((len(rows), 6))
    Ps = np.zeros((len(rows), 6, 6))
    for a, k in enumerate(rows):
        xp, Pp, cbar = imm_predict(x[k], P[k], mu[k], t - t_trk[k], model)
        xs[a], Ps[a] = combine(xp, Pp, cbar)
    return xs, Ps


def close_pairs(xc, Pc, radius_m, d2_max):
    """Pairs ``(a, b, d²)``, ``a < b``, of states closer than ``radius_m`` in position and with
    ``d² = Δᵀ (P_a + P_b)⁻¹ Δ < d2_max`` (6 dof, Cholesky solve)."""
    out = []
    for a in range(len(xc)):
        for b in range(a + 1, len(xc)):
            dx = xc[a] - xc[b]
            if dx[:3] @ dx[:3] > radius_m * radius_m:
                continue
            d2, _, _ = _chol_terms(Pc[a] + Pc[b], dx)
            if d2 < d2_max:
                out.append((a, b, d2))
    if not out:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    o = np.array(out)
    return o[:, 0].astype(np.int64), o[:, 1].astype(np.int64), o[:, 2]


def prepare(plots, bias, bias_var, sensor_R_diag, M, t_site, coarse_gate_m):
    """Registered plots of a ``PLOT_DTYPE`` array: ``(z, t, sensor, p, radius, R_diag,
    var_clock)``; ``sensor_R_diag (S,4)`` holds each sensor's variances of range, az, el and
    range rate.

    z = (range − b_r, az − b_az, el − b_el, range rate);  t = t_sensor − b_clock;  R = σ² + var(b);
    p = M enu(z) + t_site (Cartesian, origin ENU, for the pre-gate only);
    radius = coarse_gate_m + 4 max(σ_r, r σ_az, r σ_el).
    """
    n = len(plots)
    s = plots["sensor_id"].astype(np.int64)
    b = bias[s]
    z = np.stack([plots["range_m"] - b[:, 0], plots["az_rad"] - b[:, 1],
                  plots["el_rad"] - b[:, 2], plots["range_rate_mps"]], 1) if n \
        else np.zeros((0, 4))
    t = plots["t_sensor"] - b[:, 3]
    R_diag = sensor_R_diag[s].copy()
    R_diag[:, :3] += bias_var[s, :3]
    var_clock = bias_var[s, 3].copy()
    p = np.zeros((n, 3))
    radius = np.zeros(n)
    for i in range(n):
        r, az, el = z[i, :3]
        loc = np.array([r * np.cos(el) * np.sin(az), r * np.cos(el) * np.cos(az), r * np.sin(el)])
        p[i] = M[s[i]] @ loc + t_site[s[i]]
        radius[i] = coarse_gate_m + 4.0 * max(np.sqrt(R_diag[i, 0]), r * np.sqrt(R_diag[i, 1]),
                                              r * np.sqrt(R_diag[i, 2]))
    return z, np.asarray(t, float), s, p, radius, R_diag, var_clock
