"""Covariance intersection and track-to-track association (rig.fusion.intersection)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rig.errors import UsageError
from rig.fusion.intersection import associate_tracks, covariance_intersection

N_MC = 4000          # Monte Carlo samples: the mean NEES of 6 dof has a sd of ~0.055


def spd(rng, sd, n=1):
    """``n`` random covariances with the given sds and random correlations."""
    a = rng.normal(size=(n, 6, 6))
    c = a @ np.swapaxes(a, 1, 2) + 3 * np.eye(6)
    d = 1 / np.sqrt(np.diagonal(c, axis1=1, axis2=2))
    c *= d[:, :, None] * d[:, None, :]
    sd = np.asarray(sd, float)
    return c * sd[:, None] * sd[None, :]


def mean_nees(err, P):
    """Mean of eᵀ P⁻¹ e over the samples (P one matrix or one per sample)."""
    P = np.broadcast_to(P, (len(err), 6, 6))
    return float(np.mean(np.einsum("ni,ni->n", err, np.linalg.solve(P, err[..., None])[..., 0])))


def test_ci_is_not_overconfident_where_the_kalman_rule_is():
    """Two estimates of one truth whose errors share a common part (ρ = 0.7 per component):
    the CI result's NEES stays at or below its 6 degrees of freedom; the Kalman fusion, which
    assumes independence, is clearly above them."""
    rng = np.random.default_rng(17)
    P_a = spd(rng, [120, 80, 60, 6, 5, 2])[0]
    P_b = spd(rng, [90, 110, 40, 4, 7, 1])[0]
    rho = 0.7
    La, Lb = np.linalg.cholesky(P_a), np.linalg.cholesky(P_b)
    z_a = rng.normal(size=(N_MC, 6))
    z_b = rho * z_a + np.sqrt(1 - rho**2) * rng.normal(size=(N_MC, 6))
    e_a, e_b = z_a @ La.T, z_b @ Lb.T                  # cov(e_a, e_b) = ρ L_a L_bᵀ
    truth = rng.normal(scale=1e4, size=6)
    x_a, x_b = truth + e_a, truth + e_b
    x, P, omega = covariance_intersection(x_a, np.broadcast_to(P_a, (N_MC, 6, 6)),
                                          x_b, np.broadcast_to(P_b, (N_MC, 6, 6)))
    assert np.all((omega > 0) & (omega < 1))
    nees_ci = mean_nees(x - truth, P)
    # what the same samples give for the Kalman (independence) rule
    Ya, Yb = np.linalg.inv(P_a), np.linalg.inv(P_b)
    P_kf = np.linalg.inv(Ya + Yb)
    x_kf = (x_a @ Ya.T + x_b @ Yb.T) @ P_kf.T
    nees_kf = mean_nees(x_kf - truth, P_kf)
    assert nees_ci <= 6 * 1.05, nees_ci
    assert nees_kf >= 6 * 1.3, nees_kf
    # and the expectations, from the true error covariance of each rule
    w = omega[0]
    C = rho * La @ Lb.T                                 # cov(e_a, e_b)
    Sigma = np.block([[P_a, C], [C.T, P_b]])
    G_ci = P[0] @ np.hstack([w * Ya, (1 - w) * Yb])
    G_kf = P_kf @ np.hstack([Ya, Yb])
    expect_ci = np.trace(np.linalg.solve(P[0], G_ci @ Sigma @ G_ci.T))
    expect_kf = np.trace(np.linalg.solve(P_kf, G_kf @ Sigma @ G_kf.T))
    assert expect_ci <= 6.0 < 6 * 1.3 <= expect_kf
    assert abs(nees_ci - expect_ci) < 0.3 and abs(nees_kf - expect_kf) < 0.6


def test_fused_trace_never_above_either_input():
    rng = np.random.default_rng(3)
    n = 500
    P_a = spd(rng, [100, 100, 50, 5, 5, 2], n) * rng.uniform(0.01, 100, n)[:, None, None]
    P_b = spd(rng, [100, 100, 50, 5, 5, 2], n) * rng.uniform(0.01, 100, n)[:, None, None]
    x, P, omega = covariance_intersection(rng.normal(size=(n, 6)), P_a,
                                          rng.normal(size=(n, 6)), P_b)
    tr = np.trace(P, axis1=1, axis2=2)
    assert np.all(tr <= np.minimum(np.trace(P_a, axis1=1, axis2=2),
                                   np.trace(P_b, axis1=1, axis2=2)) * (1 + 1e-12))
    # one much better estimate: ω goes to it and the result is that input, unchanged
    P_a = P_a[:3] * 1e-6
    x, P, omega = covariance_intersection(np.ones((3, 6)), P_a, np.zeros((3, 6)), P_b[:3])
    assert np.all(omega == 1.0) and np.array_equal(P, P_a) and np.all(x == 1.0)


def test_omega_is_the_minimum_of_the_trace():
    """The golden-section ω against a dense grid of ω evaluated here."""
    rng = np.random.default_rng(11)
    n = 40
    P_a = spd(rng, [300, 30, 80, 2, 20, 3], n)
    P_b = spd(rng, [40, 250, 60, 15, 3, 2], n)
    _, P, omega = covariance_intersection(np.zeros((n, 6)), P_a, np.zeros((n, 6)), P_b)
    grid = np.linspace(0, 1, 2001)
    for i in range(n):
        Ya, Yb = np.linalg.inv(P_a[i]), np.linalg.inv(P_b[i])
        traces = [np.trace(np.linalg.inv(w * Ya + (1 - w) * Yb)) for w in grid]
        assert np.trace(P[i]) <= min(traces) * (1 + 1e-9)
        assert abs(omega[i] - grid[int(np.argmin(traces))]) <= 2e-3


def test_weights_choose_what_the_trace_counts():
    """With velocity weighted heavily, ω follows the estimate with the better velocity."""
    P_a = np.diag([1.0, 1.0, 1.0, 100.0, 100.0, 100.0])[None]     # good position
    P_b = np.diag([100.0, 100.0, 100.0, 1.0, 1.0, 1.0])[None]     # good velocity
    _, _, w_plain = covariance_intersection(np.zeros((1, 6)), P_a, np.zeros((1, 6)), P_b)
    _, _, w_vel = covariance_intersection(np.zeros((1, 6)), P_a, np.zeros((1, 6)), P_b,
                                          weights=[1, 1, 1, 1e4, 1e4, 1e4])
    assert w_vel[0] < 0.5 and w_vel[0] < w_plain[0]


def test_fusing_an_estimate_with_itself_returns_it():
    """A partner re-sending the same picture (or our own track back) cannot shrink it."""
    rng = np.random.default_rng(5)
    n = 50
    P = spd(rng, [200, 150, 90, 8, 6, 3], n)
    x0 = rng.normal(scale=1e5, size=(n, 6))
    x, P_f, _ = covariance_intersection(x0, P, x0.copy(), P.copy())
    np.testing.assert_allclose(P_f, P, rtol=1e-9, atol=0)
    np.testing.assert_allclose(x, x0, rtol=0, atol=1e-6)
    for _ in range(5):                                  # again and again: still no shrinking
        x, P_f, _ = covariance_intersection(x, P_f, x0, P)
    np.testing.assert_allclose(P_f, P, rtol=1e-9, atol=0)


@st.composite
def spd_pairs(draw):
    """Two 6x6 SPD matrices with eigenvalues 1e-2 .. 1e4 (drawn) in random bases (from a
    drawn seed), and two states."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))

    def one():
        q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
        lam = 10.0 ** draw(arrays(np.float64, 6, elements=st.floats(-2.0, 4.0)))
        P = (q * lam) @ q.T
        return (P + P.T) / 2
    x = arrays(np.float64, 6, elements=st.floats(-1e5, 1e5))
    return draw(x), one(), draw(x), one()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pair=spd_pairs())
def test_result_is_spd_and_in_the_ci_form(pair):
    x_a, P_a, x_b, P_b = pair
    x, P, omega = covariance_intersection(x_a[None], P_a[None], x_b[None], P_b[None])
    P, w = P[0], omega[0]
    assert 0.0 <= w <= 1.0
    np.testing.assert_array_equal(P, P.T)
    np.linalg.cholesky(P)                                          # positive definite
    Ya, Yb = np.linalg.inv(P_a), np.linalg.inv(P_b)
    info = w * Ya + (1 - w) * Yb                                    # P⁻¹ = ω P_a⁻¹ + (1−ω) P_b⁻¹
    np.testing.assert_allclose(P @ info, np.eye(6), atol=1e-6)
    x_expected = np.linalg.solve(info, w * Ya @ x_a + (1 - w) * Yb @ x_b)
    assert np.linalg.norm(x[0] - x_expected) <= 1e-7 * (np.linalg.norm(x_expected) + 1.0)
    assert np.trace(P) <= min(np.trace(P_a), np.trace(P_b)) * (1 + 1e-12)


def test_refuses_what_is_not_a_covariance():
    P = np.eye(6)[None].repeat(3, 0)
    bad = P.copy()
    bad[2, 4, 4] = -1.0
    with pytest.raises(UsageError, match=r"P_b\[2\]"):
        covariance_intersection(np.zeros((3, 6)), P, np.zeros((3, 6)), bad)
    with pytest.raises(UsageError, match="shapes"):
        covariance_intersection(np.zeros((3, 6)), P, np.zeros((2, 6)), P)
    x, P_f, w = covariance_intersection(np.zeros((0, 6)), np.zeros((0, 6, 6)),
                                        np.zeros((0, 6)), np.zeros((0, 6, 6)))
    assert x.shape == (0, 6) and P_f.shape == (0, 6, 6) and w.shape == (0,)


# --- association ------------------------------------------------------------------------------
def _cov(sd_pos, sd_vel, n):
    return np.broadcast_to(np.diag([sd_pos**2] * 3 + [sd_vel**2] * 3), (n, 6, 6)).copy()


def test_association_at_a_crossing_uses_velocity_and_leaves_outliers_alone():
    """Two aircraft at their crossing point: by position alone the partner's tracks sit
    closer to the wrong ones; with velocity each goes to its own. A partner track far from
    everything, and a system track the partner does not hold, stay unassigned."""
    system = np.array([
        [0.0, 0.0, 5000.0, 200.0, 200.0, 0.0],          # A, heading north-east
        [50.0, -50.0, 5000.0, 200.0, -200.0, 0.0],      # B, heading south-east
        [80e3, 10e3, 9000.0, -250.0, 0.0, 0.0],         # C, not held by the partner
    ])
    partner = np.array([
        [60.0, -40.0, 5020.0, 195.0, 205.0, 1.0],       # A': 14 m from B, 72 m from A
        [-10.0, 10.0, 4990.0, 205.0, -195.0, -1.0],     # B': 14 m from A, 85 m from B
        [-150e3, 40e3, 7000.0, 100.0, 100.0, 0.0],      # far from everything
    ])
    Ps, Pp = _cov(100.0, 10.0, 3), _cov(100.0, 10.0, 3)
    pairs = associate_tracks(system, Ps, partner, Pp, gate=0.999)
    assert sorted(map(tuple, pairs.tolist())) == [(0, 0), (1, 1)]
    by_position = associate_tracks(system, Ps, partner, Pp, gate=0.999, use_velocity=False)
    assert sorted(map(tuple, by_position.tolist())) == [(0, 1), (1, 0)]


def test_association_gate_and_empty_inputs():
    system = np.zeros((1, 6))
    P = _cov(100.0, 10.0, 1)
    near = np.array([[250.0, 0, 0, 0, 0, 0]])           # d² = 250²/2e4 = 3.1 (6 dof)
    far = np.array([[700.0, 0, 0, 0, 0, 0]])            # d² = 24.5 > 22.46 (0.999, 6 dof)
    assert associate_tracks(system, P, near, P).tolist() == [[0, 0]]
    assert associate_tracks(system, P, far, P).shape == (0, 2)
    assert associate_tracks(system, P, far, P, gate=0.99999).tolist() == [[0, 0]]
    assert associate_tracks(np.zeros((0, 6)), np.zeros((0, 6, 6)), near, P).shape == (0, 2)
    with pytest.raises(UsageError):
        associate_tracks(system, P, near, P, gate=1.0)


def test_association_prefers_leaving_a_pair_apart_to_a_costly_swap():
    """Global nearest neighbour: the assignment with the least total distance, where a track
    left out costs half the gate."""
    rng = np.random.default_rng(8)
    n = 60
    system = np.zeros((n, 6))
    system[:, :2] = rng.uniform(-2e5, 2e5, (n, 2))
    system[:, 3:5] = rng.normal(0, 200, (n, 2))
    order = rng.permutation(n)
    partner = system[order] + rng.normal(0, 1, (n, 6)) * [50, 50, 30, 3, 3, 1]
    pairs = associate_tracks(system, _cov(100.0, 10.0, n), partner, _cov(100.0, 10.0, n))
    assert len(pairs) == n
    assert np.array_equal(order[pairs[:, 1]], pairs[:, 0])
