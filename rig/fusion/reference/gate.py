"""NumPy twin of ``ext/fusion_gate.pyx`` (``rig._ext.fusion_gate``): the same kernels
with the same arguments and results (to rounding), the equations written out. The
conventions of the arrays are in :mod:`rig.fusion.reference`."""

from __future__ import annotations

import numpy as np

from rig.fusion.models import N_MODELS, combine, imm_predict
from rig.fusion.reference.maths import chol_terms, dims, innovation

__all__ = ("moments", "gate")


def moments(x, P, mu, n):
    """Of the first ``n`` tracks: mixture position and velocity ``Σ μ_j x_j`` (n,3) each, and
    ``sqrt(Σ μ_j tr P_j)`` of the position and of the velocity block (n,) each (pre-gate)."""
    xc = np.einsum("nk,nkd->nd", mu[:n], x[:n])
    return (np.ascontiguousarray(xc[:, :3]), np.ascontiguousarray(xc[:, 3:]),
            np.sqrt(np.einsum("nk,nkii->n", mu[:n], P[:n, :, :3, :3])),
            np.sqrt(np.einsum("nk,nkii->n", mu[:n], P[:n, :, 3:, 3:])))


def gate(x, P, mu, t_trk, rows, pos0, vel0, sig_pos, sig_vel, z, t_plot, sensor, p_plot,
         radius_plot, R_diag, var_clock, M, t_site, model, gate_d2, model_gate_weight):
    """Candidate (plot, track) pairs: ``(plot, track, d², cost)`` in plot-major order, ``d²``
    against the IMM's moment-matched prediction. ``gate_d2 = (gate for 2-vector (angle-only),
    3-vector and 4-vector plots)``.

    A pair is inside the gate if the moment-matched prediction, or the prediction of any
    model whose predicted probability c̄_j is at least ``model_gate_weight``, puts the plot
    within ``gate_d2`` (a climbing missile's plot that the aircraft models cannot reach is
    still the ballistic model's); its cost is the IMM's −2 log likelihood,
    ``−2 log Σ_j c̄_j N(ν_j; 0, S_j)`` without the constant (each model's own innovation).

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
            g = gate_d2[dims(z[i]) - 2]
            try:
                nu, S, _ = innovation(xc, Pc, z[i], R_diag[i], var_clock[i], M[s], t_site[s])
                d2, logdet, _ = chol_terms(S, nu)
            except np.linalg.LinAlgError:
                continue
            inside = d2 <= g
            ll = []
            for j in range(N_MODELS):
                try:
                    nu_j, S_j, _ = innovation(xp[j], Pp[j], z[i], R_diag[i], var_clock[i], M[s],
                                              t_site[s])
                    d2_j, logdet_j, _ = chol_terms(S_j, nu_j)
                except np.linalg.LinAlgError:
                    continue
                if not cbar[j] > 0:
                    continue
                ll.append(np.log(cbar[j]) - 0.5 * (d2_j + logdet_j))
                inside |= bool(cbar[j] >= model_gate_weight and d2_j <= g)
            if inside:
                cost = -2.0 * float(np.logaddexp.reduce(ll)) if ll else d2 + logdet
                out.append((i, k, d2, cost))
    if not out:
        return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
    a = np.array(out)
    return a[:, 0].astype(np.int64), a[:, 1].astype(np.int64), a[:, 2], a[:, 3]

