# cython: language_level=3
"""Compiled kernels of the fusion engine: plot registration, IMM-EKF gating and update,
prediction and track-pair proximity.

Every kernel has a NumPy twin in ``rig/fusion/kernels_ref.py`` with the same arguments and the
equations written out; ``rig/fusion/models.py`` documents the models. Loops over plots and
tracks run without the GIL on plain C arrays; per pair all work is on the stack.
"""

import numpy as np
cimport numpy as cnp
from libc.math cimport sqrt, sin, cos, atan2, exp, log, floor, fabs, isnan, M_PI, INFINITY
from libc.string cimport memcpy, memset

from rig_records cimport plot_t

from rig.records import PLOT_DTYPE

cnp.import_array()

DEF K = 4          # IMM models
DEF NX = 6         # state size
DEF MZ = 4         # largest measurement: range, azimuth, elevation, range rate

cdef double TWO_PI = 2.0 * M_PI
cdef double LOG_2PI = log(2.0 * M_PI)

# --- the layout check: rig_records.pxd must mirror rig.records.PLOT_DTYPE -------------------
cdef plot_t _probe


cdef Py_ssize_t _off(void *field):
    return <char *>field - <char *>&_probe


_layout = {
    "t_sensor": _off(&_probe.t_sensor), "range_m": _off(&_probe.range_m),
    "az_rad": _off(&_probe.az_rad), "el_rad": _off(&_probe.el_rad),
    "sensor_id": _off(&_probe.sensor_id),
}
if sizeof(plot_t) != PLOT_DTYPE.itemsize or any(
        PLOT_DTYPE.fields[name][1] != offset for name, offset in _layout.items()):
    raise ImportError("ext/rig_records.pxd plot_t does not match rig.records.PLOT_DTYPE")


# --- small dense linear algebra ------------------------------------------------------------
cdef inline double wrap_pi(double a) noexcept nogil:
    return a - TWO_PI * floor((a + M_PI) / TWO_PI)


cdef void transition(int j, double dt, const double *x, const double *model, double *F,
                     double *u) noexcept nogil:
    """F (6x6 row-major) and u of model j over dt (models.transition)."""
    cdef double w, s, c, d0, d1, d2, dn, g0, g1, g2
    cdef int i
    memset(F, 0, 36 * sizeof(double))
    memset(u, 0, 6 * sizeof(double))
    for i in range(6):
        F[i * 7] = 1.0
    if j == 1 or j == 2:
        w = model[0] if j == 1 else -model[0]
        s = sin(w * dt)
        c = cos(w * dt)
        F[0 * 6 + 3] = s / w
        F[0 * 6 + 4] = -(1.0 - c) / w
        F[1 * 6 + 3] = (1.0 - c) / w
        F[1 * 6 + 4] = s / w
        F[3 * 6 + 3] = c
        F[3 * 6 + 4] = -s
        F[4 * 6 + 3] = s
        F[4 * 6 + 4] = c
        F[2 * 6 + 5] = dt
    else:
        F[0 * 6 + 3] = dt
        F[1 * 6 + 4] = dt
        F[2 * 6 + 5] = dt
    if j == 3:
        d0 = x[0]
        d1 = x[1]
        d2 = x[2] + model[7]
        dn = sqrt(d0 * d0 + d1 * d1 + d2 * d2)
        g0 = -model[6] * d0 / dn
        g1 = -model[6] * d1 / dn
        g2 = -model[6] * d2 / dn
        u[0] = 0.5 * g0 * dt * dt
        u[1] = 0.5 * g1 * dt * dt
        u[2] = 0.5 * g2 * dt * dt
        u[3] = g0 * dt
        u[4] = g1 * dt
        u[5] = g2 * dt


cdef void add_process_noise(double q_h, double q_up, double dt, double *P) noexcept nogil:
    """P += [[|dt|³/3 D, dt|dt|/2 D], [dt|dt|/2 D, |dt| D]], D = diag(q_h, q_h, q_up)."""
    cdef double a = fabs(dt)
    cdef double q
    cdef int i
    for i in range(3):
        q = q_up if i == 2 else q_h
        P[i * 6 + i] += q * a * a * a / 3.0
        P[i * 6 + i + 3] += q * dt * a / 2.0
        P[(i + 3) * 6 + i] += q * dt * a / 2.0
        P[(i + 3) * 6 + i + 3] += q * a


cdef void imm_predict(const double *x, const double *P, const double *mu, double dt,
                      const double *model, double *xp, double *Pp, double *cbar) noexcept nogil:
    """Mixing and per-model prediction (models.imm_predict)."""
    cdef double Pi[K][K]
    cdef double w[K]
    cdef double x0[NX]
    cdef double P0[NX * NX]
    cdef double F[NX * NX]
    cdef double u[NX]
    cdef double T[NX * NX]
    cdef double d[NX]
    cdef double leave = 1.0 - exp(-model[5] * fabs(dt))
    cdef double to_ballistic = 1.0 - exp(-model[8] * fabs(dt))
    cdef double acc
    cdef int i, j, a, b, c
    for i in range(K):                              # Π (models.markov)
        for j in range(K):
            if i == 3:
                Pi[i][j] = 1.0 - leave if j == i else leave / 3.0
            elif j == 3:
                Pi[i][j] = to_ballistic
            elif j != i:
                Pi[i][j] = leave / 2.0
        if i != 3:
            Pi[i][i] = 1.0 - to_ballistic - leave
    for j in range(K):
        acc = 0.0
        for i in range(K):
            acc = acc + Pi[i][j] * mu[i]
        cbar[j] = acc
    for j in range(K):
        for i in range(K):
            w[i] = Pi[i][j] * mu[i] / cbar[j]
        for a in range(NX):
            acc = 0.0
            for i in range(K):
                acc = acc + w[i] * x[i * NX + a]
            x0[a] = acc
        memset(P0, 0, sizeof(P0))
        for i in range(K):
            for a in range(NX):
                d[a] = x[i * NX + a] - x0[a]
            for a in range(NX):
                for b in range(NX):
                    P0[a * NX + b] += w[i] * (P[i * 36 + a * NX + b] + d[a] * d[b])
        transition(j, dt, x0, model, F, u)
        for a in range(NX):                         # x⁻ = F x0 + u
            acc = 0.0
            for b in range(NX):
                acc = acc + F[a * NX + b] * x0[b]
            xp[j * NX + a] = acc + u[a]
        for a in range(NX):                         # T = F P0
            for b in range(NX):
                acc = 0.0
                for c in range(NX):
                    acc = acc + F[a * NX + c] * P0[c * NX + b]
                T[a * NX + b] = acc
        for a in range(NX):                         # P⁻ = T Fᵀ + Q
            for b in range(NX):
                acc = 0.0
                for c in range(NX):
                    acc = acc + T[a * NX + c] * F[b * NX + c]
                Pp[j * 36 + a * NX + b] = acc
        add_process_noise(model[1 + j], model[1 + j] if j == 3 else model[9], dt, &Pp[j * 36])


cdef void combine(const double *x, const double *P, const double *w, double *xc,
                  double *Pc) noexcept nogil:
    """x = Σ w_j x_j;  P = Σ w_j (P_j + d_j d_jᵀ)."""
    cdef double d[NX]
    cdef double acc
    cdef int j, a, b
    for a in range(NX):
        acc = 0.0
        for j in range(K):
            acc = acc + w[j] * x[j * NX + a]
        xc[a] = acc
    memset(Pc, 0, 36 * sizeof(double))
    for j in range(K):
        for a in range(NX):
            d[a] = x[j * NX + a] - xc[a]
        for a in range(NX):
            for b in range(NX):
                Pc[a * NX + b] += w[j] * (P[j * 36 + a * NX + b] + d[a] * d[b])


cdef void measure(const double *x, const double *M, const double *ts, int m, double *z,
                  double *H, double *zdot) noexcept nogil:
    """Predicted measurement (m = 3 or 4 with range rate), its Jacobian H (m x 6, row-major)
    and dz/dt (models.measure)."""
    cdef double l[3]
    cdef double w[3]
    cdef double J[9]
    cdef double dl[3]
    cdef double e, n, u, g2, g, r2, r, acc, rr, ww
    cdef int a, b, c
    for a in range(3):                              # l = Mᵀ (p − t), w = Mᵀ v
        l[a] = M[0 * 3 + a] * (x[0] - ts[0]) + M[1 * 3 + a] * (x[1] - ts[1]) \
            + M[2 * 3 + a] * (x[2] - ts[2])
        w[a] = M[0 * 3 + a] * x[3] + M[1 * 3 + a] * x[4] + M[2 * 3 + a] * x[5]
    e = l[0]
    n = l[1]
    u = l[2]
    g2 = e * e + n * n
    g = sqrt(g2)
    r2 = g2 + u * u
    r = sqrt(r2)
    z[0] = r
    z[1] = atan2(e, n)
    z[2] = atan2(u, g)
    J[0] = e / r
    J[1] = n / r
    J[2] = u / r
    J[3] = n / g2
    J[4] = -e / g2
    J[5] = 0.0
    J[6] = -e * u / (r2 * g)
    J[7] = -n * u / (r2 * g)
    J[8] = g / r2
    memset(H, 0, m * 6 * sizeof(double))
    for a in range(3):                              # H_p = J Mᵀ
        for b in range(3):
            acc = 0.0
            for c in range(3):
                acc = acc + J[a * 3 + c] * M[b * 3 + c]
            H[a * 6 + b] = acc
    for a in range(3):
        zdot[a] = H[a * 6 + 0] * x[3] + H[a * 6 + 1] * x[4] + H[a * 6 + 2] * x[5]
    if m == 4:                                      # ṙ = l·w / r
        rr = (l[0] * w[0] + l[1] * w[1] + l[2] * w[2]) / r
        ww = w[0] * w[0] + w[1] * w[1] + w[2] * w[2]
        z[3] = rr
        for c in range(3):
            dl[c] = w[c] / r - rr * l[c] / r2
        for b in range(3):                          # ∂ṙ/∂p = (w/r − ṙ l/r²) Mᵀ, ∂ṙ/∂v = (l/r) Mᵀ
            H[18 + b] = dl[0] * M[b * 3 + 0] + dl[1] * M[b * 3 + 1] + dl[2] * M[b * 3 + 2]
            H[18 + 3 + b] = (l[0] * M[b * 3 + 0] + l[1] * M[b * 3 + 1] + l[2] * M[b * 3 + 2]) / r
        zdot[3] = (ww - rr * rr) / r


cdef int cholesky(const double *S, double *L, int n) noexcept nogil:
    """S = L Lᵀ (n x n, L lower, row-major); -1 if S is not positive definite."""
    cdef double acc
    cdef int i, j, k
    memset(L, 0, n * n * sizeof(double))
    for i in range(n):
        for j in range(i + 1):
            acc = S[i * n + j]
            for k in range(j):
                acc = acc - L[i * n + k] * L[j * n + k]
            if i == j:
                if not acc > 0.0:
                    return -1
                L[i * n + i] = sqrt(acc)
            else:
                L[i * n + j] = acc / L[j * n + j]
    return 0


cdef inline void forward(const double *L, const double *b, double *y, int n) noexcept nogil:
    """Solve L y = b."""
    cdef int i, k
    cdef double acc
    for i in range(n):
        acc = b[i]
        for k in range(i):
            acc = acc - L[i * n + k] * y[k]
        y[i] = acc / L[i * n + i]


cdef inline void backward(const double *L, const double *y, double *x, int n) noexcept nogil:
    """Solve Lᵀ x = y."""
    cdef int i, k
    cdef double acc
    for i in range(n - 1, -1, -1):
        acc = y[i]
        for k in range(i + 1, n):
            acc = acc - L[k * n + i] * x[k]
        x[i] = acc / L[i * n + i]


cdef inline double sum_log_diag(const double *L, int n) noexcept nogil:
    cdef double acc = 0.0
    cdef int i
    for i in range(n):
        acc = acc + log(L[i * n + i])
    return acc


cdef inline int dims(const double *z) noexcept nogil:
    """4 with a range rate, 3 without (kernels_ref.dims)."""
    return 3 if isnan(z[3]) else 4


cdef int residual(const double *x, const double *M, const double *ts, const double *z,
                  double *nu, double *H, double *zdot) noexcept nogil:
    """ν = z − h(x) (azimuth wrapped), H and ż at x; returns the measurement size m."""
    cdef double zh[MZ]
    cdef int a
    cdef int m = dims(z)
    measure(x, M, ts, m, zh, H, zdot)
    for a in range(m):
        nu[a] = z[a] - zh[a]
    nu[1] = wrap_pi(nu[1])
    return m


cdef int innovation(const double *xc, const double *Pc, const double *z, const double *Rd,
                    double varc, const double *M, const double *ts, double *nu, double *S,
                    double *zdot, double *d2, double *logdet) noexcept nogil:
    """ν, S = H P Hᵀ + R + σ_c² ż żᵀ (m x m), d² = νᵀ S⁻¹ ν and log det S by Cholesky.
    Returns m, or -1 if S is not positive definite."""
    cdef double H[MZ * 6]
    cdef double HP[MZ * 6]
    cdef double L[MZ * MZ]
    cdef double w[MZ]
    cdef double acc
    cdef int a, b, c
    cdef int m = residual(xc, M, ts, z, nu, H, zdot)
    for a in range(m):
        for b in range(6):
            acc = 0.0
            for c in range(6):
                acc = acc + H[a * 6 + c] * Pc[c * 6 + b]
            HP[a * 6 + b] = acc
    for a in range(m):
        for b in range(m):
            acc = 0.0
            for c in range(6):
                acc = acc + HP[a * 6 + c] * H[b * 6 + c]
            S[a * m + b] = acc + varc * zdot[a] * zdot[b]
        S[a * m + a] += Rd[a]
    if cholesky(S, L, m) != 0:
        return -1
    forward(L, nu, w, m)
    acc = 0.0
    for a in range(m):
        acc = acc + w[a] * w[a]
    d2[0] = acc
    logdet[0] = 2.0 * sum_log_diag(L, m)
    return m


cdef int ekf_update(double *x, double *P, const double *z, const double *Rd, double varc,
                    const double *M, const double *ts, double *ll) noexcept nogil:
    """EKF update with the Joseph form (kernels_ref.ekf_update)."""
    cdef double zdot[MZ]
    cdef double nu[MZ]
    cdef double H[MZ * 6]
    cdef double PHt[6 * MZ]
    cdef double R[MZ * MZ]
    cdef double S[MZ * MZ]
    cdef double L[MZ * MZ]
    cdef double Kg[6 * MZ]
    cdef double A[36]
    cdef double T[36]
    cdef double Pn[36]
    cdef double KR[6 * MZ]
    cdef double y[MZ]
    cdef double col[MZ]
    cdef double w[MZ]
    cdef double acc, d2
    cdef int a, b, c
    cdef int m = residual(x, M, ts, z, nu, H, zdot)
    for a in range(m):
        for b in range(m):
            R[a * m + b] = varc * zdot[a] * zdot[b]
        R[a * m + a] += Rd[a]
    for a in range(6):                              # P Hᵀ
        for b in range(m):
            acc = 0.0
            for c in range(6):
                acc = acc + P[a * 6 + c] * H[b * 6 + c]
            PHt[a * m + b] = acc
    for a in range(m):                              # S = H P Hᵀ + R
        for b in range(m):
            acc = 0.0
            for c in range(6):
                acc = acc + H[a * 6 + c] * PHt[c * m + b]
            S[a * m + b] = acc + R[a * m + b]
    if cholesky(S, L, m) != 0:
        return -1
    forward(L, nu, w, m)
    d2 = 0.0
    for a in range(m):
        d2 = d2 + w[a] * w[a]
    for a in range(6):                              # K = P Hᵀ S⁻¹: solve S Kᵀ = H P
        for b in range(m):
            col[b] = PHt[a * m + b]
        forward(L, col, y, m)
        backward(L, y, &Kg[a * m], m)
    for a in range(6):                              # x⁺ = x + K ν
        acc = 0.0
        for c in range(m):
            acc = acc + Kg[a * m + c] * nu[c]
        x[a] += acc
    for a in range(6):                              # A = I − K H
        for b in range(6):
            acc = 0.0
            for c in range(m):
                acc = acc + Kg[a * m + c] * H[c * 6 + b]
            A[a * 6 + b] = (1.0 if a == b else 0.0) - acc
    for a in range(6):                              # T = A P
        for b in range(6):
            acc = 0.0
            for c in range(6):
                acc = acc + A[a * 6 + c] * P[c * 6 + b]
            T[a * 6 + b] = acc
    for a in range(6):                              # K R
        for b in range(m):
            acc = 0.0
            for c in range(m):
                acc = acc + Kg[a * m + c] * R[c * m + b]
            KR[a * m + b] = acc
    for a in range(6):                              # P⁺ = T Aᵀ + K R Kᵀ
        for b in range(6):
            acc = 0.0
            for c in range(6):
                acc = acc + T[a * 6 + c] * A[b * 6 + c]
            for c in range(m):
                acc = acc + KR[a * m + c] * Kg[b * m + c]
            Pn[a * 6 + b] = acc
    for a in range(6):
        for b in range(6):
            P[a * 6 + b] = 0.5 * (Pn[a * 6 + b] + Pn[b * 6 + a])
    ll[0] = -0.5 * (d2 + 2.0 * sum_log_diag(L, m) + m * LOG_2PI)
    return 0


# --- kernels -------------------------------------------------------------------------------
def prepare(cnp.ndarray plots, const double[:, ::1] bias, const double[:, ::1] bias_var,
            const double[:, ::1] sensor_R_diag, const double[:, :, ::1] M,
            const double[:, ::1] t_site, double coarse_gate_m):
    """Registered plots of a PLOT_DTYPE array; ``sensor_R_diag (S,4)`` (kernels_ref.prepare)."""
    if plots.dtype != PLOT_DTYPE:
        raise TypeError(f"plots must have dtype rig.records.PLOT_DTYPE, not {plots.dtype}")
    plots = np.ascontiguousarray(plots)
    cdef Py_ssize_t n = plots.shape[0], i
    z_a = np.empty((n, 4))
    t_a = np.empty(n)
    s_a = np.empty(n, np.int64)
    p_a = np.empty((n, 3))
    rad_a = np.empty(n)
    rd_a = np.empty((n, 4))
    vc_a = np.empty(n)
    cdef double[:, ::1] z = z_a, p = p_a, rd = rd_a
    cdef double[::1] t = t_a, rad = rad_a, vc = vc_a
    cdef long long[::1] s = s_a
    cdef const plot_t *src = <const plot_t *>cnp.PyArray_DATA(plots)
    cdef int k, a
    cdef double r, az, el, m
    cdef double loc[3]
    with nogil:
        for i in range(n):
            k = src[i].sensor_id
            s[i] = k
            r = src[i].range_m - bias[k, 0]
            az = src[i].az_rad - bias[k, 1]
            el = src[i].el_rad - bias[k, 2]
            z[i, 0] = r
            z[i, 1] = az
            z[i, 2] = el
            z[i, 3] = src[i].range_rate_mps
            t[i] = src[i].t_sensor - bias[k, 3]
            for a in range(3):
                rd[i, a] = sensor_R_diag[k, a] + bias_var[k, a]
            rd[i, 3] = sensor_R_diag[k, 3]
            vc[i] = bias_var[k, 3]
            loc[0] = r * cos(el) * sin(az)
            loc[1] = r * cos(el) * cos(az)
            loc[2] = r * sin(el)
            for a in range(3):
                p[i, a] = (M[k, a, 0] * loc[0] + M[k, a, 1] * loc[1]) + M[k, a, 2] * loc[2] \
                    + t_site[k, a]
            m = sqrt(rd[i, 0])
            if r * sqrt(rd[i, 1]) > m:
                m = r * sqrt(rd[i, 1])
            if r * sqrt(rd[i, 2]) > m:
                m = r * sqrt(rd[i, 2])
            rad[i] = coarse_gate_m + 4.0 * m
    return z_a, t_a, s_a, p_a, rad_a, rd_a, vc_a


def gate(const double[:, :, ::1] x, const double[:, :, :, ::1] P, const double[:, ::1] mu,
         const double[::1] t_trk, const long long[::1] rows, const double[:, ::1] pos0,
         const double[:, ::1] vel0, const double[::1] sig_pos, const double[::1] sig_vel,
         const double[:, ::1] z, const double[::1] t_plot, const long long[::1] sensor,
         const double[:, ::1] p_plot, const double[::1] radius_plot,
         const double[:, ::1] R_diag, const double[::1] var_clock,
         const double[:, :, ::1] M, const double[:, ::1] t_site, const double[::1] model,
         const double[::1] gate_d2):
    """Candidate (plot, track) pairs ``(plot, track, d², cost)``; ``gate_d2`` for 3- and
    4-vector plots (kernels_ref.gate)."""
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
                      pi_a, pk_a, d2_a, cost_a)
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
                      const double[::1] model, const double[::1] gate_d2, long long[::1] out_i,
                      long long[::1] out_k, double[::1] out_d2, double[::1] out_cost):
    cdef Py_ssize_t n = z.shape[0], m = rows.shape[0], cap = out_i.shape[0]
    cdef Py_ssize_t i, r, count = 0
    cdef long long k, s
    cdef double dt, d0, d1, d2p, lim, d2, logdet
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
                imm_predict(&x[k, 0, 0], &P[k, 0, 0, 0], &mu[k, 0], dt, &model[0], xp, Pp,
                            cbar)
                combine(xp, Pp, cbar, xc, Pc)
                mz = innovation(xc, Pc, &z[i, 0], &R_diag[i, 0], var_clock[i], &M[s, 0, 0],
                                &t_site[s, 0], nu, S, zdot, &d2, &logdet)
                if mz < 0:
                    continue
                if d2 <= gate_d2[mz - 3]:
                    if count < cap:
                        out_i[count] = i
                        out_k[count] = k
                        out_d2[count] = d2
                        out_cost[count] = d2 + logdet
                    count += 1
    return count


def update(double[:, :, ::1] x, double[:, :, :, ::1] P, double[:, ::1] mu,
           double[::1] t_trk, const long long[::1] pair_plot, const long long[::1] pair_track,
           const double[:, ::1] z, const double[::1] t_plot, const long long[::1] sensor,
           const double[:, ::1] R_diag, const double[::1] var_clock,
           const double[:, :, ::1] M, const double[:, ::1] t_site, const double[::1] model):
    """IMM-EKF update of each track with its plot, in place (kernels_ref.update)."""
    cdef Py_ssize_t n = pair_plot.shape[0], p
    nu_a = np.zeros((n, 4))
    S_a = np.zeros((n, 4, 4))
    zdot_a = np.zeros((n, 4))
    d2_a = np.zeros(n)
    ok_a = np.zeros(n, np.uint8)
    cdef double[:, ::1] nu_o = nu_a, zdot_o = zdot_a
    cdef double[:, :, ::1] S_o = S_a
    cdef double[::1] d2_o = d2_a
    cdef unsigned char[::1] ok_o = ok_a
    cdef long long i, k, s
    cdef int j
    cdef double dt, d2, logdet, llmax, tot
    cdef double xp[K * NX]
    cdef double Pp[K * 36]
    cdef double cbar[K]
    cdef double ll[K]
    cdef double w[K]
    cdef double xc[NX]
    cdef double Pc[36]
    cdef double S[MZ * MZ]
    cdef int mz, a, b
    with nogil:
        for p in range(n):
            i = pair_plot[p]
            k = pair_track[p]
            s = sensor[i]
            dt = t_plot[i] - t_trk[k]
            imm_predict(&x[k, 0, 0], &P[k, 0, 0, 0], &mu[k, 0], dt, &model[0], xp, Pp, cbar)
            combine(xp, Pp, cbar, xc, Pc)
            mz = innovation(xc, Pc, &z[i, 0], &R_diag[i, 0], var_clock[i], &M[s, 0, 0],
                            &t_site[s, 0], &nu_o[p, 0], S, &zdot_o[p, 0], &d2, &logdet)
            if mz < 0:
                continue                            # not updated: ok = 0
            ok_o[p] = 1
            for a in range(mz):
                for b in range(mz):
                    S_o[p, a, b] = S[a * mz + b]
            d2_o[p] = d2
            for j in range(K):
                if ekf_update(&xp[j * NX], &Pp[j * 36], &z[i, 0], &R_diag[i, 0], var_clock[i],
                              &M[s, 0, 0], &t_site[s, 0], &ll[j]) != 0:
                    ll[j] = -INFINITY               # this model keeps its prediction
            llmax = ll[0]
            for j in range(1, K):
                if ll[j] > llmax:
                    llmax = ll[j]
            tot = 0.0
            for j in range(K):                      # μ_j ∝ Λ_j c̄_j
                w[j] = cbar[j] * exp(ll[j] - llmax) if llmax > -INFINITY else cbar[j]
                tot = tot + w[j]
            for j in range(K):
                w[j] = w[j] / tot
                if w[j] < 1e-6:
                    w[j] = 1e-6
            tot = 0.0
            for j in range(K):
                tot = tot + w[j]
            for j in range(K):
                mu[k, j] = w[j] / tot
            memcpy(&x[k, 0, 0], xp, sizeof(xp))
            memcpy(&P[k, 0, 0, 0], Pp, sizeof(Pp))
            t_trk[k] = t_plot[i]
    return nu_a, S_a, zdot_a, d2_a, ok_a


def predict(const double[:, :, ::1] x, const double[:, :, :, ::1] P, const double[:, ::1] mu,
            const double[::1] t_trk, const long long[::1] rows, double t,
            const double[::1] model):
    """Combined IMM prediction of tracks ``rows`` to time ``t`` (kernels_ref.predict)."""
    cdef Py_ssize_t m = rows.shape[0], a
    xs_a = np.zeros((m, 6))
    Ps_a = np.zeros((m, 6, 6))
    cdef double[:, ::1] xs = xs_a
    cdef double[:, :, ::1] Ps = Ps_a
    cdef double xp[K * NX]
    cdef double Pp[K * 36]
    cdef double cbar[K]
    cdef long long k
    with nogil:
        for a in range(m):
            k = rows[a]
            imm_predict(&x[k, 0, 0], &P[k, 0, 0, 0], &mu[k, 0], t - t_trk[k], &model[0], xp,
                        Pp, cbar)
            combine(xp, Pp, cbar, &xs[a, 0], &Ps[a, 0, 0])
    return xs_a, Ps_a


cdef int mahalanobis6(const double *A, const double *b, double *d2) noexcept nogil:
    """d² = bᵀ A⁻¹ b for a 6x6 positive definite A by Cholesky; -1 if it is not."""
    cdef double L[36]
    cdef double y[6]
    cdef int i
    if cholesky(A, L, 6) != 0:
        return -1
    forward(L, b, y, 6)
    d2[0] = 0.0
    for i in range(6):
        d2[0] += y[i] * y[i]
    return 0


def close_pairs(const double[:, ::1] xc, const double[:, :, ::1] Pc, double radius_m,
                double d2_max):
    """Pairs of states close in position and in Mahalanobis distance (kernels_ref.close_pairs)."""
    cdef Py_ssize_t m = xc.shape[0], a, b, count = 0, cap = 16 + m
    cdef double dx[6]
    cdef double S[36]
    cdef double d2
    cdef int c
    out_a, out_b, out_d2 = [], [], []
    with nogil:
        for a in range(m):
            for b in range(a + 1, m):
                for c in range(6):
                    dx[c] = xc[a, c] - xc[b, c]
                if dx[0] * dx[0] + dx[1] * dx[1] + dx[2] * dx[2] > radius_m * radius_m:
                    continue
                for c in range(36):
                    S[c] = Pc[a, c // 6, c % 6] + Pc[b, c // 6, c % 6]
                if mahalanobis6(S, dx, &d2) != 0:
                    continue
                if d2 < d2_max:
                    with gil:
                        out_a.append(a)
                        out_b.append(b)
                        out_d2.append(d2)
    return (np.array(out_a, np.int64), np.array(out_b, np.int64), np.array(out_d2, float))
