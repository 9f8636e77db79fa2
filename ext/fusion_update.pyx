# cython: language_level=3
"""The IMM-EKF update of tracks with their assigned plots, the bookkeeping after it, and
prediction.

Twin: :mod:`rig.fusion.reference.update` (same arguments, the equations written out)."""

import numpy as np

from fusion_maths cimport *

cnp.import_array()
check_shared_layouts()

__all__ = ("update", "predict", "predict_models", "record_updates")


def update(double[:, :, ::1] x, double[:, :, :, ::1] P, double[:, ::1] mu,
           double[::1] t_trk, const long long[::1] pair_plot, const long long[::1] pair_track,
           const double[:, ::1] z, const double[::1] t_plot, const long long[::1] sensor,
           const double[:, ::1] R_diag, const double[::1] var_clock,
           const double[:, :, ::1] M, const double[:, ::1] t_site, const double[::1] model):
    """IMM-EKF update of each track with its plot, in place (twin update)."""
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
    """Combined IMM prediction of tracks ``rows`` to time ``t`` (twin predict)."""
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


def predict_models(const double[:, :, ::1] x, const double[:, :, :, ::1] P,
                   const double[:, ::1] mu, const long long[::1] rows, const double[::1] dt,
                   const double[::1] model):
    """Per-model IMM prediction of tracks ``rows``, each over its own ``dt`` (twin
    predict_models)."""
    cdef Py_ssize_t m = rows.shape[0], a
    xs_a = np.zeros((m, K, NX))
    Ps_a = np.zeros((m, K, 6, 6))
    cbar_a = np.zeros((m, K))
    cdef double[:, :, ::1] xs = xs_a
    cdef double[:, :, :, ::1] Ps = Ps_a
    cdef double[:, ::1] cbar = cbar_a
    cdef long long k
    with nogil:
        for a in range(m):
            k = rows[a]
            imm_predict(&x[k, 0, 0], &P[k, 0, 0, 0], &mu[k, 0], dt[a], as_model(model),
                        &xs[a, 0, 0], &Ps[a, 0, 0, 0], &cbar[a, 0])
    return xs_a, Ps_a, cbar_a


def record_updates(st, const long long[::1] pair_plot, const long long[::1] pair_track,
                   const unsigned char[::1] ok, const double[::1] d2, const double[::1] ll,
                   const double[:, ::1] z, const double[::1] t_plot,
                   const long long[::1] sensor, const long long[::1] partner,
                   const double[:, ::1] bias, const double[:, ::1] log_gain,
                   long long confirm_updates, double confirm_score, double confirm_span_s):
    """Bookkeeping after ``update`` (twin record_updates)."""
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
                nis_dof += 2 if isnan(z[i, 0]) else (3 if isnan(z[i, 3]) else 4)
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
