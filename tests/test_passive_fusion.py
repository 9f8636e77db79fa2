"""Angle-only (passive) sensors in the fusion engine: updates in angle space, consistency,
tracks started by crossing bearings, ghosts, and bad bearings. Fixed seeds; simulated data
(tests.test_fusion_sim), nothing timed."""

import numpy as np
import pytest
from scipy.stats import chi2

from rig.fusion import FusionEngine, FusionParams
from rig.fusion.triangulation import closest_approach
from rig.records import empty_plots

from tests.test_fusion_engine import CV_ONLY
from tests.test_fusion_sim import ORIGIN, Radar, Scenario, Target, match, run_engine

#: a slow, coarse long-range radar of partner A (thin coverage), and passive sensors around
#: the area
RADAR = Radar((51.6, 20.2, 150.0), partner="A", scan_period_s=10.0, sigma_range_m=400.0,
              sigma_az_rad=8e-3, sigma_el_rad=8e-3)
PASSIVE_SITES = [(52.4, 20.0, 100.0), (51.7, 22.1, 100.0), (52.6, 21.9, 100.0)]


def passive(i, **kw):
    return Radar(PASSIVE_SITES[i], partner="AB"[i % 2], scan_period_s=2.0, scan_phase_s=0.4 * i,
                 sigma_az_rad=np.radians(0.5), sigma_el_rad=np.radians(0.5), passive=True,
                 **kw)


def straight(east_m, north_m, heading_deg=60.0, speed=220.0, up_m=9000.0):
    h = np.radians(heading_deg)
    return Target(np.array([east_m, north_m, up_m]),
                  speed * np.array([np.sin(h), np.cos(h), 0.0]))


def state_errors(scn, engine_out, t0=40.0):
    """Per tick from ``t0``: (position error m, NEES) of the one confirmed track."""
    errors, nees = [], []
    for k, tracks in enumerate(engine_out):
        t = k + 1.0
        if t < t0 or len(tracks) != 1:
            continue
        p, v = scn.targets[0].state([t])
        d = np.array([tracks[n][0] for n in ("east", "north", "up", "v_east", "v_north",
                                              "v_up")]) - np.r_[p[0], v[0]]
        errors.append(np.linalg.norm(d[:3]))
        nees.append(d @ np.linalg.solve(tracks["covariance"][0], d))
    return np.array(errors), np.array(nees)


def test_bearings_update_a_track_consistently_and_sharpen_it():
    params = FusionParams(**CV_ONLY)
    runs = {"radar": [], "radar + passive": []}
    nis = []
    for seed in range(6):
        target = straight(-40e3, -30e3)
        for name, sensors in (("radar", [RADAR]),
                              ("radar + passive", [RADAR, passive(0), passive(1)])):
            scn = Scenario(sensors, [target], 200.0, seed=seed).simulate()
            engine, out = run_engine(scn, params)
            errors, nees = state_errors(scn, out)
            assert len(errors) > 120, name          # one confirmed track all along
            runs[name].append((errors, nees))
            if name == "radar + passive":
                c = engine.counters
                assert c.nis_dof < 3 * c.nis_count  # angle-only updates counted, 2 dof
                nis.append((c.nis_sum, c.nis_count, c.nis_dof))
    rmse = {name: np.sqrt(np.mean(np.concatenate([e for e, _ in r]) ** 2))
            for name, r in runs.items()}
    assert rmse["radar + passive"] < 0.8 * rmse["radar"], rmse
    # no overconfidence: the mean NEES of the fused track is within the chi² bound
    nees = np.concatenate([n for _, n in runs["radar + passive"]])
    assert nees.mean() < chi2.ppf(0.975, 6 * 20) / 20, nees.mean()
    nis_sum, nis_count, nis_dof = np.sum(nis, axis=0)
    lo, hi = chi2.ppf([0.0005, 0.9995], nis_dof)
    assert 0.7 * lo < nis_sum < 1.3 * hi, nis_sum / nis_dof


def test_two_passive_sensors_start_a_track_but_only_a_third_confirms_it():
    target = straight(10e3, 20e3, heading_deg=200.0)
    two = Scenario([passive(0), passive(1)], [target], 120.0, seed=3).simulate()
    engine, out = run_engine(two)
    assert engine.bearings.crossings >= 1
    assert all(len(tracks) == 0 for tracks in out)      # two lines of sight never confirm
    tentative = engine.tracks(120.0, include_tentative=True)
    errors, _, _, _ = match(two, tentative, 120.0, radius_m=10e3)
    assert len(errors) == 1                              # but a track holds the target

    three = Scenario([passive(0), passive(1), passive(2)], [target], 120.0, seed=3).simulate()
    engine, out = run_engine(three)
    errors, n_false, n_missed, _ = match(three, out[-1], 120.0, radius_m=5e3)
    assert n_missed == 0 and n_false == 0
    first = next(k for k, tracks in enumerate(out) if len(tracks))
    assert first < 30                                    # confirmed within a few revisits


@pytest.mark.twins
def test_ghosts_of_crossing_bearings_are_never_published():
    # two passive sensors see every target; the radar reaches only the first
    targets = [straight(-20e3, 30e3, heading_deg=90.0), straight(60e3, 40e3, heading_deg=0.0),
               straight(75e3, 5e3, heading_deg=300.0)]
    radar = Radar(RADAR.site, partner="A", scan_period_s=10.0, sigma_range_m=400.0,
                  sigma_az_rad=8e-3, sigma_el_rad=8e-3, range_max_m=110e3)
    scn = Scenario([radar, passive(0), passive(1)], targets, 150.0, seed=5).simulate()
    engine, out = run_engine(scn)
    assert engine.bearings.crossings >= 2            # the other targets', and ghosts
    for k, tracks in enumerate(out):
        t = k + 1.0
        _, n_false, _, ids = match(scn, tracks, t, radius_m=5e3)
        assert n_false == 0, t                       # no confirmed ghost, ever
        assert set(ids.values()) <= {0}              # two lines of sight alone: never
    _, _, _, ids = match(scn, out[-1], 150.0, radius_m=5e3)
    assert list(ids.values()) == [0]                 # the radar's target is held
    tentative = engine.tracks(150.0, include_tentative=True)
    _, _, n_missed, _ = match(scn, tentative, 150.0, radius_m=10e3)
    assert n_missed == 0                             # the other waits, tentative


@pytest.mark.twins
def test_crossing_two_lines_of_sight():
    o_a, o_b = np.array([[0.0, 0.0, 0.0]]), np.array([[10e3, 0.0, 0.0]])
    point = np.array([4e3, 30e3, 5e3])
    u_a = (point - o_a) / np.linalg.norm(point - o_a)
    u_b = (point - o_b) / np.linalg.norm(point - o_b)
    s_a, s_b, miss, sin_g = closest_approach(o_a, u_a, o_b, u_b)
    np.testing.assert_allclose(o_a + s_a[:, None] * u_a, point[None], atol=1e-6)
    np.testing.assert_allclose(o_b + s_b[:, None] * u_b, point[None], atol=1e-6)
    assert miss[0] < 1e-6 and 0 < sin_g[0] < 1


@pytest.mark.twins
@pytest.mark.parametrize("field, value, reason", [
    ("az_rad", 7.0, "azimuth outside 0–360°"),
    ("az_rad", -0.1, "azimuth outside 0–360°"),
    ("el_rad", 2.0, "elevation beyond ±90°"),
    ("az_rad", np.nan, "not a number"),
    ("t_sensor", np.inf, "not a number"),
])
def test_impossible_bearings_are_counted_and_never_fused(field, value, reason):
    scn = Scenario([passive(0), passive(1), passive(2)], [], 10.0)
    engine = FusionEngine(ORIGIN, scn.sensor_table(), FusionParams())
    plots = empty_plots(4)
    plots["t_sensor"] = [1.0, 1.1, 1.2, 1.3]
    plots["az_rad"], plots["el_rad"] = 1.0, 0.05
    plots["range_m"] = np.nan
    plots["sensor_id"] = [0, 1, 2, 0]
    plots[field][3] = value
    engine.process(plots)
    engine.flush()
    assert engine.counters.rejected == {reason: 1}
    assert engine.counters.plots_in == 4


@pytest.mark.twins
def test_a_passive_sensors_range_is_not_read_and_a_radars_missing_range_is_refused():
    scn = Scenario([RADAR, passive(0)], [], 10.0)
    engine = FusionEngine(ORIGIN, scn.sensor_table(), FusionParams())
    plots = empty_plots(2)
    plots["t_sensor"] = [1.0, 1.1]
    plots["az_rad"], plots["el_rad"] = 1.0, 0.05
    plots["range_m"] = [np.nan, 5e4]                     # radar without range; passive with one
    plots["sensor_id"] = [0, 1]
    engine.process(plots)
    engine.flush()
    assert engine.counters.rejected == {"not a number": 1}
    assert engine.bearings.z.shape == (1, 4) and np.isnan(engine.bearings.z[0, 0])
