# Shared declarations and inline maths of the fusion kernels (ext/fusion_*.pyx).
#
# Each function here is the C form of an equation in rig/fusion/models.py or of a helper of the
# twins in rig/fusion/reference/ (named beside it); every step module compiles its own inline
# copy. model_t mirrors rig.fusion.models.MODEL_FIELDS and the status values rig.records'
# TRACK_STATUS_*: check_shared_layouts() compares them when a step module is imported. A step
# module's `from fusion_maths cimport *` also brings the C maths and memory functions below.
cimport numpy as cnp
from libc.math cimport (sqrt, sin, cos, atan2, exp, log, floor, fabs, isnan, isinf, isfinite,
                        M_PI, INFINITY, NAN)
from libc.string cimport memcpy, memmove, memset

cdef enum:
    K = 4          # IMM models
    NX = 6         # state size
    MZ = 4         # largest measurement: range, azimuth, elevation, range rate

cdef enum:
    TENTATIVE = 0  # rig.records.TRACK_STATUS_*
    CONFIRMED = 1
    COASTING = 2

cdef extern from *:
    """
    #define RIG_FUSION_TWO_PI (2.0 * M_PI)
    #define RIG_FUSION_LOG_2PI 0x1.d67f1c864beb4p+0 /* log(2 pi), rig.fusion.models.LOG_2PI */
    #define RIG_FUSION_NO_PAIR 1e9  /* rig.fusion.reference.assign.NO_PAIR */
    """
    const double TWO_PI "RIG_FUSION_TWO_PI"
    const double LOG_2PI "RIG_FUSION_LOG_2PI"
    const double NO_PAIR "RIG_FUSION_NO_PAIR"


cdef struct model_t:                # rig.fusion.models.MODEL_FIELDS
    double turn_rate_rad_s
    double q[K]                     # q_cv, q_left, q_right, q_ballistic
    double switch_rate_per_s
    double gravity_mps2
    double earth_centre_m
    double switch_to_ballistic_per_s
    double q_vertical


cdef inline const model_t *as_model(const double[::1] model) noexcept nogil:
    return <const model_t *>&model[0]


cdef inline check_shared_layouts():
    """ImportError unless model_t and the status values agree with their Python twins."""
    from rig.fusion.models import MODEL_DTYPE
    from rig.records import (TRACK_STATUS_COASTING, TRACK_STATUS_CONFIRMED,
                             TRACK_STATUS_TENTATIVE, check_layout)
    cdef model_t m
    cdef char *base = <char *>&m
    check_layout("model_t", sizeof(model_t), {
        "turn_rate_rad_s": <char *>&m.turn_rate_rad_s - base, "q_cv": <char *>&m.q[0] - base,
        "q_left": <char *>&m.q[1] - base, "q_right": <char *>&m.q[2] - base,
        "q_ballistic": <char *>&m.q[3] - base,
        "switch_rate_per_s": <char *>&m.switch_rate_per_s - base,
        "gravity_mps2": <char *>&m.gravity_mps2 - base,
        "earth_centre_m": <char *>&m.earth_centre_m - base,
        "switch_to_ballistic_per_s": <char *>&m.switch_to_ballistic_per_s - base,
        "q_vertical": <char *>&m.q_vertical - base}, MODEL_DTYPE)
    if (TENTATIVE, CONFIRMED, COASTING) != (TRACK_STATUS_TENTATIVE, TRACK_STATUS_CONFIRMED,
                                            TRACK_STATUS_COASTING):
        raise ImportError("ext/fusion_maths.pxd: track status values differ from rig.records")


# --- small dense linear algebra ------------------------------------------------------------
cdef inline double wrap_pi(double a) noexcept nogil:
    return a - TWO_PI * floor((a + M_PI) / TWO_PI)


cdef inline void transition(int j, double dt, const double *x, const model_t *m, double *F,
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


cdef inline void add_process_noise(double q_h, double q_up, double dt, double *P) noexcept nogil:
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


cdef inline void imm_predict(const double *x, const double *P, const double *mu, double dt,
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


cdef inline void combine(const double *x, const double *P, const double *w, double *xc,
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


cdef inline void measure(const double *x, const double *M, const double *ts, int m, double *z,
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


cdef inline int cholesky(const double *S, double *L, int n) noexcept nogil:
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
    """2 angle-only (no range), 3 without a range rate, 4 with one (twin dims)."""
    if isnan(z[0]):
        return 2
    return 3 if isnan(z[3]) else 4


cdef inline const double *measured_R(const double *Rd, const double *z) noexcept nogil:
    """The noise variances of the components the plot measures (twin measured): an
    angle-only plot's start at the azimuth's."""
    return Rd + 1 if isnan(z[0]) else Rd


cdef inline int residual(const double *x, const double *M, const double *ts, const double *z,
                  double *nu, double *H, double *zdot) noexcept nogil:
    """ν = z − h(x) (azimuth wrapped), H and ż at x of the components the plot measures
    (twin residual); returns the measurement size m."""
    cdef double zh[MZ]
    cdef int a, b
    cdef int m = dims(z)
    if m == 2:                                      # angle-only: rows az, el of the polar h
        measure(x, M, ts, 3, zh, H, zdot)
        nu[0] = wrap_pi(z[1] - zh[1])
        nu[1] = z[2] - zh[2]
        for a in range(2):
            for b in range(6):
                H[a * 6 + b] = H[(a + 1) * 6 + b]
            zdot[a] = zdot[a + 1]
        zdot[2] = 0.0
        return 2
    measure(x, M, ts, m, zh, H, zdot)
    for a in range(m):
        nu[a] = z[a] - zh[a]
    nu[1] = wrap_pi(nu[1])
    return m


cdef inline int innovation(const double *xc, const double *Pc, const double *z, const double *Rd,
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
    Rd = measured_R(Rd, z)
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


cdef inline int ekf_update(double *x, double *P, const double *z, const double *Rd, double varc,
                    const double *M, const double *ts, double *ll) noexcept nogil:
    """EKF update in square-root form (twin ekf_update)."""
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
    Rd = measured_R(Rd, z)
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


cdef inline void enu_jac(double r, double az, double el, double *J, double *enu) noexcept nogil:
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
