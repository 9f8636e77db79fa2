"""The compiled fusion kernels against their NumPy reference (rig/fusion/kernels_ref.py)."""

import numpy as np
import pytest

from rig._ext import fusion_kernels as compiled
from rig.fusion import FusionParams
from rig.fusion import kernels_ref as reference
from rig.fusion.models import N_MODELS, markov, model_vector
from rig.geodesy import Geodetic, polar_from_enu, site_transform
from rig.records import PLOT_DTYPE, empty_plots

ORIGIN = Geodetic(52.0, 21.0, 100.0)


def close(a, b, tol=1e-12):
    """Equal to ``tol`` relative to the array's largest magnitude."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert a.shape == b.shape
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    a, b = np.nan_to_num(a), np.nan_to_num(b)
    scale = max(np.abs(b).max(initial=0.0), 1e-300)
    assert np.abs(a - b).max(initial=0.0) <= tol * scale, np.abs(a - b).max() / scale


@pytest.fixture
def case():
    """Tracks with realistic IMM states and plots of them from three far-apart radars."""
    rng = np.random.default_rng(7)
    n_tracks, n_plots = 25, 40
    x = np.zeros((n_tracks, N_MODELS, 6))
    x[:, :, :2] = rng.uniform(-150e3, 150e3, (n_tracks, 1, 2))
    x[:, :, 2] = rng.uniform(1e3, 12e3, (n_tracks, 1))
    x[:, :, 3:5] = rng.normal(0, 200, (n_tracks, 1, 2))
    x += rng.normal(0, 20, x.shape)
    A = rng.normal(size=(n_tracks, N_MODELS, 6, 6)) * np.array([40, 40, 80, 5, 5, 5])[:, None]
    P = A @ A.transpose(0, 1, 3, 2) + np.diag([900, 900, 2500, 25, 25, 25])
    mu = rng.dirichlet(np.ones(N_MODELS), n_tracks)
    t_trk = rng.uniform(0, 2, n_tracks)
    sites = [Geodetic(51.9, 17.4, 150), Geodetic(52.6, 24.2, 60), Geodetic(52.0, 21.0, 10)]
    M = np.array([site_transform(s, ORIGIN)[0] for s in sites])
    T = np.array([site_transform(s, ORIGIN)[1] for s in sites])
    plots = empty_plots(n_plots)
    target = rng.integers(0, n_tracks, n_plots)
    plots["sensor_id"] = rng.integers(0, len(sites), n_plots)
    plots["t_sensor"] = rng.uniform(1.5, 3.5, n_plots)
    for i in range(n_plots):
        s = plots["sensor_id"][i]
        r, az, el = polar_from_enu(M[s].T @ (x[target[i], 0, :3] - T[s]))
        plots["range_m"][i], plots["az_rad"][i], plots["el_rad"][i] = r + 30, az + 1e-3, el
        if i % 2:                                    # every other plot with a range rate
            v = x[target[i], 0, 3:]
            los = x[target[i], 0, :3] - T[s]
            plots["range_rate_mps"][i] = los @ v / np.linalg.norm(los) + 1.0
    return dict(
        x=x, P=P, mu=mu, t_trk=t_trk, M=M, T=T, plots=plots, target=target,
        model=model_vector(FusionParams(), ORIGIN.alt_m),
        bias=rng.normal(0, [20, 1e-3, 1e-3, 0.1], (3, 4)),
        bias_var=np.abs(rng.normal(0, [10, 1e-4, 1e-4, 0.01], (3, 4))) ** 2,
        R=np.array([[30.0 ** 2, 1.5e-3 ** 2, 2e-3 ** 2, 1.5 ** 2]] * 3))


def prepared(c, kernels):
    return kernels.prepare(c["plots"], c["bias"], c["bias_var"], c["R"], c["M"], c["T"], 2000.0)


def test_prepare_matches_reference(case):
    for a, b in zip(prepared(case, compiled), prepared(case, reference)):
        close(a, b)


def test_gate_matches_reference(case):
    z, t, s, p, rad, Rd, vc = prepared(case, reference)
    mu = case["mu"]
    xc = np.einsum("nk,nkd->nd", mu, case["x"])
    sp = np.sqrt(np.einsum("nk,nkii->n", mu, case["P"][:, :, :3, :3]))
    sv = np.sqrt(np.einsum("nk,nkii->n", mu, case["P"][:, :, 3:, 3:]))
    rows = np.arange(len(mu), dtype=np.int64)
    args = (case["x"], case["P"], mu, case["t_trk"], rows, np.ascontiguousarray(xc[:, :3]),
            np.ascontiguousarray(xc[:, 3:]), sp, sv, z, t, s, p, rad, Rd, vc, case["M"],
            case["T"], case["model"], np.array([1e6, 1e6]))
    got, want = compiled.gate(*args), reference.gate(*args)
    assert len(want[0]) >= len(case["plots"])      # every plot gates with its own track
    assert np.isnan(z[:, 3]).any() and np.isfinite(z[:, 3]).any()
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    close(got[2], want[2], 1e-10)                  # d² of near-zero innovations
    close(got[3], want[3])


def test_update_matches_reference(case):
    z, t, s, p, rad, Rd, vc = prepared(case, reference)
    pair_p = np.arange(len(z), dtype=np.int64)
    pair_k = case["target"].astype(np.int64)       # repeated tracks: sequential updates
    order = np.argsort(t, kind="stable")
    pair_p, pair_k = pair_p[order], pair_k[order]
    states = []
    for kernels in (compiled, reference):
        x, P, mu, tt = (case[k].copy() for k in ("x", "P", "mu", "t_trk"))
        out = kernels.update(x, P, mu, tt, pair_p, pair_k, z, t, s, Rd, vc, case["M"],
                             case["T"], case["model"])
        states.append((*out, x, P, mu, tt))
    for a, b in zip(*states):
        close(a, b, 1e-11)


def test_predict_and_close_pairs_match_reference(case):
    rows = np.arange(len(case["mu"]), dtype=np.int64)
    for t in (-0.7, 0.0, 3.0, 40.0):
        got = compiled.predict(case["x"], case["P"], case["mu"], case["t_trk"], rows, t,
                               case["model"])
        want = reference.predict(case["x"], case["P"], case["mu"], case["t_trk"], rows, t,
                                 case["model"])
        close(got[0], want[0])
        close(got[1], want[1])
    xs, Ps = want
    for radius, d2 in ((1e9, 1e9), (80e3, 5e3)):
        a, b = compiled.close_pairs(xs, Ps, radius, d2), reference.close_pairs(xs, Ps, radius, d2)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
        close(a[2], b[2])


def test_markov_rows_are_probabilities():
    model = model_vector(FusionParams(), 0.0)
    for dt in (0.0, 0.5, 10.0, -3.0):
        Pi = markov(dt, model)
        assert np.all(Pi >= 0) and np.allclose(Pi.sum(1), 1.0)


def test_prepare_rejects_other_dtypes(case):
    with pytest.raises(TypeError):
        compiled.prepare(np.zeros(3, [("a", "f8")]), case["bias"], case["bias_var"], case["R"],
                         case["M"], case["T"], 1.0)
    assert PLOT_DTYPE.itemsize == case["plots"].dtype.itemsize


def test_update_leaves_a_track_with_a_broken_covariance_alone(case):
    z, t, s, p, rad, Rd, vc = prepared(case, reference)
    pair_p = np.array([0], np.int64)
    pair_k = case["target"][:1].astype(np.int64)
    for kernels in (compiled, reference):
        x, P, mu, tt = (case[k].copy() for k in ("x", "P", "mu", "t_trk"))
        P[pair_k[0]] = -np.eye(6) * 1e12               # not positive definite
        before = x.copy()
        *_, ok = kernels.update(x, P, mu, tt, pair_p, pair_k, z, t, s, Rd, vc, case["M"],
                                case["T"], case["model"])
        assert ok.tolist() == [0]
        np.testing.assert_array_equal(x, before)
