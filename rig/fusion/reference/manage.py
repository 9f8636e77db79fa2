"""NumPy twin of ``ext/fusion_manage.pyx`` (``rig._ext.fusion_manage``): the same kernels
with the same arguments and results (to rounding), the equations written out. The
conventions of the arrays are in :mod:`rig.fusion.reference`."""

from __future__ import annotations

import numpy as np

from rig.fusion.models import BALLISTIC, N_MODELS, enu_jacobian
from rig.fusion.reference.maths import chol_terms
from rig.fusion.reference.update import predict
from rig.records import TRACK_STATUS_COASTING, TRACK_STATUS_TENTATIVE

__all__ = ("first_plots", "initiate", "fill_tracks", "updated_rows", "stale", "close_pairs",
           "close_tracks", "compact_rows")


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


def updated_rows(st, rows):
    """Of store ``rows``: those of confirmed (not tentative) tracks whose update count
    changed since the last call, which records every row's count (``st.n_seen``)."""
    n_updates = st.n_updates[rows]
    changed = (st.status[rows] != TRACK_STATUS_TENTATIVE) & (n_updates != st.n_seen[rows])
    st.n_seen[rows] = n_updates
    return rows[changed]


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


def close_pairs(xc, Pc, radius_m, d2_max):
    """Pairs ``(a, b, d²)``, ``a < b``, of states closer than ``radius_m`` in position and with
    ``d² = Δᵀ (P_a + P_b)⁻¹ Δ < d2_max`` (6 dof, Cholesky solve)."""
    out = []
    for a in range(len(xc)):
        for b in range(a + 1, len(xc)):
            dx = xc[a] - xc[b]
            if dx[:3] @ dx[:3] > radius_m * radius_m:
                continue
            d2, _, _ = chol_terms(Pc[a] + Pc[b], dx)
            if d2 < d2_max:
                out.append((a, b, d2))
    if not out:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    o = np.array(out)
    return o[:, 0].astype(np.int64), o[:, 1].astype(np.int64), o[:, 2]


def close_tracks(st, rows, t, model, radius_m, d2_max):
    """:func:`close_pairs` of the tracks of store ``rows`` predicted to ``t``: ``(a, b, d²)``
    with ``a < b`` indexing ``rows``."""
    xs, Ps = predict(st.x, st.P, st.mu, st.t, rows, float(t), model)
    return close_pairs(xs, Ps, radius_m, d2_max)


def compact_rows(arrays, nan_fill, keep, n_old):
    """In each array (rows on the first axis): rows ``keep`` (ascending) moved to the front
    in order, rows ``len(keep) … n_old − 1`` reset to NaN (``nan_fill``) or 0."""
    m = len(keep)
    for a, nan in zip(arrays, nan_fill):
        a[:m] = a[keep]
        a[m:n_old] = np.nan if nan else 0
