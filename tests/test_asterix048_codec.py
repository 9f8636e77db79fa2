"""The CAT048 codec, compiled and reference alike: round trips, structure, bad input.

The parametrised tests run on both codecs and property tests hold them to each other; the
rest use the codec rig uses (the pure-Python twin under ``RIG_PUREPYTHON=1``).
"""

import types

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_interfaces.asterix_radar import geometry, protocol as P, reference
from firmware_interfaces.asterix_radar.codec import asterix048
from rig._ext import asterix048 as compiled_048
from rig.errors import EncodeError
from rig.records import PLOT_DTYPE, empty_plots
from rig.records_asterix import CAT048_ITEMS_DTYPE
from rig.twins import is_twin, pure_python

from .asterix_helpers import assert_same_rows, random_items, random_plots, uap_datagrams

#: CI runs this file again on the pure-Python twins (RIG_PUREPYTHON=1)
pytestmark = pytest.mark.twins

CODECS = {
    "compiled": types.SimpleNamespace(encode=compiled_048.encode,
                                      Decoder=compiled_048.Cat048Decoder),
    "reference": types.SimpleNamespace(encode=reference.encode, Decoder=reference.Cat048Decoder),
}
SITE_ALT_M = 250.0


@pytest.fixture(params=sorted(CODECS))
def codec(request):
    return CODECS[request.param]


def decode_all(decoder, datagrams, t_arrival_ns=0):
    out = [decoder.feed_items(d, t_arrival_ns) for d in datagrams]
    if not out:
        return empty_plots(0), np.zeros(0, CAT048_ITEMS_DTYPE)
    return np.concatenate([o[0] for o in out]), np.concatenate([o[1] for o in out])


def assert_plots_match(decoded, plots, site_alt_m=SITE_ALT_M):
    assert len(decoded) == len(plots)
    assert np.all(np.abs(decoded["range_m"] - plots["range_m"]) <= P.RHO_SCALE_M / 2 + 1e-9)
    daz = np.angle(np.exp(1j * (decoded["az_rad"] - plots["az_rad"])))
    assert np.all(np.abs(daz) <= P.THETA_SCALE_RAD / 2 + 1e-12)
    tod = plots["t_sensor"] % 86400
    assert np.all(np.abs(decoded["t_sensor"] % 86400 - tod) <= P.TOD_SCALE_S / 2 + 1e-9)
    # the elevation comes back through the 25 ft height: compare heights
    h_in = geometry.height_from_elevation(plots["range_m"], plots["el_rad"], site_alt_m)
    h_out = geometry.height_from_elevation(decoded["range_m"], decoded["el_rad"], site_alt_m)
    # the decoded range differs by up to half a RHO unit, which moves the height a little
    slack = P.RHO_SCALE_M / 2 * np.abs(np.sin(plots["el_rad"])) + 1e-6
    assert np.all(np.abs(h_out - h_in) <= P.HEIGHT_SCALE_M / 2 + slack)
    rr = plots["range_rate_mps"]
    assert np.array_equal(np.isnan(decoded["range_rate_mps"]), np.isnan(rr) | (np.abs(rr) > 511.5))
    ok = ~np.isnan(decoded["range_rate_mps"])
    assert np.all(np.abs(decoded["range_rate_mps"][ok] - rr[ok]) <= 0.5)
    amp = plots["amplitude_db"]
    assert np.array_equal(np.isnan(decoded["amplitude_db"]), np.isnan(amp))
    assert np.all(np.abs(decoded["amplitude_db"][~np.isnan(amp)] - amp[~np.isnan(amp)]) <= 0.5 + 1e-5)
    assert np.array_equal(decoded["flags"], plots["flags"] & 3)


def test_round_trip_with_items_several_blocks_per_datagram(codec, rng):
    plots = random_plots(rng, 700)
    items = random_items(rng, 700)
    datagrams = codec.encode(plots, sac=4, sic=5, site_alt_m=SITE_ALT_M, items=items,
                             max_records_per_block=11)
    assert all(len(d) <= 1472 for d in datagrams)
    decoder = codec.Decoder(sensor_id=9, site_alt_m=SITE_ALT_M, day_start_s=0.0)
    decoded, got = decode_all(decoder, datagrams, t_arrival_ns=77)
    assert_plots_match(decoded, plots)
    assert np.all(decoded["sensor_id"] == 9) and np.all(decoded["t_arrival_ns"] == 77)
    assert np.array_equal(np.unique(decoded["seq"]), np.arange(len(datagrams)))
    assert np.all(got["sac"] == 4) and np.all(got["sic"] == 5) and np.all(got["typ"] == 1)
    mask = items["present"]
    for bit, field in ((0x01, "mode3a"), (0x01, "mode3a_flags"), (0x08, "aircraft_address"),
                       (0x10, "callsign"), (0x02, "fl_flags")):
        has = (mask & bit) != 0
        assert np.array_equal(got[field][has], items[field][has])
        assert np.all(got["present"][has] & bit)
    has = (mask & 0x02) != 0
    assert np.all(np.abs(got["flight_level"][has] - items["flight_level"][has]) <= 0.125)
    assert np.all(np.isnan(got["flight_level"][~has]))
    has = (mask & 0x20) != 0
    assert np.all(np.abs(got["ground_speed_mps"][has] - items["ground_speed_mps"][has])
                  <= P.GROUND_SPEED_SCALE_MPS / 2 + 1e-9)
    c = decoder.counters()
    assert c["plots_ok"] == c["records_ok"] == len(plots)
    assert c["records_bad"] == c["bytes_skipped"] == c["records_incomplete"] == 0
    assert c["blocks_ok"] >= -(-len(plots) // 11) and c["blocks_ok"] > len(datagrams)


def test_compiled_and_reference_agree_byte_for_byte_and_value_for_value(rng):
    plots = random_plots(rng, 2000)
    items = random_items(rng, 2000)
    a = compiled_048.encode(plots, sac=1, sic=2, site_alt_m=SITE_ALT_M, items=items,
                            max_records_per_block=37, max_datagram_bytes=3000)
    b = reference.encode(plots, sac=1, sic=2, site_alt_m=SITE_ALT_M, items=items,
                         max_records_per_block=37, max_datagram_bytes=3000)
    assert a == b
    noisy = [bytes(d[:k]) + bytes([d[k] ^ 0x41]) + bytes(d[k + 1:])
             for d, k in zip(a, rng.integers(0, 200, len(a)))]
    dc = compiled_048.Cat048Decoder(sensor_id=1, site_alt_m=SITE_ALT_M)
    dr = reference.Cat048Decoder(sensor_id=1, site_alt_m=SITE_ALT_M)
    pc, ic = decode_all(dc, noisy)
    pr, ir = decode_all(dr, noisy)
    for out_c, out_r in ((pc, pr), (ic, ir)):
        for name in out_c.dtype.names:
            x, y = out_c[name], out_r[name]
            if x.dtype.kind == "f":
                np.testing.assert_allclose(x, y, rtol=0, atol=1e-9)
            else:
                assert np.array_equal(x, y), name
    assert dc.counters() == dr.counters()


def test_record_layout_follows_the_uap():
    plots = empty_plots(1)
    plots[0] = (3600.5, 0, 1852.0, np.pi / 2, 0.0, -3.0, -7.0, 0, 0x0003, 0)
    (datagram,) = asterix048.encode(plots, sac=0x12, sic=0x34, site_alt_m=0.0)
    # CAT, LEN; FSPEC 0xFF 0x05 0x18: FRN 1-7, FRN 14? no: octet 2 = FX only -> octet 3
    assert datagram[0] == 48 and int.from_bytes(datagram[1:3], "big") == len(datagram)
    rec = datagram[3:]
    fspec_len, at = reference.walk_record(rec, 0, len(rec))
    assert fspec_len == len(rec)
    assert sorted(at) == [1, 2, 3, 4, 7, 16, 19, 20]
    assert rec[at[1]:at[1] + 2] == b"\x12\x34"
    assert int.from_bytes(rec[at[2]:at[2] + 3], "big") == 3600 * 128 + 64
    assert rec[at[3]] == 0x30                                  # TYP 1, SIM
    assert rec[at[4]:at[4] + 4] == (256).to_bytes(2, "big") + (0x4000).to_bytes(2, "big")
    assert rec[at[7]:at[7] + 2] == b"\x08\xf9"                 # PAM -7 dBm
    assert rec[at[16]] == 13 << 1                              # target in clutter area
    assert rec[at[20]:at[20] + 3] == b"\x80\x03\xfd"           # CAL -3 m/s


@pytest.mark.parametrize("module", [compiled_048, reference], ids=["compiled", "reference"])
def test_geometry_matches_the_codec_and_rig_geodesy(module):
    r = np.array([1e3, 5e4, 1e5, 3e5, 4.5e5])
    el = np.array([0.3, 0.05, -0.002, 0.1, 0.01])
    h = geometry.height_from_elevation(r, el, 812.0)
    for k in range(len(r)):
        assert module.height_m(r[k], el[k], 812.0) == pytest.approx(h[k], abs=1e-6)
        assert module.elevation_rad(r[k], h[k], 812.0) == pytest.approx(el[k], abs=1e-12)
    np.testing.assert_allclose(geometry.elevation_from_height(r, h, 812.0), el, atol=1e-12)
    geodesy = pytest.importorskip("rig.geodesy")
    np.testing.assert_allclose(geodesy.height_from_elevation(r, el, 812.0), h, atol=1e-6)
    assert module.EARTH_RADIUS == geometry.EARTH_RADIUS_M


def test_time_of_day_wraps_onto_a_continuous_line(codec):
    plots = random_plots(np.random.default_rng(3), 50, t0=86_395.0)
    datagrams = codec.encode(plots, sac=0, sic=1, max_records_per_block=5, max_datagram_bytes=200)
    decoder = codec.Decoder(day_start_s=0.0)
    decoded, _ = decode_all(decoder, datagrams)
    np.testing.assert_allclose(decoded["t_sensor"], plots["t_sensor"], atol=1 / 256 + 1e-9)


def test_sources_map_sac_sic_to_sensor_and_site(codec, rng):
    a = random_plots(rng, 20)
    b = random_plots(rng, 20)
    datagrams = (codec.encode(a, sac=1, sic=1, site_alt_m=10.0)
                 + codec.encode(b, sac=1, sic=2, site_alt_m=900.0))
    decoder = codec.Decoder(sensor_id=0, site_alt_m=10.0)
    decoder.set_source(1, 2, 5, 900.0)
    decoded, _ = decode_all(decoder, datagrams)
    assert list(np.unique(decoded["sensor_id"][:20])) == [0]
    assert list(np.unique(decoded["sensor_id"][20:])) == [5]
    assert_plots_match(decoded[20:], b, site_alt_m=900.0)


def test_only_named_sources_are_believed(codec, rng):
    genuine = random_plots(rng, 10)
    forged = random_plots(rng, 500)
    datagrams = (codec.encode(forged[:250], sac=99, sic=99, site_alt_m=10.0)
                 + codec.encode(genuine, sac=0, sic=2, site_alt_m=10.0)
                 + codec.encode(forged[250:], sac=7, sic=3, site_alt_m=10.0))
    decoder = codec.Decoder(sensor_id=1, site_alt_m=10.0)
    decoder.set_source(0, 2, 1, 10.0)
    decoder.only_named_sources()
    decoded, _ = decode_all(decoder, datagrams)
    assert_plots_match(decoded, genuine, site_alt_m=10.0)
    c = decoder.counters()
    assert c["records_foreign"] == 500 and c["plots_ok"] == 10 and c["records_incomplete"] == 0
    assert decoder.foreign_sources() == [(99, 99), (7, 3)]


def test_foreign_sources_keep_the_first_eight(codec, rng):
    decoder = codec.Decoder(sensor_id=1)
    decoder.set_source(0, 2, 1, 0.0)
    decoder.only_named_sources()
    for sic in range(20):
        decode_all(decoder, codec.encode(random_plots(rng, 1), sac=5, sic=sic))
    assert decoder.foreign_sources() == [(5, sic) for sic in range(8)]
    assert decoder.counters()["records_foreign"] == 20


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_garbage_never_becomes_a_named_sources_plot_unless_it_carries_its_address(data):
    for impl in CODECS.values():
        decoder = impl.Decoder(sensor_id=3)
        decoder.set_source(0, 2, 3, 0.0)
        decoder.only_named_sources()
        plots, items = decoder.feed_items(data)
        assert np.all(items["sac"] == 0) and np.all(items["sic"] == 2)
        assert np.all(plots["sensor_id"] == 3)


# --- bad input ---------------------------------------------------------------------------
def block(records: bytes, cat: int = 48, length: int | None = None) -> bytes:
    return bytes([cat]) + (len(records) + 3 if length is None else length).to_bytes(2, "big") + records


def good_records(n: int, seed: int = 1) -> bytes:
    (d,) = asterix048.encode(random_plots(np.random.default_rng(seed), n), sac=1, sic=1)
    return d[3:]


def test_unknown_category_is_counted_and_skipped(codec):
    data = block(b"\x01\x02\x03\x04", cat=21) + block(good_records(3))
    decoder = codec.Decoder()
    assert len(decoder.feed(data)) == 3
    assert decoder.blocks_other_category == 1 and decoder.bytes_skipped == 7


def test_len_longer_than_the_datagram_is_counted(codec):
    data = block(good_records(3)) + block(good_records(2), length=500)
    decoder = codec.Decoder()
    assert len(decoder.feed(data)) == 3
    assert decoder.blocks_truncated == 1


def test_len_shorter_than_its_records_counts_the_overrun_and_goes_on(codec):
    recs = good_records(4)
    short = block(recs, length=len(recs) + 3 - 5)           # cuts the last record
    data = short + recs[-5:] + block(good_records(2))
    decoder = codec.Decoder()
    plots = decoder.feed(data)
    assert decoder.records_bad == 1
    assert len(plots) >= 3                                   # the whole records before it
    assert decoder.blocks_other_category + decoder.blocks_bad_length + decoder.blocks_truncated >= 1


@pytest.mark.parametrize("length", [0, 1, 2])
def test_len_below_the_header_size_stops_the_datagram(codec, length):
    decoder = codec.Decoder()
    assert len(decoder.feed(block(good_records(2), length=length))) == 0
    assert decoder.blocks_bad_length == 1


def test_fspec_that_never_ends(codec):
    data = block(b"\xff" * 40) + block(good_records(2))
    decoder = codec.Decoder()
    assert len(decoder.feed(data)) == 2
    assert decoder.records_bad == 1 and decoder.bytes_skipped == 40


def test_truncated_header_and_empty_datagram(codec):
    decoder = codec.Decoder()
    assert len(decoder.feed(b"\x30\x00")) == 0
    assert len(decoder.feed(b"")) == 0
    assert decoder.blocks_truncated == 1 and decoder.datagrams == 2


def test_record_without_mandatory_items_is_incomplete(codec):
    decoder = codec.Decoder()
    assert len(decoder.feed(block(b"\x80\x01\x02"))) == 0    # I048/010 only
    assert decoder.records_incomplete == 1 and decoder.records_ok == 1


def test_items_rig_does_not_use_are_skipped_by_their_lengths(codec):
    # FRN 1, 2, 4 + FRN 10 (I048/250, 2 x 8 octets) + FRN 14 (I048/170, 2 octets) +
    # FRN 20 (I048/120 with RDS: REP 1 x 6) + FRN 27 (SP, 3 octets)
    fspec = bytes([0xD1, 0x23, 0x05, 0x04])
    body = (b"\x01\x02" + b"\x00\x00\x80" + b"\x01\x00\x40\x00" + b"\x02" + b"A" * 16
            + b"\x01\x00" + b"\x40\x01" + b"\x01\x02\x03\x04\x05\x06" + b"\x03zz")
    data = block(fspec + body) + block(good_records(1))
    decoder = codec.Decoder()
    plots = decoder.feed(data)
    assert len(plots) == 2 and decoder.records_bad == 0
    assert plots[0]["range_m"] == pytest.approx(1852.0) and np.isnan(plots[0]["range_rate_mps"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=3000), name=st.sampled_from(sorted(CODECS)))
def test_arbitrary_bytes_never_crash(data, name):
    decoder = CODECS[name].Decoder()
    plots, items = decoder.feed_items(data)
    assert plots.dtype == PLOT_DTYPE and len(items) == len(plots)
    c = decoder.counters()
    assert c["bytes_skipped"] <= len(data)


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(0, 2000), flip=st.integers(0, 2000), bit=st.integers(0, 7),
       cat_byte=st.sampled_from([48, 62, 1, 255]))
def test_damaged_real_datagrams_agree_between_codecs(cut, flip, bit, cat_byte):
    (d,) = asterix048.encode(random_plots(np.random.default_rng(5), 40), sac=1, sic=1,
                             items=random_items(np.random.default_rng(6), 40))
    d = bytearray(d + block(good_records(3), cat=cat_byte))
    d[flip % len(d)] ^= 1 << bit
    d = bytes(d[:cut])
    dc, dr = compiled_048.Cat048Decoder(), reference.Cat048Decoder()
    pc, pr = dc.feed(d), dr.feed(d)
    assert len(pc) == len(pr) and dc.counters() == dr.counters()
    np.testing.assert_allclose(pc["range_m"], pr["range_m"])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datagrams=st.lists(uap_datagrams(48, P.UAP, {1, 2, 4}), min_size=1, max_size=3))
def test_decoders_agree_on_every_item_of_the_uap(datagrams):
    """Records of any items of the UAP with any content: the same plots, items and counters
    (elevations to 1e-9 rad: the twin's arcsine is numpy's)."""
    dc = compiled_048.Cat048Decoder(sensor_id=2, site_alt_m=SITE_ALT_M)
    dr = reference.Cat048Decoder(sensor_id=2, site_alt_m=SITE_ALT_M)
    for decoder in (dc, dr):
        decoder.set_source(1, 2, 7, 900.0)
    for d in datagrams:
        (pc, ic), (pr, ir) = dc.feed_items(d, 5), dr.feed_items(d, 5)
        assert_same_rows(pc, pr, atol=1e-9)
        assert_same_rows(ic, ir)
        assert dc.counters() == dr.counters()


@pytest.mark.parametrize("field,value", [
    ("range_m", -5.0), ("range_m", 5e5), ("az_rad", np.inf), ("el_rad", 1.2),
    ("t_sensor", np.nan), ("amplitude_db", 200.0),
])
def test_unencodable_values_raise_naming_the_field(codec, field, value):
    plots = random_plots(np.random.default_rng(3), 3)
    plots["range_m"] = 300e3
    plots[1][field] = value
    with pytest.raises(EncodeError, match=f"plot 1: {field}"):
        codec.encode(plots, sac=0, sic=0)
    assert not P.encodable(plots, 0.0)[1] and P.encodable(plots, 0.0)[[0, 2]].all()


def test_range_rate_beyond_the_wire_is_sent_as_doubtful(codec):
    plots = random_plots(np.random.default_rng(1), 2)
    plots["range_rate_mps"] = [900.0, -700.0]
    decoded = codec.Decoder().feed(codec.encode(plots, sac=0, sic=0)[0])
    assert np.isnan(decoded["range_rate_mps"]).all()


def test_wrong_inputs(codec):
    with pytest.raises(TypeError):
        codec.encode(np.zeros(3), sac=0, sic=0)
    with pytest.raises(ValueError):
        codec.encode(empty_plots(1), sac=300, sic=0)
    with pytest.raises(ValueError):
        codec.Decoder(sensor_id=70000)


def test_compiled_and_reference_expose_the_same_counters():
    assert compiled_048.COUNTER_NAMES == reference.COUNTER_NAMES
    assert compiled_048.EDITION == reference.EDITION == P.EDITION == "1.31"
    for name in ("CATEGORY_NUMBER", "MAX_RECORD_BYTES", "EARTH_RADIUS"):
        assert getattr(compiled_048, name) == getattr(reference, name), name


def test_rig_uses_the_twin_exactly_when_RIG_PUREPYTHON_is_set():
    assert is_twin(asterix048) == pure_python()
