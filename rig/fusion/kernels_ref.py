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

from rig.fusion.models import (BALLISTIC, LOG_2PI, N_MODELS, combine, enu_jacobian, imm_predict,
                               measure, wrap_pi)
from rig.records import (TRACK_STATUS_COASTING, TRACK_STATUS_CONFIRMED,
                         TRACK_STATUS_TENTATIVE)


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
         radius_plot, R_diag, var_clock, M, t_site, model, gate_d2, model_gate_weight):
    """Candidate (plot, track) pairs: ``(plot, track, d², cost)`` in plot-major order, ``d²``
    against the IMM's moment-matched prediction. ``gate_d2 = (gate for 3-vector plots, gate
    for 4-vector plots)``.

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
            g = gate_d2[dims(z[i]) - 3]
            try:
                nu, S, _ = innovation(xc, Pc, z[i], R_diag[i], var_clock[i], M[s], t_site[s])
                d2, logdet, _ = _chol_terms(S, nu)
            except np.linalg.LinAlgError:
                continue
            inside = d2 <= g
            ll = []
            for j in range(N_MODELS):
                try:
                    nu_j, S_j, _ = innovation(xp[j], Pp[j], z[i], R_diag[i], var_clock[i], M[s],
                                              t_site[s])
                    d2_j, logdet_j, _ = _chol_terms(S_j, nu_j)
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


def ekf_update(x, P, z, R_diag, var_clock, M, t_site):
    """One EKF update in polar space, in square-root form; returns ``(x⁺, P⁺, log
    likelihood)``.

    S = H P Hᵀ + R = L Lᵀ (Cholesky);  W = P Hᵀ L⁻ᵀ;  g = L⁻¹ ν;  x⁺ = x + W g;
    P⁺ = P − W Wᵀ  (the gain is K = P Hᵀ S⁻¹ = W L⁻¹, and K S Kᵀ = W Wᵀ: only triangular
    solves, and P⁺ symmetric by construction).
    """
    m = dims(z)
    zhat, H, zdot = measure(x, M, t_site, m)
    nu = z[:m] - zhat
    nu[1] = wrap_pi(nu[1])
    R = np.diag(R_diag[:m]) + var_clock * np.outer(zdot, zdot)
    S = H @ P @ H.T + R
    d2, logdet, L = _chol_terms(S, nu)
    W = solve_triangular(L, (P @ H.T).T, lower=True).T          # P Hᵀ L⁻ᵀ
    g = solve_triangular(L, nu, lower=True)
    Pn = P - W @ W.T
    Pn = 0.5 * (Pn + Pn.T)
    return x + W @ g, Pn, -0.5 * (d2 + logdet + m * LOG_2PI)


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
            d2, logdet, _ = _chol_terms(S, nu)
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


# --- the engine's per-window bookkeeping ----------------------------------------------------
# Kernels below that take ``st`` read and write the arrays of a rig.fusion.store.TrackStore.

#: Why a plot is not used, by the code :func:`screen` gives (code − 1 indexes this).
SCREEN_REASONS = ("unknown sensor", "not a number", "negative range", "elevation beyond ±90°",
                  "out of sequence", "time far ahead")


def screen(plots, clock, oldest_s, newest_s):
    """Per plot of a ``PLOT_DTYPE`` array: 0 to use it, else the 1-based number of the first
    of :data:`SCREEN_REASONS` that applies; and the latest registered time of the plots kept
    (−inf if none). ``clock (S,)``: each sensor's clock offset, so the registered time is
    ``t = t_sensor − clock[sensor]``; out of sequence: ``t < oldest_s``; time far ahead:
    ``t > newest_s``."""
    n = len(plots)
    code = np.zeros(n, np.uint8)
    checks = (
        plots["sensor_id"] >= len(clock),
        ~(np.isfinite(plots["t_sensor"]) & np.isfinite(plots["range_m"])
          & np.isfinite(plots["az_rad"]) & np.isfinite(plots["el_rad"]))
        | np.isinf(plots["range_rate_mps"]),
        plots["range_m"] < 0,
        np.abs(plots["el_rad"]) > np.pi / 2,
    )
    for c, bad in enumerate(checks, 1):
        code[(code == 0) & bad] = c
    ok = code == 0
    t = np.full(n, np.nan)
    t[ok] = plots["t_sensor"][ok] - clock[plots["sensor_id"][ok]]
    code[ok & (t < oldest_s)] = 5
    code[(code == 0) & (t > newest_s)] = 6
    keep = code == 0
    return code, float(t[keep].max()) if keep.any() else -np.inf


def moments(x, P, mu, n):
    """Of the first ``n`` tracks: mixture position and velocity ``Σ μ_j x_j`` (n,3) each, and
    ``sqrt(Σ μ_j tr P_j)`` of the position and of the velocity block (n,) each (pre-gate)."""
    xc = np.einsum("nk,nkd->nd", mu[:n], x[:n])
    return (np.ascontiguousarray(xc[:, :3]), np.ascontiguousarray(xc[:, 3:]),
            np.sqrt(np.einsum("nk,nkii->n", mu[:n], P[:n, :, :3, :3])),
            np.sqrt(np.einsum("nk,nkii->n", mu[:n], P[:n, :, 3:, 3:])))


def registration_pairs(st, pair_plot, pair_track, z, t_plot, sensor, bias, min_updates,
                       max_dt_s, out, start):
    """Plot pairs for registration, taken before the window's updates: each pair's plot of
    sensor s on a confirmed track with at least ``min_updates`` updates and the last plot of
    every other sensor r on that track within ``max_dt_s``, in pair-major, r-ascending order,
    written into rows ``start …`` of ``out = (s, r, z_s (·,3), z_r (·,3), t_s, t_r, v (·,3),
    P_v (·,3,3))``: the plots and times as measured (registered ones plus ``bias``) and the
    track's mixture velocity and its covariance ``Σ μ_j P_j,vv``. Returns the row after the
    last; if ``out`` is too short, writes nothing and returns the row count it needs."""
    sensor_p = sensor[pair_plot]
    good = ((st.status[pair_track] == TRACK_STATUS_CONFIRMED)
            & (st.n_updates[pair_track] >= min_updates))
    with np.errstate(invalid="ignore"):
        near = np.abs(t_plot[pair_plot][:, None] - st.sensor_t_last[pair_track]) <= max_dt_s
    near[np.arange(len(sensor_p)), sensor_p] = False
    i, r = np.nonzero(near & good[:, None])
    end = start + len(i)
    if end > len(out[0]):
        return end
    k = pair_track[i]
    mu = st.mu[k]
    z_raw = z[pair_plot, :3] + bias[sensor_p, :3]
    t_raw = t_plot[pair_plot] + bias[sensor_p, 3]
    pairs = (sensor_p[i], r, z_raw[i], st.sensor_z_raw[k, r], t_raw[i], st.sensor_t_raw[k, r],
             np.einsum("mk,mkd->md", mu, st.x[k, :, 3:]),
             np.einsum("mk,mkij->mij", mu, st.P[k, :, 3:, 3:]))
    for o, a in zip(out, pairs):
        o[start:end] = a
    return end


def record_updates(st, pair_plot, pair_track, ok, d2, ll, z, t_plot, sensor, partner, bias,
                   log_gain, confirm_updates, confirm_score, confirm_span_s):
    """Bookkeeping after :func:`update` for the pairs with ``ok``: update counts, last update
    times (of the track, of each sensor with its plot as measured, of each partner), sensor
    and partner masks, and the track score: each update adds ``log N(ν; 0, S) + log_gain[s,
    dims − 3]`` (``ll`` plus the sensor's ``log(pd / clutter density)`` for 3- and 4-vector
    plots: the log likelihood ratio of target against clutter). A tentative track with at
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
    nis_dof = int(np.where(three, 3, 4)[confirmed].sum())
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


def initiate(st, row0, z, t_plot, sensor, pc, R_diag, M, partner, bias, mu_initial, first_id,
             v_sigma_mps, v_up_sigma_mps, v_up_ballistic_sigma_mps):
    """Tentative tracks in store rows ``row0, row0 + 1, …`` (made by ``st.add``), one per plot,
    with ids from ``first_id``: every model at the plot's Cartesian position ``pc``, with
    ``P_pos = A R Aᵀ`` (``A = M ∂enu/∂(r, az, el)``) and velocity 0 ± ``v_sigma_mps``
    (horizontal), ± ``v_up_sigma_mps`` (up; ± ``v_up_ballistic_sigma_mps`` in the ballistic
    model); a range rate ṙ updates each model's velocity prior ``v ~ N(0, D)`` as a
    measurement of ``uᵀ v`` (u the line of sight): ``s = uᵀ D u + σ_ṙ²``,
    ``v = D u ṙ / s``, ``P_v = D − D u uᵀ D / s`` (a model that expects aircraft to fly
    level puts a steep radar's range rate into horizontal speed, the ballistic model into
    climb)."""
    n = len(z)
    rows = np.arange(row0, row0 + n)
    J, enu = enu_jacobian(z[:, :3])              # ∂enu/∂(r, az, el)
    A = M[sensor] @ J                            # origin ENU from (r, az, el)
    P0 = np.zeros((n, 6, 6))
    P0[:, :3, :3] = (A * R_diag[:, None, :3]) @ A.transpose(0, 2, 1)   # A R Aᵀ
    P0[:, [3, 4], [3, 4]] = v_sigma_mps ** 2
    P0 = np.repeat(P0[:, None], N_MODELS, axis=1)              # (n, K, 6, 6)
    P0[:, :, 5, 5] = v_up_sigma_mps ** 2
    P0[:, BALLISTIC, 5, 5] = v_up_ballistic_sigma_mps ** 2
    x0 = np.zeros((n, N_MODELS, 6))
    x0[:, :, :3] = pc[:, None, :]
    rate = np.isfinite(z[:, 3])
    if rate.any():
        u = np.einsum("nij,nj->ni", M[sensor[rate]], enu[rate])
        u /= np.linalg.norm(u, axis=1)[:, None]
        D = np.diagonal(P0[rate][:, :, 3:, 3:], axis1=2, axis2=3)      # (m, K, 3)
        Du = D * u[:, None, :]                                          # D u
        s = np.einsum("mkd,md->mk", Du, u) + R_diag[rate, 3, None]      # uᵀ D u + σ_ṙ²
        x0[rate, :, 3:] = Du * (z[rate, 3, None] / s)[:, :, None]
        P0[rate, :, 3:, 3:] -= Du[:, :, :, None] * Du[:, :, None, :] / s[:, :, None, None]
    st.x[rows] = x0
    st.P[rows] = P0
    st.mu[rows] = mu_initial
    st.t[rows] = t_plot
    st.t_first[rows] = t_plot
    st.t_last[rows] = t_plot
    st.track_id[rows] = np.arange(first_id, first_id + n)
    st.status[rows] = TRACK_STATUS_TENTATIVE
    st.n_updates[rows] = 1
    c = partner[sensor]
    st.sensors[rows] = np.left_shift(np.uint64(1), sensor.astype(np.uint64))
    st.partners[rows] = np.left_shift(np.uint32(1), c.astype(np.uint32))
    st.sensor_t_last[rows, sensor] = t_plot
    st.sensor_z_raw[rows, sensor] = z[:, :3] + bias[sensor, :3]
    st.sensor_t_raw[rows, sensor] = t_plot + bias[sensor, 3]
    st.partner_t_last[rows, c] = t_plot


def fill_tracks(out, st, rows, t, model, coasting_after_s):
    """``out`` (TRACK_DTYPE, one per row): the tracks of store ``rows`` predicted to ``t``
    (IMM mixture); a confirmed track not updated for ``coasting_after_s`` is coasting."""
    if not len(rows):
        return
    xs, Ps = predict(st.x, st.P, st.mu, st.t, rows, float(t), model)
    out["track_id"] = st.track_id[rows]
    status = st.status[rows].copy()
    confirmed = status != TRACK_STATUS_TENTATIVE
    status[confirmed & (t - st.t_last[rows] > coasting_after_s)] = TRACK_STATUS_COASTING
    out["status"] = status
    out["n_updates"] = st.n_updates[rows]
    out["partners"] = st.partners[rows]
    out["t"] = t
    for j, name in enumerate(("east", "north", "up", "v_east", "v_north", "v_up")):
        out[name] = xs[:, j]
    out["covariance"] = Ps
    out["partner_t_last"] = st.partner_t_last[rows]


def stale(st, rows, t_s, scan_period_s, max_scan_s, tentative_gap_scans, coast_scans,
          max_position_sigma_m, M, t_site, coverage, latest_s, log_miss_tentative,
          log_miss_confirmed, earth_centre_m, lowest_m):
    """Per row: 1 if the track is due for deletion at ``t_s`` (rig.fusion.management).

    Below the ground: a track whose straight-line position at ``t_s`` is nearer the earth's
    centre (at ``(0, 0, −earth_centre_m)`` in the origin's frame) than ``lowest_m`` goes.

    Missed looks: a sensor ``s`` whose coverage ``coverage[s] = (log(1 − pd), r_lo, r_hi,
    el_lo, el_hi)`` holds the track's position at ``t_s`` (straight-line from its state; range
    and elevation in the site's frame) has looked at it ``⌊(min(t_s, latest_s[s]) − t_last) /
    T_s − 0.1⌋`` times since its last update (only scans the sensor has delivered plots
    beyond count); ``log_miss = Σ looks · log(1 − pd)``. A tentative track goes when
    ``log_miss < log_miss_tentative`` or after ``tentative_gap_scans`` revisit periods without
    an update, a confirmed one when ``log_miss < log_miss_confirmed``, after ``coast_scans``
    revisit periods, or once its position sigma at ``t_s`` exceeds ``max_position_sigma_m``.
    The revisit period is the shortest (tentative) or longest (confirmed) scan period of the
    sensors that updated the track within 2.5 of their scans before its last update
    (``max_scan_s`` if none did)."""
    if not len(rows):
        return np.zeros(0, np.uint8)
    t_last = st.t_last[rows]
    gap = t_s - t_last
    with np.errstate(invalid="ignore"):
        recent = (t_last[:, None] - st.sensor_t_last[rows]) < 2.5 * scan_period_s
    shortest = np.min(np.where(recent, scan_period_s, np.inf), axis=1, initial=np.inf)
    longest = np.max(np.where(recent, scan_period_s, -np.inf), axis=1, initial=-np.inf)
    shortest = np.where(np.isfinite(shortest), shortest, max_scan_s)
    longest = np.where(np.isfinite(longest), longest, max_scan_s)
    tentative = st.status[rows] == TRACK_STATUS_TENTATIVE
    mu = st.mu[rows]
    xc = np.einsum("nk,nkd->nd", mu, st.x[rows])
    var_pos = np.einsum("nk,nkii->n", mu, st.P[rows, :, :3, :3])
    var_vel = np.einsum("nk,nkii->n", mu, st.P[rows, :, 3:, 3:])
    dt = np.maximum(t_s - st.t[rows], 0.0)
    sigma = np.sqrt(var_pos + dt * dt * var_vel)
    pos = xc[:, :3] + dt[:, None] * xc[:, 3:]
    log_miss = np.zeros(len(rows))
    for s in range(len(scan_period_s)):
        if not coverage[s, 0] < 0:
            continue
        l = (pos - t_site[s]) @ M[s]                       # Mᵀ (p − t) as rows
        r = np.linalg.norm(l, axis=1)
        el = np.arctan2(l[:, 2], np.hypot(l[:, 0], l[:, 1]))
        inside = ((r > coverage[s, 1]) & (r < coverage[s, 2]) & (el > coverage[s, 3])
                  & (el < coverage[s, 4]))
        looks = np.floor((min(t_s, latest_s[s]) - t_last) / scan_period_s[s] - 0.1)
        log_miss += np.where(inside & (looks > 0), looks, 0.0) * coverage[s, 0]
    drop = np.where(tentative,
                    (gap > tentative_gap_scans * shortest) | (log_miss < log_miss_tentative),
                    (gap > coast_scans * longest) | (log_miss < log_miss_confirmed)
                    | (sigma > max_position_sigma_m))
    centre = np.array([0.0, 0.0, -earth_centre_m])
    drop |= np.linalg.norm(pos - centre, axis=1) < lowest_m
    return drop.astype(np.uint8)


def close_tracks(st, rows, t, model, radius_m, d2_max):
    """:func:`close_pairs` of the tracks of store ``rows`` predicted to ``t``: ``(a, b, d²)``
    with ``a < b`` indexing ``rows``."""
    xs, Ps = predict(st.x, st.P, st.mu, st.t, rows, float(t), model)
    return close_pairs(xs, Ps, radius_m, d2_max)


def registration_terms(s, r, z_s, z_r, t_s, t_r, v, P_v, b, P, M, t_site, R_diag, accel_mps2,
                       gate_d2):
    """Information from plot pairs for rig.fusion.registration (its docstring has the model):
    ``(Y (4S,4S), η (4S,), ok (m,))`` with ``Y = Σ Hᵀ N⁻¹ H``, ``η = Σ Hᵀ N⁻¹ (H b − y)``
    over the pairs whose ``d² = yᵀ (N + H P Hᵀ)⁻¹ y < gate_d2`` (``ok``; a pair whose
    covariance is not positive definite is left out)."""
    S = len(b)
    Y, eta = np.zeros((4 * S, 4 * S)), np.zeros(4 * S)
    ok = np.zeros(len(s), np.uint8)
    bv = b.ravel()
    for p in range(len(s)):
        J_s, l_s = enu_jacobian((z_s[p] - b[s[p], :3])[None])
        J_r, l_r = enu_jacobian((z_r[p] - b[r[p], :3])[None])
        A_s, A_r = M[s[p]] @ J_s[0], M[r[p]] @ J_r[0]
        dt = (t_s[p] - b[s[p], 3]) - (t_r[p] - b[r[p], 3])
        y = (M[s[p]] @ l_s[0] + t_site[s[p]]) - (M[r[p]] @ l_r[0] + t_site[r[p]]) - v[p] * dt
        H = np.zeros((3, 4 * S))
        H[:, 4 * s[p]:4 * s[p] + 3] = -A_s                    # H_s = [−A_s | v]
        H[:, 4 * s[p] + 3] = v[p]
        H[:, 4 * r[p]:4 * r[p] + 3] = A_r                     # H_r = [A_r | −v]
        H[:, 4 * r[p] + 3] = -v[p]
        N = ((A_s * R_diag[s[p]]) @ A_s.T + (A_r * R_diag[r[p]]) @ A_r.T + dt * dt * P_v[p]
             + (0.5 * accel_mps2 * dt * dt) ** 2 * np.eye(3))
        try:
            d2, _, _ = _chol_terms(N + H @ P @ H.T, y)
            if not d2 < gate_d2:
                continue
            L = np.linalg.cholesky(N)
        except np.linalg.LinAlgError:
            continue
        W = solve_triangular(L.T, solve_triangular(L, H, lower=True), lower=False)  # N⁻¹ H
        Y += H.T @ W
        eta += W.T @ (H @ bv - y)
        ok[p] = 1
    return Y, eta, ok


def pair_clusters(pi, ti, n_plots, n_tracks):
    """Connected components of the bipartite graph of candidate pairs (plot ``pi``, track
    ``ti``, both compact indices): a label per pair, numbered in order of first appearance,
    and the number of components."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if not len(pi):
        return np.zeros(0, np.int64), 0
    graph = coo_matrix((np.ones(len(pi)), (pi, n_plots + ti)),
                       shape=(n_plots + n_tracks,) * 2)
    _, label = connected_components(graph, directed=False)
    raw = label[pi]
    _, first = np.unique(raw, return_index=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[np.searchsorted(np.unique(raw), raw)], len(first)


def first_plots(idx, p, t, s, radius, scan_period_s, speed_max_mps):
    """Of the plots ``idx`` (in time order; Cartesian ``p``, time ``t``, sensor ``s``, pre-gate
    ``radius``, all indexed by plot): 1 for those with no earlier plot of another scan
    within reach, ``|p_i − p_j| < radius_i + radius_j + speed_max·|t_i − t_j|`` (plots of one
    sensor less than half its scan period apart are one scan, and of two objects)."""
    n = len(idx)
    if n < 2:
        return np.ones(n, np.uint8)
    p, t, s, radius = p[idx], t[idx], s[idx], radius[idx]
    dt = np.abs(t[:, None] - t[None, :])
    reach = radius[:, None] + radius[None, :] + speed_max_mps * dt
    near = np.sum((p[:, None, :] - p[None, :, :]) ** 2, axis=2) < reach * reach
    one_scan = (s[:, None] == s[None, :]) & (dt < 0.5 * scan_period_s[s][:, None])
    earlier = np.tri(n, k=-1, dtype=bool)            # j < i: earlier in time order
    return (~np.any(near & ~one_scan & earlier, axis=1)).astype(np.uint8)


def next_window(pending, clock, window_s, horizon_s):
    """The next window of ``pending`` plots (PLOT_DTYPE, sorted by ``t_sensor``; registered
    time ``t_sensor − clock[sensor]``): ``(end, cut, inside, n_inside)``. The window ends at
    the first multiple of ``window_s`` after the earliest registered time (and at least one
    window after ``horizon_s``); only the first ``cut`` plots can fall before ``end`` (the
    clocks differ by at most their spread), ``inside (cut,)`` marks those that do."""
    W = window_s
    c_lo, c_hi = float(clock.min()), float(clock.max())
    ts = pending["t_sensor"]
    head = pending[:np.searchsorted(ts, ts[0] + (c_hi - c_lo), side="right")]
    first = float(np.min(head["t_sensor"] - clock[head["sensor_id"]]))
    end = np.floor(first / W) * W + W
    if np.isfinite(horizon_s):
        end = max(end, horizon_s + W)
    cut = int(np.searchsorted(ts, end + c_hi, side="right"))
    inside = (ts[:cut] - clock[pending["sensor_id"][:cut]] < end).astype(np.uint8)
    return float(end), cut, inside, int(inside.sum())


def registration_step(P, Y, eta, b, gauge):
    """The registration's update from its information ``(Y, η)`` (rig.fusion.registration):
    ``A = I + P Y``, ``b⁺ = Π (b + A⁻¹ P (η − Y b))``, ``P⁺ = sym(Π A⁻¹ P Πᵀ)`` with the
    gauge ``Π`` that holds the unobservable common modes at zero. Returns ``(b⁺ (S,4),
    P⁺)``; raises ``numpy.linalg.LinAlgError`` if ``A`` is singular."""
    n = len(P)
    bv = b.ravel()
    A = np.eye(n) + P @ Y                                     # A = I + P Y
    bv = bv + np.linalg.solve(A, P @ (eta - Y @ bv))
    Pn = np.linalg.solve(A, P)                                # P⁺ = A⁻¹ P
    Pn = gauge @ Pn @ gauge.T                                 # the unobservable common modes
    return (gauge @ bv).reshape(b.shape), 0.5 * (Pn + Pn.T)


def compact_rows(arrays, nan_fill, keep, n_old):
    """In each array (rows on the first axis): rows ``keep`` (ascending) moved to the front
    in order, rows ``len(keep) … n_old − 1`` reset to NaN (``nan_fill``) or 0."""
    m = len(keep)
    for a, nan in zip(arrays, nan_fill):
        a[:m] = a[keep]
        a[m:n_old] = np.nan if nan else 0


#: Cost of a (plot, track) pair outside the gate in a cluster's dense cost matrix.
NO_PAIR = 1e9


def solve_cluster(pi, ti, cost):
    """Optimal assignment in one cluster of candidate pairs (compact plot and track indices
    ``pi``, ``ti``; ``cost`` per pair) by ``scipy.optimize.linear_sum_assignment`` on its
    dense cost matrix, pairs outside the gate costing ``NO_PAIR``: positions of the chosen
    pairs in the cluster's list."""
    from scipy.optimize import linear_sum_assignment

    rows, r_inv = np.unique(pi, return_inverse=True)
    cols, c_inv = np.unique(ti, return_inverse=True)
    C = np.full((len(rows), len(cols)), NO_PAIR)
    C[r_inv, c_inv] = cost
    a, b = linear_sum_assignment(C)
    ok = C[a, b] < NO_PAIR
    lookup = np.full((len(rows), len(cols)), -1, np.int64)
    lookup[r_inv, c_inv] = np.arange(len(pi))
    return lookup[a[ok], b[ok]]


def gnn(pair_plot, pair_track, cost):
    """Global nearest neighbour on candidate pairs (rig.fusion.association): positions of
    the chosen pairs, ascending, each plot and each track at most once. Every connected
    cluster of candidates is solved on its own (:func:`solve_cluster`)."""
    m = len(pair_plot)
    if m < 2:
        return np.arange(m)
    plots, pi = np.unique(pair_plot, return_inverse=True)
    tracks, ti = np.unique(pair_track, return_inverse=True)
    if len(plots) == m and len(tracks) == m:
        return np.arange(m)                            # no plot or track is contested
    label, _ = pair_clusters(pi.astype(np.int64), ti.astype(np.int64), len(plots), len(tracks))
    chosen = []
    for c in np.unique(label):
        idx = np.flatnonzero(label == c)
        chosen.append(idx if len(idx) == 1 else idx[solve_cluster(pi[idx], ti[idx], cost[idx])])
    return np.sort(np.concatenate(chosen))


def updated_rows(st, rows):
    """Of store ``rows``: those of confirmed (not tentative) tracks whose update count
    changed since the last call, which records every row's count (``st.n_seen``)."""
    n_updates = st.n_updates[rows]
    changed = (st.status[rows] != TRACK_STATUS_TENTATIVE) & (n_updates != st.n_seen[rows])
    st.n_seen[rows] = n_updates
    return rows[changed]
