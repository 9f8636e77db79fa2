"""Radar models: noise, biases, detection, clutter, horizon, timing, geodesy, emulation.

Statistical checks use fixed seeds and two-sided bounds at a false-alarm rate of about 1e-4
each, from the sampling distributions (chi-square for variances, normal for means, binomial
and Poisson for counts), so they fail only when the model is wrong.
"""

import time

import numpy as np
import pandas as pd
import pymap3d
import pytest
from scipy import stats

from rig.geodesy import enu_from_polar, polar_from_enu
from rig.interchange import read_interchange, sensor_transforms
from rig.scenario import build_scenario, load_scenario, write_scenario_folder
from rig.scenario.spec import ScenarioSpec
from rig.emulation import RandomPlotSource
from rig.emulation.scenario_source import ScenarioPlotSource, emulation_clock
from rig.sensor_models import RadarModel, simulate_plots
from rig.sensor_models.coverage import horizon_range_m, line_of_sight
from rig.sensor_models.simulate import sensor_rng
from rig.validation import validate

ALPHA = 1e-4
Z = stats.norm.ppf(1 - ALPHA / 2)
ORIGIN = {"lat_deg": 52.0, "lon_deg": 21.0, "alt_m": 100.0}


def radar(**changes):
    spec = {"id": "R", "partner": "A", "site": {"lat_deg": 52.3, "lon_deg": 20.2, "alt_m": 120},
            "scan_period_s": 2.0, "scan_phase_s": 0.4, "sigma_range_m": 40.0,
            "sigma_az_rad": 0.002, "sigma_el_rad": 0.003, "sigma_range_rate_mps": 1.5,
            "pd": 1.0, "clutter_per_scan": 0.0, "range_min_m": 1000.0,
            "range_max_m": 250_000.0, "el_max_rad": 0.8}
    spec.update(changes)
    return spec


def scenario(sensors, *, targets=150, duration_s=120.0, seed=3, scripted=(), **random):
    random = {"count": targets, "east_m": [-150_000, 150_000], "north_m": [-150_000, 150_000],
              "alt_m": [3000, 11000], "ballistic": 0.0, "appear_disappear": 0.0, **random}
    spec = validate(ScenarioSpec, {"origin": ORIGIN, "duration_s": duration_s, "seed": seed,
                                   "sensors": sensors, "random": random,
                                   "targets": list(scripted)}, file="test")
    return build_scenario(spec)


def residuals(s, spec_index=0):
    """Plots of one sensor with their true polar coordinates at the true detection time."""
    spec = s.sensors[spec_index]
    model = RadarModel(spec, s.origin)
    p = model.target_plots(s.trajectories, 0.0, s.duration_s, sensor_rng(s.seed, spec.id))
    idx = np.searchsorted(s.trajectories.target_id, p["truth_id"])
    pos, vel, _ = s.trajectories.state(idx, p["t_true_s"])
    r, az, el = polar_from_enu(model.to_site(pos))
    rate = np.sum((pos - model.site_enu_m) * vel, axis=1) / r
    return p, {"range": p["range_m"] - r, "az": np.angle(np.exp(1j * (p["az_rad"] - az))),
               "el": p["el_rad"] - el, "rate": p["range_rate_mps"] - rate}


def assert_mean_and_sigma(x, mean, sigma):
    n = len(x)
    assert abs(np.mean(x) - mean) < Z * sigma / np.sqrt(n), (np.mean(x), mean)
    lo, hi = stats.chi2.ppf([ALPHA / 2, 1 - ALPHA / 2], n - 1) / (n - 1)
    ratio = np.var(x, ddof=1) / sigma**2
    assert lo < ratio < hi, (np.std(x, ddof=1), sigma)


# --- measurement noise and bias ----------------------------------------------------------------


def test_noise_matches_the_configured_sigmas():
    s = scenario([radar()])
    p, res = residuals(s)
    assert len(p) > 3000
    spec = s.sensors[0]
    assert_mean_and_sigma(res["range"], 0.0, spec.sigma_range_m)
    assert_mean_and_sigma(res["az"], 0.0, spec.sigma_az_rad)
    assert_mean_and_sigma(res["el"], 0.0, spec.sigma_el_rad)
    assert_mean_and_sigma(res["rate"], 0.0, spec.sigma_range_rate_mps)


def test_biases_shift_the_mean_and_nothing_else():
    s = scenario([radar(range_bias_m=120.0, az_bias_rad=-0.004, el_bias_rad=0.0015)], seed=4)
    _, res = residuals(s)
    assert_mean_and_sigma(res["range"], 120.0, 40.0)
    assert_mean_and_sigma(res["az"], -0.004, 0.002)
    assert_mean_and_sigma(res["el"], 0.0015, 0.003)


def test_no_range_rate_unless_configured():
    s = scenario([radar(sigma_range_rate_mps=None)], targets=20, duration_s=30)
    assert np.isnan(simulate_plots(s)["range_rate_mps"]).all()


def test_noise_free_plots_are_exact():
    s = scenario([radar(sigma_range_m=0, sigma_az_rad=0, sigma_el_rad=0,
                        sigma_range_rate_mps=0)], targets=30, duration_s=40)
    _, res = residuals(s)
    for name, tol in (("range", 1e-6), ("az", 1e-12), ("el", 1e-12), ("rate", 1e-9)):
        assert np.max(np.abs(res[name])) < tol, name


# --- detection, clutter, coverage ----------------------------------------------------------------


def opportunities(s, spec_index=0):
    """True ranges of every covered beam crossing (pd = 1 in ``s``)."""
    spec = s.sensors[spec_index]
    model = RadarModel(spec, s.origin)
    p = model.target_plots(s.trajectories, 0.0, s.duration_s, np.random.default_rng(0))
    return p


def test_detection_rate_is_pd():
    always = scenario([radar()], seed=5)
    n = len(opportunities(always))
    sometimes = scenario([radar(pd=0.7)], seed=5)
    k = len(RadarModel(sometimes.sensors[0], sometimes.origin).target_plots(
        sometimes.trajectories, 0.0, sometimes.duration_s, np.random.default_rng(1)))
    assert n > 3000
    assert abs(k - 0.7 * n) < Z * np.sqrt(n * 0.7 * 0.3)


def test_swerling_detection_falls_with_range():
    spec = radar(pd=0.8, pd_model="swerling1", pd_reference_range_m=200_000.0, pfa=1e-6)
    always = scenario([radar()], seed=6)
    p = opportunities(always)
    s = scenario([spec], seed=6)
    model = RadarModel(s.sensors[0], s.origin)
    assert model.detection_probability(np.array([200_000.0]))[0] == pytest.approx(0.8)
    pd = model.detection_probability(np.array([50e3, 100e3, 200e3, 250e3]))
    assert np.all(np.diff(pd) < 0) and pd[0] > 0.99
    ranges = p["range_m"]                                   # noise-free enough for pd(r)
    expected = model.detection_probability(ranges)
    k = len(model.target_plots(s.trajectories, 0.0, s.duration_s, np.random.default_rng(2)))
    assert abs(k - expected.sum()) < Z * np.sqrt(np.sum(expected * (1 - expected)))


def test_clutter_is_poisson_per_scan_within_coverage():
    s = scenario([radar(clutter_per_scan=6.0, range_min_m=5000.0, el_max_rad=0.3)],
                 targets=0, duration_s=400.0)
    model = RadarModel(s.sensors[0], s.origin)
    c = model.clutter_plots(0.0, s.duration_s, np.random.default_rng(7))
    mean = 6.0 * s.duration_s / 2.0
    assert abs(len(c) - mean) < Z * np.sqrt(mean)
    assert c["range_m"].min() >= 5000.0 and c["range_m"].max() <= 250_000.0
    assert c["el_rad"].min() >= 0.0 and c["el_rad"].max() <= 0.3
    assert np.all(c["truth_id"] == -1)
    # uniform in azimuth, and stamped when the beam passes that azimuth
    assert stats.kstest(c["az_rad"] / (2 * np.pi), "uniform").pvalue > ALPHA
    beam = 2 * np.pi * np.mod((c["t_true_s"] - 0.4) / 2.0, 1.0)
    np.testing.assert_allclose(beam, c["az_rad"], atol=1e-9)


def test_detections_happen_when_the_beam_passes_the_target():
    s = scenario([radar(sigma_az_rad=0.0)], targets=60, duration_s=60)
    p, _ = residuals(s)
    beam = 2 * np.pi * np.mod((p["t_true_s"] - 0.4) / 2.0, 1.0)
    miss = np.abs(np.angle(np.exp(1j * (beam - p["az_rad"]))))
    assert np.percentile(miss, 99) < 1e-4
    # one plot per target per scan at pd = 1 while in coverage
    scans = np.floor((p["t_true_s"] - 0.4) / 2.0 + 0.5 - p["az_rad"] / (2 * np.pi))
    pairs = np.column_stack([p["truth_id"], scans])
    assert len(np.unique(pairs, axis=0)) == len(pairs)


def test_horizon_formula():
    h_site, h_target = 100.0, 1000.0
    r_h = horizon_range_m(h_site, h_target)
    assert r_h == pytest.approx(np.sqrt(2 * 4 / 3 * 6_371_008.8) * (10 + np.sqrt(1000)), rel=2e-3)
    assert line_of_sight(0.99 * r_h, h_target, h_site)
    assert not line_of_sight(1.01 * r_h, h_target, h_site)
    assert line_of_sight(5_000.0, 50.0, h_site) and line_of_sight(100_000.0, 30_000.0, h_site)


def test_a_low_target_drops_below_the_horizon():
    site = {"lat_deg": 52.0, "lon_deg": 21.0, "alt_m": 100.0}
    outbound = {"id": 1, "position": {"east_m": 2000, "north_m": 0, "alt_m": 1000},
                "speed_mps": 600, "heading_deg": 90, "segments": []}
    s = scenario([radar(site=site, range_max_m=400_000.0, scan_period_s=1.0, scan_phase_s=0)],
                 targets=0, duration_s=400.0, scripted=[outbound])
    p, _ = residuals(s)
    r_h = horizon_range_m(100.0, 1000.0)
    assert r_h - 2_000 < p["range_m"].max() < r_h     # last seen within a scan of the horizon
    assert p["t_true_s"].max() < 320 < s.duration_s   # and never again


def test_range_and_elevation_limits():
    s = scenario([radar(range_min_m=40_000.0, range_max_m=120_000.0, el_max_rad=0.05,
                        sigma_range_m=0, sigma_el_rad=0)], targets=200)
    p, _ = residuals(s)
    assert p["range_m"].min() >= 40_000.0 and p["range_m"].max() <= 120_000.0
    assert p["el_rad"].max() <= 0.05


# --- clocks and latency --------------------------------------------------------------------


def test_clock_offset_drift_and_latency():
    s = scenario([radar(clock_offset_s=0.25, clock_drift_ppm=40.0, latency_s=0.1,
                        latency_jitter_s=0.05, clutter_per_scan=2.0)], targets=30, duration_s=60)
    model = RadarModel(s.sensors[0], s.origin)
    p = model.plots(s.trajectories, 0.0, 60.0, np.random.default_rng(3))
    t = p["t_true_s"]
    np.testing.assert_allclose(p["t_sensor_s"], t + 0.25 + 40e-6 * t, atol=1e-12)
    delay = p["t_report_s"] - t
    assert delay.min() >= 0.1 and delay.max() <= 0.15
    assert np.all(np.diff(p["t_report_s"]) >= 0)


# --- geodesy ------------------------------------------------------------------------------------


def test_far_site_plots_round_trip_through_pymap3d_to_the_millimetre():
    far = {"lat_deg": 51.1, "lon_deg": 17.9, "alt_m": 150.0}       # ~240 km from the origin
    s = scenario([radar(site=far, sigma_range_m=0, sigma_az_rad=0, sigma_el_rad=0,
                        range_max_m=400_000.0)], targets=40, duration_s=40,
                 east_m=[-300_000, -100_000], north_m=[-200_000, 0])
    p, _ = residuals(s)
    assert len(p) > 50
    lat, lon, alt = pymap3d.aer2geodetic(np.degrees(p["az_rad"]), np.degrees(p["el_rad"]),
                                         p["range_m"], far["lat_deg"], far["lon_deg"],
                                         far["alt_m"])
    back = np.column_stack(pymap3d.geodetic2enu(lat, lon, alt, 52.0, 21.0, 100.0))
    idx = np.searchsorted(s.trajectories.target_id, p["truth_id"])
    truth, _, _ = s.trajectories.state(idx, p["t_true_s"])
    assert np.max(np.linalg.norm(back - truth, axis=1)) < 1e-3


@pytest.mark.parametrize("frame", ["wgs84", "flat"])
def test_far_site_plots_from_the_folder_land_on_the_truth(tmp_path, frame):
    """Through the interchange folder, with biases and clock errors undone from the
    ground-truth columns, every plot of the default scenario lands on its truth."""
    s = load_scenario(duration_s=90.0, biased=True, seed=2)
    write_scenario_folder(s, tmp_path, frame)
    x = read_interchange(tmp_path, with_truth=True)
    m, t = sensor_transforms(x.scenario, x.sensors)
    index = {sid: k for k, sid in enumerate(x.sensors["sensor_id"])}
    plots = x.plots[x.plots["truth_id"] >= 0].astype({"truth_id": np.int64})
    row = x.sensors.set_index("sensor_id").loc[plots["sensor_id"]]
    k = plots["sensor_id"].map(index).to_numpy()
    plots["t_true"] = ((plots["t"].to_numpy() - row["clock_offset_s"].to_numpy())
                       / (1 + row["clock_drift_ppm"].to_numpy() * 1e-6))
    local = enu_from_polar(plots["range_m"].to_numpy() - row["range_bias_m"].to_numpy(),
                           plots["azimuth_rad"].to_numpy() - row["az_bias_rad"].to_numpy(),
                           plots["elevation_rad"].to_numpy() - row["el_bias_rad"].to_numpy())
    plots[["e", "n", "u"]] = np.einsum("nij,nj->ni", m[k], local) + t[k]
    r = plots["range_m"].to_numpy()
    plots["r_sigma"] = np.sqrt(row["sigma_range_m"].to_numpy() ** 2
                               + (r * row["sigma_az_rad"].to_numpy()) ** 2
                               + (r * row["sigma_el_rad"].to_numpy()) ** 2)
    truth = x.truth.rename(columns={"target_id": "truth_id", "t": "t_truth"}).astype(
        {"t_truth": float, "truth_id": np.int64})
    both = pd.merge_asof(plots.sort_values("t_true"), truth.sort_values("t_truth"),
                         left_on="t_true", right_on="t_truth", by="truth_id",
                         direction="nearest")
    dt = (both["t_true"] - both["t_truth"]).to_numpy()[:, None]
    velocity = both[["ve", "vn", "vu"]].to_numpy()
    expected = both[["east_m", "north_m", "up_m"]].to_numpy() + dt * velocity
    error = np.linalg.norm(both[["e", "n", "u"]].to_numpy() - expected, axis=1)
    normalised = error / both["r_sigma"].to_numpy()
    assert len(normalised) > 500 and np.abs(dt).max() < 1.0
    assert np.median(normalised) < 1.5 and np.percentile(normalised, 99) < 4.5


# --- real-time emulation ------------------------------------------------------------------------


def test_plot_source_releases_every_plot_once_in_report_order():
    s = load_scenario(duration_s=60.0)
    spec = s.sensor("A2")
    whole = RadarModel(spec, s.origin).plots(s.trajectories, 0.0, 60.0,
                                             sensor_rng(s.seed, spec.id))
    source = ScenarioPlotSource(s, "A2", speed=4.0, chunk_s=60.0)
    taken = [source.take_until(t) for t in np.arange(0.0, 16.0, 0.37)]
    got = np.concatenate(taken)
    assert source.finished
    np.testing.assert_array_equal(got["range_m"], whole["range_m"])
    np.testing.assert_allclose(got["t_sensor"], whole["t_true_s"] / 4.0)
    # nothing was released before it left the sensor
    bounds = np.arange(0.0, 16.0, 0.37)
    for t_host, batch in zip(bounds, taken):
        released = np.isin(whole["range_m"], batch["range_m"])
        assert np.all(whole["t_report_s"][released] <= t_host * 4.0)


def test_plot_source_in_chunks_and_a_new_scan_period():
    s = load_scenario(duration_s=120.0)
    source = ScenarioPlotSource(s, "B1", chunk_s=7.0)
    first = np.concatenate([source.take_until(t) for t in np.arange(0, 40.0, 1.0)])
    source.scan_period_s = 2.5
    later = np.concatenate([source.take_until(t) for t in np.arange(40.0, 121.0, 1.0)])
    assert len(first) > 100 and len(later) > 100
    # after the change the antenna turns every 2.5 s, continuing from where it pointed
    t = later["t_sensor"][later["t_sensor"] > 41.0]
    az = later["az_rad"][later["t_sensor"] > 41.0]
    phase = np.mod((t - source.model.scan_phase_s) / 2.5 - az / (2 * np.pi) + 0.5, 1.0) - 0.5
    assert np.percentile(np.abs(phase), 95) < 0.01     # noise and clutter aside


def test_next_release_is_when_the_next_plot_leaves_the_sensor():
    s = load_scenario(duration_s=40.0)
    source = ScenarioPlotSource(s, "A1", speed=2.0, chunk_s=3.0)
    t = 0.0
    while np.isfinite(nxt := source.next_release_s()):
        assert nxt >= t
        assert not len(source.take_until(np.nextafter(nxt, -np.inf)))  # nothing before it
        taken = source.take_until(nxt)
        assert len(taken) >= 1                                          # and one at it
        t = nxt
    assert source.finished and t > 15.0


def test_random_source_next_release_follows_the_rate():
    source = RandomPlotSource(50.0)
    assert source.next_release_s() == 0.0
    assert len(source.take_until(0.1)) == 6                     # plots at 0, 0.02 ... 0.1
    assert source.next_release_s() == pytest.approx(0.12)
    assert not len(source.take_until(0.119))


def test_pacer_phase_and_aim():
    from rig.emulation.pacing import Pacer

    pacer = Pacer(0.002, start_ns=1_000_000_000, phase=0.25)
    assert pacer.next_ns == 1_000_000_000 + 2_500_000           # ticks at t0 + 0.5 ms + 2k ms
    pacer.aim_at(1_000_000_000 + 9_000_000)                     # next plot at 9 ms
    assert pacer.next_ns == 1_000_000_000 + 10_500_000
    pacer.aim_at(1_000_000_000 + 4_000_000)                     # an earlier plot after all
    assert pacer.next_ns == 1_000_000_000 + 4_500_000
    assert pacer.due(1_000_000_000 + 4_600_000) and pacer.skipped_ticks == 0
    pacer.aim_at(0)                                             # never a tick already taken
    assert pacer.next_ns == 1_000_000_000 + 6_500_000
    with pytest.raises(ValueError):
        Pacer(0.002, phase=1.0)


def test_a_variant_s_sensor_can_be_emulated():
    from rig.emulation.scenario_source import scenario_emulation

    run = scenario_emulation(None, "AP1", speed=10.0, variant="passive")
    assert run.sensor_id == "AP1" and not run.source.spec.measures_range
    plots = run.source.take_until(5.0)
    assert len(plots) > 5 and np.isnan(plots["range_m"]).all()
    with pytest.raises(Exception, match="AP1"):
        scenario_emulation(None, "AP1")                 # not in the scenario without it


def test_emulation_clock_reads_scenario_time():
    spec = load_scenario().sensor("A1").model_copy(
        update={"clock_offset_s": 0.3, "clock_drift_ppm": 25.0})
    clock = emulation_clock(spec, speed=10.0)
    t_host = np.array([0.0, 1.0, 7.5])
    np.testing.assert_allclose(clock.sensor_time(t_host),
                               0.3 + (1 + 25e-6) * 10.0 * t_host, rtol=1e-12)


def test_rig_emulate_streams_the_scenario_over_a_pty():
    from firmware_interfaces.serial_sensor import SerialSensorDriver
    from rig.emulation.process import EmulatorProcess

    args = ["emulate", "--scenario", "builtin", "--sensor", "B2", "--speed", "25",
            "--duration", "2.5", "--clock-drift", "300"]
    with EmulatorProcess(args, name="scenario sensor") as proc:
        batches, summary = [], None
        with SerialSensorDriver(proc.device, sensor_id=4) as sensor:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                batches.append(sensor.read_plots(timeout_s=0.2))
                summary = summary or proc.summary
                if summary and sum(map(len, batches)) >= summary["plots_sent"]:
                    break
    got = np.concatenate(batches)
    assert summary is not None and summary["overrun_frames"] == 0 and len(got) > 50
    assert len(got) == summary["plots_sent"]
    # the same plots, in the same order, as the model gives in-process
    expected = np.concatenate([ScenarioPlotSource(load_scenario(), "B2", speed=25.0)
                               .take_until(3.0)])
    n = len(got)
    np.testing.assert_allclose(got["range_m"], expected["range_m"][:n], atol=1e-3)
    np.testing.assert_allclose(got["az_rad"], expected["az_rad"][:n], atol=1e-8)
    # stamped by the sensor's drifting clock over scenario time
    t_true = expected["t_sensor"][:n] * 25.0
    stamped = got["t_sensor"] - got["t_sensor"][0]
    np.testing.assert_allclose(stamped, (1 + 300e-6) * (t_true - t_true[0]), atol=2e-6)



def test_one_plot_per_scan_across_north():
    """A target crossing the radar's north (azimuth 2π -> 0) is seen once a revolution of
    the beam relative to it: plots a scan period apart, none lost or doubled at north."""
    site = {"lat_deg": 52.0, "lon_deg": 21.0, "alt_m": 100.0}
    across = {"id": 1, "position": {"east_m": -30000, "north_m": 60000, "alt_m": 8000},
              "speed_mps": 300, "heading_deg": 90, "segments": []}
    s = scenario([radar(site=site, scan_period_s=3.0, scan_phase_s=0.0)], targets=0,
                 duration_s=200.0, scripted=[across])
    p, _ = residuals(s)
    az = p["az_rad"]
    assert az.max() > 6.0 and az.min() < 0.3                 # it did cross north
    gaps = np.diff(p["t_true_s"])
    assert len(p) >= 66 and np.all(np.abs(gaps - 3.0) < 0.1)
