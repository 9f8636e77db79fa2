# cython: language_level=3
"""Sensor registration: the plot pairs of one target seen by two sensors, their terms,
and the registration's update.

Twin: :mod:`rig.fusion.reference.register` (same arguments, the equations written out)."""

import numpy as np

from fusion_maths cimport *

cnp.import_array()
check_shared_layouts()

__all__ = ("registration_pairs", "registration_terms", "registration_step")


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
    ``out``; only plots that measured range pair (twin registration_pairs)."""
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
            if status[k] != CONFIRMED or n_updates[k] < min_updates or isnan(z[i, 0]):
                continue
            for r in range(S):
                if r != s and fabs(t_plot[i] - s_t_last[k, r]) <= max_dt_s \
                        and not isnan(s_z_raw[k, r, 0]):
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
            if status[k] != CONFIRMED or n_updates[k] < min_updates or isnan(z[i, 0]):
                continue
            for r in range(S):
                if r == s or not fabs(t_plot[i] - s_t_last[k, r]) <= max_dt_s \
                        or isnan(s_z_raw[k, r, 0]):
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
    (twin registration_terms). Each pair's H has eight non-zero columns (its two
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


def registration_step(const double[:, ::1] P, const double[:, ::1] Y, const double[::1] eta,
                      const double[:, ::1] b, const double[:, ::1] gauge):
    """The registration's update from its information (twin registration_step):
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
