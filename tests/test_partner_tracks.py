"""A track-level partner fused into the engine (rig.fusion.partner_tracks): with trackers of
one linear model or IMM trackers on both sides as good as the partner's plots (OSPA within
10 %), never overconfident, provenance kept, a re-sent picture harmless. Simulated data
(tests.test_fusion_sim, no sensor biases, so no registration on either side: a partner
registering its two radars alone is another matter, benchmarks/bench_contributions.py);
nothing timed."""

import numpy as np
import pytest

from rig.errors import ConfigError
from rig.fusion import FusionEngine, FusionParams
from rig.fusion.track_input import PARTNER_TRACK_DTYPE
from rig.records import TRACK_STATUS_TENTATIVE
from rig.scoring.metrics import ospa

from tests.test_fusion_engine import CV_ONLY
from tests.test_fusion_sim import ORIGIN, Scenario, default_targets, far_apart_radars

DURATION_S = 150.0
WARMUP_S = 40.0


def scenario(seed):
    return Scenario(far_apart_radars(clutter_per_scan=1, pd=0.9), default_targets(8, seed=seed),
                    DURATION_S, seed=seed).simulate()


def partner_tracks(tracks: np.ndarray, partner: int) -> np.ndarray:
    """A partner's picture as validated partner tracks (what TrackInput hands on)."""
    out = np.zeros(len(tracks), PARTNER_TRACK_DTYPE)
    out["t"] = tracks["t"]
    out["state"] = np.stack([tracks[n] for n in ("east", "north", "up", "v_east", "v_north",
                                                  "v_up")], 1)
    out["covariance"] = tracks["covariance"]
    out["track_number"] = tracks["track_id"] % 65536
    out["status"] = tracks["status"]
    out["partner"] = partner
    return out


def run(scn, mode: str, params=None, resend: int = 1):
    """Pictures every second of: "plots" (every sensor's plots), "A alone", or "A plots + B
    tracks" (partner B's own engine fuses B's plots and sends its picture each second,
    ``resend`` times)."""
    params = params or FusionParams()
    table = scn.sensor_table()
    engine = FusionEngine(ORIGIN, table, params)
    b_engine = FusionEngine(ORIGIN, table, params)
    plots = scn.plots
    partner = table.partner[plots["sensor_id"]]
    ours = plots if mode == "plots" else plots[partner == 0]
    theirs = plots[partner == 1]
    t_ours, t_theirs = ours["t_sensor"], theirs["t_sensor"]
    pictures = []
    for tick in np.arange(1.0, DURATION_S + 1e-9, 1.0):
        engine.process(ours[(t_ours > tick - 1.0) & (t_ours <= tick)])
        engine.flush(tick)
        if mode == "A plots + B tracks":
            b_engine.process(theirs[(t_theirs > tick - 1.0) & (t_theirs <= tick)])
            b_engine.flush(tick)
            sent = partner_tracks(b_engine.tracks(tick), 1)
            for _ in range(resend):
                engine.process_tracks(sent)
        pictures.append(engine.tracks(tick))
    return engine, pictures


def mean_ospa(scn, pictures) -> float:
    values = []
    for k, tracks in enumerate(pictures):
        t = k + 1.0
        if t < WARMUP_S:
            continue
        truth = np.array([g.state([t])[0][0] for g in scn.targets])
        est = np.stack([tracks["east"], tracks["north"], tracks["up"]], 1)
        values.append(ospa(truth, est, cutoff_m=5000.0, order=1.0))
    return float(np.mean(values))


MODES = ("plots", "A alone", "A plots + B tracks")


@pytest.fixture(scope="module", params=["one model", "IMM"])
def three_ways(request):
    params = FusionParams(**CV_ONLY) if request.param == "one model" \
        else FusionParams(registration_on=False)
    out = []
    for seed in (21, 22, 23):
        scn = scenario(seed)
        out.append((scn, {mode: run(scn, mode, params) for mode in MODES}))
    return request.param, out


def test_a_partners_tracks_are_worth_its_plots(three_ways):
    trackers, runs = three_ways
    ospa_of = {mode: np.mean([mean_ospa(scn, r[mode][1]) for scn, r in runs]) for mode in MODES}
    assert ospa_of["A plots + B tracks"] < 0.5 * ospa_of["A alone"], ospa_of
    assert ospa_of["A plots + B tracks"] <= 1.10 * ospa_of["plots"], (trackers, ospa_of)


def mean_nees(scn, pictures, both_only: bool) -> tuple[float, int]:
    """Mean NEES of the tracks within 3 km of a target (with ``both_only``, only those fed by
    both partners) from the warm-up on, and how many."""
    nees = []
    for k, tracks in enumerate(pictures):
        t = k + 1.0
        if t < WARMUP_S or not len(tracks):
            continue
        truth = np.array([np.r_[g.state([t])[0][0], g.state([t])[1][0]] for g in scn.targets])
        est = np.stack([tracks[n] for n in ("east", "north", "up", "v_east", "v_north",
                                             "v_up")], 1)
        d = np.linalg.norm(est[:, None, :3] - truth[None, :, :3], axis=2)
        near = d.min(axis=1) < 3000.0
        if both_only:
            near &= tracks["partners"] == 0b11
        for i in np.flatnonzero(near):
            e = est[i] - truth[d[i].argmin()]
            nees.append(e @ np.linalg.solve(tracks["covariance"][i], e))
    return float(np.mean(nees)), len(nees)


def test_fused_partner_tracks_are_not_overconfident(three_ways):
    trackers, runs = three_ways
    fused = [mean_nees(scn, r["A plots + B tracks"][1], True) for scn, r in runs]
    plots = [mean_nees(scn, r["plots"][1], False) for scn, r in runs]
    assert all(n > 300 for _, n in fused)
    fused_nees = np.mean([v for v, _ in fused])
    plots_nees = np.mean([v for v, _ in plots])
    # consistent or conservative (6 dof would average 6); double counting would exceed, and
    # no more overconfident than the engine on the partner's plots
    assert fused_nees < 6.0 * 1.25 and fused_nees < 1.3 * plots_nees, \
        (trackers, fused_nees, plots_nees)


def test_provenance_and_a_picture_sent_three_times():
    scn = scenario(31)
    engine_once, once = run(scn, "A plots + B tracks")
    engine_thrice, thrice = run(scn, "A plots + B tracks", resend=3)
    assert engine_once.partner_tracks.counters["partner_tracks_decorrelated"] > 400
    # each copy after the first is known for what it is
    fused_once = engine_once.partner_tracks.counters["partner_tracks_fused"]
    assert engine_thrice.partner_tracks.counters["partner_tracks_repeated"] >= fused_once
    both = [t for t in once[-1] if t["partners"] == 0b11]
    assert len(both) >= 3                               # A's plots and B's tracks
    assert engine_once.partner_tracks.counters["partner_tracks_fused"] > 500
    # the same picture again changes nothing that matters: no track more certain, no more
    # tracks
    assert abs(len(thrice[-1]) - len(once[-1])) <= 1
    assert mean_ospa(scn, thrice) <= 1.05 * mean_ospa(scn, once)
    trace = lambda tr: np.trace(tr["covariance"][:, :3, :3], axis1=1, axis2=2)  # noqa: E731
    assert np.median(trace(thrice[-1])) >= 0.9 * np.median(trace(once[-1]))


def test_a_partner_that_shares_tracks_only_gets_its_own_bit():
    scn = scenario(41)
    table = scn.sensor_table()
    engine = FusionEngine(ORIGIN, table, FusionParams(), track_partners=("C",))
    assert engine.partner_names == ("A", "B", "C")
    b_engine = FusionEngine(ORIGIN, table, FusionParams())
    plots = scn.plots
    for tick in np.arange(1.0, 60.0, 1.0):
        b_engine.process(plots[(plots["t_sensor"] > tick - 1) & (plots["t_sensor"] <= tick)])
        b_engine.flush(tick)
        engine.process_tracks(partner_tracks(b_engine.tracks(tick), 2))
    tracks = engine.tracks(59.0)
    assert len(tracks) >= 5 and np.all(tracks["partners"] == 0b100)
    assert np.all(tracks["status"] != TRACK_STATUS_TENTATIVE)
    with pytest.raises(ConfigError, match="partner index 5"):
        engine.process_tracks(partner_tracks(b_engine.tracks(59.0), 5))


def test_a_track_the_partner_drops_goes_and_one_that_jumps_is_followed():
    scn = scenario(43)
    table = scn.sensor_table()
    engine = FusionEngine(ORIGIN, table, FusionParams(), track_partners=("C",))
    b_engine = FusionEngine(ORIGIN, table, FusionParams())
    plots = scn.plots
    dropped = jumped = None
    for tick in np.arange(1.0, 80.0, 1.0):
        b_engine.process(plots[(plots["t_sensor"] > tick - 1) & (plots["t_sensor"] <= tick)])
        b_engine.flush(tick)
        sent = partner_tracks(b_engine.tracks(tick), 2)
        if tick == 50.0:
            dropped, jumped = (int(n) for n in sent["track_number"][:2])
        if dropped is not None:
            sent = sent[sent["track_number"] != dropped]
            sent["state"][sent["track_number"] == jumped, 0] += 50e3     # 50 km east
        engine.process_tracks(sent)
    theirs, ours = b_engine.tracks(79.0), engine.tracks(79.0)
    counters = engine.partner_tracks.counters
    assert counters["partner_tracks_dropped"] >= 1 and counters["partner_tracks_ungated"] >= 1
    assert (2, dropped) not in engine.partner_tracks.bound
    assert len(ours) == len(theirs) - 1                  # no track for the jump: followed
    jumped_at = theirs["east"][theirs["track_id"] % 65536 == jumped][0] + 50e3
    assert np.min(np.abs(ours["east"] - jumped_at)) < 2000.0
