"""The compiled fusion kernels (ext/fusion_*.pyx) against their NumPy twins (rig/fusion/reference/)."""

import numpy as np
import pytest

from rig.fusion import FusionParams
from rig.fusion import engine as engine_mod
from rig.fusion import kernels
from rig.fusion.models import N_MODELS, markov, model_vector
from rig.fusion.store import TrackStore
from rig.geodesy import Geodetic, polar_from_enu, site_transform
from rig.records import (PLOT_DTYPE, TRACK_DTYPE, TRACK_STATUS_CONFIRMED,
                         TRACK_STATUS_TENTATIVE, empty_plots, empty_tracks)

ORIGIN = Geodetic(52.0, 21.0, 100.0)
compiled = kernels.compiled()
reference = kernels.reference()


def close(a, b, tol=1e-12):
    """Equal to ``tol`` relative to the array's largest magnitude."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert a.shape == b.shape
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    a, b = np.nan_to_num(a), np.nan_to_num(b)
    scale = max(np.abs(b).max(initial=0.0), 1e-300)
    assert np.abs(a - b).max(initial=0.0) <= tol * scale, np.abs(a - b).max() / scale


@pytest.fixture(params=["radars", "one passive"])
def case(request):
    """Tracks with realistic IMM states and plots of them from three far-apart sensors:
    radars, or two radars and a passive (angle-only) sensor."""
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
        R=np.array([[30.0 ** 2, 1.5e-3 ** 2, 2e-3 ** 2, 1.5 ** 2]] * 3),
        ranged=np.array([1, 1, 0 if request.param == "one passive" else 1], np.uint8))


def prepared(c, kernels):
    return kernels.prepare(c["plots"], c["bias"], c["bias_var"], c["R"], c["ranged"], c["M"],
                           c["T"], 2000.0)


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
            case["T"], case["model"], np.array([1e6, 1e6, 1e6]), 0.01)
    got, want = compiled.gate(*args), reference.gate(*args)
    assert len(want[0]) >= len(case["plots"])      # every plot gates with its own track
    assert np.isnan(z[:, 3]).any() and np.isfinite(z[:, 3]).any()
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    close(got[2], want[2], 1e-10)                  # d² of near-zero innovations
    close(got[3], want[3])
    # a real gate: pairs inside any probable model's gate join those of the mixture's
    pairs = {}
    for weight in (0.01, 1.0):                      # 1.0: no model is probable enough alone
        real = args[:-2] + (np.array([13.82, 16.27, 18.47]), weight)
        got, want = compiled.gate(*real), reference.gate(*real)
        for a, b in zip(got, want):
            close(a, b, 1e-10)
        pairs[weight] = set(zip(got[0].tolist(), got[1].tolist()))
        assert np.all(got[2][got[2] > 16.27 * 1.2] >= 0)
    assert pairs[1.0] <= pairs[0.01] and len(pairs[1.0]) > 0


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
    dt = np.linspace(-0.7, 40.0, len(rows))
    for mine, theirs in zip(compiled.predict_models(case["x"], case["P"], case["mu"], rows, dt,
                                                 case["model"]),
                         reference.predict_models(case["x"], case["P"], case["mu"], rows, dt,
                                                  case["model"])):
        close(mine, theirs)
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
                         case["ranged"], case["M"], case["T"], 1.0)
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


# --- the engine's per-window bookkeeping kernels -------------------------------------------
def store_of(case, rng=None):
    """A TrackStore holding the case's tracks, with mixed statuses, update counts and
    per-sensor and per-partner histories (some never, NaN)."""
    rng = rng or np.random.default_rng(3)
    n, S = len(case["mu"]), len(case["M"])
    st = TrackStore(S, capacity=n + 7)
    st.add(n)
    st.x[:n], st.P[:n], st.mu[:n], st.t[:n] = case["x"], case["P"], case["mu"], case["t_trk"]
    st.track_id[:n] = np.arange(1, n + 1)
    st.status[:n] = rng.choice([TRACK_STATUS_TENTATIVE, TRACK_STATUS_CONFIRMED], n)
    st.n_updates[:n] = rng.integers(1, 8, n)
    st.t_first[:n] = case["t_trk"] - 20.0
    st.t_last[:n] = case["t_trk"] - rng.uniform(0, 2, n)
    never = rng.random((n, S)) < 0.3
    st.sensor_t_last[:n] = np.where(never, np.nan, st.t_last[:n, None] - rng.uniform(0, 4, (n, S)))
    st.sensor_z_raw[:n] = rng.normal(0, [5e4, 1.0, 0.05], (n, S, 3))
    st.sensor_t_raw[:n] = np.where(never, np.nan, st.sensor_t_last[:n] + 0.01)
    st.partner_t_last[:n, :2] = st.t_last[:n, None] - rng.uniform(0, 3, (n, 2))
    st.partners[:n] = rng.integers(1, 4, n)
    st.sensors[:n] = rng.integers(1, 8, n)
    return st


def same_store(a, b, tol=1e-12):
    assert a.n == b.n
    for name in a._fields():
        close(getattr(a, name)[:a.n], getattr(b, name)[:b.n], tol)


def copy_store(st, kernels=None):
    out = TrackStore(st.n_sensors, capacity=st.capacity, kernels=kernels)
    out.add(st.n)
    for name in st._fields():
        getattr(out, name)[:] = getattr(st, name)
    return out


def test_screen_matches_reference():
    plots = empty_plots(12)
    plots["t_sensor"] = [1.0, 2.0, 3.0, np.nan, 5.0, 6.0, 7.0, 0.2, 900.0, 4.0, 4.0, 4.0]
    plots["range_m"] = [1e5, 1e5, -1.0, 1e5, 1e5, 1e5, 1e5, 1e5, 1e5, np.nan, np.nan, np.nan]
    plots["az_rad"] = [0.0] * 9 + [1.0, 7.0, np.nan]
    plots["el_rad"] = [0.1, 0.1, 0.1, 0.1, 2.0, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]
    plots["range_rate_mps"][5] = np.inf
    plots["sensor_id"] = [0, 7, 0, 0, 0, 1, 2, 1, 1, 3, 3, 3]
    clock = np.array([0.1, -0.2, 0.05, 0.0])
    ranged = np.array([1, 1, 1, 0], np.uint8)        # sensor 3 is passive: no range
    got, want = (k.screen(plots, clock, ranged, 0.5, 100.0) for k in (compiled, reference))
    np.testing.assert_array_equal(got[0], want[0])
    assert got[0].tolist() == [0, 1, 3, 2, 4, 2, 0, 5, 6, 0, 7, 2]
    assert got[1] == want[1] == 7.0 - 0.05
    # a radar's plot without a range is not a number; a passive sensor's is a bearing
    plots["sensor_id"][9] = 0
    assert compiled.screen(plots, clock, ranged, 0.5, 100.0)[0][9] == 2
    assert compiled.screen(plots[:0], clock, ranged, 0.5, 100.0)[1] == -np.inf
    with pytest.raises(TypeError):
        compiled.screen(np.zeros(2, [("t", "f8")]), clock, ranged, 0.0, 1.0)


def test_moments_matches_reference(case):
    for a, b in zip(compiled.moments(case["x"], case["P"], case["mu"], 20),
                    reference.moments(case["x"], case["P"], case["mu"], 20)):
        close(a, b)


def test_registration_pairs_and_record_updates_match_reference(case):
    z, t, s, p, rad, Rd, vc = prepared(case, reference)
    pair_p = np.arange(len(z), dtype=np.int64)
    pair_k = case["target"].astype(np.int64)
    order = np.argsort(t, kind="stable")
    pair_p, pair_k = pair_p[order], pair_k[order]
    # a track takes one plot per sensor: keep the first of each (track, sensor)
    _, first = np.unique(pair_k * 8 + s[pair_p], return_index=True)
    pair_p, pair_k = pair_p[np.sort(first)], pair_k[np.sort(first)]
    partner = np.array([0, 1, 1], np.int64)
    stores, results = [], []
    for kernels in (compiled, reference):
        st = store_of(case)
        st.status[:st.n:2] = TRACK_STATUS_CONFIRMED     # half of them lend to registration
        st.n_updates[:st.n:2] = 6
        out = engine_mod.pair_buffer(3)                  # too short: nothing written
        need = kernels.registration_pairs(st, pair_p, pair_k, z, t, s, case["bias"], 4, 3.0,
                                          out, 2)
        assert need > 3 and not out[0].any()
        out = engine_mod.pair_buffer(need + 5)
        end = kernels.registration_pairs(st, pair_p, pair_k, z, t, s, case["bias"], 4, 3.0,
                                         out, 2)
        assert end == need
        # a passive sensor's bearings measure no range: they pair with nothing
        assert all(case["ranged"][out[0][2:end]]) and all(case["ranged"][out[1][2:end]])
        ok = (np.arange(len(pair_p)) % 5 != 3).astype(np.uint8)
        d2 = np.linspace(0.5, 9.0, len(pair_p))
        ll = np.linspace(-12.0, -3.0, len(pair_p))
        gain = np.array([[14.0, 21.0], [12.0, 19.0], [16.5, 23.5]])
        res = kernels.record_updates(st, pair_p, pair_k, ok, d2, ll, z, t, s, partner,
                                     case["bias"], gain, 2, 9.0, 0.5)
        stores.append(st)
        results.append((tuple(a[2:end] for a in out), res))
    same_store(*stores)
    for a, b in zip(results[0][0], results[1][0]):
        close(a, b)
    np.testing.assert_array_equal(results[0][0][1], results[1][0][1])
    (nis_a, n_a, dof_a, prom_a, t_a), (nis_b, n_b, dof_b, prom_b, t_b) = (r[1] for r in results)
    close(nis_a, nis_b)
    assert (n_a, dof_a, prom_a, t_a) == (n_b, dof_b, prom_b, t_b)
    assert n_a > 0 and prom_a > 0


def test_initiate_matches_reference(case):
    z, t, s, p, rad, Rd, vc = prepared(case, reference)
    partner = np.array([0, 1, 1], np.int64)
    mu0 = np.array([0.85, 0.05, 0.05, 0.05])
    stores = []
    for kernels in (compiled, reference):
        st = store_of(case)
        rows = st.add(len(z))
        kernels.initiate(st, int(rows[0]), z, t, s, p, Rd, case["M"], partner, case["bias"],
                         mu0, 100, 350.0, 120.0, 300.0)
        stores.append(st)
    same_store(*stores)
    st = stores[0]
    assert st.track_id[st.n - 1] == 100 + len(z) - 1
    assert np.all(st.status[st.n - len(z):] == TRACK_STATUS_TENTATIVE)
    with pytest.raises(IndexError):
        compiled.initiate(st, st.capacity, z, t, s, p, Rd, case["M"], partner, case["bias"],
                          mu0, 1, 350.0, 120.0, 300.0)


def test_fill_tracks_and_stale_match_reference(case):
    st = store_of(case)
    rows = np.array([0, 3, 4, 9, 17], np.int64)
    for t in (2.0, 15.0):
        a, b = empty_tracks(len(rows)), empty_tracks(len(rows))
        compiled.fill_tracks(a, st, rows, t, case["model"], 6.0)
        reference.fill_tracks(b, st, rows, t, case["model"], 6.0)
        for name in TRACK_DTYPE.names:
            close(a[name], b[name])
    rows = st.alive()
    period = np.array([4.0, 10.0, 6.0])
    coverage = np.array([[np.log(0.1), 1e3, 250e3, 0.0035, 0.6],
                         [np.log(0.2), 1e3, 400e3, 0.0035, 0.6],
                         [0.0, 1e3, 400e3, 0.0035, 0.6]])         # pd unknown: no looks
    latest = np.array([40.0, 9.0, 500.0])
    unknown = coverage.copy()
    unknown[:, 0] = 0.0
    drops = {}
    for t in (3.0, 8.0, 12.0, 25.0, 400.0):
        for name, cov in (("looks", coverage), ("time only", unknown)):
            args = (st, rows, t, period, 10.0, 2.2, 3.0, 5000.0, case["M"], case["T"], cov,
                    latest, np.log(0.05), np.log(1e-3), case["model"][7], 6_370_000.0)
            got = compiled.stale(*args)
            np.testing.assert_array_equal(got, reference.stale(*args))
            drops[t, name] = got.astype(bool)
    assert 0 < drops[400.0, "looks"].sum() <= len(rows)
    # missed looks only add deletions, and do add some before the time rule would
    for t in (3.0, 8.0, 12.0, 25.0):
        assert np.all(drops[t, "looks"] >= drops[t, "time only"])
    assert any((drops[t, "looks"] > drops[t, "time only"]).any() for t in (8.0, 12.0, 25.0))
    # a track 30 km under the ground is gone at once, whatever its updates say
    alive = ~drops[3.0, "looks"]
    k = int(rows[alive][0])
    st.x[k, :, 2] = -30e3
    st.x[k, :, 3:] = 0.0
    for kernels in (compiled, reference):
        got = kernels.stale(st, rows, 3.0, period, 10.0, 2.2, 3.0, 5000.0, case["M"], case["T"],
                            coverage, latest, np.log(0.05), np.log(1e-3), case["model"][7],
                            6_370_000.0)
        assert got[list(rows).index(k)] == 1


def test_close_tracks_matches_reference_and_its_prefilter_loses_nothing(case):
    st = store_of(case)
    n = st.n
    # a few tracks on top of others, moving fast and turning (models with other velocities)
    st.x[n - 6:n] = st.x[:6] + np.array([300.0, -200.0, 50.0, 0, 0, 0])
    st.x[n - 6:n, 1:3, 3:5] += 250.0
    rows = st.alive()
    for t in (-3.0, 2.5, 30.0):
        for radius, d2 in ((2000.0, 60.0), (1e9, 1e9), (50e3, 1e4)):
            got = compiled.close_tracks(st, rows, t, case["model"], radius, d2)
            want = reference.close_tracks(st, rows, t, case["model"], radius, d2)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])
            close(got[2], want[2])
            assert len(got[0]) > 0


def test_registration_terms_and_step_match_reference(case):
    rng = np.random.default_rng(11)
    m, S = 40, 3
    M, T, bias = case["M"], case["T"], case["bias"]
    s = rng.integers(0, S, m)
    r = (s + rng.integers(1, S, m)) % S
    v = rng.normal(0, 200, (m, 3))
    p = np.c_[rng.uniform(-1e5, 1e5, (m, 2)), rng.uniform(2e3, 1e4, m)]
    t_true = rng.uniform(10, 20, m)
    dt = rng.uniform(0, 3, m)

    def measured(sensors, pos):                 # polar in each site's frame, plus its bias
        return np.array([polar_from_enu(M[k].T @ (q - T[k])) for k, q in zip(sensors, pos)]) \
            + bias[sensors, :3] + rng.normal(0, [30, 1.5e-3, 2e-3], (m, 3))
    z_s = measured(s, p)
    z_r = measured(r, p - v * dt[:, None])
    z_r[::7, 0] += 5e3                          # a few pairs that do not belong together
    t_s = t_true + bias[s, 3]
    t_r = t_true - dt + bias[r, 3]
    A = rng.normal(size=(m, 3, 3))
    P_v = A @ A.transpose(0, 2, 1) * 25 + np.eye(3)
    B = rng.normal(size=(4 * S, 4 * S)) * 0.01
    P = B @ B.T + np.diag(np.tile([150.0 ** 2, 4e-3 ** 2, 2e-3 ** 2, 0.3 ** 2], S))
    R_diag = np.array([[30.0 ** 2, 1.5e-3 ** 2, 2e-3 ** 2]] * S)
    args = (s, r, z_s, z_r, t_s, t_r, v, P_v, bias, P, M, T, R_diag, 5.0)
    for gate in (1e12, 16.27):
        got, want = compiled.registration_terms(*args, gate), reference.registration_terms(*args, gate)
        np.testing.assert_array_equal(got[2], want[2])
        close(got[0], want[0], 1e-10)
        close(got[1], want[1], 1e-10)
    assert 0 < got[2].sum() < m
    gauge = np.eye(4 * S)
    for j in (2, 3):
        idx = np.arange(j, 4 * S, 4)
        gauge[np.ix_(idx, idx)] -= 1.0 / S
    got = compiled.registration_step(P, want[0], want[1], case["bias"], gauge)
    ref = reference.registration_step(P, want[0], want[1], case["bias"], gauge)
    close(got[0], ref[0], 1e-10)
    close(got[1], ref[1], 1e-10)
    with pytest.raises(np.linalg.LinAlgError):
        compiled.registration_step(np.eye(4 * S), -np.eye(4 * S), want[1], bias, gauge)


def test_gnn_and_its_clusters_match_reference():
    rng = np.random.default_rng(5)
    for trial in range(60):
        n_pl, n_tr = rng.integers(1, 12), rng.integers(1, 12)
        m = rng.integers(0, n_pl * n_tr + 1)
        flat = rng.choice(n_pl * n_tr, m, replace=False)
        pair_p = np.sort(flat // n_tr).astype(np.int64)             # plot-major, as the gate
        pair_k = (flat // n_tr * 0 + flat % n_tr)[np.argsort(flat // n_tr, kind="stable")]
        pair_k = (pair_k * 7 + 3).astype(np.int64)                   # sparse column ids
        cost = rng.uniform(-5, 20, m)
        got, want = compiled.gnn(pair_p, pair_k, cost), reference.gnn(pair_p, pair_k, cost)
        np.testing.assert_array_equal(got, want)
        assert len(set(pair_p[got])) == len(got) == len(set(pair_k[got]))
        if m:
            _, pi = np.unique(pair_p, return_inverse=True)
            _, ti = np.unique(pair_k, return_inverse=True)
            a = compiled.pair_clusters(pi.astype(np.int64), ti.astype(np.int64), pi.max() + 1,
                                       ti.max() + 1)
            b = reference.pair_clusters(pi.astype(np.int64), ti.astype(np.int64), pi.max() + 1,
                                        ti.max() + 1)
            np.testing.assert_array_equal(a[0], b[0])
            assert a[1] == b[1]


def test_next_window_matches_reference():
    rng = np.random.default_rng(2)
    for trial in range(40):
        plots = empty_plots(rng.integers(1, 30))
        plots["sensor_id"] = rng.integers(0, 3, len(plots))
        plots["t_sensor"] = np.sort(rng.uniform(10, 14, len(plots)))
        clock = rng.normal(0, 0.3, 3)
        horizon = rng.choice([-np.inf, 9.0, 10.5, 13.0])
        for W in (0.01, 1.0):
            got = compiled.next_window(plots, clock, W, horizon)
            want = reference.next_window(plots, clock, W, horizon)
            assert got[0] == want[0] and got[1] == want[1] and got[3] == want[3]
            np.testing.assert_array_equal(got[2], want[2])


def test_compact_rows_matches_reference(case):
    stores = []
    keep = np.array([1, 2, 5, 6, 9, 20, 24], np.int64)
    for kernels in (compiled, reference):
        st = store_of(case)
        kernels.compact_rows(st._arrays, st._nan_fill, keep, st.n)
        stores.append(st)
    a, b = stores
    for name in a._fields():
        close(getattr(a, name), getattr(b, name))        # the freed rows too
    fresh = TrackStore(a.n_sensors, capacity=a.capacity)
    for name in a._fields():                             # freed rows are fresh again
        close(getattr(a, name)[len(keep):], getattr(fresh, name)[len(keep):])
    with pytest.raises(ValueError):
        compiled.compact_rows(a._arrays, a._nan_fill, keep[::-1].copy(), a.n)


def test_updated_rows_matches_reference(case):
    stores = [store_of(case), store_of(case)]
    rng = np.random.default_rng(4)
    for step in range(4):
        bump = rng.random(stores[0].n) < 0.4
        got = []
        for st, kernels in zip(stores, (compiled, reference)):
            st.n_updates[:st.n] += bump
            got.append(kernels.updated_rows(st, st.alive()))
        np.testing.assert_array_equal(*got)
        if step == 0:                                   # the first call: every confirmed track
            assert len(got[0]) == (stores[0].status[:stores[0].n] != TRACK_STATUS_TENTATIVE).sum()
    same_store(*stores)


def test_first_plots_matches_reference_and_groups_one_target():
    rng = np.random.default_rng(5)
    n = 60
    p = rng.uniform(-50e3, 50e3, (n, 3))
    t = np.sort(rng.uniform(0.0, 1.0, n))
    s = rng.integers(0, 3, n).astype(np.int64)
    radius = rng.uniform(2000.0, 3000.0, n)
    period = np.array([1.0, 4.0, 10.0])
    # a new target seen by three radars in one window: the later two wait for the first
    p[10] = p[20] + 100.0
    p[30] = p[20] - 150.0
    s[[10, 20, 30]] = [0, 1, 2]
    idx = np.arange(n, dtype=np.int64)
    got = compiled.first_plots(idx, p, t, s, radius, period, 1500.0)
    np.testing.assert_array_equal(got, reference.first_plots(idx, p, t, s, radius, period,
                                                             1500.0))
    assert got[10] == 1 and got[20] == 0 and got[30] == 0
    sub = np.ascontiguousarray(idx[::3])
    np.testing.assert_array_equal(compiled.first_plots(sub, p, t, s, radius, period, 1500.0),
                                  reference.first_plots(sub, p, t, s, radius, period, 1500.0))
