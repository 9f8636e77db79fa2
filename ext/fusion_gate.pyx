# cython: language_level=3
"""Gating: the IMM mixture moments of the tracks and the candidate (plot, track) pairs
with their costs.

Twin: :mod:`rig.fusion.reference.gate` (same arguments, the equations written out)."""

import numpy as np

from fusion_maths cimport *

check_shared_layouts()

__all__ = ("moments", "gate")


def moments(const double[:, :, ::1] x, const double[:, :, :, ::1] P, const double[:, ::1] mu,
            Py_ssize_t n):
    """Mixture position and velocity and position and velocity sigmas of the first ``n``
    tracks (twin moments)."""
    pos_a = np.empty((n, 3))
    vel_a = np.empty((n, 3))
    sp_a = np.empty(n)
    sv_a = np.empty(n)
    cdef double[:, ::1] pos = pos_a, vel = vel_a
    cdef double[::1] sp = sp_a, sv = sv_a
    cdef Py_ssize_t k
    cdef int j, a
    cdef double vp, vv
    with nogil:
        for k in range(n):
            for a in range(3):
                pos[k, a] = 0.0
                vel[k, a] = 0.0
            vp = 0.0
            vv = 0.0
            for j in range(K):
                for a in range(3):
                    pos[k, a] += mu[k, j] * x[k, j, a]
                    vel[k, a] += mu[k, j] * x[k, j, 3 + a]
                vp = vp + mu[k, j] * (P[k, j, 0, 0] + P[k, j, 1, 1] + P[k, j, 2, 2])
                vv = vv + mu[k, j] * (P[k, j, 3, 3] + P[k, j, 4, 4] + P[k, j, 5, 5])
            sp[k] = sqrt(vp)
            sv[k] = sqrt(vv)
    return pos_a, vel_a, sp_a, sv_a


def gate(const double[:, :, ::1] x, const double[:, :, :, ::1] P, const double[:, ::1] mu,
         const double[::1] t_trk, const long long[::1] rows, const double[:, ::1] pos0,
         const double[:, ::1] vel0, const double[::1] sig_pos, const double[::1] sig_vel,
         const double[:, ::1] z, const double[::1] t_plot, const long long[::1] sensor,
         const double[:, ::1] p_plot, const double[::1] radius_plot,
         const double[:, ::1] R_diag, const double[::1] var_clock,
         const double[:, :, ::1] M, const double[:, ::1] t_site, const double[::1] model,
         const double[::1] gate_d2, double model_gate_weight):
    """Candidate (plot, track) pairs ``(plot, track, d², cost)``; ``gate_d2`` for 2-, 3- and
    4-vector plots (twin gate)."""
    cdef Py_ssize_t n = z.shape[0], m = rows.shape[0]
    cdef Py_ssize_t cap = 64 + 4 * n
    cdef Py_ssize_t count = 0
    while True:
        pi_a = np.empty(cap, np.int64)
        pk_a = np.empty(cap, np.int64)
        d2_a = np.empty(cap)
        cost_a = np.empty(cap)
        count = _gate(x, P, mu, t_trk, rows, pos0, vel0, sig_pos, sig_vel, z, t_plot, sensor,
                      p_plot, radius_plot, R_diag, var_clock, M, t_site, model, gate_d2,
                      model_gate_weight, pi_a, pk_a, d2_a, cost_a)
        if count <= cap:
            return pi_a[:count], pk_a[:count], d2_a[:count], cost_a[:count]
        cap = count


cdef Py_ssize_t _gate(const double[:, :, ::1] x, const double[:, :, :, ::1] P,
                      const double[:, ::1] mu, const double[::1] t_trk,
                      const long long[::1] rows, const double[:, ::1] pos0,
                      const double[:, ::1] vel0, const double[::1] sig_pos,
                      const double[::1] sig_vel, const double[:, ::1] z,
                      const double[::1] t_plot, const long long[::1] sensor,
                      const double[:, ::1] p_plot, const double[::1] radius_plot,
                      const double[:, ::1] R_diag, const double[::1] var_clock,
                      const double[:, :, ::1] M, const double[:, ::1] t_site,
                      const double[::1] model, const double[::1] gate_d2,
                      double model_gate_weight, long long[::1] out_i,
                      long long[::1] out_k, double[::1] out_d2, double[::1] out_cost):
    cdef Py_ssize_t n = z.shape[0], m = rows.shape[0], cap = out_i.shape[0]
    cdef Py_ssize_t i, r, count = 0
    cdef long long k, s
    cdef double dt, d0, d1, d2p, lim, d2, logdet, d2j, logdetj, lj[K], lmax, acc
    cdef bint inside
    cdef int j, mzj
    cdef double xp[K * NX]
    cdef double Pp[K * 36]
    cdef double cbar[K]
    cdef double xc[NX]
    cdef double Pc[36]
    cdef double nu[MZ]
    cdef double S[MZ * MZ]
    cdef double zdot[MZ]
    cdef int mz
    with nogil:
        for i in range(n):
            s = sensor[i]
            for r in range(m):
                k = rows[r]
                dt = t_plot[i] - t_trk[k]
                d0 = pos0[k, 0] + vel0[k, 0] * dt - p_plot[i, 0]
                d1 = pos0[k, 1] + vel0[k, 1] * dt - p_plot[i, 1]
                d2p = pos0[k, 2] + vel0[k, 2] * dt - p_plot[i, 2]
                lim = radius_plot[i] + 4.0 * sqrt(sig_pos[k] * sig_pos[k]
                                                  + dt * dt * sig_vel[k] * sig_vel[k]) \
                    + 15.0 * dt * dt
                if d0 * d0 + d1 * d1 + d2p * d2p > lim * lim:
                    continue
                imm_predict(&x[k, 0, 0], &P[k, 0, 0, 0], &mu[k, 0], dt, as_model(model), xp, Pp,
                            cbar)
                combine(xp, Pp, cbar, xc, Pc)
                mz = innovation(xc, Pc, &z[i, 0], &R_diag[i, 0], var_clock[i], &M[s, 0, 0],
                                &t_site[s, 0], nu, S, zdot, &d2, &logdet)
                if mz < 0:
                    continue
                inside = d2 <= gate_d2[mz - 2]
                lmax = -INFINITY
                for j in range(K):                   # each model's own prediction
                    lj[j] = -INFINITY
                    mzj = innovation(&xp[j * NX], &Pp[j * 36], &z[i, 0], &R_diag[i, 0],
                                     var_clock[i], &M[s, 0, 0], &t_site[s, 0], nu, S, zdot,
                                     &d2j, &logdetj)
                    if mzj < 0 or not cbar[j] > 0.0:
                        continue
                    lj[j] = log(cbar[j]) - 0.5 * (d2j + logdetj)
                    if lj[j] > lmax:
                        lmax = lj[j]
                    if cbar[j] >= model_gate_weight and d2j <= gate_d2[mz - 2]:
                        inside = True
                if not inside:
                    continue
                if count < cap:
                    out_i[count] = i
                    out_k[count] = k
                    out_d2[count] = d2
                    if lmax > -INFINITY:                 # −2 log Σ c̄_j N(ν_j; S_j)
                        acc = 0.0
                        for j in range(K):
                            acc = acc + exp(lj[j] - lmax)
                        out_cost[count] = -2.0 * (lmax + log(acc))
                    else:
                        out_cost[count] = d2 + logdet
                count += 1
    return count
