"""Passive angle-only sensors: their model (bearings without range, angle noise, Pd, false
bearings, coverage), their validation, the interchange folder, and the built-in scenario's
``passive`` variant, which leaves the default scenario as it was.

Statistical checks use fixed seeds and two-sided bounds at a false-alarm rate of about 1e-4
each (normal for means, chi-square for variances, binomial for detections, a chi-square
goodness of fit against the Poisson law for false bearings per period), so they fail only
when the model is wrong.
"""

import csv
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pydantic
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from rig.emulation.scenario_source import ScenarioPlotSource
from rig.errors import ConfigError, UsageError
from rig.fusion.sensor_table import SensorTable
from rig.geodesy import polar_from_enu
from rig.interchange import read_interchange, read_sensors, sensor_transforms
from rig.radar import NominalRadar
from rig.scenario import build_scenario, load_scenario, load_scenario_spec, write_scenario_folder
from rig.scenario.spec import VARIANTS, ScenarioSpec
from rig.sensor_models import RadarModel, RadarSpec, simulate_plots
from rig.sensor_models.biases import with_random_errors
from rig.sensor_models.coverage import horizon_range_m
from rig.sensor_models.simulate import sensor_rng
from rig.validation import validate

from tests.test_sensors import ALPHA, ORIGIN, Z, assert_mean_and_sigma, scenario

DEG = np.pi / 180.0


def passive(**changes):
    spec = {"id": "P", "partner": "A", "kind": "passive",
            "site": {"lat_deg": 52.3, "lon_deg": 20.2, "alt_m": 120},
            "scan_period_s": 2.0, "scan_phase_s": 0.4, "sigma_az_rad": 0.5 * DEG,
            "sigma_el_rad": 1.0 * DEG, "pd": 1.0, "clutter_per_scan": 0.0,
            "range_max_m": 250_000.0, "el_max_rad": 0.8}
    spec.update(changes)
    return spec


def radar(**changes):
    spec = {"id": "R", "partner": "A", "site": {"lat_deg": 52.0, "lon_deg": 21.0},
            "scan_period_s": 4.0, "sigma_range_m": 30.0, "sigma_az_rad": 0.001,
            "sigma_el_rad": 0.002, "range_max_m": 300_000.0}
    spec.update(changes)
    return spec


def detections(s, rng=None, spec_index=0):
    """Target plots of one sensor with the true range, azimuth and elevation (site frame) at
    the true detection time."""
    spec = s.sensors[spec_index]
    model = RadarModel(spec, s.origin)
    p = model.target_plots(s.trajectories, 0.0, s.duration_s,
                           rng if rng is not None else sensor_rng(s.seed, spec.id))
    idx = np.searchsorted(s.trajectories.target_id, p["truth_id"])
    pos, _, _ = s.trajectories.state(idx, p["t_true_s"])
    r, az, el = polar_from_enu(model.to_site(pos))
    return p, {"range": r, "az": az, "el": el}


def wrapped(x):
    return np.angle(np.exp(1j * x))


# --- what a passive sensor reports ----------------------------------------------------------


def test_plots_have_no_range_and_no_range_rate():
    s = scenario([passive(clutter_per_scan=2.0)], targets=40, duration_s=60)
    p = simulate_plots(s)
    assert (p["truth_id"] >= 0).sum() > 300 and (p["truth_id"] < 0).sum() > 20
    assert p["range_m"].isna().all() and p["range_rate_mps"].isna().all()
    assert np.isfinite(p["azimuth_rad"]).all() and np.isfinite(p["elevation_rad"]).all()
    assert p["azimuth_rad"].min() >= 0.0 and p["azimuth_rad"].max() < 2 * np.pi


def test_angle_noise_matches_the_configured_sigmas():
    s = scenario([passive()])
    p, true = detections(s)
    assert len(p) > 3000
    assert_mean_and_sigma(wrapped(p["az_rad"] - true["az"]), 0.0, 0.5 * DEG)
    assert_mean_and_sigma(p["el_rad"] - true["el"], 0.0, 1.0 * DEG)


def test_angle_biases_shift_the_mean():
    s = scenario([passive(az_bias_rad=-0.004, el_bias_rad=0.006)], seed=4)
    p, true = detections(s)
    assert_mean_and_sigma(wrapped(p["az_rad"] - true["az"]), -0.004, 0.5 * DEG)
    assert_mean_and_sigma(p["el_rad"] - true["el"], 0.006, 1.0 * DEG)


def test_a_range_bias_on_a_passive_sensor_is_an_error_and_none_is_drawn():
    with pytest.raises(ConfigError) as e:
        validate(RadarSpec, passive(range_bias_m=50.0), file="x.yaml")
    assert e.value.key == "range_bias_m" and "passive" in e.value.message
    spec = validate(RadarSpec, passive(), file="x.yaml")
    drawn = with_random_errors(spec, np.random.default_rng(1))
    assert drawn.range_bias_m == 0.0
    assert drawn.az_bias_rad != 0.0 and drawn.el_bias_rad != 0.0 and drawn.clock_offset_s != 0


def test_detection_rate_is_pd():
    always = scenario([passive()], seed=5)
    n = len(detections(always, np.random.default_rng(0))[0])
    sometimes = scenario([passive(pd=0.8)], seed=5)
    k = len(detections(sometimes, np.random.default_rng(1))[0])
    assert n > 3000
    assert abs(k - 0.8 * n) < Z * np.sqrt(n * 0.8 * 0.2)


def test_false_bearings_are_poisson_per_period_without_range():
    period, phase, mean, el_max = 2.0, 0.4, 3.0, 0.3
    s = scenario([passive(clutter_per_scan=mean, el_max_rad=el_max)], targets=0,
                 duration_s=2000.0 + phase)
    model = RadarModel(s.sensors[0], s.origin)
    c = model.clutter_plots(0.0, s.duration_s, np.random.default_rng(7))
    assert np.isnan(c["range_m"]).all() and np.isnan(c["range_rate_mps"]).all()
    assert np.all(c["truth_id"] == -1)
    # counts per revisit period follow Poisson(mean): goodness of fit over 1000 periods
    scan = np.floor((c["t_true_s"] - phase) / period).astype(int)
    counts = np.bincount(scan[scan >= 0], minlength=1000)[:1000]
    observed = np.bincount(np.minimum(counts, 8), minlength=9)
    expected = 1000 * np.append(stats.poisson.pmf(np.arange(8), mean), stats.poisson.sf(7, mean))
    assert stats.chisquare(observed, expected).pvalue > ALPHA
    assert abs(counts.sum() - 1000 * mean) < Z * np.sqrt(1000 * mean)
    # uniform in azimuth and in elevation up to el_max_rad
    assert stats.kstest(c["az_rad"] / (2 * np.pi), "uniform").pvalue > ALPHA
    assert stats.kstest(c["el_rad"] / el_max, "uniform").pvalue > ALPHA
    assert c["el_rad"].min() >= 0.0 and c["el_rad"].max() <= el_max


def test_nothing_is_detected_beyond_range_max_or_above_el_max():
    far = scenario([passive(range_max_m=400_000.0)], targets=200, seed=8)
    _, seen_far = detections(far)
    assert (seen_far["range"] > 120_000.0).sum() > 100      # such targets are there
    near = scenario([passive(range_max_m=120_000.0, el_max_rad=0.05)], targets=200, seed=8)
    p, true = detections(near)
    assert len(p) > 500
    assert true["range"].max() <= 120_000.0 and true["el"].max() <= 0.05


def test_a_low_target_drops_below_the_horizon():
    site = {"lat_deg": 52.0, "lon_deg": 21.0, "alt_m": 100.0}
    outbound = {"id": 1, "position": {"east_m": 2000, "north_m": 0, "alt_m": 1000},
                "speed_mps": 600, "heading_deg": 90, "segments": []}
    s = scenario([passive(site=site, range_max_m=400_000.0, scan_period_s=1.0,
                          scan_phase_s=0)], targets=0, duration_s=400.0, scripted=[outbound])
    p, true = detections(s)
    r_h = horizon_range_m(100.0, 1000.0)
    assert r_h - 2_000 < true["range"].max() < r_h       # last seen within a period of it
    assert p["t_true_s"].max() < 320 < s.duration_s      # and never again


def test_emulated_plots_of_a_passive_sensor_have_nan_range():
    s = scenario([passive(clutter_per_scan=1.0)], targets=20, duration_s=30)
    source = ScenarioPlotSource(s, "P", chunk_s=30.0)
    got = source.take_until(40.0)
    assert source.finished and len(got) > 50
    assert np.isnan(got["range_m"]).all() and np.isnan(got["range_rate_mps"]).all()


# --- validation ----------------------------------------------------------------------------------


def test_a_radar_without_sigma_range_m_is_an_error_naming_the_key(tmp_path):
    for sensor in (radar(sigma_range_m=None), {k: v for k, v in radar().items()
                                                if k != "sigma_range_m"},
                   {**radar(kind="radar"), "sigma_range_m": None}):
        with pytest.raises(ConfigError) as e:
            validate(NominalRadar, sensor, file="x.yaml")
        assert e.value.key == "sigma_range_m" and e.value.message == "missing"
    raw = {"origin": ORIGIN, "duration_s": 60, "sensors": [
        radar(), {k: v for k, v in radar(id="R2").items() if k != "sigma_range_m"}]}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as e:
        load_scenario_spec(path)
    assert e.value.key == "sensors[1].sigma_range_m" and str(path) in str(e.value)
    assert e.value.line is not None


def test_a_passive_sensor_needs_no_range_noise_and_measures_no_range_rate():
    p = validate(NominalRadar, passive(), file="x.yaml")
    assert p.sigma_range_m is None and not p.measures_range and not p.measures_range_rate
    r = validate(NominalRadar, radar(), file="x.yaml")
    assert r.kind == "radar" and r.measures_range
    with pytest.raises(ConfigError) as e:
        validate(NominalRadar, passive(sigma_range_rate_mps=1.0), file="x.yaml")
    assert e.value.key == "sigma_range_rate_mps"
    with pytest.raises(ConfigError) as e:
        validate(NominalRadar, passive(kind="sonar"), file="x.yaml")
    assert e.value.key == "kind" and "'passive'" in e.value.expected
    with pytest.raises(pydantic.ValidationError):
        NominalRadar(**radar(sigma_range_m=-1.0))
    # what a fuser gets of a modelled passive sensor
    nominal = validate(RadarSpec, passive(az_bias_rad=0.01), file="x.yaml").nominal()
    assert type(nominal) is NominalRadar and nominal.kind == "passive"


# --- the built-in scenario and its passive variant -------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("biased", [False, True])
def test_the_default_scenario_is_unchanged_by_the_variant(biased, variant):
    default = load_scenario(seed=7, duration_s=90, biased=biased)
    assert default.variant is None
    assert [s.id for s in default.sensors] == ["A1", "A2", "B1", "B2"]
    assert all(s.kind == "radar" and s.measures_range for s in default.sensors)
    # built from the file without any variant defined: the same sensors and plots
    bare = load_scenario_spec().model_copy(update={"variants": {}})
    plain = build_scenario(bare, seed=7, duration_s=90, biased=biased)
    assert plain.sensors == default.sensors
    plots = simulate_plots(default)
    pd.testing.assert_frame_equal(simulate_plots(plain), plots)
    # the variant's radars: the same errors and the very same plots
    variant = load_scenario(seed=7, duration_s=90, biased=biased, variant=variant)
    assert variant.sensors[:4] == default.sensors
    mixed = simulate_plots(variant)
    radars = mixed[mixed["sensor_id"].isin(["A1", "A2", "B1", "B2"])]
    pd.testing.assert_frame_equal(radars.reset_index(drop=True), plots)
    assert len(mixed) > len(plots)


def test_the_variant_adds_one_esm_like_passive_sensor_per_partner_sited_apart():
    s = load_scenario(variant="passive", duration_s=60)
    assert s.variant == "passive"
    radars = [x for x in s.sensors if x.kind == "radar"]
    passives = [x for x in s.sensors if x.kind == "passive"]
    assert Counter(x.partner for x in passives) == {"A": 1, "B": 1}
    assert {x.partner for x in radars} == {"A", "B"}
    for p in passives:
        assert p.sigma_az_rad == pytest.approx(0.5 * DEG, rel=0.05)
        assert p.sigma_el_rad == pytest.approx(1.0 * DEG, rel=0.05)
        assert p.pd == pytest.approx(0.8) and p.scan_period_s == 2.0
        assert p.range_max_m == pytest.approx(300_000.0) and 1 <= p.clutter_per_scan <= 5
        model = RadarModel(p, s.origin)
        for r in (x for x in radars if x.partner == p.partner):
            assert np.linalg.norm(RadarModel(r, s.origin).site_enu_m - model.site_enu_m) > 50e3
    plots = simulate_plots(s)
    for p in passives:
        mine = plots[plots["sensor_id"] == p.id]
        assert (mine["truth_id"] >= 0).sum() > 100 and (mine["truth_id"] < 0).sum() > 10
        assert mine["range_m"].isna().all()


def test_the_tracks_variant_adds_a_third_partner_with_one_radar_in_the_south():
    s = load_scenario(variant="tracks", duration_s=60)
    assert s.variant == "tracks" and [x.id for x in s.sensors][4:] == ["C1"]
    c1 = s.sensors[4]
    assert c1.partner == "C" and c1.kind == "radar" and c1.scan_period_s == 5.0
    # its accuracy is of the other radars' kind
    others = s.sensors[:4]
    for name in ("sigma_range_m", "sigma_az_rad", "sigma_el_rad", "pd"):
        values = [getattr(x, name) for x in others]
        assert min(values) <= getattr(c1, name) <= max(values), name
    # in the south, covering the middle of the area and its south edge
    site = RadarModel(c1, s.origin).site_enu_m
    assert site[1] < -100e3 and abs(site[0]) < 20e3
    edge = load_scenario_spec().random.north_m[0]
    for point in ((0.0, 0.0), (-250e3, edge), (0.0, edge), (250e3, edge)):
        assert np.hypot(point[0] - site[0], point[1] - site[1]) < 0.9 * c1.range_max_m
    plots = simulate_plots(s)
    mine = plots[plots["sensor_id"] == "C1"]
    assert (mine["truth_id"] >= 0).sum() > 200
    # both variants: the passive sensors, then partner C
    both = load_scenario(variant="passive+tracks", duration_s=60)
    assert both.variant == "passive+tracks"
    assert [x.id for x in both.sensors] == ["A1", "A2", "B1", "B2", "AP1", "BP1", "C1"]
    assert both.sensors[6] == c1


def test_biased_passive_sensors_get_angle_and_clock_errors_but_no_range_bias():
    s = load_scenario(variant="passive", biased=True, duration_s=30)
    for p in s.sensors[4:]:
        assert p.range_bias_m == 0.0 and p.az_bias_rad != 0.0 and p.clock_drift_ppm != 0.0


def test_variants_asked_for_but_not_there_and_clashing_ids():
    spec = validate(ScenarioSpec, {"origin": ORIGIN, "duration_s": 60, "sensors": [radar()]},
                    file="t")
    with pytest.raises(UsageError, match="no variant 'passive'"):
        build_scenario(spec, variant="passive")
    with pytest.raises(UsageError, match="passive"):
        build_scenario(spec, variant="sonar")
    clash = validate(ScenarioSpec, {"origin": ORIGIN, "duration_s": 60, "sensors": [radar()],
                                    "variants": {"passive": {"sensors": [passive(id="R")]}}},
                     file="t")
    assert build_scenario(clash).sensors == tuple(clash.sensors)
    with pytest.raises(ConfigError) as e:
        build_scenario(clash, variant="passive")
    assert e.value.key == "variants.passive.sensors[0].id"
    with pytest.raises(ConfigError) as e:
        validate(ScenarioSpec, {"origin": ORIGIN, "duration_s": 60, "sensors": [radar()],
                                "variants": {"sonar": {"sensors": [passive()]}}}, file="t")
    assert e.value.key.startswith("variants.sonar")
    # several variants: each must be there, and no sensor twice
    with pytest.raises(UsageError, match="no variant 'tracks'"):
        build_scenario(clash, variant="passive+tracks")
    twice = validate(ScenarioSpec, {"origin": ORIGIN, "duration_s": 60, "sensors": [radar()],
                                    "variants": {"passive": {"sensors": [passive(id="P")]},
                                                 "tracks": {"sensors": [radar(id="P")]}}},
                     file="t")
    assert [x.id for x in build_scenario(twice, variant="tracks").sensors] == ["R", "P"]
    with pytest.raises(ConfigError, match="variants before it") as e:
        build_scenario(twice, variant="passive+tracks")
    assert e.value.key == "variants.tracks.sensors[0].id"


def test_a_variant_scenario_written_out_as_built_builds_the_same():
    """As a bench run does: the scenario's sensors, drawn errors and all, written to a file
    that emulators and replay build again without asking for the variant."""
    s = load_scenario(variant="passive", biased=True, seed=4, duration_s=40)
    resolved = load_scenario_spec().model_copy(update={
        "seed": s.seed, "duration_s": s.duration_s, "sensors": list(s.sensors)})
    again = build_scenario(validate(ScenarioSpec, json.loads(json.dumps(
        resolved.model_dump(mode="json"))), file="resolved"))
    assert again.sensors == s.sensors
    pd.testing.assert_frame_equal(simulate_plots(again), simulate_plots(s))


# --- the interchange folder --------------------------------------------------------------------


def test_the_folder_carries_kind_and_empty_range_of_passive_sensors(tmp_path):
    s = load_scenario(variant="passive", biased=True, duration_s=30)
    write_scenario_folder(s, tmp_path)
    rows = list(csv.DictReader((tmp_path / "sensors.csv").open()))
    assert {r["sensor_id"]: r["kind"] for r in rows} == {
        "A1": "radar", "A2": "radar", "B1": "radar", "B2": "radar",
        "AP1": "passive", "BP1": "passive"}
    assert all((r["sigma_range_m"] == "") == (r["kind"] == "passive") for r in rows)
    lines = list(csv.DictReader((tmp_path / "plots.csv").open()))
    assert all((r["range_m"] == "") == (r["sensor_id"] in ("AP1", "BP1")) for r in lines)
    x = read_interchange(tmp_path, with_truth=True)
    kinds = dict(zip(x.sensors["sensor_id"], x.sensors["kind"]))
    assert kinds["AP1"] == "passive" and kinds["A1"] == "radar"
    passive_rows = x.sensors["kind"] == "passive"
    assert x.sensors.loc[passive_rows, "sigma_range_m"].isna().all()
    assert (x.sensors.loc[passive_rows, "range_bias_m"] == 0).all()
    is_passive = x.plots["sensor_id"].isin(["AP1", "BP1"])
    assert x.plots.loc[is_passive, "range_m"].isna().all() and is_passive.sum() > 200
    assert x.plots.loc[~is_passive, "range_m"].notna().all()
    fuser = read_interchange(tmp_path)
    m, t = sensor_transforms(fuser.scenario, fuser.sensors)
    table = SensorTable.from_frame(fuser.sensors, m, t)
    assert table.ranged.tolist() == [1, 1, 1, 1, 0, 0]
    assert np.all(np.isfinite(table.sigma_range_m))


def write_sensors(folder: Path, kinds, sigmas, *, with_kind=True) -> None:
    header = ["sensor_id", "partner", "lat_deg", "lon_deg", "alt_m", "scan_period_s",
              "sigma_range_m", "sigma_az_rad", "sigma_el_rad", "pd", "clutter_per_scan",
              "range_max_m"] + (["kind"] if with_kind else [])
    with open(folder / "sensors.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for i, (kind, sigma) in enumerate(zip(kinds, sigmas)):
            w.writerow([f"S{i}", "A", 52.0, 21.0, 100.0, 4.0, sigma, 0.001, 0.002, 0.9, 1.0,
                        3e5] + ([kind] if with_kind else []))


def test_reading_kind_and_sigma_range_m_from_sensors_csv(tmp_path):
    write_sensors(tmp_path, [None, None], ["30", "40"], with_kind=False)
    assert read_sensors(tmp_path, "wgs84")["kind"].tolist() == ["radar", "radar"]
    write_sensors(tmp_path, ["radar", "passive"], ["30", ""])
    df = read_sensors(tmp_path, "wgs84")
    assert df["kind"].tolist() == ["radar", "passive"] and np.isnan(df["sigma_range_m"][1])
    for kinds, sigmas, key in ((["passive", "radar"], ["", ""], "sigma_range_m"),
                               (["radar", "sonar"], ["30", "30"], "kind"),
                               (["radar", ""], ["30", "30"], "kind"),
                               (["passive", "radar"], ["-1", "30"], "sigma_range_m")):
        write_sensors(tmp_path, kinds, sigmas)
        with pytest.raises(ConfigError) as e:
            read_sensors(tmp_path, "wgs84")
        assert e.value.key == key and "sensors.csv" in e.value.file


CELL = st.one_of(st.sampled_from(["", " passive", "Passive", "nan", "-1", "1e400", "inf"]),
                 st.text(st.characters(blacklist_categories=("Cs",)), max_size=12))
KIND = st.one_of(st.sampled_from(["radar", "passive"]), CELL)
SIGMA = st.one_of(st.sampled_from(["30", "0", "", "1.5e1"]), CELL)
#: a sensor row's (kind, sigma_range_m) cells: a valid pair half the time, else anything
ROW = st.one_of(st.tuples(st.just("radar"), st.sampled_from(["30", "0"])),
                st.tuples(st.just("passive"), st.sampled_from(["", "12"])),
                st.tuples(KIND, SIGMA))


@settings(max_examples=150, deadline=None)
@given(st.lists(ROW, min_size=1, max_size=4))
def test_fuzz_sensors_csv_kind_and_sigma_range_m(rows):
    """Whatever the cells, read_sensors gives a consistent table or a ConfigError."""
    with tempfile.TemporaryDirectory() as folder:
        write_sensors(Path(folder), [k for k, _ in rows], [s for _, s in rows])
        try:
            df = read_sensors(folder, "wgs84")
        except ConfigError:
            return
    assert len(df) == len(rows)
    assert set(df["kind"]) <= {"radar", "passive"}
    sigma = df["sigma_range_m"].to_numpy(float)
    radar_rows = (df["kind"] == "radar").to_numpy()
    assert np.all(np.isfinite(sigma[radar_rows]) & (sigma[radar_rows] >= 0))
    assert np.all(np.isnan(sigma) | (np.isfinite(sigma) & (sigma >= 0)))


# --- the command line ------------------------------------------------------------------------


def rig(*args):
    return subprocess.run([sys.executable, "-m", "rig", *args], capture_output=True,
                          text=True, timeout=120)


def test_rig_scenario_variant_passive(tmp_path):
    out = rig("scenario", "--out", str(tmp_path / "x"), "--variant", "passive", "--targets",
              "10", "--duration", "30", "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["variant"] == "passive"
    assert set(summary["plots_per_sensor"]) == {"A1", "A2", "B1", "B2", "AP1", "BP1"}
    bad = rig("scenario", "--out", str(tmp_path / "y"), "--variant", "sonar")
    assert bad.returncode == 2 and "passive" in bad.stderr
    assert not (tmp_path / "y").exists()
    helps = " ".join(rig("scenario", "--help").stdout.split())
    assert "--variant NAME" in helps
    for name in VARIANTS:
        assert f"'{name}'" in helps
