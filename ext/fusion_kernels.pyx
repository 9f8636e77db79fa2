# cython: language_level=3
"""Compiled kernels of the fusion engine: plot registration, IMM-EKF gating and update,
prediction and track-pair proximity.

Every kernel has a NumPy twin in ``rig/fusion/kernels_ref.py`` with the same arguments and the
equations written out; ``rig/fusion/models.py`` documents the models. Loops over plots and
tracks run without the GIL on plain C arrays; per pair all work is on the stack.
"""

import numpy as np
cimport numpy as cnp
from libc.math cimport (sqrt, sin, cos, atan2, exp, log, floor, fabs, isnan, isinf, isfinite,
                        M_PI, INFINITY, NAN)
from libc.string cimport memcpy, memmove, memset

from rig_records cimport plot_t, track_t

from rig.fusion.models import MODEL_FIELDS
from rig.records import (PLOT_DTYPE, TRACK_DTYPE, TRACK_STATUS_COASTING, TRACK_STATUS_CONFIRMED,
                         TRACK_STATUS_TENTATIVE)

cnp.import_array()

DEF K = 4          # IMM models
DEF NX = 6         # state size
DEF MZ = 4         # largest measurement: range, azimuth, elevation, range rate


cdef struct model_t:                # rig.fusion.models.MODEL_FIELDS, checked below
    double turn_rate_rad_s
    double q[K]                     # q_cv, q_left, q_right, q_ballistic
    double switch_rate_per_s
    double gravity_mps2
    double earth_centre_m
    double switch_to_ballistic_per_s
    double q_vertical


cdef inline const model_t *as_model(const double[::1] model) noexcept nogil:
    return <const model_t *>&model[0]


cdef model_t _mprobe


cdef Py_ssize_t _moff(void *field):
    return (<char *>field - <char *>&_mprobe) // sizeof(double)


_model_layout = [_moff(&_mprobe.turn_rate_rad_s), _moff(&_mprobe.q[0]), _moff(&_mprobe.q[1]),
                 _moff(&_mprobe.q[2]), _moff(&_mprobe.q[3]), _moff(&_mprobe.switch_rate_per_s),
                 _moff(&_mprobe.gravity_mps2), _moff(&_mprobe.earth_centre_m),
                 _moff(&_mprobe.switch_to_ballistic_per_s), _moff(&_mprobe.q_vertical)]
_model_names = ("turn_rate_rad_s", "q_cv", "q_left", "q_right", "q_ballistic",
                "switch_rate_per_s", "gravity_mps2", "earth_centre_m",
                "switch_to_ballistic_per_s", "q_vertical")
if (sizeof(model_t) != 8 * len(MODEL_FIELDS) or _model_names != MODEL_FIELDS
        or _model_layout != list(range(len(MODEL_FIELDS)))):
    raise ImportError("ext/fusion_kernels.pyx model_t does not match "
                      "rig.fusion.models.MODEL_FIELDS")

cdef double TWO_PI = 2.0 * M_PI
cdef double NO_PAIR = 1e9      # kernels_ref.NO_PAIR: a pair outside the gate, never kept
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


cdef void transition(int j, double dt, const double *x, const model_t *m, double *F,
                     double *u) noexcept nogil:
    """F (6x6 row-major) and u of model j over dt (models.transition)."""
    cdef double w, s, c, d0, d1, d2, dn, g0, g1, g2
    cdef int i
    memset(F, 0, 36 * sizeof(double))
    memset(u, 0, 6 * sizeof(double))
    for i in range(6):
        F[i * 7] = 1.0
    if j == 1 or j == 2:
        w = m.turn_rate_rad_s if j == 1 else -m.turn_rate_rad_s
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
        d2 = x[2] + m.earth_centre_m
        dn = sqrt(d0 * d0 + d1 * d1 + d2 * d2)
        g0 = -m.gravity_mps2 * d0 / dn
        g1 = -m.gravity_mps2 * d1 / dn
        g2 = -m.gravity_mps2 * d2 / dn
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
                      const model_t *m, double *xp, double *Pp, double *cbar) noexcept nogil:
    """Mixing and per-model prediction (models.imm_predict)."""
    cdef double Pi[K][K]
    cdef double w[K]
    cdef double x0[NX]
    cdef double P0[NX * NX]
    cdef double F[NX * NX]
    cdef double u[NX]
    cdef double T[NX * NX]
    cdef double d[NX]
    cdef double leave = 1.0 - exp(-m.switch_rate_per_s * fabs(dt))
    cdef double to_ballistic = 1.0 - exp(-m.switch_to_ballistic_per_s * fabs(dt))
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
        transition(j, dt, x0, m, F, u)
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
        add_process_noise(m.q[j], m.q[j] if j == 3 else m.q_vertical, dt, &Pp[j * 36])


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
    """EKF update in square-root form (kernels_ref.ekf_update)."""
    cdef double zdot[MZ]
    cdef double nu[MZ]
    cdef double H[MZ * 6]
    cdef double PHt[6 * MZ]
    cdef double S[MZ * MZ]
    cdef double L[MZ * MZ]
    cdef double W[6 * MZ]
    cdef double g[MZ]
    cdef double acc, d2
    cdef int a, b, c
    cdef int m = residual(x, M, ts, z, nu, H, zdot)
    for a in range(6):                              # P Hᵀ
        for b in range(m):
            acc = 0.0
            for c in range(6):
                acc = acc + P[a * 6 + c] * H[b * 6 + c]
            PHt[a * m + b] = acc
    for a in range(m):                              # S = H P Hᵀ + R, R = diag + σ_c² ż żᵀ
        for b in range(a + 1):
            acc = 0.0
            for c in range(6):
                acc = acc + H[a * 6 + c] * PHt[c * m + b]
            S[a * m + b] = acc + varc * zdot[a] * zdot[b]
            S[b * m + a] = S[a * m + b]
        S[a * m + a] += Rd[a]
    if cholesky(S, L, m) != 0:
        return -1
    forward(L, nu, g, m)                            # g = L⁻¹ ν
    d2 = 0.0
    for a in range(m):
        d2 = d2 + g[a] * g[a]
    for a in range(6):                              # W = P Hᵀ L⁻ᵀ, row by row
        forward(L, &PHt[a * m], &W[a * m], m)
    for a in range(6):                              # x⁺ = x + W g  (K = W L⁻¹)
        acc = 0.0
        for c in range(m):
            acc = acc + W[a * m + c] * g[c]
        x[a] += acc
    for a in range(6):                              # P⁺ = P − W Wᵀ  (K S Kᵀ = W Wᵀ)
        for b in range(a + 1):
            acc = 0.0
            for c in range(m):
                acc = acc + W[a * m + c] * W[b * m + c]
            P[a * 6 + b] -= acc
            if b != a:
                P[b * 6 + a] = P[a * 6 + b]
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
         const double[::1] gate_d2, double model_gate_weight):
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
                inside = d2 <= gate_d2[mz - 3]
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
                    if cbar[j] >= model_gate_weight and d2j <= gate_d2[mz - 3]:
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
    ll_a = np.zeros(n)
    ok_a = np.zeros(n, np.uint8)
    cdef double[:, ::1] nu_o = nu_a, zdot_o = zdot_a
    cdef double[:, :, ::1] S_o = S_a
    cdef double[::1] d2_o = d2_a, ll_o = ll_a
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
            imm_predict(&x[k, 0, 0], &P[k, 0, 0, 0], &mu[k, 0], dt, as_model(model), xp, Pp, cbar)
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
            ll_o[p] = -0.5 * (d2 + logdet + mz * LOG_2PI)
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
    return nu_a, S_a, zdot_a, d2_a, ll_a, ok_a


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
            imm_predict(&x[k, 0, 0], &P[k, 0, 0, 0], &mu[k, 0], t - t_trk[k], as_model(model), xp,
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


# --- the engine's per-window bookkeeping ---------------------------------------------------
# Kernels that take ``st`` read and write the arrays of a rig.fusion.store.TrackStore.

DEF TENTATIVE = 0      # rig.records.TRACK_STATUS_*, checked below
DEF CONFIRMED = 1
DEF COASTING = 2

if (TENTATIVE, CONFIRMED, COASTING) != (TRACK_STATUS_TENTATIVE, TRACK_STATUS_CONFIRMED,
                                        TRACK_STATUS_COASTING):
    raise ImportError("ext/fusion_kernels.pyx: track status values differ from rig.records")


def screen(cnp.ndarray plots, const double[:] clock, double oldest_s, double newest_s):
    """Per plot a reason code (0: use it) and the latest registered time of the plots kept
    (kernels_ref.screen)."""
    if plots.dtype != PLOT_DTYPE:
        raise TypeError(f"plots must have dtype rig.records.PLOT_DTYPE, not {plots.dtype}")
    plots = np.ascontiguousarray(plots)
    cdef Py_ssize_t n = plots.shape[0], i, S = clock.shape[0]
    code_a = np.zeros(n, np.uint8)
    cdef unsigned char[::1] code = code_a
    cdef const plot_t *src = <const plot_t *>cnp.PyArray_DATA(plots)
    cdef double t, t_max = -INFINITY
    with nogil:
        for i in range(n):
            if src[i].sensor_id >= S:
                code[i] = 1
            elif not (isfinite(src[i].t_sensor) and isfinite(src[i].range_m)
                      and isfinite(src[i].az_rad) and isfinite(src[i].el_rad)) \
                    or isinf(src[i].range_rate_mps):
                code[i] = 2
            elif src[i].range_m < 0:
                code[i] = 3
            elif fabs(src[i].el_rad) > M_PI / 2:
                code[i] = 4
            else:
                t = src[i].t_sensor - clock[src[i].sensor_id]
                if t < oldest_s:
                    code[i] = 5
                elif t > newest_s:
                    code[i] = 6
                elif t > t_max:
                    t_max = t
    return code_a, t_max


def moments(const double[:, :, ::1] x, const double[:, :, :, ::1] P, const double[:, ::1] mu,
            Py_ssize_t n):
    """Mixture position and velocity and position and velocity sigmas of the first ``n``
    tracks (kernels_ref.moments)."""
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


cdef inline void mixture_velocity(const double[:, :, ::1] x, const double[:, :, :, ::1] P,
                                  const double[:, ::1] mu, long long k, double *v,
                                  double *Pv) noexcept nogil:
    """v = Σ μ_j v_j, P_v = Σ μ_j P_j,vv (3 and 3x3)."""
    cdef int j, a, b
    for a in range(3):
        v[a] = 0.0
        for b in range(3):
            Pv[a * 3 + b] = 0.0
    for j in range(K):
        for a in range(3):
            v[a] += mu[k, j] * x[k, j, 3 + a]
            for b in range(3):
                Pv[a * 3 + b] += mu[k, j] * P[k, j, 3 + a, 3 + b]


def registration_pairs(st, const long long[::1] pair_plot, const long long[::1] pair_track,
                       const double[:, ::1] z, const double[::1] t_plot,
                       const long long[::1] sensor, const double[:, ::1] bias,
                       long long min_updates, double max_dt_s, tuple out, Py_ssize_t start):
    """Plot pairs for registration before the window's updates, into rows ``start …`` of
    ``out`` (kernels_ref.registration_pairs)."""
    cdef const double[:, :, ::1] x = st.x
    cdef const double[:, :, :, ::1] P = st.P
    cdef const double[:, ::1] mu = st.mu
    cdef const cnp.uint16_t[::1] status = st.status
    cdef const cnp.uint32_t[::1] n_updates = st.n_updates
    cdef const double[:, ::1] s_t_last = st.sensor_t_last
    cdef const double[:, :, ::1] s_z_raw = st.sensor_z_raw
    cdef const double[:, ::1] s_t_raw = st.sensor_t_raw
    cdef Py_ssize_t n = pair_plot.shape[0], S = s_t_last.shape[1], p, r, m = start, count = 0
    cdef long long i, k, s
    with nogil:
        for p in range(n):
            i = pair_plot[p]
            k = pair_track[p]
            s = sensor[i]
            if status[k] != CONFIRMED or n_updates[k] < min_updates:
                continue
            for r in range(S):
                if r != s and fabs(t_plot[i] - s_t_last[k, r]) <= max_dt_s:
                    count += 1
    cdef long long[::1] s_o = out[0]
    cdef long long[::1] r_o = out[1]
    cdef double[:, ::1] zs = out[2]
    cdef double[:, ::1] zr = out[3]
    cdef double[::1] ts = out[4]
    cdef double[::1] tr = out[5]
    cdef double[:, ::1] v = out[6]
    cdef double[:, :, ::1] Pv = out[7]
    cdef Py_ssize_t cap = s_o.shape[0]
    if r_o.shape[0] < cap or zs.shape[0] < cap or zr.shape[0] < cap or ts.shape[0] < cap \
            or tr.shape[0] < cap or v.shape[0] < cap or Pv.shape[0] < cap \
            or zs.shape[1] != 3 or zr.shape[1] != 3 or v.shape[1] != 3 or Pv.shape[1] != 3 \
            or Pv.shape[2] != 3:
        raise ValueError("registration_pairs: out arrays of different lengths or shapes")
    if start < 0 or start + count > cap:
        return start + count
    cdef int a
    with nogil:
        for p in range(n):
            i = pair_plot[p]
            k = pair_track[p]
            s = sensor[i]
            if status[k] != CONFIRMED or n_updates[k] < min_updates:
                continue
            for r in range(S):
                if r == s or not fabs(t_plot[i] - s_t_last[k, r]) <= max_dt_s:
                    continue
                s_o[m] = s
                r_o[m] = r
                for a in range(3):
                    zs[m, a] = z[i, a] + bias[s, a]
                    zr[m, a] = s_z_raw[k, r, a]
                ts[m] = t_plot[i] + bias[s, 3]
                tr[m] = s_t_raw[k, r]
                mixture_velocity(x, P, mu, k, &v[m, 0], &Pv[m, 0, 0])
                m += 1
    return m


def record_updates(st, const long long[::1] pair_plot, const long long[::1] pair_track,
                   const unsigned char[::1] ok, const double[::1] d2, const double[::1] ll,
                   const double[:, ::1] z, const double[::1] t_plot,
                   const long long[::1] sensor, const long long[::1] partner,
                   const double[:, ::1] bias, const double[:, ::1] log_gain,
                   long long confirm_updates, double confirm_score, double confirm_span_s):
    """Bookkeeping after ``update`` (kernels_ref.record_updates)."""
    cdef cnp.uint32_t[::1] n_updates = st.n_updates
    cdef double[::1] score = st.score
    cdef const double[::1] t_first = st.t_first
    cdef double[::1] t_last = st.t_last
    cdef cnp.uint64_t[::1] sensors = st.sensors
    cdef cnp.uint32_t[::1] partners = st.partners
    cdef double[:, ::1] s_t_last = st.sensor_t_last
    cdef double[:, :, ::1] s_z_raw = st.sensor_z_raw
    cdef double[:, ::1] s_t_raw = st.sensor_t_raw
    cdef double[:, ::1] p_t_last = st.partner_t_last
    cdef cnp.uint16_t[::1] status = st.status
    cdef Py_ssize_t n = pair_plot.shape[0], p
    cdef long long i, k, s, c
    cdef double t, nis_sum = 0.0, t_latest = -INFINITY
    cdef long long nis_count = 0, nis_dof = 0, promoted = 0
    cdef int a
    with nogil:
        for p in range(n):               # status as it was before this batch's promotions
            if not ok[p]:
                continue
            i = pair_plot[p]
            k = pair_track[p]
            s = sensor[i]
            c = partner[s]
            t = t_plot[i]
            if status[k] == CONFIRMED:
                nis_sum = nis_sum + d2[p]
                nis_count += 1
                nis_dof += 3 if isnan(z[i, 3]) else 4
            n_updates[k] += 1
            score[k] = score[k] + ll[p] + log_gain[s, 0 if isnan(z[i, 3]) else 1]
            if t > t_last[k] or isnan(t_last[k]):          # fmax
                t_last[k] = t
            sensors[k] |= (<cnp.uint64_t>1) << s
            partners[k] |= (<cnp.uint32_t>1) << c
            s_t_last[k, s] = t
            for a in range(3):
                s_z_raw[k, s, a] = z[i, a] + bias[s, a]
            s_t_raw[k, s] = t + bias[s, 3]
            if t > p_t_last[k, c] or isnan(p_t_last[k, c]):
                p_t_last[k, c] = t
            if t > t_latest:
                t_latest = t
        for p in range(n):
            k = pair_track[p]
            if (ok[p] and status[k] == TENTATIVE and n_updates[k] >= confirm_updates
                    and score[k] >= confirm_score and t_last[k] - t_first[k] >= confirm_span_s):
                status[k] = CONFIRMED
                promoted += 1
    return nis_sum, nis_count, nis_dof, promoted, t_latest


cdef void enu_jac(double r, double az, double el, double *J, double *enu) noexcept nogil:
    """∂enu/∂(r, az, el) (3x3 row-major) and enu of a polar plot (models.enu_jacobian)."""
    cdef double ce = cos(el), se = sin(el), ca = cos(az), sa = sin(az)
    J[0] = ce * sa
    J[1] = r * ce * ca
    J[2] = -r * se * sa
    J[3] = ce * ca
    J[4] = -r * ce * sa
    J[5] = -r * se * ca
    J[6] = se
    J[7] = 0.0
    J[8] = r * ce
    enu[0] = r * ce * sa
    enu[1] = r * ce * ca
    enu[2] = r * se


cdef inline void matmul3(const double *A, const double *B, double *C) noexcept nogil:
    """C = A B (3x3 row-major)."""
    cdef int a, b, c
    cdef double acc
    for a in range(3):
        for b in range(3):
            acc = 0.0
            for c in range(3):
                acc = acc + A[a * 3 + c] * B[c * 3 + b]
            C[a * 3 + b] = acc


def initiate(st, Py_ssize_t row0, const double[:, ::1] z, const double[::1] t_plot,
             const long long[::1] sensor, const double[:, ::1] pc, const double[:, ::1] R_diag,
             const double[:, :, ::1] M, const long long[::1] partner,
             const double[:, ::1] bias, const double[::1] mu_initial, long long first_id,
             double v_sigma_mps, double v_up_sigma_mps, double v_up_ballistic_sigma_mps):
    """Tentative tracks in store rows from ``row0`` (kernels_ref.initiate)."""
    cdef double[:, :, ::1] x = st.x
    cdef double[:, :, :, ::1] P = st.P
    cdef double[:, ::1] mu = st.mu
    cdef double[::1] t_trk = st.t, t_first = st.t_first, t_last = st.t_last
    cdef cnp.uint32_t[::1] track_id = st.track_id, n_updates = st.n_updates
    cdef cnp.uint32_t[::1] partners = st.partners
    cdef cnp.uint16_t[::1] status = st.status
    cdef cnp.uint64_t[::1] sensors = st.sensors
    cdef double[:, ::1] s_t_last = st.sensor_t_last, s_t_raw = st.sensor_t_raw
    cdef double[:, :, ::1] s_z_raw = st.sensor_z_raw
    cdef double[:, ::1] p_t_last = st.partner_t_last
    cdef Py_ssize_t n = z.shape[0], i, row
    if row0 < 0 or row0 + n > x.shape[0]:
        raise IndexError("initiate: rows beyond the store")
    cdef long long s, c
    cdef int a, b, j
    cdef double J[9]
    cdef double enu[3]
    cdef double A[9]
    cdef double P0[36]
    cdef double x0[6]
    cdef double u[3]
    cdef double Pv[3]
    cdef double acc, nu
    with nogil:
        for i in range(n):
            s = sensor[i]
            c = partner[s]
            row = row0 + i
            enu_jac(z[i, 0], z[i, 1], z[i, 2], J, enu)
            matmul3(&M[s, 0, 0], J, A)                     # A = M J
            memset(P0, 0, sizeof(P0))
            for a in range(3):                             # A R Aᵀ
                for b in range(3):
                    acc = 0.0
                    for j in range(3):
                        acc = acc + A[a * 3 + j] * R_diag[i, j] * A[b * 3 + j]
                    P0[a * 6 + b] = acc
            P0[3 * 6 + 3] = v_sigma_mps * v_sigma_mps
            P0[4 * 6 + 4] = v_sigma_mps * v_sigma_mps
            for a in range(3):
                x0[a] = pc[i, a]
                x0[3 + a] = 0.0
            u[0] = u[1] = u[2] = 0.0
            if isfinite(z[i, 3]):                          # the line of sight u
                for a in range(3):
                    u[a] = M[s, a, 0] * enu[0] + M[s, a, 1] * enu[1] + M[s, a, 2] * enu[2]
                nu = sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2])
                for a in range(3):
                    u[a] = u[a] / nu
            for j in range(K):
                # the vertical velocity prior: the ballistic model's, or the aircraft models'
                P0[5 * 6 + 5] = (v_up_ballistic_sigma_mps * v_up_ballistic_sigma_mps if j == 3
                                 else v_up_sigma_mps * v_up_sigma_mps)
                memcpy(&x[row, j, 0], x0, sizeof(x0))
                memcpy(&P[row, j, 0, 0], P0, sizeof(P0))
                if isfinite(z[i, 3]):                      # the prior updated by ṙ = uᵀ v
                    acc = R_diag[i, 3]
                    for a in range(3):
                        Pv[a] = P0[(3 + a) * 7] * u[a]     # D u
                        acc = acc + u[a] * Pv[a]           # s = uᵀ D u + σ_ṙ²
                    for a in range(3):
                        x[row, j, 3 + a] = Pv[a] * z[i, 3] / acc
                        for b in range(3):
                            P[row, j, 3 + a, 3 + b] -= Pv[a] * Pv[b] / acc
                mu[row, j] = mu_initial[j]
            t_trk[row] = t_plot[i]
            t_first[row] = t_plot[i]
            t_last[row] = t_plot[i]
            track_id[row] = first_id + i
            status[row] = TENTATIVE
            n_updates[row] = 1
            sensors[row] = (<cnp.uint64_t>1) << s
            partners[row] = (<cnp.uint32_t>1) << c
            s_t_last[row, s] = t_plot[i]
            for a in range(3):
                s_z_raw[row, s, a] = z[i, a] + bias[s, a]
            s_t_raw[row, s] = t_plot[i] + bias[s, 3]
            p_t_last[row, c] = t_plot[i]


# --- the layout check: rig_records.pxd track_t must mirror rig.records.TRACK_DTYPE ----------
cdef track_t _tprobe


cdef Py_ssize_t _toff(void *field):
    return <char *>field - <char *>&_tprobe


_tlayout = {
    "track_id": _toff(&_tprobe.track_id), "status": _toff(&_tprobe.status),
    "n_updates": _toff(&_tprobe.n_updates), "partners": _toff(&_tprobe.partners),
    "t": _toff(&_tprobe.t), "east": _toff(&_tprobe.east), "v_up": _toff(&_tprobe.v_up),
    "covariance": _toff(&_tprobe.covariance), "partner_t_last": _toff(&_tprobe.partner_t_last),
}
if sizeof(track_t) != TRACK_DTYPE.itemsize or any(
        TRACK_DTYPE.fields[name][1] != offset for name, offset in _tlayout.items()):
    raise ImportError("ext/rig_records.pxd track_t does not match rig.records.TRACK_DTYPE")


def fill_tracks(cnp.ndarray out, st, const long long[::1] rows, double t,
                const double[::1] model, double coasting_after_s):
    """``out`` (TRACK_DTYPE): the tracks of store ``rows`` predicted to ``t``
    (kernels_ref.fill_tracks)."""
    if out.dtype != TRACK_DTYPE or not out.flags.c_contiguous or out.shape[0] != rows.shape[0]:
        raise TypeError("out must be a contiguous TRACK_DTYPE array, one per row")
    cdef const double[:, :, ::1] x = st.x
    cdef const double[:, :, :, ::1] P = st.P
    cdef const double[:, ::1] mu = st.mu
    cdef const double[::1] t_trk = st.t, t_last = st.t_last
    cdef const cnp.uint32_t[::1] track_id = st.track_id, n_updates = st.n_updates
    cdef const cnp.uint32_t[::1] partners = st.partners
    cdef const cnp.uint16_t[::1] status = st.status
    cdef const double[:, ::1] p_t_last = st.partner_t_last
    cdef track_t *dst = <track_t *>cnp.PyArray_DATA(out)
    cdef Py_ssize_t m = rows.shape[0], a, c, n_p = p_t_last.shape[1]
    cdef long long k
    cdef double xp[K * NX]
    cdef double Pp[K * 36]
    cdef double cbar[K]
    cdef double xc[NX]
    if n_p != 16:
        raise ValueError("partner_t_last must hold MAX_PARTNERS (16) columns")
    with nogil:
        for a in range(m):
            k = rows[a]
            imm_predict(&x[k, 0, 0], &P[k, 0, 0, 0], &mu[k, 0], t - t_trk[k], as_model(model), xp,
                        Pp, cbar)
            combine(xp, Pp, cbar, xc, dst[a].covariance)
            dst[a].track_id = track_id[k]
            dst[a].status = status[k]
            if status[k] != TENTATIVE and t - t_last[k] > coasting_after_s:
                dst[a].status = COASTING
            dst[a].n_updates = n_updates[k]
            dst[a].partners = partners[k]
            dst[a].t = t
            dst[a].east = xc[0]
            dst[a].north = xc[1]
            dst[a].up = xc[2]
            dst[a].v_east = xc[3]
            dst[a].v_north = xc[4]
            dst[a].v_up = xc[5]
            for c in range(16):
                dst[a].partner_t_last[c] = p_t_last[k, c]


def stale(st, const long long[::1] rows, double t_s, const double[::1] scan_period_s,
          double max_scan_s, double tentative_gap_scans, double coast_scans,
          double max_position_sigma_m, const double[:, :, ::1] M, const double[:, ::1] t_site,
          const double[:, ::1] coverage, const double[::1] latest_s,
          double log_miss_tentative, double log_miss_confirmed, double earth_centre_m,
          double lowest_m):
    """Per row: 1 if the track is due for deletion at ``t_s`` (kernels_ref.stale)."""
    cdef const double[:, :, ::1] x = st.x
    cdef const double[:, :, :, ::1] P = st.P
    cdef const double[:, ::1] mu = st.mu
    cdef const double[::1] t_trk = st.t, t_last = st.t_last
    cdef const cnp.uint16_t[::1] status = st.status
    cdef const double[:, ::1] s_t_last = st.sensor_t_last
    cdef Py_ssize_t m = rows.shape[0], S = scan_period_s.shape[0], a, r
    drop_a = np.zeros(m, np.uint8)
    cdef unsigned char[::1] drop = drop_a
    cdef long long k
    cdef int j, b, c
    cdef double gap, shortest, longest, vp, vv, dt, sigma, log_miss, looks, rng, el, h2
    cdef double xc[NX]
    cdef double pos[3]
    cdef double d[3]
    cdef double l[3]
    with nogil:
        for a in range(m):
            k = rows[a]
            gap = t_s - t_last[k]
            shortest = INFINITY
            longest = -INFINITY
            for r in range(S):
                if t_last[k] - s_t_last[k, r] < 2.5 * scan_period_s[r]:
                    if scan_period_s[r] < shortest:
                        shortest = scan_period_s[r]
                    if scan_period_s[r] > longest:
                        longest = scan_period_s[r]
            if shortest == INFINITY:
                shortest = max_scan_s
                longest = max_scan_s
            vp = 0.0
            vv = 0.0
            for b in range(NX):
                xc[b] = 0.0
            for j in range(K):
                vp = vp + mu[k, j] * (P[k, j, 0, 0] + P[k, j, 1, 1] + P[k, j, 2, 2])
                vv = vv + mu[k, j] * (P[k, j, 3, 3] + P[k, j, 4, 4] + P[k, j, 5, 5])
                for b in range(NX):
                    xc[b] = xc[b] + mu[k, j] * x[k, j, b]
            dt = t_s - t_trk[k]
            if not dt > 0.0:
                dt = 0.0
            sigma = sqrt(vp + dt * dt * vv)
            for b in range(3):
                pos[b] = xc[b] + dt * xc[3 + b]
            h2 = pos[2] + earth_centre_m               # below the ground: gone
            if sqrt(pos[0] * pos[0] + pos[1] * pos[1] + h2 * h2) < lowest_m:
                drop[a] = 1
                continue
            log_miss = 0.0
            for r in range(S):
                if not coverage[r, 0] < 0.0:
                    continue
                looks = floor(((t_s if t_s < latest_s[r] else latest_s[r]) - t_last[k])
                              / scan_period_s[r] - 0.1)
                if not looks > 0.0:
                    continue
                for b in range(3):
                    d[b] = pos[b] - t_site[r, b]
                for b in range(3):                   # l = Mᵀ (p − t)
                    l[b] = M[r, 0, b] * d[0] + M[r, 1, b] * d[1] + M[r, 2, b] * d[2]
                h2 = l[0] * l[0] + l[1] * l[1]
                rng = sqrt(h2 + l[2] * l[2])
                el = atan2(l[2], sqrt(h2))
                if (rng > coverage[r, 1] and rng < coverage[r, 2] and el > coverage[r, 3]
                        and el < coverage[r, 4]):
                    log_miss = log_miss + looks * coverage[r, 0]
            if status[k] == TENTATIVE:
                drop[a] = gap > tentative_gap_scans * shortest or log_miss < log_miss_tentative
            else:
                drop[a] = (gap > coast_scans * longest or log_miss < log_miss_confirmed
                           or sigma > max_position_sigma_m)
    return drop_a


def close_tracks(st, const long long[::1] rows, double t, const double[::1] model,
                 double radius_m, double d2_max):
    """``close_pairs`` of the tracks of store ``rows`` predicted to ``t``
    (kernels_ref.close_tracks). Only tracks that can be within ``radius_m`` of another are
    predicted: the IMM mixture's predicted position lies within
    ``dt²/2 (ω max_j |v_j| + g)`` of the straight-line prediction of its mean (turns bend a
    path by at most ``|v| ω dt²/2``, gravity moves it ``g dt²/2``), so pairs farther apart
    than ``radius_m`` plus both bounds (and a metre of slack for rounding) cannot be close."""
    cdef const double[:, :, ::1] x = st.x
    cdef const double[:, :, :, ::1] P = st.P
    cdef const double[:, ::1] mu = st.mu
    cdef const double[::1] t_trk = st.t
    cdef const model_t *mdl = as_model(model)
    cdef Py_ssize_t m = rows.shape[0], a, b, c
    lin_a = np.empty((m, 3))
    bound_a = np.empty(m)
    done_a = np.zeros(m, np.uint8)
    xs_a = np.empty((m, 6))
    Ps_a = np.empty((m, 6, 6))
    cdef double[:, ::1] lin = lin_a, xs = xs_a
    cdef double[::1] bound = bound_a
    cdef unsigned char[::1] done = done_a
    cdef double[:, :, ::1] Ps = Ps_a
    cdef long long k
    cdef int j, e
    cdef double dt, vmax, vn, mag, lim, d2, dd
    cdef double dx[6]
    cdef double S[36]
    cdef double xp[K * NX]
    cdef double Pp[K * 36]
    cdef double cbar[K]
    out_a, out_b, out_d2 = [], [], []
    with nogil:
        for a in range(m):
            k = rows[a]
            dt = t - t_trk[k]
            vmax = 0.0
            for j in range(K):
                vn = sqrt(x[k, j, 3] * x[k, j, 3] + x[k, j, 4] * x[k, j, 4]
                          + x[k, j, 5] * x[k, j, 5])
                if not vn <= vmax:
                    vmax = vn
            mag = 0.0
            for c in range(3):
                lin[a, c] = 0.0
                for j in range(K):
                    lin[a, c] += mu[k, j] * (x[k, j, c] + x[k, j, 3 + c] * dt)
                mag = mag + fabs(lin[a, c])
            bound[a] = 0.5 * dt * dt * (fabs(mdl.turn_rate_rad_s) * vmax + mdl.gravity_mps2) \
                + 1.0 + 1e-9 * (mag + vmax * fabs(dt))
        for a in range(m):
            for b in range(a + 1, m):
                lim = radius_m + bound[a] + bound[b]
                dd = 0.0
                for c in range(3):
                    dd = dd + (lin[a, c] - lin[b, c]) * (lin[a, c] - lin[b, c])
                if dd > lim * lim:
                    continue
                for e in range(2):
                    c = a if e == 0 else b
                    if not done[c]:
                        k = rows[c]
                        imm_predict(&x[k, 0, 0], &P[k, 0, 0, 0], &mu[k, 0], t - t_trk[k],
                                    as_model(model), xp, Pp, cbar)
                        combine(xp, Pp, cbar, &xs[c, 0], &Ps[c, 0, 0])
                        done[c] = 1
                for c in range(6):                 # close_pairs on the predictions
                    dx[c] = xs[a, c] - xs[b, c]
                if dx[0] * dx[0] + dx[1] * dx[1] + dx[2] * dx[2] > radius_m * radius_m:
                    continue
                for c in range(36):
                    S[c] = Ps[a, c // 6, c % 6] + Ps[b, c // 6, c % 6]
                if mahalanobis6(S, dx, &d2) != 0:
                    continue
                if d2 < d2_max:
                    with gil:
                        out_a.append(a)
                        out_b.append(b)
                        out_d2.append(d2)
    return (np.array(out_a, np.int64), np.array(out_b, np.int64), np.array(out_d2, float))


cdef int chol_solve(const double *L, const double *b, double *x, int n) noexcept nogil:
    """x = (L Lᵀ)⁻¹ b."""
    cdef double y[8]
    forward(L, b, y, n)
    backward(L, y, x, n)
    return 0


def registration_terms(const long long[::1] s, const long long[::1] r,
                       const double[:, ::1] z_s, const double[:, ::1] z_r,
                       const double[::1] t_s, const double[::1] t_r, const double[:, ::1] v,
                       const double[:, :, ::1] P_v, const double[:, ::1] b,
                       const double[:, ::1] P, const double[:, :, ::1] M,
                       const double[:, ::1] t_site, const double[:, ::1] R_diag,
                       double accel_mps2, double gate_d2):
    """Information ``(Y, η, ok)`` from plot pairs for the registration
    (kernels_ref.registration_terms). Each pair's H has eight non-zero columns (its two
    sensors' four values), so the work per pair is on 3x8 blocks."""
    cdef Py_ssize_t m = s.shape[0], S = b.shape[0], p
    Y_a = np.zeros((4 * S, 4 * S))
    eta_a = np.zeros(4 * S)
    ok_a = np.zeros(m, np.uint8)
    cdef double[:, ::1] Y = Y_a
    cdef double[::1] eta = eta_a
    cdef unsigned char[::1] ok = ok_a
    cdef long long sa, ra
    cdef int a, c, e
    cdef int idx[8]
    cdef double J[9]
    cdef double l_s[3]
    cdef double l_r[3]
    cdef double A_s[9]
    cdef double A_r[9]
    cdef double y[3]
    cdef double h[24]          # 3x8: columns (s: r, az, el, clock), (r: r, az, el, clock)
    cdef double N[9]
    cdef double C[9]
    cdef double L[9]
    cdef double HP[24]
    cdef double W[24]          # N⁻¹ h
    cdef double col[3]
    cdef double sol[3]
    cdef double w[3]
    cdef double zz[3]
    cdef double dt, acc, d2, q
    with nogil:
        for p in range(m):
            sa = s[p]
            ra = r[p]
            enu_jac(z_s[p, 0] - b[sa, 0], z_s[p, 1] - b[sa, 1], z_s[p, 2] - b[sa, 2], J, l_s)
            matmul3(&M[sa, 0, 0], J, A_s)
            enu_jac(z_r[p, 0] - b[ra, 0], z_r[p, 1] - b[ra, 1], z_r[p, 2] - b[ra, 2], J, l_r)
            matmul3(&M[ra, 0, 0], J, A_r)
            dt = (t_s[p] - b[sa, 3]) - (t_r[p] - b[ra, 3])
            for a in range(3):                 # y = p_s − p_r − v dt
                y[a] = ((M[sa, a, 0] * l_s[0] + M[sa, a, 1] * l_s[1] + M[sa, a, 2] * l_s[2])
                        + t_site[sa, a]) \
                    - ((M[ra, a, 0] * l_r[0] + M[ra, a, 1] * l_r[1] + M[ra, a, 2] * l_r[2])
                       + t_site[ra, a]) - v[p, a] * dt
            for a in range(3):                 # h = [−A_s | v | A_r | −v]
                for c in range(3):
                    h[a * 8 + c] = -A_s[a * 3 + c]
                    h[a * 8 + 4 + c] = A_r[a * 3 + c]
                h[a * 8 + 3] = v[p, a]
                h[a * 8 + 7] = -v[p, a]
            for c in range(4):
                idx[c] = <int>(4 * sa + c)
                idx[4 + c] = <int>(4 * ra + c)
            q = 0.5 * accel_mps2 * dt * dt
            for a in range(3):                 # N = A_s R_s A_sᵀ + A_r R_r A_rᵀ + dt² P_v + q² I
                for c in range(3):
                    acc = 0.0
                    for e in range(3):
                        acc = acc + A_s[a * 3 + e] * R_diag[sa, e] * A_s[c * 3 + e]
                    N[a * 3 + c] = acc
                    acc = 0.0
                    for e in range(3):
                        acc = acc + A_r[a * 3 + e] * R_diag[ra, e] * A_r[c * 3 + e]
                    N[a * 3 + c] += acc + dt * dt * P_v[p, a, c]
                N[a * 3 + a] += q * q
            for a in range(3):                 # C = N + h P hᵀ
                for c in range(8):
                    acc = 0.0
                    for e in range(8):
                        acc = acc + h[a * 8 + e] * P[idx[e], idx[c]]
                    HP[a * 8 + c] = acc
            for a in range(3):
                for c in range(3):
                    acc = 0.0
                    for e in range(8):
                        acc = acc + HP[a * 8 + e] * h[c * 8 + e]
                    C[a * 3 + c] = N[a * 3 + c] + acc
            if cholesky(C, L, 3) != 0:
                continue
            forward(L, y, w, 3)
            d2 = w[0] * w[0] + w[1] * w[1] + w[2] * w[2]
            if not d2 < gate_d2:
                continue
            if cholesky(N, L, 3) != 0:
                continue
            for c in range(8):                 # W = N⁻¹ h, column by column
                for a in range(3):
                    col[a] = h[a * 8 + c]
                chol_solve(L, col, sol, 3)
                for a in range(3):
                    W[a * 8 + c] = sol[a]
            for a in range(3):                 # z = h b − y
                acc = 0.0
                for e in range(8):
                    acc = acc + h[a * 8 + e] * b[idx[e] // 4, idx[e] % 4]
                zz[a] = acc - y[a]
            for a in range(8):                 # Y += hᵀ W, η += Wᵀ z
                for c in range(8):
                    acc = 0.0
                    for e in range(3):
                        acc = acc + h[e * 8 + a] * W[e * 8 + c]
                    Y[idx[a], idx[c]] += acc
                acc = 0.0
                for e in range(3):
                    acc = acc + W[e * 8 + a] * zz[e]
                eta[idx[a]] += acc
            ok[p] = 1
    return Y_a, eta_a, ok_a


cdef Py_ssize_t find_root(Py_ssize_t[::1] parent, Py_ssize_t a) noexcept nogil:
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = parent[a]
    return a


def pair_clusters(const long long[::1] pi, const long long[::1] ti, Py_ssize_t n_plots,
                  Py_ssize_t n_tracks):
    """Connected components of the candidate pairs, labelled in order of first appearance
    (kernels_ref.pair_clusters), by union-find."""
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


def first_plots(const long long[::1] idx, const double[:, ::1] p, const double[::1] t,
                const long long[::1] s, const double[::1] radius,
                const double[::1] scan_period_s, double speed_max_mps):
    """Of the plots ``idx`` in time order: 1 for those with no earlier plot of another scan
    within reach (kernels_ref.first_plots)."""
    cdef Py_ssize_t n = idx.shape[0], a, b
    out_a = np.ones(n, np.uint8)
    cdef unsigned char[::1] out = out_a
    cdef long long i, j
    cdef double dt, reach, d0, d1, d2
    with nogil:
        for a in range(1, n):
            i = idx[a]
            for b in range(a):
                j = idx[b]
                dt = fabs(t[i] - t[j])
                if s[i] == s[j] and dt < 0.5 * scan_period_s[s[i]]:
                    continue                         # one scan: two objects
                reach = radius[i] + radius[j] + speed_max_mps * dt
                d0 = p[i, 0] - p[j, 0]
                d1 = p[i, 1] - p[j, 1]
                d2 = p[i, 2] - p[j, 2]
                if d0 * d0 + d1 * d1 + d2 * d2 < reach * reach:
                    out[a] = 0
                    break
    return out_a


def next_window(cnp.ndarray pending, const double[:] clock, double window_s,
                double horizon_s):
    """The next window of the time-sorted pending plots: ``(end, cut, inside, n_inside)``
    (kernels_ref.next_window). Reads only the plots up to the window's end."""
    if pending.dtype != PLOT_DTYPE:
        raise TypeError(f"pending must have dtype rig.records.PLOT_DTYPE, not {pending.dtype}")
    pending = np.ascontiguousarray(pending)
    cdef const plot_t *src = <const plot_t *>cnp.PyArray_DATA(pending)
    cdef Py_ssize_t n = pending.shape[0], S = clock.shape[0], i, cut = 0, n_in = 0
    if n == 0 or S == 0:
        raise ValueError("next_window: no plots or no sensors")
    cdef double c_lo = clock[0], c_hi = clock[0], limit, first = INFINITY, t, end
    for i in range(1, S):
        if clock[i] < c_lo:
            c_lo = clock[i]
        if clock[i] > c_hi:
            c_hi = clock[i]
    with nogil:
        limit = src[0].t_sensor + (c_hi - c_lo)
        i = 0
        while i < n and src[i].t_sensor <= limit:
            t = src[i].t_sensor - clock[src[i].sensor_id]
            if t < first or i == 0:
                first = t
            i += 1
        end = floor(first / window_s) * window_s + window_s
        if isfinite(horizon_s) and horizon_s + window_s > end:
            end = horizon_s + window_s
        limit = end + c_hi
        while cut < n and src[cut].t_sensor <= limit:
            cut += 1
    inside_a = np.empty(cut, np.uint8)
    cdef unsigned char[::1] inside = inside_a
    with nogil:
        for i in range(cut):
            inside[i] = src[i].t_sensor - clock[src[i].sensor_id] < end
            n_in += inside[i]
    return end, cut, inside_a, n_in


def registration_step(const double[:, ::1] P, const double[:, ::1] Y, const double[::1] eta,
                      const double[:, ::1] b, const double[:, ::1] gauge):
    """The registration's update from its information (kernels_ref.registration_step):
    ``A = I + P Y`` solved by Gaussian elimination with partial pivoting."""
    cdef Py_ssize_t n = P.shape[0], i, j, c, piv
    if Y.shape[0] != n or Y.shape[1] != n or eta.shape[0] != n or b.shape[0] * b.shape[1] != n \
            or gauge.shape[0] != n or gauge.shape[1] != n or P.shape[1] != n:
        raise ValueError("registration_step: shapes do not agree")
    A_a = np.empty((n, n))
    X_a = np.empty((n, n + 1))       # right-hand sides: P (η − Y b) | P
    T_a = np.empty((n, n))
    bn_a = np.empty(b.shape[0] * b.shape[1])
    Pn_a = np.empty((n, n))
    cdef double[:, ::1] A = A_a, X = X_a, T = T_a, Pn = Pn_a
    cdef double[::1] bn = bn_a
    cdef const double *bv = &b[0, 0]
    cdef double acc, f, big
    cdef int singular = 0
    with nogil:
        for i in range(n):
            acc = 0.0
            for c in range(n):                          # η − Y b
                acc = acc + Y[i, c] * bv[c]
            T[0, i] = eta[i] - acc
        for i in range(n):
            acc = 0.0
            for c in range(n):
                acc = acc + P[i, c] * T[0, c]
            X[i, 0] = acc
            for j in range(n):
                X[i, 1 + j] = P[i, j]
                acc = 0.0
                for c in range(n):                      # A = I + P Y
                    acc = acc + P[i, c] * Y[c, j]
                A[i, j] = acc + (1.0 if i == j else 0.0)
        for c in range(n):                              # forward elimination
            piv = c
            big = fabs(A[c, c])
            for i in range(c + 1, n):
                if fabs(A[i, c]) > big:
                    big = fabs(A[i, c])
                    piv = i
            if not big > 0.0:
                singular = 1
                break
            if piv != c:
                for j in range(n):
                    f = A[c, j]
                    A[c, j] = A[piv, j]
                    A[piv, j] = f
                for j in range(n + 1):
                    f = X[c, j]
                    X[c, j] = X[piv, j]
                    X[piv, j] = f
            for i in range(c + 1, n):
                f = A[i, c] / A[c, c]
                if f == 0.0:
                    continue
                for j in range(c, n):
                    A[i, j] = A[i, j] - f * A[c, j]
                for j in range(n + 1):
                    X[i, j] = X[i, j] - f * X[c, j]
        if not singular:
            for i in range(n - 1, -1, -1):              # back substitution
                for j in range(n + 1):
                    acc = X[i, j]
                    for c in range(i + 1, n):
                        acc = acc - A[i, c] * X[c, j]
                    X[i, j] = acc / A[i, i]
            for i in range(n):                          # b⁺ = Π (b + A⁻¹ P (η − Y b))
                T[0, i] = bv[i] + X[i, 0]
            for i in range(n):
                acc = 0.0
                for c in range(n):
                    acc = acc + gauge[i, c] * T[0, c]
                bn[i] = acc
            for i in range(n):                          # T = Π A⁻¹ P
                for j in range(n):
                    acc = 0.0
                    for c in range(n):
                        acc = acc + gauge[i, c] * X[c, 1 + j]
                    T[i, j] = acc
            for i in range(n):                          # Pn = T Πᵀ
                for j in range(n):
                    acc = 0.0
                    for c in range(n):
                        acc = acc + T[i, c] * gauge[j, c]
                    Pn[i, j] = acc
            for i in range(n):
                for j in range(i, n):
                    f = 0.5 * (Pn[i, j] + Pn[j, i])
                    Pn[i, j] = f
                    Pn[j, i] = f
    if singular:
        raise np.linalg.LinAlgError("registration_step: I + P Y is singular")
    return bn_a.reshape(b.shape[0], b.shape[1]), Pn_a


def compact_rows(list arrays, list nan_fill, const long long[::1] keep, Py_ssize_t n_old):
    """Kept rows moved to the front, freed rows reset (kernels_ref.compact_rows); row by row
    with memmove, only the rows that move."""
    cdef Py_ssize_t m = keep.shape[0], i, j, row_bytes, n_items
    cdef char *base
    cdef double *d
    cdef cnp.ndarray a
    cdef bint fill_nan
    if len(arrays) != len(nan_fill):
        raise ValueError("compact_rows: one nan_fill flag per array")
    for i in range(m):
        if keep[i] < i or keep[i] >= n_old or (i and keep[i] <= keep[i - 1]):
            raise ValueError("compact_rows: keep must rise, within the rows in use")
    for a, nan in zip(arrays, nan_fill):
        if not a.flags.c_contiguous or a.ndim < 1 or a.shape[0] < n_old:
            raise ValueError("compact_rows: arrays must be C-contiguous with n_old rows")
        if nan and a.dtype != np.float64:
            raise ValueError("compact_rows: only float64 arrays are reset to NaN")
        base = <char *>cnp.PyArray_DATA(a)
        row_bytes = a.strides[0]
        fill_nan = bool(nan)
        with nogil:
            for i in range(m):
                if keep[i] != i:
                    memmove(base + i * row_bytes, base + keep[i] * row_bytes, row_bytes)
            if fill_nan:
                d = <double *>(base + m * row_bytes)
                n_items = (n_old - m) * (row_bytes // sizeof(double))
                for j in range(n_items):
                    d[j] = NAN
            else:
                memset(base + m * row_bytes, 0, (n_old - m) * row_bytes)


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
    """Optimal assignment in one cluster of candidate pairs (kernels_ref.solve_cluster, which
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
    """Global nearest neighbour on candidate pairs (kernels_ref.gnn). A cluster of one pair
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


def updated_rows(st, const long long[::1] rows):
    """Rows of confirmed tracks updated since the last call (kernels_ref.updated_rows)."""
    cdef const cnp.uint32_t[::1] n_updates = st.n_updates
    cdef const cnp.uint16_t[::1] status = st.status
    cdef cnp.uint32_t[::1] n_seen = st.n_seen
    cdef Py_ssize_t m = rows.shape[0], a, count = 0
    out_a = np.empty(m, np.int64)
    cdef long long[::1] out = out_a
    cdef long long k
    with nogil:
        for a in range(m):
            k = rows[a]
            if status[k] != TENTATIVE and n_updates[k] != n_seen[k]:
                out[count] = k
                count += 1
            n_seen[k] = n_updates[k]
    return out_a[:count]
