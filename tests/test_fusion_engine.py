"""The fusion engine on simulated data: consistency, association, registration, geodesy,
determinism and bad input. Fixed seeds; nothing depends on wall-clock speed."""

import numpy as np
import pytest
from scipy.stats import chi2

from rig.fusion import FusionEngine, FusionParams
from rig.fusion.models import process_noise
from rig.records import PLOT_DTYPE, TRACK_STATUS_CONFIRMED, empty_plots
from rig.geodesy import polar_from_enu

from tests.test_fusion_sim import (ORIGIN, Radar, Scenario, Target, default_targets,
                                   far_apart_radars, match, run_engine)

#: The IMM reduced to its constant-velocity model, for consistency checks against CV truth.
CV_ONLY = dict(mu_initial=(1.0, 0.0, 0.0, 0.0), switch_rate_per_s=1e-12,
               switch_to_ballistic_per_s=1e-12, registration_on=False)



def same_records(a: np.ndarray, b: np.ndarray) -> bool:
    """Two structured arrays hold the same values bit for bit, field by field (the padding
    between fields is not data: a compiler may leave anything there)."""
    return a.dtype == b.dtype and a.shape == b.shape and all(
        np.ascontiguousarray(a[name]).tobytes() == np.ascontiguousarray(b[name]).tobytes()
        for name in a.dtype.names)

def cv_truth_plots(seed, q, duration_s=120.0, dt_s=0.5):
    """One target under white-noise acceleration of density q, seen by two flat-frame radars
    every 1 s (phases 0 and 0.5 s): ``(scenario, times, states)``."""
    rng = np.random.default_rng(seed)
    radars = [Radar((-60e3, -40e3, 0.0), scan_period_s=1.0),
              Radar((70e3, -20e3, 0.0), scan_period_s=1.0, scan_phase_s=0.5, partner="B")]
    F = np.eye(6)
    F[[0, 1, 2], [3, 4, 5]] = dt_s
    Q = process_noise(q, q, dt_s)
    L = np.linalg.cholesky(Q)
    n = int(duration_s / dt_s)
    x = np.zeros((n, 6))
    x[0] = (0.0, 20e3, 8e3, 200.0, -50.0, 0.0)
    for k in range(1, n):
        x[k] = F @ x[k - 1] + L @ rng.standard_normal(6)
    times = np.arange(n) * dt_s
    scn = Scenario(radars, [], duration_s, frame="flat")
    M, T = scn.transforms()
    plots = empty_plots(n)
    for k in range(n):
        s = k % 2
        r, az, el = polar_from_enu(M[s].T @ (x[k, :3] - T[s]))
        rd = radars[s]
        plots[k] = (times[k], 0, r + rng.normal(0, rd.sigma_range_m),
                    np.mod(az + rng.normal(0, rd.sigma_az_rad), 2 * np.pi),
                    el + rng.normal(0, rd.sigma_el_rad), np.nan, 0.0, s, 0, k)
    scn.plots = plots
    return scn, times, x


def test_nees_and_nis_inside_chi_square_bounds():
    q = 1.0
    params = FusionParams(q_cv=q, q_vertical=q, **CV_ONLY)
    runs, nees, nis_sum, nis_n, nis_dof = 12, [], 0.0, 0, 0
    for seed in range(runs):
        scn, times, x = cv_truth_plots(seed, q)
        engine = FusionEngine(ORIGIN, scn.sensor_table(), params)
        per_run = []
        for k in range(len(times)):
            engine.process(scn.plots[k:k + 1])
            engine.flush(times[k] + 0.5)
            tracks = engine.tracks(times[k])
            if times[k] >= 30.0 and len(tracks) == 1:
                d = np.array([tracks[n][0] for n in ("east", "north", "up", "v_east",
                                                     "v_north", "v_up")]) - x[k]
                per_run.append(d @ np.linalg.solve(tracks["covariance"][0], d))
        assert len(per_run) > 150                   # one confirmed track all along
        nees.append(per_run)
        nis_sum += engine.counters.nis_sum
        nis_n += engine.counters.nis_count
        nis_dof += engine.counters.nis_dof
    nees = np.array([r[:150] for r in nees])        # (runs, times)
    anees = nees.mean(axis=0)                       # average over runs at each time
    lo, hi = chi2.ppf([0.025, 0.975], 6 * runs) / runs
    inside = np.mean((anees > lo) & (anees < hi))
    assert inside > 0.85, (inside, anees.mean())
    assert 5.0 < nees.mean() < 7.0
    assert nis_dof == 3 * nis_n                     # no range rate here
    lo, hi = chi2.ppf([0.0005, 0.9995], nis_dof) / nis_n
    assert lo < nis_sum / nis_n < hi


def crossing_scenario(seed=11):
    """Two targets crossing at 30° at the same height, two pairs of far-apart radars."""
    t_cross = 100.0
    targets = []
    for heading in (75.0, 105.0):
        h = np.radians(heading)
        v = 240.0 * np.array([np.sin(h), np.cos(h), 0.0])
        targets.append(Target(np.array([0.0, 0.0, 9000.0]) - v * t_cross, v))
    return Scenario(far_apart_radars(clutter_per_scan=3, pd=0.9), targets, 200.0,
                    seed=seed).simulate()


def test_identities_stable_through_a_crossing():
    scn = crossing_scenario()
    engine, out = run_engine(scn)
    owner = {}
    for k, tracks in enumerate(out):
        t = k + 1.0
        if t < 40:
            continue
        _, false, missed, ids = match(scn, tracks, t, radius_m=1500.0)
        assert missed == 0 and false == 0, t
        p = [g.state([t])[0][0] for g in scn.targets]
        if np.linalg.norm(p[0] - p[1]) < 1500.0:
            continue                # positions alone cannot tell who is who here
        for tid, target in ids.items():
            owner.setdefault(target, set()).add(tid)
    assert all(len(ids) == 1 for ids in owner.values()), owner
    assert len(owner) == 2


def biased_scenario(seed=5, **bias):
    radars = far_apart_radars(clutter_per_scan=2, pd=0.95)
    radars[2].range_bias_m = bias.get("range_m", 120.0)
    radars[2].az_bias_rad = bias.get("az_rad", 3e-3)
    radars[3].clock_offset_s = bias.get("clock_s", 0.4)
    radars[1].az_bias_rad = bias.get("az1_rad", -2e-3)
    return Scenario(radars, default_targets(8), 300.0, seed=seed).simulate()


def test_registration_recovers_biases_and_clock_offsets():
    scn = biased_scenario()
    engine, out = run_engine(scn)
    reg = engine.registration()
    # tolerances: range 25 m, azimuth 0.6 mrad, clock offsets relative to the sensors' mean
    # (the common mode of clocks is not observable from plots) 0.1 s
    truth_range = np.array([0, 0, 120.0, 0])
    truth_az = np.array([0, -2e-3, 3e-3, 0])
    truth_clock = np.array([0, 0, 0, 0.4])
    assert np.all(np.abs(reg["range_bias_m"] - truth_range) < 25.0), reg["range_bias_m"]
    assert np.all(np.abs(reg["az_bias_rad"] - truth_az) < 6e-4), reg["az_bias_rad"]
    rel = reg["clock_offset_s"] - reg["clock_offset_s"].mean()
    assert np.all(np.abs(rel - (truth_clock - truth_clock.mean())) < 0.1), rel
    assert np.all(reg["range_bias_sigma_m"] > 0) and np.all(reg["clock_offset_sigma_s"] > 0)


def test_biased_partner_fuses_without_duplicate_tracks():
    scn = biased_scenario(seed=6)
    engine, out = run_engine(scn)
    for k in range(60, len(out)):
        _, false, missed, _ = match(scn, out[k], k + 1.0)
        assert false == 0 and missed == 0, (k + 1.0, false, missed)
    scn_free = biased_scenario(seed=6, range_m=0, az_rad=0, clock_s=0, az1_rad=0)
    _, out_free = run_engine(scn_free)
    err = lambda o: np.sqrt(np.mean(np.concatenate(  # noqa: E731
        [match(scn, o[k], k + 1.0)[0] for k in range(60, len(o))]) ** 2))
    assert err(out) < 1.25 * err(out_free)


def test_far_apart_sites_tracked_without_bias():
    """Sites 500 km apart: plots through each site's own tangent plane land on the truth; a
    fuser that took the sites' axes for the origin's would be kilometres off."""
    targets = default_targets(6, seed=9)
    scn = Scenario(far_apart_radars(), targets, 200.0, seed=4).simulate()
    engine, out = run_engine(scn, FusionParams(registration_on=False))
    errors = []
    for k in range(40, len(out)):
        t = k + 1.0
        tracks = out[k]
        d, false, missed, ids = match(scn, tracks, t)
        assert false == 0 and missed == 0
        for i, tid in enumerate(tracks["track_id"]):
            p, _ = scn.targets[ids[int(tid)]].state([t])
            errors.append([tracks["east"][i], tracks["north"][i], tracks["up"][i]] - p[0])
    errors = np.array(errors)
    mean, rms = errors.mean(axis=0), np.sqrt((errors ** 2).mean(axis=0))
    assert np.all(np.abs(mean[:2]) < 20.0), mean
    assert abs(mean[2]) < 60.0, mean
    assert np.all(rms[:2] < 80.0), rms


def test_range_rate_sharpens_velocity():
    """Radars that measure range rate: velocity errors shrink when the filter uses it."""
    radars = far_apart_radars(sigma_range_rate_mps=1.0)
    scn = Scenario(radars, default_targets(6, seed=9), 150.0, seed=4).simulate()
    assert np.isfinite(scn.plots["range_rate_mps"][scn.truth_id >= 0]).all()

    def velocity_rms(params):
        _, out = run_engine(scn, params)
        err = []
        for k in range(30, len(out)):
            _, _, _, ids = match(scn, out[k], k + 1.0)
            for i, tid in enumerate(out[k]["track_id"]):
                _, v = scn.targets[ids[int(tid)]].state([k + 1.0])
                err.append([out[k][n][i] for n in ("v_east", "v_north", "v_up")] - v[0])
        return np.sqrt(np.mean(np.square(err)))

    with_rate = velocity_rms(FusionParams())
    without = velocity_rms(FusionParams(use_range_rate=False))
    assert with_rate < 0.8 * without, (with_rate, without)


def test_identical_input_gives_identical_output():
    scn = crossing_scenario(seed=3)
    a = run_engine(scn)[1]
    b = run_engine(scn)[1]
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert same_records(x, y)


@pytest.mark.twins
def test_provenance_partners_and_last_update_times():
    scn = Scenario(far_apart_radars(), default_targets(6), 120.0, seed=2).simulate()
    engine, out = run_engine(scn)
    tracks = out[-1]
    assert len(tracks) == 6
    assert np.all(tracks["status"] == TRACK_STATUS_CONFIRMED)
    assert np.any(tracks["partners"] == 0b11)          # both partners see the middle
    bits = (tracks["partners"][:, None] >> np.arange(16)) & 1
    last = tracks["partner_t_last"]
    np.testing.assert_array_equal(np.isfinite(last), bits == 1)
    assert np.all(last[bits == 1] <= 120.0)
    assert np.all(np.nanmax(last, axis=1) > 110.0)


@pytest.mark.twins
def test_bad_plots_are_counted_and_fusion_goes_on():
    scn = Scenario(far_apart_radars(), default_targets(3), 60.0, seed=2).simulate()
    bad = empty_plots(5)
    bad["t_sensor"] = [30.0, 30.0, 30.0, 30.0, np.inf]
    bad["range_m"] = [np.nan, -5.0, 1e5, 1e5, 1e5]
    bad["el_rad"] = [0.1, 0.1, 2.0, 0.1, 0.1]
    bad["sensor_id"] = [0, 0, 0, 9, 0]
    engine = FusionEngine(ORIGIN, scn.sensor_table())
    half = len(scn.plots) // 2
    engine.process(scn.plots[:half])
    engine.process(bad)
    engine.process(scn.plots[half:])
    engine.flush()
    c = engine.counters
    assert c.rejected == {"not a number": 2, "negative range": 1,
                          "elevation beyond ±90°": 1, "unknown sensor": 1}
    assert c.plots_used == len(scn.plots)
    assert len(engine.tracks(60.0)) == 3
    with pytest.raises(TypeError):
        engine.process(np.zeros(2, [("t", "f8")]))


@pytest.mark.twins
def test_late_plots_out_of_sequence_are_counted_not_used():
    scn = Scenario(far_apart_radars(), default_targets(2), 40.0, seed=2).simulate()
    engine = FusionEngine(ORIGIN, scn.sensor_table(), FusionParams(hold_back_s=0.5))
    engine.process(scn.plots)
    engine.flush()
    used = engine.counters.plots_used
    late = scn.plots[:10].copy()
    engine.process(late)
    assert engine.counters.out_of_sequence == 10
    assert engine.counters.plots_used == used
    assert engine.counters.plots_rejected == 10
    ahead = scn.plots[-3:].copy()
    ahead["t_sensor"] += 1e6
    engine.process(ahead)
    assert engine.counters.rejected == {"time far ahead": 3}


def test_params_reject_unknown_keys():
    with pytest.raises(ValueError):
        FusionParams(window_sz=1.0)
    assert PLOT_DTYPE.names[0] == "t_sensor"


# --- the real-time path ----------------------------------------------------------------------
REAL_TIME = dict(window_s=0.01, hold_back_s=0.0, oos_tolerance_s=1.5)


def real_time_cycles(scn, latency_s=0.05, cycle_s=0.1):
    """The scenario's plots cut into the cycles of a real-time loop: ``(plots, until_s)``
    per cycle, each plot arriving ``latency_s`` after its time, fused up to the run time."""
    t = scn.plots["t_sensor"]
    arrival = t + latency_s
    for now in np.arange(cycle_s, scn.duration_s + 1e-9, cycle_s):
        yield scn.plots[(arrival > now - cycle_s) & (arrival <= now)], float(now)


def test_process_until_is_process_then_flush():
    scn = Scenario(far_apart_radars(clutter_per_scan=2), default_targets(4), 60.0,
                   seed=7).simulate()
    params = FusionParams(**REAL_TIME)
    one, two = (FusionEngine(ORIGIN, scn.sensor_table(), params) for _ in range(2))
    for k, (plots, now) in enumerate(real_time_cycles(scn)):
        one.process(plots, until_s=now)
        two.process(plots)
        two.flush(now)
        if k % 10 == 0:
            assert same_records(one.tracks(now), two.tracks(now))
    assert one.counters.as_dict() == two.counters.as_dict()
    assert one.counters.tracks_deleted > 0


def test_management_every_window_or_every_period_alike_with_long_windows():
    """Offline (1 s windows) the period changes nothing: management runs after every window."""
    scn = crossing_scenario(seed=5)
    a = run_engine(scn, FusionParams(manage_period_s=0.0))
    b = run_engine(scn, FusionParams(manage_period_s=1.0))
    assert a[0].counters.as_dict() == b[0].counters.as_dict()
    for x, y in zip(a[1], b[1]):
        assert same_records(x, y)


def test_management_period_bounds_deletion_delay_in_real_time():
    """With 10 ms windows a track whose target is gone is deleted once it is due, at most
    ``manage_period_s`` late (here: 3 revisits of its sensors plus the period)."""
    targets = default_targets(3)
    targets[0].t_end_s = 40.0
    scn = Scenario(far_apart_radars(), targets, 80.0, seed=3).simulate()
    engine = FusionEngine(ORIGIN, scn.sensor_table(), FusionParams(**REAL_TIME))
    gone = None
    for plots, now in real_time_cycles(scn):
        engine.process(plots, until_s=now)
        if abs(now - 38.0) < 1e-9:
            _, _, _, ids = match(scn, engine.tracks(now), now)
            gone = next(tid for tid, target in ids.items() if target == 0)
        if gone is not None and now > 40.0 + 3 * 4.0 + 1.0 + 0.2:
            assert gone not in engine.tracks(now, include_tentative=True)["track_id"], now
    assert len(engine.tracks(80.0)) == 2


@pytest.mark.twins
def test_pictures_drop_the_tracks_of_sensors_gone_silent():
    """When every sensor falls silent, the loop's pictures still move fusion time on: the
    tracks coast, then are deleted (3 revisits and the management period), never
    extrapolated for ever."""
    from rig.bench.loop import FusionStep

    scn = Scenario(far_apart_radars(), default_targets(4), 40.0, seed=9).simulate()
    engine = FusionEngine(ORIGIN, scn.sensor_table(), FusionParams(**REAL_TIME))
    step = FusionStep(engine, updates=True)
    for plots, now in real_time_cycles(scn):
        step.cycle(plots, now, now)
    assert len(step.picture(40.0)) >= 3
    silent_from = float(scn.plots["t_sensor"].max())
    for t in np.arange(41.0, 80.0):                   # ticks, and no plot any more
        picture = step.picture(float(t))
        if t > silent_from + 3 * 4.0 + 1.0 + 1.0:
            assert len(picture) == 0, t
        assert np.all(np.abs(picture["up"]) < 30_000)


@pytest.mark.twins
def test_tracks_updated_are_those_whose_update_count_changed():
    scn = Scenario(far_apart_radars(clutter_per_scan=2), default_targets(4), 60.0,
                   seed=8).simulate()
    engine = FusionEngine(ORIGIN, scn.sensor_table(), FusionParams(**REAL_TIME))
    seen, sent = {}, 0
    for plots, now in real_time_cycles(scn):
        engine.process(plots, until_s=now)
        every = engine.tracks(now)
        want = every[[seen.get(int(i)) != int(n)
                      for i, n in zip(every["track_id"], every["n_updates"])]]
        seen = {int(i): int(n) for i, n in zip(every["track_id"], every["n_updates"])}
        got = engine.tracks_updated(now)
        assert same_records(got, want), now
        sent += len(got)
    assert sent > 100


def test_reference_kernels_give_the_same_tracks():
    """The whole engine on the NumPy twins and on the compiled kernels: same tracks (to
    rounding), same decisions."""
    from rig.fusion import kernels

    scn = Scenario(far_apart_radars(clutter_per_scan=1), default_targets(3), 40.0,
                   seed=2).simulate()
    compiled_run = run_engine(scn, kernels=kernels.compiled())
    reference_run = run_engine(scn, kernels=kernels.reference())
    assert compiled_run[0].counters.as_dict()["tracks_initiated"] > 3
    for key in ("plots_used", "tracks_initiated", "tracks_confirmed", "tracks_deleted",
                "tracks_merged", "windows"):
        assert (compiled_run[0].counters.as_dict()[key]
                == reference_run[0].counters.as_dict()[key]), key
    for x, y in zip(compiled_run[1], reference_run[1]):
        np.testing.assert_array_equal(x["track_id"], y["track_id"])
        np.testing.assert_array_equal(x["status"], y["status"])
        np.testing.assert_allclose(x["east"], y["east"], rtol=0, atol=1e-6)
        np.testing.assert_allclose(x["covariance"], y["covariance"], rtol=1e-8, atol=1e-8)


@pytest.mark.twins
def test_the_switch_picks_the_kernels_an_engine_runs_on():
    from rig import twins
    from rig.fusion import kernels

    expected = "reference" if twins.pure_python() else "compiled"
    scn = Scenario(far_apart_radars(), default_targets(1), 5.0, seed=1).simulate()
    engine, _ = run_engine(scn)
    assert kernels.default().name == engine.kernels_name == expected
    assert all(module.__name__.startswith("rig.fusion.reference." if expected == "reference"
                                          else "rig._ext.fusion_") for module in engine.k.modules)
