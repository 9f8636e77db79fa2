"""Track-to-track fusion of a partner's tracks with rig's: covariance intersection and
association.

Why covariance intersection (CI). A partner's track and rig's track of the same aircraft are
not independent estimates: both carry the same process noise (the aircraft's manoeuvres since
the tracks began), and, since rig gives its picture back to every partner, the partner's
tracker may well have taken in rig's past tracks, and with them our own past plots. The
cross-covariance between the two estimates is unknown, so the Kalman fusion rule, which
assumes it to be zero, counts the shared information twice and is overconfident. CI,

    P⁻¹ = ω P_a⁻¹ + (1 − ω) P_b⁻¹,    x = P (ω P_a⁻¹ x_a + (1 − ω) P_b⁻¹ x_b),   ω ∈ [0, 1],

is consistent for every cross-covariance (Julier and Uhlmann, 1997): if P_a and P_b bound the
errors of x_a and x_b, P bounds the error of x. A partner that re-sends the same picture
cannot make a track overconfident either: fusing an estimate with itself returns it
unchanged. :mod:`rig.fusion.partner_tracks` uses it at a partner track's first contact with
a system track; afterwards, knowing the partner's previous report, it adds only what the
partner learnt since (information de-correlation), which is tighter.

ω minimises the trace of the fused covariance (optionally weighted per state component):
the trace is the expected squared error of the fused state, the quantity OSPA and RMSE score,
and because ω = 1 and ω = 0 give back P_a and P_b, the fused trace is never above either
input's. (The determinant, the other usual choice, is unit-free but may trade a larger
position error for a smaller velocity volume.) ``tr(W P(ω))`` is convex in ω (the matrix
inverse is operator convex), so a golden-section search finds its minimum; it runs vectorised
over all pairs at once, a fixed 40 steps (ω to 4e-9), with no Python loop per pair as
``scipy.optimize.minimize_scalar`` would need, and a bounded, predictable cost in the loop.

States are ``(east, north, up, v_east, v_north, v_up)`` (m, m/s) in rig's ENU frame, shapes
``(n, 6)`` and covariances ``(n, 6, 6)``.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import chi2

from rig.errors import UsageError

GOLDEN_STEPS = 40
_INV_PHI = (np.sqrt(5.0) - 1.0) / 2.0          # 0.618...


def _information(P: np.ndarray, name: str) -> np.ndarray:
    """``P⁻¹`` of each covariance, through its Cholesky factor (symmetric by construction)."""
    try:
        L = np.linalg.cholesky(P)                                   # P = L Lᵀ
    except np.linalg.LinAlgError as e:
        bad = [i for i in range(len(P)) if not _is_spd(P[i])]
        raise UsageError(f"{name}[{bad[0] if bad else '?'}] is not a positive definite "
                         f"covariance") from e
    Li = np.linalg.inv(L)                                           # triangular, L⁻¹
    return np.swapaxes(Li, -1, -2) @ Li                             # P⁻¹ = L⁻ᵀ L⁻¹


def _is_spd(P: np.ndarray) -> bool:
    try:
        np.linalg.cholesky(P)
    except np.linalg.LinAlgError:
        return False
    return bool(np.all(np.isfinite(P)))


def _fused(omega: np.ndarray, Ya: np.ndarray, Yb: np.ndarray) -> np.ndarray:
    """``P(ω) = (ω Y_a + (1 − ω) Y_b)⁻¹`` for each pair."""
    w = omega[:, None, None]
    L = np.linalg.cholesky(w * Ya + (1.0 - w) * Yb)                 # P⁻¹ = L Lᵀ
    Li = np.linalg.inv(L)
    return np.swapaxes(Li, -1, -2) @ Li                             # P = L⁻ᵀ L⁻¹


def _cost(omega: np.ndarray, Ya: np.ndarray, Yb: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``tr(W P(ω))`` for each pair, W = diag(weights)."""
    P = _fused(omega, Ya, Yb)
    return np.einsum("nii,i->n", P, weights)


def covariance_intersection(x_a, P_a, x_b, P_b, weights=None):
    """Fuse pairs of estimates of unknown cross-correlation: ``(x, P, omega)``.

    ``x_a``, ``x_b``: ``(n, 6)``; ``P_a``, ``P_b``: ``(n, 6, 6)``, positive definite (else
    :class:`UsageError` naming the first bad one). ``weights`` (6,), default ones: ω minimises
    ``tr(diag(weights) P)``. Where the best ω is 0 or 1, the input itself is returned.
    """
    x_a, x_b = np.atleast_2d(np.asarray(x_a, float)), np.atleast_2d(np.asarray(x_b, float))
    P_a, P_b = np.asarray(P_a, float), np.asarray(P_b, float)
    if P_a.ndim == 2:
        P_a, P_b = P_a[None], P_b[None]
    n, k = x_a.shape
    if x_b.shape != (n, k) or P_a.shape != (n, k, k) or P_b.shape != (n, k, k):
        raise UsageError(f"covariance_intersection: shapes {x_a.shape}, {P_a.shape}, "
                         f"{x_b.shape}, {P_b.shape} do not make (n, k) and (n, k, k) pairs")
    w = np.ones(k) if weights is None else np.asarray(weights, float)
    if n == 0:
        return np.zeros((0, k)), np.zeros((0, k, k)), np.zeros(0)
    Ya, Yb = _information(P_a, "P_a"), _information(P_b, "P_b")

    # golden section on [0, 1], every pair at once
    lo, hi = np.zeros(n), np.ones(n)
    c = hi - _INV_PHI * (hi - lo)
    d = lo + _INV_PHI * (hi - lo)
    fc, fd = _cost(c, Ya, Yb, w), _cost(d, Ya, Yb, w)
    for _ in range(GOLDEN_STEPS):
        left = fc < fd                                  # the minimum lies in [lo, d]
        hi = np.where(left, d, hi)
        lo = np.where(left, lo, c)
        d_new = np.where(left, c, lo + _INV_PHI * (hi - lo))
        c_new = np.where(left, hi - _INV_PHI * (hi - lo), d)
        fd_new = np.where(left, fc, np.nan)
        fc_new = np.where(left, np.nan, fd)
        fresh_c, fresh_d = left, ~left
        if fresh_c.any():
            fc_new[fresh_c] = _cost(c_new[fresh_c], Ya[fresh_c], Yb[fresh_c], w)
        if fresh_d.any():
            fd_new[fresh_d] = _cost(d_new[fresh_d], Ya[fresh_d], Yb[fresh_d], w)
        c, d, fc, fd = c_new, d_new, fc_new, fd_new
    omega = 0.5 * (lo + hi)

    # the ends are candidates too: ω = 1 is P_a, ω = 0 is P_b
    f_mid = _cost(omega, Ya, Yb, w)
    f_a = np.einsum("nii,i->n", P_a, w)
    f_b = np.einsum("nii,i->n", P_b, w)
    take_a = (f_a <= f_mid) & (f_a <= f_b)
    take_b = ~take_a & (f_b <= f_mid)
    omega = np.where(take_a, 1.0, np.where(take_b, 0.0, omega))

    P = _fused(omega, Ya, Yb)                                       # P = (ω Y_a + (1−ω) Y_b)⁻¹
    y = (omega[:, None] * np.einsum("nij,nj->ni", Ya, x_a)
         + (1.0 - omega)[:, None] * np.einsum("nij,nj->ni", Yb, x_b))
    x = np.einsum("nij,nj->ni", P, y)                               # x = P (ω Y_a x_a + (1−ω) Y_b x_b)
    x[take_a], P[take_a] = x_a[take_a], P_a[take_a]
    x[take_b], P[take_b] = x_b[take_b], P_b[take_b]
    return x, P, omega


def track_distances(system_x, system_P, partner_x, partner_P, components) -> np.ndarray:
    """Squared Mahalanobis distances ``(n, m)`` between every system and partner track on the
    state ``components``, with ``S = P_s + P_p`` (the cross-covariance, unknown, left out)."""
    idx = np.asarray(components)
    dx = partner_x[None, :, idx] - system_x[:, None, idx]                      # (n, m, k)
    S = (system_P[:, None][..., idx[:, None], idx[None, :]]
         + partner_P[None, :][..., idx[:, None], idx[None, :]])                # (n, m, k, k)
    L = np.linalg.cholesky(S)                                                   # S = L Lᵀ
    z = np.linalg.solve(L, dx[..., None])[..., 0]                               # z = L⁻¹ Δ
    return np.einsum("nmk,nmk->nm", z, z)                                       # d² = Δᵀ S⁻¹ Δ


def associate_tracks(system_x, system_P, partner_x, partner_P, gate: float = 0.999, *,
                     use_velocity: bool = True) -> np.ndarray:
    """Track-to-track association: ``(k, 2)`` index pairs ``(system track, partner track)``.

    Distances are squared Mahalanobis on position, and velocity with ``use_velocity``
    (:func:`track_distances`). ``gate`` is the probability that a true pair falls inside the
    gate: a pair is allowed when d² ≤ the chi-square quantile of ``gate`` (3 or 6 degrees of
    freedom). The assignment is global nearest neighbour (scipy's ``linear_sum_assignment``)
    where leaving a system or a partner track unassigned costs half the gate, so a pair is made
    only when it is cheaper than leaving both alone; tracks beyond every gate stay unassigned.
    """
    if not 0.0 < gate < 1.0:
        raise UsageError(f"gate is a probability in (0, 1), not {gate!r}")
    system_x, partner_x = np.asarray(system_x, float), np.asarray(partner_x, float)
    system_P, partner_P = np.asarray(system_P, float), np.asarray(partner_P, float)
    n, m = len(system_x), len(partner_x)
    if n == 0 or m == 0:
        return np.zeros((0, 2), dtype=np.intp)
    components = np.arange(6 if use_velocity else 3)
    threshold = float(chi2.ppf(gate, len(components)))
    d2 = track_distances(system_x, system_P, partner_x, partner_P, components)
    cost = np.full((n + m, m + n), np.inf)
    cost[:n, :m] = np.where(d2 <= threshold, d2, np.inf)
    cost[:n, m:][np.diag_indices(n)] = threshold / 2             # system track i unassigned
    cost[n:, :m][np.diag_indices(m)] = threshold / 2             # partner track j unassigned
    cost[n:, m:] = 0.0
    rows, cols = linear_sum_assignment(cost)
    real = (rows < n) & (cols < m)
    return np.stack([rows[real], cols[real]], axis=1).astype(np.intp)
