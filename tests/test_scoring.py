"""OSPA/GOSPA on hand-worked cases and their properties; the metrics of `score` over time."""

import itertools
import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rig.errors import ConfigError, UsageError
from rig.scoring import gospa, ospa, score

# --- single sets ---------------------------------------------------------------------------


def test_hand_worked_single_pair():
    assert ospa([[0, 0, 0]], [[3, 4, 0]], cutoff_m=10, order=1) == pytest.approx(5.0)
    assert gospa([[0, 0, 0]], [[3, 4, 0]], cutoff_m=10, order=2) == pytest.approx(5.0)


def test_hand_worked_one_missed():
    x = [[0, 0, 0], [100, 0, 0]]
    y = [[3, 4, 0]]
    # one pair at 5 m, one target unassigned: OSPA (5 + 10)/2, GOSPA 5 + 10/2
    assert ospa(x, y, 10, 1) == pytest.approx(7.5)
    assert gospa(x, y, 10, 1) == pytest.approx(10.0)
    assert ospa(x, y, 10, 2) == pytest.approx(math.sqrt((25 + 100) / 2))
    assert gospa(x, y, 10, 2) == pytest.approx(math.sqrt(25 + 100 / 2))


def test_a_missed_target_costs_c():
    assert ospa([[1, 2, 3]], np.zeros((0, 3)), cutoff_m=250, order=2) == pytest.approx(250)
    # GOSPA (alpha = 2) charges c^p / 2 for each missed target or false track
    assert gospa([[1, 2, 3]], np.zeros((0, 3)), 250, 2) == pytest.approx(250 / math.sqrt(2))
    assert gospa(np.zeros((0, 3)), [[1, 2, 3]], 250, 1) == pytest.approx(125)


def test_pairs_beyond_the_cutoff_cost_c():
    assert ospa([[0, 0, 0]], [[5000, 0, 0]], 1000, 1) == pytest.approx(1000)
    # GOSPA leaves them unassigned: one missed and one false, c^p/2 each
    assert gospa([[0, 0, 0]], [[5000, 0, 0]], 1000, 1) == pytest.approx(1000)


def test_empty_sets_are_zero():
    assert ospa(np.zeros((0, 3)), np.zeros((0, 3))) == 0.0
    assert gospa(np.zeros((0, 3)), np.zeros((0, 3))) == 0.0


def test_the_best_assignment_wins_over_the_greedy_one():
    # greedy pairs the closest first (1 m), leaving 19 m: 20 in all; the optimum is 9 + 9
    x = [[0, 0, 0], [10, 0, 0]]
    y = [[1, 0, 0], [-9, 0, 0]]
    assert ospa(x, y, 100, 1) == pytest.approx((9 + 9) / 2)
    x = [[0, 0, 0], [3, 0, 0]]
    y = [[2, 0, 0], [5, 0, 0]]
    assert ospa(x, y, 100, 2) == pytest.approx(math.sqrt((4 + 4) / 2))


points = arrays(np.float64, st.tuples(st.integers(0, 4), st.just(3)),
                elements=st.floats(-2000, 2000, allow_nan=False, width=32))


def brute_force(x, y, c, p, kind):
    """Both distances from their definitions, by trying every assignment."""
    x, y = np.asarray(x), np.asarray(y)
    small, big = (x, y) if len(x) <= len(y) else (y, x)
    best = 0.0 if len(small) == 0 else math.inf
    best_g = len(x) + len(y) and math.inf
    for perm in itertools.permutations(range(len(big)), len(small)):
        d = np.linalg.norm(small - big[list(perm)], axis=1) if len(small) else np.zeros(0)
        best = min(best, float(np.sum(np.minimum(d, c) ** p)))
        close = d < c
        best_g = min(best_g, float(np.sum(d[close] ** p)
                                   + c**p / 2 * (len(x) + len(y) - 2 * close.sum())))
    if kind == "ospa":
        n = len(big)
        return 0.0 if n == 0 else ((best + c**p * (n - len(small))) / n) ** (1 / p)
    return (best_g if len(x) + len(y) else 0.0) ** (1 / p)


@settings(max_examples=150, deadline=None)
@given(points, points, st.sampled_from([1.0, 2.0]), st.sampled_from([100.0, 1500.0]))
def test_matches_brute_force(x, y, p, c):
    assert ospa(x, y, c, p) == pytest.approx(brute_force(x, y, c, p, "ospa"), abs=1e-6)
    assert gospa(x, y, c, p) == pytest.approx(brute_force(x, y, c, p, "gospa"), abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(points, points, points)
def test_metric_properties(x, y, z):
    c, p = 500.0, 2.0
    assert ospa(x, x, c, p) == pytest.approx(0.0, abs=1e-9)
    assert gospa(x, x, c, p) == pytest.approx(0.0, abs=1e-9)
    assert ospa(x, y, c, p) == pytest.approx(ospa(y, x, c, p))
    assert gospa(x, y, c, p) == pytest.approx(gospa(y, x, c, p))
    assert 0.0 <= ospa(x, y, c, p) <= c + 1e-9
    assert ospa(x, z, c, p) <= ospa(x, y, c, p) + ospa(y, z, c, p) + 1e-6
    assert gospa(x, z, c, p) <= gospa(x, y, c, p) + gospa(y, z, c, p) + 1e-6


# --- over time -------------------------------------------------------------------------------


def rows(object_id, t, east, ve=100.0, north=0.0):
    t = np.asarray(t, float)
    return pd.DataFrame({"t": t, "id": object_id, "east_m": east + ve * t, "north_m": north,
                         "up_m": 1000.0, "ve": ve, "vn": 0.0, "vu": 0.0})


def truth_of(*parts):
    return pd.concat(parts, ignore_index=True).rename(columns={"id": "target_id"})


def tracks_of(*parts):
    return pd.concat(parts, ignore_index=True).rename(columns={"id": "track_id"})


T = np.arange(0, 11.0)


def test_perfect_tracks_score_zero():
    truth = truth_of(rows(1, T, 0.0), rows(2, T, 50_000.0))
    result = score(truth, tracks_of(rows(7, T, 0.0), rows(8, T, 50_000.0)))
    s = result.summary()
    assert s["ospa_mean_m"] == 0 and s["gospa_mean_m"] == 0 and s["position_rmse_m"] == 0
    assert s["missed_targets"] == s["false_tracks"] == s["track_breaks"] == 0
    assert s["identity_switches"] == 0 and s["time_to_first_track_max_s"] == 0
    assert s["coverage"] == 1.0


def test_breaks_switches_missed_false_and_first_track():
    truth = truth_of(rows(1, T, 0.0), rows(2, T, 100_000.0), rows(3, T, 200_000.0))
    tracks = tracks_of(
        rows("a", T[:5], 30.0),             # target 1, t = 0..4, 30 m off
        rows("b", T[6:], 30.0),             # target 1 again from t = 6: a break and a switch
        rows("c", T[3:], 200_000.0),        # target 3 from t = 3
        rows("d", T, -500_000.0),           # nowhere near anything: false
    )                                       # target 2 is never tracked: missed
    result = score(truth, tracks, cutoff_m=1000, order=1, dt_s=1.0)
    s = result.summary()
    assert s["targets"] == 3 and s["tracks"] == 4
    assert result.missed_targets == [2] and result.false_tracks == ["d"]
    assert s["track_breaks"] == 1 and s["identity_switches"] == 1
    assert result.time_to_first_track_s == {1: 0.0, 3: 3.0}
    # 10 assigned times 30 m off (tracks a and b), 8 exact (track c)
    assert s["position_rmse_m"] == pytest.approx(math.sqrt(10 * 30**2 / 18))
    # at t = 5: targets {1, 2, 3}, tracks {c, d}: one pair at 0 m, OSPA (0 + 2c)/3
    k = 5
    assert result.n_truth[k] == 3 and result.n_tracks[k] == 2 and result.n_assigned[k] == 1
    assert result.ospa_m[k] == pytest.approx(2000 / 3)
    assert result.gospa_m[k] == pytest.approx(0 + 500 * 3)
    # target-times held: target 1 at 10 of 11 times (not t = 5), target 3 at 8, target 2 never
    assert s["coverage"] == pytest.approx(18 / 33)


def test_tracks_are_extrapolated_at_constant_velocity():
    truth = truth_of(rows(1, T, 0.0))
    sparse = tracks_of(rows(9, T[::2], 0.0))          # reported every 2 s
    result = score(truth, sparse, dt_s=0.5)
    assert np.allclose(result.ospa_m, 0.0)
    assert result.summary()["track_breaks"] == 0


def test_a_track_silent_longer_than_max_age_is_gone():
    truth = truth_of(rows(1, T, 0.0))
    tracks = tracks_of(rows(9, [0, 1, 2, 8, 9, 10], 0.0))
    result = score(truth, tracks, max_age_s=1.5)
    assert result.summary()["track_breaks"] == 1
    assert list(result.n_assigned) == [1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1]


def test_velocity_rmse():
    truth = truth_of(rows(1, T, 0.0))
    tracks = tracks_of(rows(1, T, 0.0).assign(vn=3.0, ve=104.0))
    # the positions are the truth's; only the velocity is wrong (by 5 m/s)
    tracks["east_m"] = truth["east_m"]
    assert score(truth, tracks).velocity_rmse_mps == pytest.approx(5.0)


def test_json_is_plain():
    truth = truth_of(rows(1, T, 0.0))
    result = score(truth, tracks_of(rows("x", T, 10.0)))
    text = json.dumps(result.to_json(series=True))
    back = json.loads(text)
    assert back["series"]["ospa_m"][0] == pytest.approx(10.0)
    assert back["time_to_first_track_by_target_s"] == {"1": 0.0}


def test_bad_arguments():
    truth = truth_of(rows(1, T, 0.0))
    with pytest.raises(UsageError):
        score(truth, truth.rename(columns={"target_id": "track_id"}), cutoff_m=-1)
    with pytest.raises(ConfigError, match="track_id"):
        score(truth, truth)


def rig(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "rig", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def test_cli_table_and_json(tmp_path):
    truth = truth_of(rows(1, T, 0.0), rows(2, T, 100_000.0))
    tracks = tracks_of(rows(5, T, 0.0))
    truth.to_csv(tmp_path / "truth.csv", index=False)
    tracks.to_csv(tmp_path / "tracks.csv", index=False)
    out = rig("score", str(tmp_path / "truth.csv"), str(tmp_path / "tracks.csv"))
    assert out.returncode == 0, out.stderr
    assert "OSPA" in out.stdout and "identity switches" in out.stdout
    out = rig("score", str(tmp_path), str(tmp_path / "tracks.csv"), "--json", "--cutoff", "500",
              "--order", "1")
    assert out.returncode == 0, out.stderr
    s = json.loads(out.stdout)
    assert s["cutoff_m"] == 500 and s["order"] == 1 and s["missed_targets"] == 1
    assert s["ospa_mean_m"] == pytest.approx(250.0)


def test_cli_bad_input_exits_2(tmp_path):
    (tmp_path / "tracks.csv").write_text("t,track_id,east_m\n0,1,0\n")
    truth_of(rows(1, T, 0.0)).to_csv(tmp_path / "truth.csv", index=False)
    out = rig("score", str(tmp_path / "truth.csv"), str(tmp_path / "tracks.csv"))
    assert out.returncode == 2 and "tracks.csv" in out.stderr and "north_m" in out.stderr
    out = rig("score", str(tmp_path / "truth.csv"), str(tmp_path / "truth.csv"), "--dt", "0")
    assert out.returncode == 2


# --- identity on the sticky assignment -------------------------------------------------------


def test_a_second_track_on_one_target_is_a_duplicate_not_a_switch():
    truth = truth_of(rows(1, T, 0.0))
    # two tracks on one target, each closer at alternate times: a fresh optimal assignment
    # would swap them every second; the target keeps the track it first held
    a = rows("a", T, 0.0)
    b = rows("b", T, 0.0)
    a["north_m"] = np.where(T % 2 == 0, 10.0, 60.0)
    b["north_m"] = np.where(T % 2 == 0, 60.0, 10.0)
    result = score(truth, tracks_of(a, b), cutoff_m=1000, order=1)
    s = result.summary()
    assert s["identity_switches"] == 0 and s["track_breaks"] == 0
    assert s["false_tracks"] == 1 and s["duplicate_tracks"] == 1
    assert s["tracks_per_target"] == 2.0
    explained = {t["track_id"]: t for t in result.explain()["tracks_explained"]}
    assert list(explained) == ["b"] and explained["b"]["beside"] == [1]
    assert explained["b"]["held"] == 0 and explained["b"]["times"] == len(T)


def test_a_track_that_wanders_off_is_mostly_false_and_the_target_switches():
    truth = truth_of(rows(1, T, 0.0))
    wander = rows("w", T, 0.0)
    wander.loc[wander["t"] >= 4, "north_m"] = 50_000.0      # held at t = 0..3 only
    late = rows("z", T[4:], 0.0)
    result = score(truth, tracks_of(wander, late), cutoff_m=1000, order=1)
    s = result.summary()
    assert s["mostly_false_tracks"] == 1 and s["false_tracks"] == 0
    assert s["duplicate_tracks"] == 0                        # far from every target
    assert s["identity_switches"] == 1
    assert result.explain()["switches"] == [
        {"t": 4.0, "target_id": 1, "from_track": "w", "to_track": "z"}]


def test_ospa_parts_add_up():
    truth = truth_of(rows(1, T, 0.0), rows(2, T, 100_000.0))
    tracks = tracks_of(rows(5, T, 30.0), rows(6, T, -400_000.0), rows(7, T[5:], 100_000.0))
    for p in (1, 2):
        s = score(truth, tracks, cutoff_m=1000, order=p).summary()
        parts = s["ospa_localisation_m"] + s["ospa_missed_m"] + s["ospa_false_m"]
        assert parts == pytest.approx(s["ospa_mean_m"])
    s = score(truth, tracks, cutoff_m=1000, order=1).summary()
    # p = 1: before t = 5 {1, 2} vs {5, 6}: 30 m + one c (2 is missed, 6 is false), over 2;
    # from t = 5 on {1, 2} vs {5, 6, 7}: 30 + 0 + c for 6, over 3
    loc = np.r_[[30 / 2] * 5, [30 / 3] * 6]
    assert s["ospa_localisation_m"] == pytest.approx(loc.mean())
    card = np.r_[[1000 / 2] * 5, [1000 / 3] * 6]
    assert s["ospa_missed_m"] == pytest.approx(np.r_[[250.0] * 5, [0.0] * 6].mean())
    assert s["ospa_false_m"] + s["ospa_missed_m"] == pytest.approx(card.mean())


def test_cli_explain_names_the_false_track_and_its_sensors(tmp_path):
    truth = truth_of(rows(1, T, 0.0))
    tracks = tracks_of(rows(5, T, 0.0), rows(6, T, -400_000.0))
    tracks["sensors"] = np.where(tracks["track_id"] == 6, "B2", "A1+B2")
    truth.to_csv(tmp_path / "truth.csv", index=False)
    tracks.to_csv(tmp_path / "tracks.csv", index=False)
    out = rig("score", str(tmp_path), str(tmp_path / "tracks.csv"), "--explain")
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if "│ 6 " in x)
    assert "false" in line and "B2" in line
    out = rig("score", str(tmp_path), str(tmp_path / "tracks.csv"), "--explain", "--json")
    s = json.loads(out.stdout)
    assert [t["track_id"] for t in s["tracks_explained"]] == [6]
