"""Scenarios: trajectories, curved-earth level coordinates, scripted files, determinism, CLI."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pymap3d
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rig.errors import ConfigError
from rig.geodesy import Geodetic
from rig.interchange import (SENSOR_TRUTH_COLUMNS, read_interchange, read_plots, read_scenario)
from rig.scenario import ScenarioSpec, build_scenario, load_scenario, load_scenario_spec
from rig.scenario.level import LevelFrame
from rig.scenario.trajectories import GRAVITY_MPS2
from rig.validation import validate

ORIGIN = Geodetic(52.0, 21.0, 100.0)

RADAR = {"id": "R1", "partner": "A", "site": {"lat_deg": 52.0, "lon_deg": 21.0, "alt_m": 100},
         "scan_period_s": 4.0, "sigma_range_m": 30.0, "sigma_az_rad": 0.001,
         "sigma_el_rad": 0.002, "range_max_m": 300000}


def spec_of(**fields) -> ScenarioSpec:
    raw = {"origin": {"lat_deg": 52.0, "lon_deg": 21.0, "alt_m": 100.0}, "duration_s": 200,
           "sensors": [RADAR]}
    raw.update(fields)
    return validate(ScenarioSpec, raw, file="test")


def states(scenario, target_id, t):
    idx = int(np.flatnonzero(scenario.trajectories.target_id == target_id)[0])
    t = np.asarray(t, float)
    return scenario.trajectories.state(np.full(t.shape, idx), t)


# --- level coordinates ---------------------------------------------------------------------


def test_level_heights_are_wgs84_altitudes_within_20_m(rng):
    level = LevelFrame(ORIGIN)
    xyh = np.column_stack([rng.uniform(-4e5, 4e5, 300), rng.uniform(-4e5, 4e5, 300),
                           rng.uniform(0, 15000, 300)])
    xyh = xyh[np.hypot(xyh[:, 0], xyh[:, 1]) < 4e5]
    enu = level.enu(xyh)
    _, _, alt = pymap3d.enu2geodetic(enu[:, 0], enu[:, 1], enu[:, 2], 52.0, 21.0, 100.0)
    assert np.max(np.abs(alt - xyh[:, 2])) < 20.0
    np.testing.assert_allclose(level.level_from_enu(enu), xyh, atol=1e-6)


def test_level_flight_far_away_has_a_falling_up():
    level = LevelFrame(ORIGIN)
    enu = level.enu([[300_000.0, 0.0, 5000.0]])
    # the earth falls away by about d²/2R over 300 km
    assert enu[0, 2] == pytest.approx(5000 - 100 - 300e3**2 / (2 * level.radius_m), abs=30)


def test_level_velocity_is_the_derivative_of_position(rng):
    level = LevelFrame(ORIGIN)
    p = np.column_stack([rng.uniform(-3e5, 3e5, 50), rng.uniform(-3e5, 3e5, 50),
                         rng.uniform(0, 1e4, 50)])
    v = rng.normal(0, 250, (50, 3))
    _, vel = level.enu(p, v)
    h = 1e-3
    numeric = (level.enu(p + h * v) - level.enu(p - h * v)) / (2 * h)
    np.testing.assert_allclose(vel, numeric, atol=1e-5)


def test_geodetic_positions_land_where_given():
    level = LevelFrame(ORIGIN)
    xyh = level.level_from_geodetic(50.9, 24.6, 8000.0)
    enu = level.enu(xyh[None])[0]
    lat, lon, alt = pymap3d.enu2geodetic(*enu, 52.0, 21.0, 100.0)
    e, n, _ = pymap3d.geodetic2enu(lat, lon, 0.0, 50.9, 24.6, 0.0)
    assert np.hypot(e, n) < 5.0 and abs(alt - 8000.0) < 15.0


# --- trajectories ----------------------------------------------------------------------------


def test_scripted_segments_turn_and_fly_ballistic_arcs():
    s = build_scenario(spec_of(targets=[
        {"id": 5, "position": {"east_m": 0, "north_m": 0, "alt_m": 9000}, "speed_mps": 200,
         "heading_deg": 90, "segments": [
             {"kind": "straight", "duration_s": 50},
             {"kind": "turn", "duration_s": 30, "turn_rate_deg_s": 3},
             {"kind": "straight"}]},
        {"id": 6, "position": {"east_m": 0, "north_m": 0, "alt_m": 0}, "speed_mps": 300,
         "heading_deg": 0, "climb_mps": 400, "segments": [{"kind": "ballistic"}]},
    ]))
    lv = s.trajectories.level_state
    idx5 = int(np.flatnonzero(s.trajectories.target_id == 5)[0])
    p, v = lv(idx5, np.array([0.0, 50.0, 80.0, 120.0]))
    heading = np.degrees(np.arctan2(v[:, 0], v[:, 1])) % 360
    np.testing.assert_allclose(heading, [90, 90, 180, 180], atol=1e-9)   # right turn of 90°
    np.testing.assert_allclose(np.hypot(v[:, 0], v[:, 1]), 200.0)
    np.testing.assert_allclose(p[1], [10_000.0, 0.0, 9000.0], atol=1e-6)
    radius = 200.0 / np.radians(3.0)
    np.testing.assert_allclose(p[2], [10_000.0 + radius, -radius, 9000.0], atol=1e-6)
    # ballistic: apex v²/2g at v/g, back on the ground at 2v/g, then gone
    idx6 = int(np.flatnonzero(s.trajectories.target_id == 6)[0])
    t_apex = 400.0 / GRAVITY_MPS2
    p, v = lv(idx6, np.array([t_apex, 2 * t_apex]))
    assert p[0, 2] == pytest.approx(400.0**2 / (2 * GRAVITY_MPS2))
    assert v[0, 2] == pytest.approx(0.0, abs=1e-9) and p[1, 2] == pytest.approx(0, abs=1e-6)
    truth = s.truth()
    assert truth[truth.target_id == 6]["t"].max() <= 2 * t_apex


def test_waypoints_are_reached_at_their_times():
    s = build_scenario(spec_of(targets=[{"waypoints": [
        {"t_s": 10, "east_m": 0, "north_m": 0, "alt_m": 1000},
        {"t_s": 60, "east_m": 10000, "north_m": 0, "alt_m": 2000},
        {"t_s": 110, "east_m": 10000, "north_m": 15000, "alt_m": 2000}]}]))
    p, _ = s.trajectories.level_state(0, np.array([10.0, 60.0, 110.0]))
    np.testing.assert_allclose(p, [[0, 0, 1000], [10000, 0, 2000], [10000, 15000, 2000]],
                               atol=1e-6)
    truth = s.truth()
    assert truth["t"].min() == 10 and truth["t"].max() == 110


def test_truth_velocity_is_the_derivative_of_truth_position():
    s = load_scenario(targets=40, seed=3)
    tr = s.trajectories
    idx = np.arange(len(tr))
    t = np.full(len(idx), 100.0)
    h = 1e-3
    _, vel, _ = tr.state(idx, t)
    numeric = (tr.state(idx, t + h)[0] - tr.state(idx, t - h)[0]) / (2 * h)
    np.testing.assert_allclose(vel, numeric, atol=1e-3)


def test_random_targets_cross_fly_in_formation_and_come_and_go():
    s = build_scenario(spec_of(duration_s=400, random={
        "count": 40, "crossings": 3, "formations": 2, "formation_size": [3, 3],
        "appear_disappear": 0.5, "turning": 0.3, "ballistic": 0.1}), seed=11)
    tr = s.trajectories
    assert len(tr) == 40
    # crossing pairs (ids 1-2, 3-4, 5-6) come within the miss distance of each other
    t = np.arange(0, 400.0, 0.5)
    for a in (1, 3, 5):
        pa, _, _ = states(s, a, t)
        pb, _, _ = states(s, a + 1, t)
        assert np.min(np.linalg.norm(pa - pb, axis=1)) < 300 + 200 * 0.5
    # formations (ids 7-9, 10-12) keep their spacing and fly the same velocity
    for first in (7, 10):
        p = [states(s, first + k, t)[0] for k in range(3)]
        gap = np.linalg.norm(p[1] - p[0], axis=1)
        assert np.ptp(gap) < 0.01 * gap.mean() and 300 <= gap.mean() <= 1000
    truth = s.truth()
    spans = truth.groupby("target_id")["t"].agg(["min", "max"])
    assert (spans["min"] > 0).any() and (spans["max"] < 400).any()
    for i, target_id in enumerate(tr.target_id):
        lo, hi = spans.loc[target_id]
        assert tr.t_start_s[i] - 1 <= lo and hi <= tr.t_end_s[i] + 1e-9


def test_seeded_and_deterministic():
    a, b = load_scenario(seed=5), load_scenario(seed=5)
    pd.testing.assert_frame_equal(a.truth(), b.truth())
    from rig.sensor_models import simulate_plots
    pd.testing.assert_frame_equal(simulate_plots(a), simulate_plots(b))
    c = load_scenario(seed=6)
    assert not a.truth()["east_m"].equals(c.truth()["east_m"])


def test_default_scenario_has_two_partners_far_apart_with_overlap():
    s = load_scenario()
    partners = {}
    for sensor in s.sensors:
        partners.setdefault(sensor.partner, []).append(sensor)
    assert len(partners) == 2 and all(len(v) >= 2 for v in partners.values())
    a, b = partners.values()
    e_a, n_a, _ = pymap3d.geodetic2enu(a[0].site.lat_deg, a[0].site.lon_deg, 0,
                                       b[0].site.lat_deg, b[0].site.lon_deg, 0)
    distance = np.hypot(e_a, n_a)
    assert distance > 300_000
    # the middle (the origin) is covered by both, each edge by one partner alone
    level = LevelFrame(s.origin)

    def covering(xy):
        p = level.enu([[xy[0], xy[1], 8000.0]])
        out = set()
        for sensor in s.sensors:
            from rig.sensor_models import RadarModel
            m = RadarModel(sensor, s.origin)
            v = m.to_site(p)
            r = np.linalg.norm(v, axis=1)
            if m.covered(r, np.arcsin(v[:, 2] / r))[0]:
                out.add(sensor.partner)
        return out

    assert covering((0, 0)) == {"A", "B"}
    assert covering((-300_000, 0)) == {"A"} and covering((300_000, 0)) == {"B"}


# --- files and the command line ----------------------------------------------------------------


def rig(*args):
    return subprocess.run([sys.executable, "-m", "rig", *args], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("frame", ["wgs84", "flat"])
def test_cli_writes_the_interchange_folder(tmp_path, frame):
    out = rig("scenario", "--out", str(tmp_path / "x"), "--frame", frame, "--seed", "4",
              "--targets", "12", "--duration", "60", "--biased", "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["targets"] == 12 + 3 and summary["frame"] == frame
    folder = tmp_path / "x"
    info = read_scenario(folder)
    assert info.frame == frame and info.duration_s == 60
    x = read_interchange(folder, with_truth=True)
    assert set(x.sensors["partner"]) == {"A", "B"}
    for column in SENSOR_TRUTH_COLUMNS:                       # --biased: every error set
        assert (x.sensors[column] != 0).all(), column
    header = (folder / "plots.csv").read_text().splitlines()[0].split(",")
    assert header == ["t", "sensor_id", "range_m", "azimuth_rad", "elevation_rad",
                      "range_rate_mps", "truth_id"]
    truth_header = (folder / "truth.csv").read_text().splitlines()[0].split(",")
    assert truth_header == ["t", "target_id", "east_m", "north_m", "up_m", "ve", "vn", "vu"]
    # a fuser reading the folder sees no ground truth
    fuser = read_interchange(folder)
    assert not set(SENSOR_TRUTH_COLUMNS) & set(fuser.sensors.columns)
    assert "truth_id" not in read_plots(folder).columns
    assert len(x.plots) == summary["plots"] and len(x.truth) == summary["truth_rows"]


def test_cli_is_deterministic(tmp_path):
    for name in ("a", "b"):
        assert rig("scenario", "--out", str(tmp_path / name), "--duration", "30").returncode == 0
    for f in ("sensors.csv", "truth.csv", "plots.csv", "scenario.json"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()


BAD = [
    ("unknown key", {"colour": "red"}, "colour", "one of"),
    ("latitude 95", {"sensors": [{**RADAR, "site": {"lat_deg": 95, "lon_deg": 21}}]},
     "sensors[0].site.lat_deg", "less than or equal to 90"),
    ("negative sigma", {"sensors": [{**RADAR, "sigma_range_m": -3}]},
     "sensors[0].sigma_range_m", "greater than or equal to 0"),
    ("unknown segment key", {"targets": [{"position": {"east_m": 0, "north_m": 0, "alt_m": 1},
                                          "segments": [{"kind": "straight", "speed": 3}]}]},
     "targets[0].segments[0].speed", "speed_mps"),
    ("bad kind", {"targets": [{"position": {"east_m": 0, "north_m": 0, "alt_m": 1},
                               "segments": [{"kind": "loop"}]}]},
     "targets[0].segments[0].kind", "'straight', 'turn' or 'ballistic'"),
]


@pytest.mark.parametrize("label,change,key,expected", BAD, ids=[b[0] for b in BAD])
def test_bad_scenario_files_exit_2_naming_file_and_key(tmp_path, label, change, key, expected):
    import yaml
    raw = {"origin": {"lat_deg": 52.0, "lon_deg": 21.0}, "duration_s": 60, "sensors": [RADAR]}
    raw.update(change)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as e:
        load_scenario_spec(path)
    assert e.value.key == key and str(path) in str(e.value) and expected in str(e.value)
    if label in ("unknown key", "latitude 95", "negative sigma"):
        out = rig("scenario", "--out", str(tmp_path / "x"), str(path))
        assert out.returncode == 2
        assert str(path) in out.stderr and key in out.stderr and "expected" in out.stderr


def test_unreadable_or_missing_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_scenario_spec(tmp_path / "nope.yaml")
    (tmp_path / "broken.yaml").write_text("sensors: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_scenario_spec(tmp_path / "broken.yaml")
    with pytest.raises(ConfigError, match="built-in"):
        load_scenario_spec("builtin:nosuch")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["straight", "turn", "ballistic"]),
                          st.floats(1.0, 60.0), st.floats(0.5, 6.0),
                          st.booleans(), st.floats(0.0, 359.0)), min_size=1, max_size=5),
       st.floats(50.0, 400.0), st.floats(0.0, 359.0))
def test_scripted_trajectories_are_continuous(segments, speed, heading):
    """Position is continuous everywhere; velocity too, except where a segment sets it."""
    scripted = []
    for kind, duration, rate, change, new_heading in segments:
        seg = {"kind": kind, "duration_s": duration}
        if kind == "turn":
            seg["turn_rate_deg_s"] = rate
        if change:
            seg["heading_deg"] = new_heading
        scripted.append(seg)
    s = build_scenario(spec_of(duration_s=400, targets=[{
        "id": 1, "position": {"east_m": 1000, "north_m": -2000, "alt_m": 30000},
        "speed_mps": speed, "heading_deg": heading, "segments": scripted}]))
    tr = s.trajectories
    boundaries = np.cumsum([seg[1] for seg in segments])
    eps = 1e-6
    before, v_before = tr.level_state(0, boundaries - eps)
    after, v_after = tr.level_state(0, boundaries + eps)
    np.testing.assert_allclose(before, after, atol=1e-2)
    for k, (kind, _, _, change, _) in enumerate(segments[1:] + [("straight", 0, 0, False, 0)]):
        if not change:
            np.testing.assert_allclose(v_before[k], v_after[k], atol=1e-3)


@settings(max_examples=50, deadline=None)
@given(st.floats(-5e5, 5e5), st.floats(-5e5, 5e5), st.floats(-400.0, 3e4))
def test_level_coordinates_round_trip(x, y, h):
    level = LevelFrame(ORIGIN)
    enu = level.enu(np.array([[x, y, h]]))
    np.testing.assert_allclose(level.level_from_enu(enu), [[x, y, h]], atol=1e-6)


@pytest.mark.parametrize("command", ["scenario", "score"])
def test_help(command):
    out = rig(command, "--help")
    assert out.returncode == 0 and f"usage: rig {command}" in out.stdout
