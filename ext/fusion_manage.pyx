# cython: language_level=3
"""Track management: initiation, the picture handed out, deletion, merging of close
tracks, row compaction.

Twin: :mod:`rig.fusion.reference.manage` (same arguments, the equations written out)."""

import numpy as np

from fusion_maths cimport *
from rig_records cimport track_t, track_offsets

from rig.records import TRACK_DTYPE, check_layout

cnp.import_array()
check_shared_layouts()
check_layout("track_t", sizeof(track_t), track_offsets(), TRACK_DTYPE)

__all__ = ("first_plots", "initiate", "fill_tracks", "updated_rows", "stale", "close_pairs",
           "close_tracks", "compact_rows")


def first_plots(const long long[::1] idx, const double[:, ::1] p, const double[::1] t,
                const long long[::1] s, const double[::1] radius,
                const double[::1] scan_period_s, double speed_max_mps):
    """Of the plots ``idx`` in time order: 1 for those with no earlier plot of another scan
    within reach (twin first_plots)."""
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


def initiate(st, Py_ssize_t row0, const double[:, ::1] z, const double[::1] t_plot,
             const long long[::1] sensor, const double[:, ::1] pc, const double[:, ::1] R_diag,
             const double[:, :, ::1] M, const long long[::1] partner,
             const double[:, ::1] bias, const double[::1] mu_initial, long long first_id,
             double v_sigma_mps, double v_up_sigma_mps, double v_up_ballistic_sigma_mps):
    """Tentative tracks in store rows from ``row0`` (twin initiate)."""
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


def fill_tracks(cnp.ndarray out, st, const long long[::1] rows, double t,
                const double[::1] model, double coasting_after_s):
    """``out`` (TRACK_DTYPE): the tracks of store ``rows`` predicted to ``t``
    (twin fill_tracks)."""
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


def updated_rows(st, const long long[::1] rows):
    """Rows of confirmed tracks updated since the last call (twin updated_rows)."""
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


def stale(st, const long long[::1] rows, double t_s, const double[::1] scan_period_s,
          double max_scan_s, double tentative_gap_scans, double coast_scans,
          double max_position_sigma_m, const double[:, :, ::1] M, const double[:, ::1] t_site,
          const double[:, ::1] coverage, const double[::1] latest_s,
          double log_miss_tentative, double log_miss_confirmed, double earth_centre_m,
          double lowest_m):
    """Per row: 1 if the track is due for deletion at ``t_s`` (twin stale)."""
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


cdef inline bint close_pair(const double *xa, const double *xb, const double *Pa,
                           const double *Pb, double radius_m, double d2_max,
                           double *d2) noexcept nogil:
    """Two states within ``radius_m`` in position and ``d² < d2_max`` apart in Mahalanobis
    distance (of the sum of their covariances); ``d2`` receives the distance."""
    cdef double dx[6]
    cdef double S[36]
    cdef int c
    for c in range(6):
        dx[c] = xa[c] - xb[c]
    if dx[0] * dx[0] + dx[1] * dx[1] + dx[2] * dx[2] > radius_m * radius_m:
        return False
    for c in range(36):
        S[c] = Pa[c] + Pb[c]
    if mahalanobis6(S, dx, d2) != 0:
        return False
    return d2[0] < d2_max


def close_pairs(const double[:, ::1] xc, const double[:, :, ::1] Pc, double radius_m,
                double d2_max):
    """Pairs of states close in position and in Mahalanobis distance (twin close_pairs)."""
    cdef Py_ssize_t m = xc.shape[0], a, b
    cdef double d2
    out_a, out_b, out_d2 = [], [], []
    with nogil:
        for a in range(m):
            for b in range(a + 1, m):
                if close_pair(&xc[a, 0], &xc[b, 0], &Pc[a, 0, 0], &Pc[b, 0, 0], radius_m,
                              d2_max, &d2):
                    with gil:
                        out_a.append(a)
                        out_b.append(b)
                        out_d2.append(d2)
    return (np.array(out_a, np.int64), np.array(out_b, np.int64), np.array(out_d2, float))


def close_tracks(st, const long long[::1] rows, double t, const double[::1] model,
                 double radius_m, double d2_max):
    """``close_pairs`` of the tracks of store ``rows`` predicted to ``t``
    (twin close_tracks). Only tracks that can be within ``radius_m`` of another are
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
                if close_pair(&xs[a, 0], &xs[b, 0], &Ps[a, 0, 0], &Ps[b, 0, 0], radius_m,
                              d2_max, &d2):       # close_pairs on the predictions
                    with gil:
                        out_a.append(a)
                        out_b.append(b)
                        out_d2.append(d2)
    return (np.array(out_a, np.int64), np.array(out_b, np.int64), np.array(out_d2, float))


def compact_rows(list arrays, list nan_fill, const long long[::1] keep, Py_ssize_t n_old):
    """Kept rows moved to the front, freed rows reset (twin compact_rows); row by row
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
