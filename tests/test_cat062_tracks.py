"""The cat062-tracks family: a track-level partner. A real ``rig emulate --family
cat062-tracks`` (the partner's own tracker on its radar) sends CAT062 over UDP to the real
driver, whose tracks lie near the scenario's truth with covariances from I062/500; bad input
through the driver (missing, zero and impossible accuracies, time jumps, garbage, repeats) is
counted by reason and never handed on."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_interfaces.cat062_tracks import Cat062TracksDriver, TrackDecoder
from firmware_interfaces.cat062_tracks.family import Cat062TracksOptions
from rig.emulation.faults import FaultSchedule
from rig.emulation.scenario_source import ScenarioPlotSource, emulation_clock
from rig.errors import ConfigError
from rig.firmware import DECODER_ERROR_KEYS, FRAME_OK_KEYS, decoder_errors, get_interface
from rig.fusion.track_input import PARTNER_TRACK_DTYPE, REASONS
from rig.geodesy import Geodetic
from rig.publish import Cat062Encoder
from rig.publish.codec import Cat062Decoder
from rig.records import empty_tracks
from rig.scenario import ScenarioSpec, build_scenario, load_scenario, load_scenario_spec
from rig.validation import validate

from tests.emulation_helpers import drain, emulate_into_early_driver, read_until_quiet
from tests.test_emulator_imports import analysis_stack_after

WAIT_S = 30.0
NOON_S = 43200.0                  # a time of day on the wire
ORIGIN = Geodetic(52.0, 21.0, 100.0)

# A partner C with one radar that revisits every second and sees two aircraft, no clutter:
# its tracker confirms them within seconds.
SMALL = {
    "spec": "1.0", "name": "partner C", "seed": 5, "duration_s": 12.0,
    "origin": {"lat_deg": ORIGIN.lat_deg, "lon_deg": ORIGIN.lon_deg, "alt_m": ORIGIN.alt_m},
    "sensors": [{"id": "C1", "partner": "C", "site": {"lat_deg": 51.5, "lon_deg": 21.0,
                                                      "alt_m": 200.0},
                 "scan_period_s": 1.0, "sigma_range_m": 20.0, "sigma_az_rad": 0.0005,
                 "sigma_el_rad": 0.002, "pd": 1.0, "clutter_per_scan": 0,
                 "range_max_m": 200000, "latency_s": 0.05, "latency_jitter_s": 0.02}],
    "targets": [
        {"id": 1, "position": {"east_m": -20000, "north_m": 10000, "alt_m": 8000},
         "speed_mps": 220, "heading_deg": 90, "segments": [{"kind": "straight"}]},
        {"id": 2, "position": {"east_m": 30000, "north_m": -20000, "alt_m": 5000},
         "speed_mps": 150, "heading_deg": 10, "segments": [{"kind": "straight"}]},
    ],
}


def small_scenario(**overrides):
    return build_scenario(validate(ScenarioSpec, SMALL, file="small"), **overrides)


def truth_error(scenario, tracks: np.ndarray, after_end_s: float = 10.0):
    """Per track: the distance (m) to the nearest truth target at the track's time (targets
    that ended up to ``after_end_s`` before it count: a partner coasts them), and that
    target's position."""
    tt = scenario.trajectories
    ids = np.arange(len(tt))
    dist, nearest = np.empty(len(tracks)), np.empty((len(tracks), 3))
    for i, row in enumerate(tracks):
        pos, _, h = tt.state(ids, np.full(len(ids), row["t"]))
        live = (row["t"] >= tt.t_start_s) & (row["t"] <= tt.t_end_s + after_end_s) & (h > 0)
        d = np.linalg.norm(pos[live] - row["state"][:3], axis=1)
        j = int(np.argmin(d))
        dist[i], nearest[i] = d[j], pos[live][j]
    return dist, nearest


def assert_sound(tracks: np.ndarray) -> None:
    """What a driver hands on: finite states, symmetric positive definite covariances."""
    assert tracks.dtype == PARTNER_TRACK_DTYPE
    assert np.isfinite(tracks["t"]).all() and np.isfinite(tracks["state"]).all()
    P = tracks["covariance"]
    assert np.allclose(P, np.swapaxes(P, 1, 2))
    if len(tracks):
        assert (np.linalg.eigvalsh(P)[:, 0] > 0).all()


def assert_every_record_accounted(c: dict) -> None:
    assert c["tracks_decoded"] == c["tracks_foreign"] + c["tracks_ok"] + sum(
        c[f"track_{r}"] for r in REASONS)


def fake_sensor(origin, transport: str = "emulated", *, sac: int = 0, sic: int = 7, **options):
    entry = types.SimpleNamespace(emulated=transport == "emulated", transport=transport,
                                  options=Cat062TracksOptions(**options), sac=sac)
    return types.SimpleNamespace(index=4, id="C1", entry=entry, sic=sic, origin=origin,
                                 partner_index=2)


# --- the family's contract -------------------------------------------------------------------
def test_the_family_delivers_tracks_over_udp_on_a_time_of_day_clock():
    family = get_interface("cat062-tracks")
    assert (family.delivers, family.transport, family.time_of_day) == ("tracks", "udp", True)
    with family.open_early(fake_sensor(ORIGIN, "udp://@127.0.0.1:0"), None) as driver:
        assert driver.read_plots(timeout_s=0.2).size == 0
        assert driver.read_tracks(timeout_s=0).dtype == PARTNER_TRACK_DTYPE
        c = driver.counters()
    assert set(FRAME_OK_KEYS) & set(c) == {"blocks_ok"}
    assert {"records_bad", "records_incomplete", "blocks_bad_length",
            "blocks_truncated"} <= set(DECODER_ERROR_KEYS) & set(c)
    assert {"tracks_ok", "queued_batches", *(f"track_{r}" for r in REASONS)} <= set(c)


# --- end to end: rig emulate, UDP, the driver ------------------------------------------------
SPEED = 10.0


@pytest.mark.slow                # an emulated run or emulator process: CI runs it with -m slow
def test_rig_emulate_sends_the_partner_s_tracks_near_the_truth(tmp_path):
    """The built-in scenario's variant `tracks`, written out as a run resolves it: partner
    C's tracker on its radar C1, ten times faster than real time, a picture every 0.5 s."""
    scenario = load_scenario(variant="tracks", duration_s=60)
    resolved = load_scenario_spec().model_copy(update={
        "duration_s": 60.0, "sensors": list(scenario.sensors)})
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(resolved.model_dump(mode="json")))
    ready, summary, tracks, c, chunks = emulate_into_early_driver(
        get_interface("cat062-tracks"), fake_sensor(scenario.origin, sac=3, sic=9),
        ["emulate", "--family", "cat062-tracks", "--scenario", str(path), "--sensor", "C1",
         "--speed", str(SPEED), "--period", "0.5"], tmp_path, name="partner C")
    assert (ready["family"], ready["sac"], ready["sic"]) == ("cat062-tracks", 3, 9)
    assert summary["send_errors"] == 0 and summary["tracks_unencodable"] == 0
    assert summary["plots_fused"] > 300 and summary["tracks_confirmed"] >= 10
    assert c["datagrams"] == summary["datagrams_sent"] == len(chunks) == c["blocks_ok"]
    assert decoder_errors(c) == c["bytes_skipped"] == c["tracks_foreign"] == 0
    assert c["tracks_decoded"] == summary["tracks_sent"]
    assert_every_record_accounted(c)
    # a young track's velocity is known to worse than ATV's 63.75 m/s: refused until it is
    assert c["tracks_ok"] == len(tracks) > 100
    assert c["track_repeated"] == c["track_time_ahead"] == c["track_time_backwards"] == 0
    assert_sound(tracks)
    assert (tracks["partner"] == 0).all()
    # I062/070 is the partner's clock: scenario time here (unbiased, emulation epoch 0)
    assert tracks["t"].min() > 0 and tracks["t"].max() < 60.5      # the end: + C1's latency
    # near the truth: within 2.5 km every one, 500 m for half of them
    dist, nearest = truth_error(scenario, tracks)
    assert dist.max() < 2500.0 and np.median(dist) < 500.0
    # the covariances are those of I062/500 (origin and system plane are one: no rotation)
    decoder = Cat062Decoder()
    decoded = [decoder.feed(d) for _, d in chunks]
    rows = np.concatenate([r for r, _ in decoded])
    info = np.concatenate([i for _, i in decoded])
    sent = {(int(n), float(t)): (x, y) for n, t, x, y in zip(
        rows["track_id"], rows["t"], info["sd_x_m"], info["sd_y_m"])}
    sd = np.sqrt(tracks["covariance"][:, [0, 1], [0, 1]])
    wire = np.array([sent[int(n), float(t)] for n, t in zip(tracks["track_number"],
                                                             tracks["t"])])
    np.testing.assert_allclose(sd, wire, rtol=1e-9)
    assert (wire % 0.5 == 0).all() and (wire > 0).all()
    # and they do not claim more than the tracks achieve: 95 % inside the 99 % ellipse
    e = (nearest - tracks["state"][:, :3])[:, :2]
    d2 = np.einsum("ni,nij,nj->n", e, np.linalg.inv(tracks["covariance"][:, :2, :2]), e)
    assert np.mean(d2 < 9.21) >= 0.95


@pytest.mark.slow                # an emulated run or emulator process: CI runs it with -m slow
def test_a_run_s_sensor_handle_puts_the_tracks_on_the_run_s_time_line(tmp_path):
    """As `rig run` starts an emulated track-level partner: listening socket first, then
    `rig emulate` on the run's scenario and time line; tracks on the run's time line with
    the partner's index."""
    from rig.bench.config import load_bench_config
    from rig.bench.sensor_handles import SensorHandle

    scenario_path = tmp_path / "small.yaml"
    scenario_path.write_text(yaml.safe_dump({**SMALL, "duration_s": 8.0}))
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump({"duration_s": 8, "scenario": {"source": str(scenario_path)},
                                    "sensors": [{"id": "C1", "family": "cat062-tracks"}]}))
    loaded = load_bench_config(path)
    scenario_file = loaded.write_scenario(tmp_path / "scenario.yaml")
    origin = loaded.scenario.origin
    handle = SensorHandle(0, loaded.config.sensors[0], loaded.radars[0], origin=origin,
                          partner_index=2)
    tracks, counters, summary = read_until_quiet(handle, scenario_file, 8.0, handle.read_tracks)
    assert summary["tracks_confirmed"] == 2 and summary["send_errors"] == 0
    assert len(tracks) == counters["tracks_ok"] > 4 and (tracks["partner"] == 2).all()
    assert len(set(tracks["track_number"].tolist())) == 2
    # emulation time 0 is the run's start: I062/070 reads run time
    assert 1.0 < tracks["t"].min() and tracks["t"].max() < 8.5
    dist, _ = truth_error(build_scenario(validate(ScenarioSpec, yaml.safe_load(
        scenario_file.read_text()), file="s")), tracks)
    assert dist.max() < 1000.0


# --- the emulator in this process: faults act on the datagrams -----------------------------------
def run_in_process(faults: list[dict], *, duration_s: float = 10.0, speed: float = 5.0):
    from firmware_interfaces.cat062_tracks.emulator import Cat062TracksEmulator

    scenario = small_scenario(duration_s=duration_s)
    spec = scenario.sensor("C1")
    with Cat062TracksDriver("udp://@127.0.0.1:0", origin=scenario.origin) as driver:
        emulator = Cat062TracksEmulator(
            ScenarioPlotSource(scenario, "C1", speed=speed), radar=spec,
            origin=scenario.origin, url=f"udp://127.0.0.1:{driver.local_address[1]}",
            clock=emulation_clock(spec, speed), period_s=0.2,
            faults=FaultSchedule.from_json(json.dumps(faults), seed=3))
        try:
            stats = emulator.serve(duration_s / speed)
        finally:
            emulator.close()
        tracks = drain(driver.read_tracks)
        counters = driver.counters()
        state = str(driver.state)
    return scenario, stats, emulator.faults.counts, tracks, counters, state


def test_a_datagram_sent_twice_is_repeated_and_handed_on_once():
    scenario, stats, done, tracks, c, state = run_in_process(
        [{"kind": "duplicate_frames", "at_s": 0.0, "duration_s": 100.0, "probability": 1.0}])
    assert done["frames_duplicated"] == stats.datagrams_sent // 2 > 5
    assert c["datagrams"] == stats.datagrams_sent
    assert c["tracks_decoded"] == 2 * stats.tracks_sent
    assert_every_record_accounted(c)
    # every copy of a track taken is repeated (the others were refused twice)
    assert c["track_repeated"] == c["tracks_ok"] == len(tracks) > 5
    keys = list(zip(tracks["track_number"].tolist(), tracks["t"].tolist()))
    assert len(set(keys)) == len(keys)
    assert state == "streaming"


def test_a_clock_jump_and_garbage_are_counted_never_handed_on():
    scenario, stats, done, tracks, c, state = run_in_process(
        [{"kind": "clock_jump", "at_s": 1.2, "offset_s": 3600.0},
         {"kind": "garbage", "at_s": 0.5, "bytes": 500}], duration_s=12.0)
    assert done["garbage_bytes"] == 500 and c["bytes_skipped"] >= 500
    assert c["track_time_ahead"] > 0 and state == "streaming"
    assert_every_record_accounted(c)
    assert_sound(tracks)
    # before the jump near the truth; after it the stream is refused until it has moved
    before = tracks[tracks["t"] < 3600.0]
    assert len(before) > 0 and truth_error(scenario, before)[0].max() < 1000.0


# --- bad input through the real driver -----------------------------------------------------------
# I062/500 of the track below, as rig's encoder writes it: primary octets (APC, COV, AGA, ATV,
# FX; ARC), APC 111.5 m and 222 m, COV sqrt(10 000 m²) = 100 m
SD_X, SD_Y, COV_XY = 111.5, 222.0, 10_000.0
ITEM_500 = bytes([0xD5, 0x80, 0x00, 0xDF, 0x01, 0xBC, 0x00, 0xC8])
APC, COV, AGA, ATV = 2, 6, 8, 9                 # offsets of the subfields in the item


def one_track(number: int, *, east_m: float = 20_000.0, covariance=None) -> np.ndarray:
    tracks = empty_tracks(1)
    tracks["track_id"] = number
    tracks["status"] = 1
    tracks["east"], tracks["north"], tracks["up"] = east_m, -15_000.0, 7_000.0
    tracks["v_east"], tracks["v_north"] = 180.0, -40.0
    if covariance is None:
        covariance = np.diag([SD_X**2, SD_Y**2, 50.0**2, 7.75**2, 9.25**2, 1.5**2])
        covariance[0, 1] = covariance[1, 0] = COV_XY
    tracks["covariance"] = covariance
    return tracks


def datagram(number: int, t_tod_s: float = NOON_S, patch: dict[int, bytes] | None = None,
             **kwargs) -> bytes:
    """One track's CAT062 datagram; ``patch``: octets to overwrite in its I062/500, by offset."""
    data = Cat062Encoder(ORIGIN, 0, 1).encode(one_track(number, **kwargs), t_tod_s)[0]
    if patch:
        at = data.find(ITEM_500)
        assert at > 0 and data.find(ITEM_500, at + 1) < 0
        buf = bytearray(data)
        for offset, octets in patch.items():
            buf[at + offset:at + offset + len(octets)] = octets
        data = bytes(buf)
    return data


def send_all(driver, datagrams: list[bytes]) -> None:
    """Send each datagram to the driver and wait until it has read them all."""
    n = driver.counters()["datagrams"] + len(datagrams)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for d in datagrams:
            s.sendto(d, ("127.0.0.1", driver.local_address[1]))
            time.sleep(0.002)
    deadline = time.monotonic() + WAIT_S
    while driver.counters()["datagrams"] < n and time.monotonic() < deadline:
        time.sleep(0.01)
    assert driver.counters()["datagrams"] == n


def test_bad_tracks_are_counted_by_reason_and_never_handed_on():
    zero_velocity = np.diag([SD_X**2, SD_Y**2, 50.0**2, 0.0, 0.0, 1.5**2])
    no_position = np.diag([0.0, 0.0, 50.0**2, 7.75**2, 9.25**2, 1.5**2])
    bad = {
        # I062/500 left out (a covariance of zeros), or its APC, or its ATV
        101: ("missing_accuracy", datagram(101, covariance=np.zeros((6, 6)))),
        102: ("missing_accuracy", datagram(102, covariance=no_position)),
        103: ("missing_accuracy", datagram(103, covariance=zero_velocity)),
        # zero standard deviations on the wire
        104: ("bad_accuracy", datagram(104, patch={APC: b"\x00\x00"})),
        105: ("bad_accuracy", datagram(105, patch={ATV + 1: b"\x00"})),
        106: ("bad_accuracy", datagram(106, patch={AGA: b"\x00"})),
        # the one signed accuracy, negative beyond what a covariance can be: |c| > sd_x sd_y
        107: ("bad_accuracy", datagram(107, patch={COV: (-0x3000).to_bytes(2, "big",
                                                                             signed=True)})),
        # "this or more": no bound at all
        108: ("accuracy_saturated", datagram(108, patch={APC: b"\xff\xff"})),
        # a stream that jumps an hour ahead, or goes back two minutes
        109: ("time_ahead", datagram(109, NOON_S + 3600.0)),
        110: ("time_backwards", datagram(110, NOON_S - 120.0)),
    }
    good = [datagram(n, NOON_S + 0.5 * (n % 3), east_m=20_000.0 + 5_000.0 * n)
            for n in range(1, 6)]
    garbage = [np.random.default_rng(1).bytes(200), b"\x3e\x00\x40" + b"\x00" * 20,
               good[0][:-7]]
    with Cat062TracksDriver("udp://@127.0.0.1:0", origin=ORIGIN) as driver:
        send_all(driver, good)
        send_all(driver, [d for _, d in bad.values()] + garbage)
        send_all(driver, [good[1]])                      # the same again: repeated
        tracks = drain(driver.read_tracks, 0.2)
        c = driver.counters()
        state = str(driver.state)
    assert state == "streaming"
    assert sorted(tracks["track_number"].tolist()) == [1, 2, 3, 4, 5]
    assert_sound(tracks)
    for reason in REASONS:
        expected = sum(r == reason for r, _ in bad.values()) + (reason == "repeated")
        assert c[f"track_{reason}"] == expected, reason
    assert c["tracks_ok"] == 5 and c["tracks_decoded"] == 5 + len(bad) + 1
    assert_every_record_accounted(c)
    # the garbage (its first octets a block longer than the datagram), a block that says so,
    # a truncated one: each block counted, every octet skipped
    assert decoder_errors(c) == c["blocks_truncated"] == 3
    assert c["bytes_skipped"] == sum(len(g) for g in garbage)
    # the accuracies as sent: sd from APC, the covariance of COV
    P = tracks["covariance"][0]
    assert np.sqrt(P[0, 0]) == SD_X and np.sqrt(P[1, 1]) == SD_Y and P[0, 1] == COV_XY


# --- fuzzing the driver's decode path --------------------------------------------------------------
GOOD = [datagram(n, NOON_S + n) for n in range(1, 4)]


def assert_decoded_soundly(decoder: TrackDecoder, data: bytes) -> None:
    before = decoder.counters()["tracks_ok"]
    tracks = decoder.feed(data)
    assert_sound(tracks)
    c = decoder.counters()
    assert c["tracks_ok"] - before == len(tracks)
    assert_every_record_accounted(c)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_any_bytes_never_raise_and_hand_on_only_sound_tracks(data):
    assert_decoded_soundly(TrackDecoder(ORIGIN), data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(GOOD), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                      min_size=1, max_size=8),
       st.integers(0, 200))
def test_damaged_datagrams_never_raise_and_hand_on_only_sound_tracks(good, flips, cut):
    decoder = TrackDecoder(ORIGIN)
    assert_decoded_soundly(decoder, GOOD[0])
    buf = bytearray(good)
    for at, value in flips:
        buf[at % len(buf)] = value
    assert_decoded_soundly(decoder, bytes(buf))
    assert_decoded_soundly(decoder, bytes(buf[:len(buf) - cut]))


# --- the command line, bench configs, imports --------------------------------------------------
def test_emulate_needs_a_scenario_s_radar_and_a_sending_url(capsys):
    from rig.cli import main

    assert main(["emulate", "--family", "cat062-tracks", "--port", "udp://127.0.0.1:9",
                 "--duration", "0.1"]) == 2
    assert "--scenario" in capsys.readouterr().err
    assert main(["emulate", "--family", "cat062-tracks", "--port", "udp://@127.0.0.1:0",
                 "--scenario", "builtin", "--duration", "0.1"]) == 2
    assert main(["emulate", "--family", "cat062-tracks", "--port", "udp://127.0.0.1:9",
                 "--scenario", "builtin", "--period", "0", "--duration", "0.1"]) == 2
    with pytest.raises(SystemExit):
        main(["emulate", "--family", "cat062-tracks", "--help"])
    assert "--period" in capsys.readouterr().out


def test_a_bench_config_takes_its_keys_and_refuses_others(tmp_path):
    from rig.bench.config import load_bench_config

    path = tmp_path / "bench.yaml"
    sensor = {"id": "C1", "family": "cat062-tracks", "transport": "udp://@0.0.0.0:8620",
              "allow_from": ["10.0.0.9"], "system_origin": {"lat_deg": 50.5, "lon_deg": 20.0}}
    config = {"duration_s": 5, "mode": "bench", "scenario": {"variant": "tracks"}}
    path.write_text(yaml.safe_dump({**config, "sensors": [sensor]}))
    options = load_bench_config(path).config.sensors[0].options
    assert options.system_origin.lat_deg == 50.5 and options.system_origin.alt_m == 0.0
    path.write_text(yaml.safe_dump({**config, "sensors": [{**sensor, "site_alt": 3}]}))
    with pytest.raises(ConfigError, match=r"sensors\[0\]\.site_alt") as e:
        load_bench_config(path)
    assert "cat062-tracks" in str(e.value)


def test_the_emulator_imports_no_analysis_stack():
    assert analysis_stack_after("import firmware_interfaces.cat062_tracks.cli, "
                                "firmware_interfaces.cat062_tracks.emulator, "
                                "rig.emulation.scenario_source\n") == ""


def test_check_leaves_a_track_partner_s_plots_out_of_its_estimate(tmp_path):
    """rig check counts the plots the centre fuses: C1's stay with partner C's tracker."""
    from rig.bench.config import load_bench_config
    from rig.commands.check import expected_plots

    path = Path(__file__).parent.parent / "bench_configs" / "all_inputs.yaml"
    out = subprocess.run([sys.executable, "-m", "rig", "check", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "sensor C1 (partner C): cat062-tracks via emulated (the partner's tracks)" \
        in out.stdout
    loaded = load_bench_config(path)
    counted = expected_plots(loaded)
    assert f"about {counted} plots over the run" in out.stdout
    without_c1 = yaml.safe_load(path.read_text())
    without_c1["sensors"] = [s for s in without_c1["sensors"] if s["id"] != "C1"]
    short = tmp_path / "without-c1.yaml"
    short.write_text(yaml.safe_dump(without_c1))
    assert expected_plots(load_bench_config(short)) == counted
