"""The esm-sensor family: its datagram (built here by hand from the table in
``firmware_interfaces/esm_sensor/protocol.py``), the codec (round trip, fuzzing, impossible
angles), and a real ``rig emulate --family esm-sensor`` sending over UDP to the real driver,
read again by the replay decoder and watched by ``rig monitor``."""

from __future__ import annotations

import json
import struct
import time
import types
import zlib

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_interfaces.esm_sensor import EsmSensorDriver, EsmSensorEmulator
from firmware_interfaces.esm_sensor.codec import EsmDecoder, encode
from firmware_interfaces.esm_sensor.family import EsmSensorOptions
from firmware_interfaces.esm_sensor.protocol import encodable
from rig.emulation.scenario_source import ScenarioPlotSource
from rig.errors import ConfigError, EncodeError
from rig.firmware import decoder_errors, get_interface
from rig.records import PLOT_DTYPE, PLOT_FLAG_SATURATED, PLOT_FLAG_SIMULATED, empty_plots
from rig.scenario import load_scenario

from tests.emulation_helpers import drain, emulate_into_early_driver, read_until_quiet
from tests.test_emulator_imports import analysis_stack_after
from tests.test_monitor import emulated_and_counted, sent_over_udp_and_counted

WAIT_S = 30.0
TWO_PI = 2 * np.pi
T_NS = 1_750_000_000_123_456_789        # a receiver clock reading UTC, in ns
ABSENT = -(2**31)

# --- the wire, by hand: the table of protocol.py ----------------------------------------------
HEAD = struct.Struct(">4sBBHIHHq")
RECORD = struct.Struct(">iiihH")


def message(records=(), *, receiver=1, seq=0, t_ns=T_NS, version=1, msg_type=1, count=None,
            reserved=0) -> bytes:
    """One datagram: header, records ``(t_offset_us, az_urad, el_urad, amplitude_cdb,
    flags)`` and the CRC-32 of all before it."""
    n = len(records) if count is None else count
    body = HEAD.pack(b"ESMB", version, msg_type, receiver, seq, n, reserved, t_ns)
    body += b"".join(RECORD.pack(*r) for r in records)
    return body + struct.pack(">I", zlib.crc32(body))


def good_records(n: int, seed: int = 0) -> list[tuple]:
    rng = np.random.default_rng(seed)
    return [(int(rng.integers(-10**6, 10**6)), int(rng.integers(0, 6_283_186)),
             int(rng.integers(-1_570_796, 1_570_797)), int(rng.integers(-30000, 30000)),
             int(rng.integers(0, 8))) for _ in range(n)]


def test_a_datagram_built_from_the_table_is_read_field_by_field():
    data = message([(-250_000, 1_234_567, -500_000, -1234, PLOT_FLAG_SIMULATED),
                    (0, 0, 1_570_796, -32768, PLOT_FLAG_SATURATED),
                    (7, 6_283_185, -1_570_796, 32767, 0)], receiver=12, seq=41)
    assert len(data) == 24 + 3 * 16 + 4
    plots = EsmDecoder(sensor_id=5).feed(data, t_arrival_ns=777)
    assert plots.dtype == PLOT_DTYPE and len(plots) == 3
    assert np.isnan(plots["range_m"]).all() and np.isnan(plots["range_rate_mps"]).all()
    np.testing.assert_allclose(plots["az_rad"], [1.234567, 0.0, 6.283185], rtol=0, atol=1e-12)
    np.testing.assert_allclose(plots["el_rad"], [-0.5, 1.570796, -1.570796], rtol=0, atol=1e-12)
    np.testing.assert_allclose(plots["t_sensor"], [1_750_000_000.123456789 - 0.25,
                                                   1_750_000_000.123456789,
                                                   1_750_000_000.123463789], rtol=0, atol=3e-7)
    assert plots["amplitude_db"][0] == pytest.approx(-12.34, abs=1e-5)
    assert np.isnan(plots["amplitude_db"][1]) and plots["amplitude_db"][2] == pytest.approx(327.67)
    assert plots["flags"].tolist() == [PLOT_FLAG_SIMULATED, PLOT_FLAG_SATURATED, 0]
    assert set(plots["seq"]) == {41} and set(plots["sensor_id"]) == {5}
    assert set(plots["t_arrival_ns"]) == {777}


def test_the_encoder_writes_what_the_table_says():
    plots = empty_plots(91)
    plots["t_sensor"] = T_NS * 1e-9 - np.linspace(0, 2, 91)
    plots["az_rad"] = np.linspace(0, 6.28, 91)
    plots["el_rad"] = np.linspace(-1.5, 1.5, 91)
    plots["amplitude_db"] = np.nan
    plots["amplitude_db"][1] = -20.5
    plots["flags"][2] = PLOT_FLAG_SIMULATED
    plots["range_m"] = 5e4                      # not carried
    first, second = encode(plots, receiver_id=300, seq=2**32 - 1, t_sensor_ns=T_NS)
    assert len(first) == 24 + 90 * 16 + 4 <= 1472 and len(second) == 24 + 16 + 4
    for data, seq, count in ((first, 2**32 - 1, 90), (second, 0, 1)):
        assert HEAD.unpack_from(data) == (b"ESMB", 1, 1, 300, seq, count, 0, T_NS)
        assert struct.unpack_from(">I", data, len(data) - 4)[0] == zlib.crc32(data[:-4])
    rows = [RECORD.unpack_from(first, 24 + 16 * i) for i in range(3)]
    assert rows[0] == (0, 0, -1_500_000, -32768, 0)
    assert rows[1][0] == round(-2 / 90 * 1e6) and rows[1][1] == round(6.28 / 90 * 1e6)
    assert rows[1][3] == -2050 and rows[2][4] == PLOT_FLAG_SIMULATED
    assert RECORD.unpack_from(second, 24) == (-2_000_000, 6_280_000, 1_500_000, -32768, 0)


# --- round trip -------------------------------------------------------------------------------
finite = dict(allow_nan=False, allow_infinity=False)
bearing_rows = st.tuples(
    st.floats(0.0, TWO_PI, exclude_max=True, **finite),               # az_rad
    st.floats(-np.pi / 2, np.pi / 2, **finite),                         # el_rad
    st.one_of(st.just(np.nan), st.floats(-327.5, 327.5, width=32, **finite)),  # amplitude_db
    st.integers(0, 2**16 - 1),                                          # flags
    st.floats(-2000.0, 2000.0, **finite),                               # s from the datagram
)


def plots_of(rows) -> np.ndarray:
    plots = empty_plots(len(rows))
    for i, (az, el, amp, flags, dt) in enumerate(rows):
        plots[i] = (T_NS * 1e-9 + dt, 0, np.nan, az, el, np.nan, amp, 0, flags, 0)
    return plots


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(bearing_rows, max_size=300), per_datagram=st.integers(1, 90),
       first_seq=st.integers(0, 2**32 - 1), receiver=st.integers(0, 0xFFFF))
def test_round_trip_of_any_bearings(rows, per_datagram, first_seq, receiver):
    plots = plots_of(rows)
    datagrams = encode(plots, receiver_id=receiver, seq=first_seq, t_sensor_ns=T_NS,
                       max_records=per_datagram)
    assert len(datagrams) == max(1, -(-len(plots) // per_datagram))
    assert all(len(d) <= 1472 for d in datagrams)
    decoder = EsmDecoder(sensor_id=9)
    decoded = np.concatenate([decoder.feed(d, 5) for d in datagrams])
    assert len(decoded) == len(plots)
    np.testing.assert_allclose(decoded["az_rad"], plots["az_rad"], rtol=0, atol=0.5e-6 + 1e-12)
    np.testing.assert_allclose(decoded["el_rad"], plots["el_rad"], rtol=0, atol=0.5e-6 + 1e-12)
    np.testing.assert_allclose(decoded["t_sensor"], plots["t_sensor"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(decoded["amplitude_db"], plots["amplitude_db"], rtol=0,
                               atol=0.005 + 1e-4)
    assert np.array_equal(decoded["flags"], plots["flags"])
    assert ((decoded["az_rad"] >= 0) & (decoded["az_rad"] < TWO_PI)).all()
    assert (np.abs(decoded["el_rad"]) <= np.pi / 2).all()
    assert np.isnan(decoded["range_m"]).all() and np.isnan(decoded["range_rate_mps"]).all()
    expected_seq = (first_seq + np.arange(len(plots)) // per_datagram) % 2**32
    assert np.array_equal(decoded["seq"], expected_seq)
    c = decoder.counters()
    assert c["frames_ok"] == len(datagrams) and c["plots_ok"] == len(plots)
    assert decoder_errors(c) == c["bytes_skipped"] == 0
    assert c["seq_gaps"] == c["seq_restarts"] == c["duplicates"] == 0   # wraps through 2**32
    # encoding what was decoded gives the same bytes: nothing the wire carries was lost
    again = encode(decoded, receiver_id=receiver, seq=first_seq, t_sensor_ns=T_NS,
                   max_records=per_datagram)
    assert again == datagrams


# --- fuzzing ----------------------------------------------------------------------------------
def assert_only_possible_bearings(plots: np.ndarray) -> None:
    assert plots.dtype == PLOT_DTYPE
    assert ((plots["az_rad"] >= 0) & (plots["az_rad"] < TWO_PI)).all()
    assert (np.abs(plots["el_rad"]) <= np.pi / 2).all()
    assert np.isnan(plots["range_m"]).all()


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=3000))
def test_arbitrary_bytes_never_raise(data):
    decoder = EsmDecoder()
    plots = decoder.feed(data)
    assert_only_possible_bearings(plots)
    c = decoder.counters()
    assert c["datagrams"] == 1 and c["bytes_skipped"] <= len(data)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=600), magic_at=st.lists(st.integers(0, 600), max_size=5))
def test_bytes_full_of_magic_never_raise(data, magic_at):
    """Garbage where the magic keeps appearing, so that headers of every kind are tried."""
    data = bytearray(data)
    for at in magic_at:
        data[at:at] = b"ESMB"
    decoder = EsmDecoder()
    assert_only_possible_bearings(decoder.feed(bytes(data)))
    c = decoder.counters()
    assert c["frames_ok"] == 0 and c["bytes_skipped"] == len(data)


@settings(max_examples=200, deadline=None)
@given(before=st.binary(max_size=300), after=st.binary(max_size=300), n=st.integers(0, 20))
def test_a_message_between_garbage_is_found_and_the_garbage_counted(before, after, n):
    good = message(good_records(n), seq=7)
    decoder = EsmDecoder()
    plots = decoder.feed(before + good + after)
    assert len(plots) == n and set(plots["seq"]) <= {7}
    assert np.array_equal(plots["az_rad"], EsmDecoder().feed(good)["az_rad"])
    assert decoder.counters()["bytes_skipped"] == len(before) + len(after)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 20), cut=st.integers(0, 10_000))
def test_a_truncated_message_is_dropped_and_counted(n, cut):
    good = message(good_records(n, seed=n), seq=3)
    cut = cut % len(good)
    decoder = EsmDecoder()
    assert len(decoder.feed(good[:cut])) == 0
    c = decoder.counters()
    assert c["bytes_skipped"] == cut
    assert decoder_errors(c) >= (1 if cut >= 4 else 0)
    assert len(decoder.feed(message(good_records(2), seq=4))) == 2    # not stuck


@settings(max_examples=300, deadline=None)
@given(n=st.integers(0, 20), at=st.integers(0, 10_000), flip=st.integers(1, 255))
def test_a_damaged_message_is_never_read_and_always_counted(n, at, flip):
    damaged = bytearray(message(good_records(n, seed=n), seq=3))
    at %= len(damaged)
    damaged[at] ^= flip
    decoder = EsmDecoder()
    assert len(decoder.feed(bytes(damaged))) == 0
    c = decoder.counters()
    assert c["bytes_skipped"] == len(damaged)
    if at >= 4:                 # the magic intact: the message is seen and counted as bad
        assert decoder_errors(c) >= 1
    assert len(decoder.feed(message(good_records(2), seq=4))) == 2


@pytest.mark.parametrize("field,value,error", [
    ("version", 2, "header_errors"), ("msg_type", 2, "header_errors"),
    ("count", 91, "header_errors"), ("reserved", 1, "header_errors"),
    ("count", 5, "bad_frames"),         # claims more records than the datagram holds
])
def test_header_fields_outside_the_protocol_are_counted(field, value, error):
    data = message(good_records(3), **{field: value})
    decoder = EsmDecoder()
    assert len(decoder.feed(data)) == 0
    c = decoder.counters()
    assert c[error] == 1 and decoder_errors(c) == 1 and c["bytes_skipped"] == len(data)


# --- impossible angles ------------------------------------------------------------------------
@pytest.mark.parametrize("az,el,reason", [
    (-1, 0, "records_bad_az"), (6_283_186, 0, "records_bad_az"),
    (2**31 - 1, 0, "records_bad_az"),
    (0, 1_570_797, "records_bad_el"), (0, -1_570_797, "records_bad_el"),
    (ABSENT, 0, "records_no_angle"), (0, ABSENT, "records_no_angle"),
    (-5, 2_000_000, "records_bad_az"),      # both wrong: counted once, by the first reason
])
def test_an_impossible_angle_is_counted_by_reason_and_never_handed_on(az, el, reason):
    records = good_records(4)
    records.insert(2, (0, az, el, 0, 0))
    decoder = EsmDecoder()
    plots = decoder.feed(message(records))
    assert len(plots) == 4
    assert_only_possible_bearings(plots)
    c = decoder.counters()
    reasons = ("records_bad_az", "records_bad_el", "records_no_angle")
    assert {k: c[k] for k in reasons} == {k: int(k == reason) for k in reasons}
    assert c["records_bad"] == 1 and decoder_errors(c) == 1
    assert c["frames_ok"] == 1 and c["plots_ok"] == 4


@pytest.mark.parametrize("field,value", [
    ("az_rad", -1e-9), ("az_rad", TWO_PI), ("az_rad", np.nan), ("az_rad", np.inf),
    ("el_rad", 1.5708), ("el_rad", -1.5708), ("el_rad", np.nan),
    ("t_sensor", T_NS * 1e-9 + 2200.0), ("t_sensor", np.nan), ("amplitude_db", 400.0),
])
def test_the_encoder_refuses_what_the_wire_cannot_carry(field, value):
    plots = plots_of([(1.0, 0.1, 3.0, 0, 0.0)] * 3)
    plots[1][field] = value
    # encodable() judges each plot alone: how far it may be from its datagram's time it
    # cannot know
    far = field == "t_sensor" and np.isfinite(value)
    assert encodable(plots).tolist() == [True, far, True]
    with pytest.raises(EncodeError, match=f"plot 1: {field}") as e:
        encode(plots, t_sensor_ns=T_NS)
    assert e.value.index == 1


# --- sequence numbers -------------------------------------------------------------------------
def test_duplicates_are_dropped_and_gaps_late_arrivals_and_restarts_counted():
    m = {seq: message(good_records(1, seed=seq), seq=seq) for seq in range(100)}
    decoder = EsmDecoder()
    got = [len(decoder.feed(m[s])) for s in (10, 11, 11, 14, 12, 12, 15, 90, 91, 3)]
    assert got == [1, 1, 0, 1, 1, 0, 1, 1, 1, 1]
    c = decoder.counters()
    assert c["duplicates"] == 2          # 11 and 12 again
    assert c["seq_gaps"] == 2 + 74       # 12, 13, then 16 .. 89
    assert c["seq_late"] == 1            # 12 after 14
    assert c["seq_restarts"] == 1        # 91 -> 3: far behind
    other = message(good_records(1), seq=11, receiver=2)
    assert len(decoder.feed(other)) == 1     # another receiver numbers its own messages
    decoder.reset()
    assert len(decoder.feed(m[3])) == 1      # a new link forgets what was seen


# --- the emulator in this process --------------------------------------------------------------
class FixedSource:
    """Given plots, all due at once."""

    scan_period_s = 1.0

    def __init__(self, plots):
        self.plots = plots

    def next_release_s(self) -> float:
        return 0.0 if len(self.plots) else float("inf")

    def take_until(self, t_s):
        plots, self.plots = self.plots, self.plots[:0]
        return plots


def test_the_emulator_drops_range_and_leaves_out_impossible_bearings():
    plots = plots_of([(float(a), 0.2, 10.0, 0, 0.0) for a in np.linspace(0.1, 6.0, 200)])
    plots["t_sensor"] = 0.0
    plots["range_m"] = 42_000.0
    plots["range_rate_mps"] = 100.0
    plots["el_rad"][[5, 50]] = [2.0, np.nan]
    plots["az_rad"][7] = -0.1
    with EsmSensorDriver("udp://@127.0.0.1:0", sensor_id=3) as driver:
        emulator = EsmSensorEmulator(FixedSource(plots.copy()), receiver_id=77,
                                     url=f"udp://127.0.0.1:{driver.local_address[1]}")
        try:
            stats = emulator.serve(0.3)
        finally:
            emulator.close()
        got = drain(driver.read_plots)
        counters = driver.counters()
    assert stats.plots_unencodable == 3 and stats.plots_sent == 197 == len(got)
    assert stats.datagrams_sent == 3 and (stats.first_seq, stats.last_seq) == (0, 2)
    sent = np.delete(plots, [5, 7, 50])
    np.testing.assert_allclose(got["az_rad"], sent["az_rad"], rtol=0, atol=0.5e-6)
    assert np.isnan(got["range_m"]).all() and np.isnan(got["range_rate_mps"]).all()
    # its clock reads UTC unless told otherwise
    assert abs(got["t_sensor"][0] - time.time()) < 30
    assert counters["frames_ok"] == 3 and decoder_errors(counters) == 0


# --- end to end: rig emulate, UDP, the driver, the family ----------------------------------------
SPEED = 25.0


def fake_sensor(index: int, transport: str = "emulated", **options):
    entry = types.SimpleNamespace(emulated=transport == "emulated", transport=transport,
                                  options=EsmSensorOptions(**options), sac=0)
    return types.SimpleNamespace(index=index, id="B2", entry=entry)


def scenario_bearings(n: int) -> np.ndarray:
    return ScenarioPlotSource(load_scenario(), "B2", speed=SPEED).take_until(1e6)[:n]


def run_emulated(tmp_path, extra: list[str] = ()):
    """A `rig emulate --family esm-sensor` of the built-in scenario's B2, as `rig run` starts
    it: (plots, driver counters, emulator summary, raw chunks the driver read)."""
    ready, summary, plots, counters, chunks = emulate_into_early_driver(
        get_interface("esm-sensor"), fake_sensor(6),
        ["emulate", "--family", "esm-sensor", "--scenario", "builtin", "--sensor", "B2",
         "--speed", str(SPEED), "--duration", "2.5", *extra], tmp_path, name="esm sensor")
    assert ready["family"] == "esm-sensor"
    return plots, counters, summary, chunks


@pytest.mark.slow                # an emulated run or emulator process: CI runs it with -m slow
def test_rig_emulate_sends_the_scenario_s_bearings_over_udp(tmp_path):
    plots, counters, summary, chunks = run_emulated(tmp_path)
    assert summary["send_errors"] == 0 and summary["plots_unencodable"] == 0
    assert len(plots) == summary["plots_sent"] > 50
    assert counters["frames_ok"] == summary["datagrams_sent"] == len(chunks)
    assert decoder_errors(counters) == counters["bytes_skipped"] == counters["seq_gaps"] == 0
    assert np.isnan(plots["range_m"]).all() and np.isnan(plots["range_rate_mps"]).all()
    assert (plots["sensor_id"] == 6).all() and (plots["t_arrival_ns"] > 0).all()
    # the same bearings, in the same order, as the scenario's model gives in this process
    expected = scenario_bearings(len(plots))
    np.testing.assert_allclose(plots["az_rad"], expected["az_rad"], rtol=0, atol=0.5e-6 + 1e-12)
    np.testing.assert_allclose(plots["el_rad"], expected["el_rad"], rtol=0, atol=0.5e-6 + 1e-12)
    # stamped by the sensor's clock over scenario time
    spec = load_scenario().sensor("B2")
    t_true = expected["t_sensor"] * SPEED
    stamped = plots["t_sensor"] - plots["t_sensor"][0]
    np.testing.assert_allclose(stamped, (1 + spec.clock_drift_ppm * 1e-6) * (t_true - t_true[0]),
                               rtol=0, atol=2e-6)
    # rig replay decodes what the driver's tap kept into the same plots
    replay = get_interface("esm-sensor").replay_decoder({"index": 6, "id": "B2", "sac": 0,
                                                         "sic": 7, "site_alt_m": 0.0})
    again = np.concatenate([replay.feed(data, t_ns) for t_ns, data in chunks])
    for field in PLOT_DTYPE.names:
        assert np.array_equal(again[field], plots[field], equal_nan=field != "seq"), field


@pytest.mark.slow                # an emulated run or emulator process: CI runs it with -m slow
def test_a_damaged_line_loses_bearings_but_hands_on_only_sent_ones(tmp_path):
    faults = [{"kind": "bit_errors", "at_s": 0.0, "duration_s": 2.0, "rate": 2e-3},
              {"kind": "duplicate_frames", "at_s": 0.0, "duration_s": 2.0, "probability": 0.3},
              {"kind": "garbage", "at_s": 0.5, "bytes": 1000},
              {"kind": "reorder_frames", "at_s": 1.0, "duration_s": 1.0, "probability": 0.2}]
    plots, counters, summary, _ = run_emulated(
        tmp_path, ["--faults", json.dumps(faults)])
    done = summary["faults"]
    assert done["frames_damaged"] > 0 and done["frames_duplicated"] > 0
    assert 0 < len(plots) < summary["plots_sent"] + 90 * done["frames_duplicated"]
    assert decoder_errors(counters) >= 1 and counters["duplicates"] >= 1
    assert counters["bytes_skipped"] >= 1000
    assert_only_possible_bearings(plots)
    expected = scenario_bearings(summary["plots_sent"])
    pairs = {(round(a, 6), round(e, 6)) for a, e in zip(expected["az_rad"], expected["el_rad"])}
    got = [(round(a, 6), round(e, 6)) for a, e in zip(plots["az_rad"], plots["el_rad"])]
    assert set(got) <= pairs
    assert len(set(got)) == len(got)            # no bearing handed on twice


@pytest.mark.slow                # an emulated run or emulator process: CI runs it with -m slow
def test_a_run_s_sensor_handle_opens_the_family_and_its_emulator(tmp_path):
    """As `rig run` starts an emulated esm-sensor: listening socket first, then `rig emulate`
    on the run's scenario and time line; its bearings on the run's time line."""
    from rig.bench.config import load_bench_config
    from rig.bench.sensor_handles import SensorHandle

    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump({"duration_s": 3, "sensors": [
        {"id": "B2", "family": "esm-sensor"}]}))
    loaded = load_bench_config(path)
    scenario_file = loaded.write_scenario(tmp_path / "scenario.yaml")
    handle = SensorHandle(3, loaded.config.sensors[0], loaded.radars[0])
    plots, _, summary = read_until_quiet(handle, scenario_file, 3.0, handle.read_plots)
    assert len(plots) == summary["plots_sent"] > 5
    assert np.isnan(plots["range_m"]).all() and (plots["sensor_id"] == 3).all()
    expected = ScenarioPlotSource(load_scenario(str(scenario_file)), "B2").take_until(10.0)
    expected = expected[:len(plots)]
    np.testing.assert_allclose(plots["az_rad"], expected["az_rad"], rtol=0, atol=0.5e-6 + 1e-12)
    # emulation time 0 is the run's start: bearings stamped on the run's time line
    np.testing.assert_allclose(plots["t_sensor"], expected["t_sensor"], rtol=0, atol=2e-6)


def test_emulate_refuses_a_listening_url_and_lists_its_flag(capsys):
    from rig.cli import main

    assert main(["emulate", "--family", "esm-sensor", "--port", "udp://@127.0.0.1:0",
                 "--duration", "0.1"]) == 2
    assert main(["emulate", "--family", "esm-sensor", "--port", "udp://127.0.0.1:9",
                 "--receiver-id", "70000", "--duration", "0.1"]) == 2
    with pytest.raises(SystemExit):
        main(["emulate", "--family", "esm-sensor", "--help"])
    assert "--receiver-id" in capsys.readouterr().out


def test_allow_from_refuses_other_senders():
    import socket

    family = get_interface("esm-sensor")
    sensor = fake_sensor(2, "udp://@127.0.0.1:0", allow_from=["127.0.0.2"])
    with family.open_early(sensor, None) as driver:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
            stranger.sendto(message(good_records(3)), ("127.0.0.1", driver.local_address[1]))
        deadline = time.monotonic() + WAIT_S
        while driver.counters()["datagrams_refused"] < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(driver.read_plots(timeout_s=0)) == 0
        assert driver.counters()["datagrams"] == 0


# --- bench config ----------------------------------------------------------------------------
def test_a_bench_config_takes_its_keys_and_refuses_others(tmp_path):
    from rig.bench.config import load_bench_config

    path = tmp_path / "bench.yaml"
    sensor = {"id": "B2", "family": "esm-sensor", "transport": "udp://@0.0.0.0:8640",
              "allow_from": ["10.0.0.7"]}
    path.write_text(yaml.safe_dump({"duration_s": 5, "mode": "bench", "sensors": [sensor]}))
    entry = load_bench_config(path).config.sensors[0]
    assert [str(a) for a in entry.options.allow_from] == ["10.0.0.7"]
    for bad, key in (({"baudrate": 9600}, "baudrate"),
                     ({"transport": "udp://10.0.0.7:8640"}, "transport")):
        path.write_text(yaml.safe_dump({"duration_s": 5, "mode": "bench",
                                        "sensors": [{**sensor, **bad}]}))
        with pytest.raises(ConfigError, match=rf"sensors\[0\]\.{key}") as e:
            load_bench_config(path)
        assert "esm-sensor" in str(e.value)


# --- rig monitor -------------------------------------------------------------------------------
def test_monitor_counts_every_bearing_sent_to_it():
    last = sent_over_udp_and_counted("esm-sensor", "esm-sensor", rate=200, name="esm sensor")
    # the receiver's clock reads UTC, which the monitor places: a latency, not hours
    assert 0 < float(last["latency_ms_p50"]) < 1000


def test_monitor_of_an_emulated_receiver_counts_to_the_last_bearing():
    emulated_and_counted("esm-sensor", "--rate", "100", "--duration", "2")



def test_the_shipped_schema_knows_the_family_s_keys():
    from importlib import resources

    schema = json.loads(resources.files("rig.schemas").joinpath("bench_config.schema.json")
                        .read_text())
    by_family = {branch["if"]["properties"]["family"]["const"]: branch["then"]["properties"]
                 for branch in schema["definitions"]["SensorEntry"]["allOf"]}
    assert "allow_from" in by_family["esm-sensor"] and "baudrate" not in by_family["esm-sensor"]


def test_the_emulator_imports_no_analysis_stack():
    assert analysis_stack_after(
        "import firmware_interfaces.esm_sensor.cli, firmware_interfaces.esm_sensor.family\n") == ""
