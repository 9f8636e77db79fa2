"""The serial codec, compiled and reference alike: round trips, chunking, corruption.

Every codec test runs on both (the ``codec`` fixture) and property tests hold them to each
other; rig itself uses the twin under ``RIG_PUREPYTHON=1``.
"""

import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_interfaces.serial_sensor import protocol as P
from firmware_interfaces.serial_sensor import codec as switched, reference
from rig._ext import serial_codec
from rig.errors import EncodeError
from rig.records import PLOT_DTYPE, empty_plots
from rig.twins import is_twin, pure_python

from .conftest import CODECS
from .serial_helpers import decode_all, frames_of, random_plots

#: CI runs this file again on the pure-Python twins (RIG_PUREPYTHON=1)
pytestmark = pytest.mark.twins

T_FRAME_NS = 5_000_000_000_000  # a sensor clock 5000 s after its epoch
HALF_BAM = np.pi / 2**32 + 1e-15


@pytest.mark.parametrize("module", [serial_codec, reference], ids=["compiled", "reference"])
def test_constants_agree_between_protocol_and_codec(module):
    assert module.SYNC == P.SYNC
    assert module.PROTOCOL_VERSION == P.VERSION
    assert module.HEADER_BYTES == P.HEADER_SIZE == 20
    assert module.FRAME_OVERHEAD_BYTES == P.FRAME_OVERHEAD
    assert module.PLOT_RECORD_BYTES == P.PLOT_RECORD_SIZE == 24
    assert module.MAX_PLOTS == P.MAX_PLOTS_PER_FRAME
    assert module.MAX_PAYLOAD_BYTES == P.MAX_PAYLOAD
    assert module.MAX_FRAME_BYTES == P.MAX_FRAME


def test_rig_uses_the_twin_exactly_when_RIG_PUREPYTHON_is_set():
    assert is_twin(switched.serial_codec) == pure_python()
    assert switched.SerialFrameDecoder is switched.serial_codec.SerialFrameDecoder


def test_frame_layout_matches_the_documented_offsets(codec):
    frame = codec.encode_frame(P.MSG_PING, 0x01020304, -5, b"\xaa" * 8)
    assert frame[0:2] == b"\xeb\x90"
    assert frame[2] == 1 and frame[3] == P.MSG_PING
    assert int.from_bytes(frame[4:6], "little") == 8
    assert int.from_bytes(frame[6:10], "little") == 0x01020304
    assert int.from_bytes(frame[10:18], "little", signed=True) == -5
    # CRC-16/CCITT-FALSE check value of "123456789" is 0x29B1; the header CRC uses the same
    import binascii
    assert binascii.crc_hqx(b"123456789", 0xFFFF) == 0x29B1
    assert int.from_bytes(frame[18:20], "little") == binascii.crc_hqx(frame[:18], 0xFFFF)
    assert frame[20:28] == b"\xaa" * 8
    assert int.from_bytes(frame[28:32], "little") == zlib.crc32(frame[:28])
    assert len(frame) == 32


def test_plot_record_scales(codec):
    plots = empty_plots(1)
    plots[0] = (0.0, 0, 1234.567, np.pi, -np.pi / 4, -12.345, 42.42, 0, 0x8001, 0)
    frame = codec.encode_plots(plots, 1, 0)
    rec = frame[20:44]
    assert int.from_bytes(rec[0:4], "little") == 1234567
    assert int.from_bytes(rec[4:8], "little") == 2**31
    assert int.from_bytes(rec[8:12], "little", signed=True) == -(2**29)
    assert int.from_bytes(rec[12:16], "little", signed=True) == -12345
    assert int.from_bytes(rec[16:18], "little", signed=True) == 4242
    assert int.from_bytes(rec[18:20], "little") == 0x8001
    assert int.from_bytes(rec[20:24], "little", signed=True) == 0


def assert_same_within_wire_resolution(decoded, original):
    assert len(decoded) == len(original)
    np.testing.assert_allclose(decoded["range_m"], original["range_m"], rtol=0, atol=0.0005 + 1e-9)
    daz = np.angle(np.exp(1j * (decoded["az_rad"] - original["az_rad"])))
    assert np.all(np.abs(daz) <= HALF_BAM + 1e-12 * np.abs(original["az_rad"]))
    assert np.all((decoded["az_rad"] >= 0) & (decoded["az_rad"] < 2 * np.pi))
    np.testing.assert_allclose(decoded["el_rad"], original["el_rad"], rtol=0, atol=HALF_BAM)
    nan = np.isnan(original["range_rate_mps"])
    assert np.array_equal(np.isnan(decoded["range_rate_mps"]), nan)
    np.testing.assert_allclose(decoded["range_rate_mps"][~nan], original["range_rate_mps"][~nan],
                               rtol=0, atol=0.0005 + 1e-9)
    np.testing.assert_allclose(decoded["amplitude_db"], original["amplitude_db"], rtol=0,
                               atol=0.005 + 1e-4)
    np.testing.assert_allclose(decoded["t_sensor"], original["t_sensor"], rtol=0, atol=0.5e-6 + 1e-9)
    assert np.array_equal(decoded["flags"], original["flags"])


finite = dict(allow_nan=False, allow_infinity=False)
plot_rows = st.tuples(
    st.floats(0.0, 4_294_967.0, **finite),                 # range_m
    st.floats(-50.0, 50.0, **finite),                      # az_rad, any angle
    st.floats(-np.pi / 2, np.pi / 2, **finite),            # el_rad
    st.one_of(st.just(np.nan), st.floats(-2_000_000.0, 2_000_000.0, **finite)),
    st.floats(-327.5, 327.5, **finite, width=32),           # amplitude_db
    st.integers(0, 2**16 - 1),                             # flags
    st.floats(-2000.0, 2000.0, **finite),                  # t_sensor offset from frame, s
)


def plots_from_rows(rows):
    plots = empty_plots(len(rows))
    for i, (r, az, el, rr, amp, flags, dt) in enumerate(rows):
        plots[i] = (T_FRAME_NS * 1e-9 + dt, 0, r, az, el, rr, amp, 7, flags, 0)
    return plots


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(plot_rows, max_size=600), per_frame=st.integers(1, 256),
       cuts=st.lists(st.integers(0, 20000), max_size=30), name=st.sampled_from(sorted(CODECS)))
def test_round_trip_any_plots_any_chunking(rows, per_frame, cuts, name):
    codec = CODECS[name]
    plots = plots_from_rows(rows)
    stream = b"".join(frames_of(codec, plots, per_frame, first_seq=2**32 - 3, t_frame_ns=T_FRAME_NS))
    bounds = sorted({min(c, len(stream)) for c in cuts} | {0, len(stream)})
    chunks = [stream[a:b] for a, b in zip(bounds, bounds[1:])]
    decoder = codec.Decoder(sensor_id=7)
    decoded = decode_all(decoder, chunks, t_arrival_ns=99)
    assert_same_within_wire_resolution(decoded, plots)
    assert np.all(decoded["sensor_id"] == 7) and np.all(decoded["t_arrival_ns"] == 99)
    c = decoder.counters()
    assert c["plots_ok"] == len(plots)
    assert c["bytes_skipped"] == c["crc_errors"] == c["header_errors"] == c["seq_gaps"] == 0
    assert c["seq_restarts"] == 0  # the sequence wraps through 2**32 without a restart
    assert decoder.buffered == 0
    # encoding what was decoded gives the same bytes: decoding loses nothing the wire carries
    again = b"".join(frames_of(codec, decoded, per_frame, first_seq=2**32 - 3, t_frame_ns=T_FRAME_NS))
    assert again == stream


def test_compiled_and_reference_agree_bit_for_bit(rng):
    plots = random_plots(rng, 5000)
    a = b"".join(frames_of(CODECS["compiled"], plots, 200))
    b = b"".join(frames_of(CODECS["reference"], plots, 200))
    assert a == b
    noisy = bytearray(a)
    for i in rng.integers(0, len(noisy), 40):
        noisy[i] ^= 1 << int(rng.integers(0, 8))
    chunks = [bytes(noisy[i:i + 977]) for i in range(0, len(noisy), 977)]
    dc = CODECS["compiled"].Decoder(sensor_id=3)
    dr = CODECS["reference"].Decoder(sensor_id=3)
    out_c = decode_all(dc, chunks, 5)
    out_r = decode_all(dr, chunks, 5)
    for field in PLOT_DTYPE.names:  # bit for bit, field by field (padding is undefined)
        assert np.ascontiguousarray(out_c[field]).tobytes() == np.ascontiguousarray(out_r[field]).tobytes()
    assert dc.counters() == dr.counters()


def test_many_frames_in_one_read_and_garbage_between(codec, rng):
    plots = random_plots(rng, 1000)
    frames = frames_of(codec, plots, 100)
    garbage = [bytes(rng.integers(0, 256, int(rng.integers(0, 300)), dtype=np.uint8)) for _ in frames]
    stream = b"".join(g + f for g, f in zip(garbage, frames))
    decoder = codec.Decoder()
    decoded = decoder.feed(stream)
    assert_same_within_wire_resolution(decoded, plots)
    # every garbage byte is skipped and counted (a stray sync word in garbage may fail its
    # header CRC first, which also ends as skipped bytes)
    assert decoder.bytes_skipped == sum(map(len, garbage))


def test_every_untouched_frame_is_recovered_and_every_touched_one_counted(codec, rng):
    plots = random_plots(rng, 3000)
    frames = frames_of(codec, plots, 50)
    touched = set(rng.choice(len(frames), 15, replace=False).tolist())
    damaged = []
    for k, f in enumerate(frames):
        f = bytearray(f)
        if k in touched:
            kind = k % 3
            at = int(rng.integers(0, len(f)))
            if kind == 0:
                f[at] ^= 0x5A                       # flip bits
            elif kind == 1:
                del f[at]                           # drop a byte
            else:
                f.insert(at, int(rng.integers(0, 256)))  # insert a byte
        damaged.append(bytes(f))
    stream = b"".join(damaged)
    decoder = codec.Decoder()
    decoded = decode_all(decoder, [stream[i:i + 4096] for i in range(0, len(stream), 4096)])
    good_seqs = sorted(set(range(len(frames))) - touched)
    assert sorted(set(decoded["seq"].tolist())) == good_seqs
    for k in good_seqs:
        assert_same_within_wire_resolution(decoded[decoded["seq"] == k], plots[k * 50:(k + 1) * 50])
    c = decoder.counters()
    assert c["frames_ok"] == len(good_seqs)
    assert c["seq_gaps"] == len(touched)       # each lost frame is a missing sequence number
    assert c["crc_errors"] + c["header_errors"] + c["bad_frames"] >= 1
    assert c["bytes_skipped"] > 0


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=5000), name=st.sampled_from(sorted(CODECS)))
def test_arbitrary_bytes_never_raise(data, name):
    decoder = CODECS[name].Decoder()
    out = decoder.feed(data)
    assert out.dtype == PLOT_DTYPE
    assert decoder.buffered <= len(data)


def test_corrupt_length_field_cannot_grow_the_buffer(codec):
    # a header claiming the largest u16 length with a valid header CRC (a hostile sender)
    frame = bytearray(codec.encode_frame(P.MSG_STATUS, 1, 0, b""))
    frame[4:6] = (0xFFFF).to_bytes(2, "little")
    import binascii
    frame[18:20] = binascii.crc_hqx(bytes(frame[:18]), 0xFFFF).to_bytes(2, "little")
    decoder = codec.Decoder(capacity=2 * P.MAX_FRAME)
    decoder.feed(bytes(frame) + b"\x00" * 100_000)
    assert decoder.bad_frames == 1
    assert decoder.buffered < 2 * P.MAX_FRAME
    good = codec.encode_plots(random_plots(np.random.default_rng(1), 3), 2, 0)
    assert len(decoder.feed(good)) == 3


def test_huge_feed_is_processed_in_bounded_pieces(codec, rng):
    plots = random_plots(rng, 20_000)
    stream = b"".join(frames_of(codec, plots, 256))
    assert len(stream) > 4 * 2 * P.MAX_FRAME
    decoder = codec.Decoder(capacity=2 * P.MAX_FRAME)
    decoded = decoder.feed(stream)
    assert len(decoded) == len(plots)


def test_control_messages_are_queued_in_order(codec):
    stream = (codec.encode_frame(P.MSG_ACK, 10, 111, P.ACK.pack(P.MSG_START, 0, 0, 3))
              + codec.encode_plots(random_plots(np.random.default_rng(2), 4), 11, 0)
              + codec.encode_frame(P.MSG_STATUS, 12, 222, b"\x01" * 32))
    decoder = codec.Decoder()
    plots = decoder.feed(stream)
    assert len(plots) == 4
    msgs = decoder.messages()
    assert [(m[0], m[1], m[2]) for m in msgs] == [(P.MSG_ACK, 10, 111), (P.MSG_STATUS, 12, 222)]
    assert P.ACK.unpack(msgs[0][3]) == (P.MSG_START, 0, 0, 3)
    assert decoder.messages() == []


def test_message_queue_is_bounded(codec):
    decoder = codec.Decoder(max_messages=5)
    decoder.feed(b"".join(codec.encode_frame(P.MSG_STATUS, i, 0, b"") for i in range(8)))
    assert len(decoder.messages()) == 5
    assert decoder.messages_dropped == 3


def test_sequence_gaps_and_restarts(codec):
    f = lambda seq: codec.encode_frame(P.MSG_STATUS, seq, 0, b"")  # noqa: E731
    decoder = codec.Decoder()
    decoder.feed(f(5) + f(6) + f(9) + f(2) + f(3))
    assert decoder.seq_gaps == 2        # 7 and 8 missing
    assert decoder.seq_restarts == 1    # 9 -> 2 went backwards
    decoder.reset()
    decoder.feed(f(100))
    assert decoder.seq_gaps == 2 and decoder.seq_restarts == 1


@pytest.mark.parametrize("field,value", [
    ("range_m", -1.0), ("range_m", 5e6), ("range_m", np.nan), ("az_rad", np.inf),
    ("el_rad", 2.0), ("range_rate_mps", 3e6), ("amplitude_db", 400.0), ("t_sensor", 1e4),
])
def test_unencodable_values_raise_naming_the_field(codec, field, value):
    plots = random_plots(np.random.default_rng(3), 3, t0=0.0)
    plots[1][field] = value
    with pytest.raises(EncodeError, match=f"plot 1: {field}"):
        codec.encode_plots(plots, 0, 0)


def test_too_many_plots_and_wrong_dtype(codec):
    with pytest.raises(EncodeError):
        codec.encode_plots(empty_plots(257), 0, 0)
    with pytest.raises(TypeError):
        codec.encode_plots(np.zeros(3), 0, 0)
    with pytest.raises(EncodeError):
        codec.encode_frame(1, 0, 0, b"\0" * (P.MAX_PAYLOAD + 1))


def test_decoder_rejects_unbounded_capacity_settings(codec):
    with pytest.raises(ValueError):
        codec.Decoder(capacity=100)
    with pytest.raises(ValueError):
        codec.Decoder(sensor_id=70000)


def test_reference_module_and_compiled_module_expose_the_same_counters():
    assert serial_codec.COUNTER_NAMES == reference.COUNTER_NAMES


def test_a_repeated_frame_is_dropped_as_a_duplicate(codec, rng):
    plots = random_plots(rng, 6)
    a = codec.encode_plots(plots[:3], 7, 0)
    b = codec.encode_plots(plots[3:], 8, 0)
    decoder = codec.Decoder()
    out = decoder.feed(a + a + b + b + b)
    assert len(out) == 6 and list(out["seq"]) == [7, 7, 7, 8, 8, 8]
    assert decoder.duplicates == 3 and decoder.seq_gaps == decoder.seq_restarts == 0
