"""NumPy twin of ``ext/fusion_update.pyx`` (``rig._ext.fusion_update``): the same kernels
with the same arguments and results (to rounding), the equations written out. The
conventions of the arrays are in :mod:`rig.fusion.reference`."""

from __future__ import annotations

import numpy as np

from rig.fusion.models import LOG_2PI, N_MODELS, combine, imm_predict
from rig.fusion.reference.maths import chol_terms, ekf_update, innovation
from rig.records import TRACK_STATUS_CONFIRMED, TRACK_STATUS_TENTATIVE

__all__ = ("update", "predict", "predict_models", "record_updates")


def update(x, P, mu, t_trk, pair_plot, pair_track, z, t_plot, sensor, R_diag, var_clock, M,
           t_site, model):
    """IMM-EKF update of each track with its plot, in place. Returns per pair the combined
    prediction's ``(ν (n,4), S (n,4,4), ż (n,4), d² (n,), log N(ν; 0, S) (n,))`` and
    ``ok (n,)``: 0 where the innovation covariance was not positive definite and the track
    was left as it was (a model whose own update fails keeps its prediction and has
    likelihood 0).

    μ_j ∝ Λ_j c̄_j;  x = Σ μ_j x_j⁺ (the stored state keeps every model's x_j, P_j, μ_j).
    """
    n = len(pair_plot)
    nu_out, S_out = np.zeros((n, 4)), np.zeros((n, 4, 4))
    zdot_out, d2_out, ll_out = np.zeros((n, 4)), np.zeros(n), np.zeros(n)
    ok = np.zeros(n, np.uint8)
    for p in range(n):
        i, k = pair_plot[p], pair_track[p]
        s = sensor[i]
        dt = t_plot[i] - t_trk[k]
        xp, Pp, cbar = imm_predict(x[k], P[k], mu[k], dt, model)
        xc, Pc = combine(xp, Pp, cbar)
        nu, S, zdot = innovation(xc, Pc, z[i], R_diag[i], var_clock[i], M[s], t_site[s])
        try:
            d2, logdet, _ = chol_terms(S, nu)
        except np.linalg.LinAlgError:
            continue
        ok[p] = 1
        m = len(nu)
        nu_out[p, :m], S_out[p, :m, :m], zdot_out[p, :m], d2_out[p] = nu, S, zdot, d2
        ll_out[p] = -0.5 * (d2 + logdet + m * LOG_2PI)
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
    return nu_out, S_out, zdot_out, d2_out, ll_out, ok


def predict(x, P, mu, t_trk, rows, t, model):
    """Combined IMM prediction of tracks ``rows`` to time ``t``: ``(x (m,6), P (m,6,6))``."""
    xs = np.zeros((len(rows), 6))
    Ps = np.zeros((len(rows), 6, 6))
    for a, k in enumerate(rows):
        xp, Pp, cbar = imm_predict(x[k], P[k], mu[k], t - t_trk[k], model)
        xs[a], Ps[a] = combine(xp, Pp, cbar)
    return xs, Ps


def predict_models(x, P, mu, rows, dt, model):
    """Per-model IMM prediction of tracks ``rows``, each over its own ``dt``:
    ``(x⁻ (m,K,6), P⁻ (m,K,6,6), c̄ (m,K))``."""
    K = x.shape[1]
    xs, Ps, cbar = np.zeros((len(rows), K, 6)), np.zeros((len(rows), K, 6, 6)), \
        np.zeros((len(rows), K))
    for a, k in enumerate(rows):
        xs[a], Ps[a], cbar[a] = imm_predict(x[k], P[k], mu[k], dt[a], model)
    return xs, Ps, cbar


def record_updates(st, pair_plot, pair_track, ok, d2, ll, z, t_plot, sensor, partner, bias,
                   log_gain, confirm_updates, confirm_score, confirm_span_s):
    """Bookkeeping after :func:`update` for the pairs with ``ok``: update counts, last update
    times (of the track, of each sensor with its plot as measured, of each partner), sensor
    and partner masks, and the track score: each update adds ``log N(ν; 0, S) + log_gain[s,
    0 or 1]`` (``ll`` plus the sensor's ``log(pd / clutter density)`` for plots without and
    with a range rate; an angle-only plot takes column 0, which holds a passive sensor's
    density in azimuth and elevation: the log likelihood ratio of target against clutter). A tentative track with at
    least ``confirm_updates`` updates and a score of ``confirm_score`` is confirmed.
    Returns ``(nis_sum, nis_count, nis_dof, confirmed, t_latest)``: d² of the tracks that
    were confirmed before this batch with their degrees of freedom, how many tracks this
    batch confirmed, and the latest plot time (−inf if no pair was ok)."""
    ok = np.asarray(ok).astype(bool)
    p, k, d2 = pair_plot[ok], pair_track[ok], d2[ok]
    t, s = t_plot[p], sensor[p]
    c = partner[s]
    confirmed = st.status[k] == TRACK_STATUS_CONFIRMED
    three = np.isnan(z[p, 3])
    nis_dof = int(np.where(np.isnan(z[p, 0]), 2, np.where(three, 3, 4))[confirmed].sum())
    np.add.at(st.n_updates, k, 1)
    np.add.at(st.score, k, ll[ok] + log_gain[s, np.where(three, 0, 1)])
    np.fmax.at(st.t_last, k, t)
    np.bitwise_or.at(st.sensors, k, np.left_shift(np.uint64(1), s.astype(np.uint64)))
    np.bitwise_or.at(st.partners, k, np.left_shift(np.uint32(1), c.astype(np.uint32)))
    st.sensor_t_last[k, s] = t
    st.sensor_z_raw[k, s] = z[p, :3] + bias[s, :3]
    st.sensor_t_raw[k, s] = t + bias[s, 3]
    np.fmax.at(st.partner_t_last, (k, c), t)
    promote = np.unique(k[(st.status[k] == TRACK_STATUS_TENTATIVE)
                          & (st.n_updates[k] >= confirm_updates)
                          & (st.score[k] >= confirm_score)
                          & (st.t_last[k] - st.t_first[k] >= confirm_span_s)])
    st.status[promote] = TRACK_STATUS_CONFIRMED
    return (float(d2[confirmed].sum()), int(confirmed.sum()), nis_dof, len(promote),
            float(t.max()) if len(t) else -np.inf)

