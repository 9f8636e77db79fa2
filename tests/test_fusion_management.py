"""Track management of the fusion engine on simulated radars: deletion by missed looks,
confirmation by score, one track per new target."""

import numpy as np
import pytest

from rig.fusion import FusionEngine, FusionParams
from rig.records import TRACK_STATUS_CONFIRMED
from tests.test_fusion_sim import (ORIGIN, Radar, Scenario, Target, far_apart_radars, match,
                                   run_engine)


def lone_target(t_end_s=1e9, t_start_s=0.0):
    """A straight-flying target over the middle of the four far-apart radars."""
    return Target(np.array([-20e3, 10e3, 9000.0]), np.array([180.0, 60.0, 0.0]),
                  t_start_s=t_start_s, t_end_s=t_end_s)


def track_times(out, dt_s=1.0):
    """The output ticks at which any confirmed track exists."""
    return np.array([(k + 1) * dt_s for k, tracks in enumerate(out) if len(tracks)])


def last_plot_of(scn, target=0):
    return float(scn.plots["t_sensor"][scn.truth_id == target].max())


@pytest.mark.twins
def test_a_vanished_target_is_dropped_within_a_few_looks_of_the_radars():
    # scan periods 2, 3, 2.5 and 4 s; the clutter tells the engine the radars still scan
    radars = far_apart_radars(pd=0.9, clutter_per_scan=3)
    scn = Scenario(radars, [lone_target(t_end_s=60.0)], 120.0, seed=3).simulate()
    _, out = run_engine(scn)
    times = track_times(out)
    # tracked the whole time it flew (no early deletion from ordinary misses) ...
    assert set(np.arange(10.0, 60.0)) <= set(times)
    # ... and gone within two scans of the fastest radar (the time rule alone, three of its
    # longest revisit periods, would keep it 12 s)
    assert times.max() <= 60.0 + 5.0, times.max()


@pytest.mark.twins
def test_a_radar_that_falls_silent_deletes_nothing_by_its_looks():
    # one radar alone sees the target; from t = 60 s the radar sends nothing at all (a cut
    # line), or goes on scanning while the target vanishes: only the second is evidence
    # (pd 0.98: two missed looks make 4e-4, below the 3e-3 that deletes)
    radar = Radar((52.0, 19.5, 100.0), scan_period_s=4.0, pd=0.98, clutter_per_scan=20)
    vanish = Scenario([radar], [lone_target(t_end_s=60.0)], 120.0, seed=4).simulate()
    silent = Scenario([radar], [lone_target()], 120.0, seed=4).simulate()
    keep = silent.plots["t_sensor"] < 60.0
    silent.plots, silent.truth_id = silent.plots[keep], silent.truth_id[keep]
    seen = {name: last_plot_of(scn) for name, scn in (("vanish", vanish), ("silent", silent))}
    gone = {name: track_times(run_engine(scn)[1]).max() for name, scn in
            (("vanish", vanish), ("silent", silent))}
    # vanished: two scans without a plot deleted it
    assert gone["vanish"] - seen["vanish"] < 2 * 4.0 + 1.0
    # silent: kept until the time rule (coast_scans: three revisit periods of 4 s)
    assert gone["silent"] - seen["silent"] >= 3 * 4.0 - 1.0


def test_clutter_alone_confirms_no_track_and_a_target_confirms_at_once():
    radars = far_apart_radars(pd=0.9, clutter_per_scan=40)
    clutter = Scenario(radars, [], 200.0, seed=5).simulate()
    engine, out = run_engine(clutter)
    assert engine.counters.tracks_initiated > 1000           # every clutter plot tried
    assert engine.counters.tracks_confirmed == 0
    assert all(len(tracks) == 0 for tracks in out)
    scn = Scenario(radars, [lone_target(t_start_s=20.0)], 60.0, seed=5).simulate()
    _, out = run_engine(scn)
    first = track_times(out).min()
    # four radars of 2-4 s: two or three of their plots confirm the track
    assert 20.0 < first <= 24.0, first
    for k in range(int(first), len(out)):
        _, false, missed, _ = match(scn, out[k], k + 1.0)
        assert false == 0 and missed == 0, k + 1.0


@pytest.mark.twins
def test_a_new_target_seen_by_several_radars_in_one_window_starts_one_track():
    # four radars whose scans fall within one window of 1 s: without rounds of initiation
    # each of their plots would start its own track
    radars = far_apart_radars(pd=1.0)
    for i, r in enumerate(radars):
        r.scan_period_s, r.scan_phase_s = 4.0, 0.1 * i
    scn = Scenario(radars, [lone_target(t_start_s=10.0)], 40.0, seed=6).simulate()
    engine, out = run_engine(scn)
    assert engine.counters.tracks_initiated == 1
    assert engine.counters.tracks_confirmed == 1
    ids = {int(i) for tracks in out for i in tracks["track_id"]}
    assert len(ids) == 1


@pytest.mark.twins
def test_real_time_windows_keep_the_same_rules():
    # 10 ms windows and no hold-back (the live bench): the same target, the same story
    radars = far_apart_radars(pd=0.9, clutter_per_scan=5)
    scn = Scenario(radars, [lone_target(t_start_s=10.0, t_end_s=70.0)], 100.0,
                   seed=7).simulate()
    engine = FusionEngine(ORIGIN, scn.sensor_table(),
                          FusionParams(window_s=0.01, hold_back_s=0.0, oos_tolerance_s=1.5))
    alive = []
    t = scn.plots["t_sensor"]
    for now in np.arange(0.1, 100.0, 0.1):
        engine.process(scn.plots[(t > now - 0.1) & (t <= now)], until_s=now)
        tracks = engine.tracks(now)
        if (tracks["status"] != 0).any() and (tracks["status"] == TRACK_STATUS_CONFIRMED).any():
            alive.append(now)
    assert 10.0 < min(alive) < 15.0
    assert 70.0 < max(alive) < 76.0


def test_a_formation_keeps_one_track_per_aircraft():
    # two aircraft side by side 1.5 km apart, flying and turning together, 250 km from the
    # radars (where a plot is good to about 400 m across)
    radars = far_apart_radars(pd=0.9, clutter_per_scan=3)
    v = np.array([200.0, 80.0, 0.0])
    side = np.array([-v[1], v[0], 0.0]) / np.linalg.norm(v) * 1500.0
    pair = [Target(np.array([-30e3, 0.0, 8000.0]) + k * side, v, turn_rad_s=0.01)
            for k in (0, 1)]
    scn = Scenario(radars, pair, 150.0, seed=9).simulate()
    _, out = run_engine(scn)
    owner = {}
    for k in range(15, len(out)):
        _, false, missed, ids = match(scn, out[k], k + 1.0, radius_m=1000.0)
        assert false == 0 and missed == 0, k + 1.0
        for tid, target in ids.items():
            owner.setdefault(target, set()).add(tid)
    assert sorted(len(ids) for ids in owner.values()) == [1, 1], owner
