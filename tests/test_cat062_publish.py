"""CAT062 encoder/decoder, the publisher, and HDLC framing for serial feeds.

The codec tests run on the compiled codec and its pure-Python twin alike, and property tests
hold the two to each other; the publisher tests use the codec rig uses (the twin under
``RIG_PUREPYTHON=1``).
"""

import math
import select

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rig._ext import asterix062 as compiled_062
from rig._ext import hdlc_framing as compiled_hdlc
from rig.errors import EncodeError, TransportError
from rig.publish import Cat062Publisher, Feeds, Origin, decode_tracks, geodetic_of_tracks
from rig.publish.cat062 import vertical_accuracies
from rig.publish import cat062_format as F
from rig.publish import cat062_reference, hdlc_reference
from rig.publish.codec import HdlcDecoder, asterix062
from rig.records import TRACK_DTYPE, empty_tracks
from rig.records_asterix import ITEM_062_500
from rig.transport import UdpTransport, open_transport
from rig.twins import is_twin, pure_python

from .asterix_helpers import (
    assert_same_rows, outcome, random_tracks, uap_datagrams,
)

#: CI runs this file again on the pure-Python twins (RIG_PUREPYTHON=1)
pytestmark = pytest.mark.twins

ORIGIN = Origin(48.7, 2.2, 80.0)
CODECS = {"compiled": compiled_062, "reference": cat062_reference}


@pytest.fixture(params=sorted(CODECS))
def cat062(request):
    """Each CAT062 codec in turn: the same tests hold both."""
    return CODECS[request.param]


def test_rig_uses_the_twin_exactly_when_RIG_PUREPYTHON_is_set():
    assert is_twin(asterix062) == pure_python()
    assert asterix062.COUNTER_NAMES == compiled_062.COUNTER_NAMES
    for name in ("CATEGORY_NUMBER", "EDITION", "MAX_RECORD_BYTES", "SP_FORMAT_VERSION"):
        assert getattr(cat062_reference, name) == getattr(compiled_062, name), name


class Sink:
    """A transport stand-in that keeps what is written."""

    def __init__(self, datagram_oriented=True):
        self.datagram_oriented = datagram_oriented
        self.written = []

    def write(self, data):
        self.written.append(bytes(data))

    def close(self):
        pass


def test_round_trip_through_publisher_and_decoder(rng):
    tracks = random_tracks(rng, 1000)
    sink = Sink()
    publisher = Cat062Publisher(ORIGIN, 5, 6, sink, partner_sources={0: (1, 1), 2: (2, 2)})
    n = publisher.publish(tracks, t_tod_s=tracks["t"])
    assert n == len(sink.written) > 1 and all(len(d) <= 1472 for d in sink.written)
    decoder = asterix062.Cat062Decoder()
    got = [decode_tracks(decoder, d, ORIGIN) for d in sink.written]
    out = np.concatenate([g[0] for g in got])
    info = np.concatenate([g[1] for g in got])
    assert out.dtype == TRACK_DTYPE and len(out) == len(tracks)
    assert np.array_equal(out["track_id"], tracks["track_id"])
    assert np.array_equal(out["status"], tracks["status"])
    assert np.array_equal(out["partners"], tracks["partners"])
    for name, tol in (("east", 0.25), ("north", 0.25), ("v_east", 0.125), ("v_north", 0.125),
                      ("t", 1 / 256)):
        assert np.max(np.abs(out[name] - tracks[name])) <= tol + 1e-9, name
    # up from WGS-84 and the 6.25 ft altitude; v_up from the 6.25 ft/min climb rate
    assert np.max(np.abs(out["up"] - tracks["up"])) <= F.ALTITUDE_SCALE_M / 2 + 0.7
    assert np.max(np.abs(out["v_up"] - tracks["v_up"])) <= 0.05
    has = ~np.isnan(tracks["partner_t_last"])
    assert np.array_equal(has, ~np.isnan(out["partner_t_last"]))
    assert np.max(np.abs(out["partner_t_last"][has] - tracks["partner_t_last"][has])) <= 1 / 256 + 1e-9
    assert np.all(info["sac"] == 5) and np.all(info["sic"] == 6)
    c = decoder.counters()
    assert c["tracks_ok"] == 1000 and c["records_bad"] == c["sp_foreign"] == 0
    assert publisher.counters()["tracks_sent"] == 1000


def test_provenance_last_sensor_and_ages(cat062):
    tracks = empty_tracks(1)
    tracks[0]["t"] = 100.0
    tracks[0]["partners"] = 0b1010
    tracks[0]["partner_t_last"][1] = 97.5
    tracks[0]["partner_t_last"][3] = 99.0
    (d,) = cat062.encode(tracks, [48.0], [2.0], [1000.0], [0.0], 100.0, sac=1, sic=2,
                         partner_sources={1: (11, 1), 3: (33, 3)})
    out, info = cat062.Cat062Decoder().feed(d)
    assert (info["last_sac"][0], info["last_sic"][0]) == (33, 3)   # partner 3 was newest
    assert info["psr_age_s"][0] == 1.0
    sp = d[-8:]
    assert sp == bytes([8, 1]) + (0b1010).to_bytes(2, "big") + (320).to_bytes(2, "big") + (128).to_bytes(2, "big")
    assert out["partner_t_last"][0][1] == 97.5 and out["partner_t_last"][0][3] == 99.0


@pytest.mark.parametrize("status,octets", [(0, "tentative"), (1, "confirmed"), (2, "coasting"),
                                           (3, "deleted")])
def test_track_status_octets(cat062, status, octets):
    tracks = empty_tracks(1)
    tracks["status"] = status
    (d,) = cat062.encode(tracks, [0.0], [0.0], [np.nan], [np.nan], 0.0, sac=0, sic=0)
    want = F.STATUS_OCTETS[octets]
    # record: CAT LEN | FSPEC (2 octets: FRN 1-13) | 010 015 070 105 100 185 | 040 | 080
    assert d[3 + 2 + 2 + 1 + 3 + 8 + 6 + 4 + 2:][:len(want)] == want
    assert cat062.Cat062Decoder().feed(d)[0]["status"][0] == status


def test_unencodable_values_raise_naming_the_field(cat062):
    tracks = empty_tracks(2)
    tracks[1]["east"] = 5e6
    with pytest.raises(EncodeError, match="track 1: east"):
        cat062.encode(tracks, 0.0, 0.0, 0.0, 0.0, 0.0, sac=0, sic=0)
    tracks = empty_tracks(2)
    tracks[0]["partners"] = 1 << 20
    with pytest.raises(EncodeError, match="track 0: partners"):
        cat062.encode(tracks, 0.0, 0.0, 0.0, 0.0, 0.0, sac=0, sic=0)
    with pytest.raises(EncodeError, match="track 1: lat_deg"):
        cat062.encode(empty_tracks(2), [0.0, 95.0], 0.0, 0.0, 0.0, 0.0, sac=0, sic=0)


def test_publisher_leaves_out_what_the_wire_cannot_carry_and_sends_the_rest(rng, caplog):
    """A diverged track (a coasting one far below ground, a runaway speed) never stops the
    picture: it is left out, counted and logged once; every other track goes."""
    tracks = random_tracks(rng, 50)
    tracks["up"][7] = -500_000.0             # beyond I062/130 wherever the track is
    tracks["v_east"][30] = 9000.0            # beyond I062/185
    sink = Sink()
    publisher = Cat062Publisher(ORIGIN, 5, 6, sink)
    for _ in range(2):
        publisher.publish(tracks, t_tod_s=tracks["t"])
    decoder = asterix062.Cat062Decoder()
    sent = np.concatenate([decode_tracks(decoder, d, ORIGIN)[0] for d in sink.written])
    expected = np.delete(tracks["track_id"], [7, 30]) % 65536
    assert np.array_equal(sent["track_id"], np.concatenate([expected, expected]))
    c = publisher.counters()
    assert c["tracks_not_encodable"] == 4 and c["tracks_sent"] == 96
    warnings = [r.getMessage() for r in caplog.records if "left out" in r.getMessage()]
    assert len(warnings) == 2                 # once per track
    assert f"track {tracks['track_id'][7]} left out: alt_m" in warnings[0]


def test_foreign_sp_field_and_foreign_items_are_skipped(cat062):
    # FRN 1, 4, 12 + FRN 11 (I062/380 with ADR) + FRN 16 (I062/295, one subfield) + FRN 35 SP
    fspec = bytes([0x91, 0x19, 0x41, 0x01, 0x02])
    body = (b"\x01\x02" + b"\x00\x10\x00" + b"\x80" + b"\xab\xcd\xef" + b"\x00\x07"
            + b"\x80" + b"\x05" + b"\x04\x09\x09\x09")
    rec = fspec + body
    datagram = bytes([62]) + (len(rec) + 3).to_bytes(2, "big") + rec
    decoder = cat062.Cat062Decoder()
    tracks, info = decoder.feed(datagram)
    assert len(tracks) == 1 and tracks["track_id"][0] == 7
    assert decoder.sp_foreign == 1 and decoder.records_bad == 0


def decode_both(datagrams, day_start_s=0.0):
    """Feed the same datagrams to the compiled decoder and the twin: the same tracks, info
    and counters after every datagram."""
    dc = compiled_062.Cat062Decoder(day_start_s)
    dr = cat062_reference.Cat062Decoder(day_start_s)
    for d in datagrams:
        (tc, ic), (tr, ir) = dc.feed(d), dr.feed(d)
        assert_same_rows(tc, tr)
        assert_same_rows(ic, ir)
        assert dc.counters() == dr.counters()
        assert len(tc) == len(ic) and dc.bytes_skipped <= dc.bytes_fed
    return dc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=3000))
def test_cat062_arbitrary_bytes_never_crash_and_both_decoders_agree(data):
    decoder = decode_both([data])
    assert decoder.bytes_fed == len(data)


@settings(max_examples=150, deadline=None)
@given(cut=st.integers(0, 1500), flip=st.integers(0, 1500), bit=st.integers(0, 7))
def test_cat062_damaged_datagrams_are_counted_not_fatal(cut, flip, bit):
    tracks = random_tracks(np.random.default_rng(9), 30)
    lat, lon, alt, rocd = geodetic_of_tracks(tracks, ORIGIN)
    (d,) = asterix062.encode(tracks, lat, lon, alt, rocd, 10.0, sac=1, sic=1)
    d = bytearray(d)
    d[flip % len(d)] ^= 1 << bit
    decoder = decode_both([bytes(d[:cut]), bytes(d)])
    c = decoder.counters()
    assert c["tracks_ok"] <= 60 and c["datagrams"] == 2


@st.composite
def sp_items(draw):
    """A rig SP field; now and then of another version, with more or fewer ages than its mask
    has bits, or too short to hold a mask."""
    if not draw(st.integers(0, 9)):
        n = draw(st.integers(1, 4))
        return bytes([n]) + draw(st.binary(min_size=n - 1, max_size=n - 1))
    mask = draw(st.integers(0, 0xFFFF))
    k = max(0, bin(mask).count("1") + draw(st.sampled_from([0, 0, 0, 1, -1])))
    ages = b"".join(draw(st.sampled_from([b"\xff\xff", b"\x00\x00", b"\x12\x34", b"\xff\xfe"]))
                    for _ in range(k))
    body = bytes([draw(st.sampled_from([1, 1, 1, 2]))]) + mask.to_bytes(2, "big") + ages
    return bytes([1 + len(body)]) + body


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datagrams=st.lists(uap_datagrams(62, F.UAP, {1, 4, 12}, {35: sp_items()}), min_size=1,
                          max_size=3),
       day_start_s=st.sampled_from([0.0, 86400.0 * 3]))
def test_cat062_decoders_agree_on_every_item_of_the_uap(datagrams, day_start_s):
    """Records of any items of the UAP with any content (every compound item, extended track
    status, update ages, measured information, rig's SP field and foreign ones): the twin
    walks and reads them as the compiled decoder does."""
    tracks = decode_both(datagrams, day_start_s).tracks_ok
    event(f"tracks decoded: {min(tracks, 3)}{'+' if tracks >= 3 else ''}")


def _track_rows(value):
    """Rows of a track and its per-track columns, each number drawn by ``value(lo, hi)``."""
    return st.tuples(
        st.integers(0, 2**32 - 1),                                  # track_id
        st.integers(0, 5),                                          # status, 4 and 5 unnamed
        st.one_of(st.integers(0, 2**6 - 1), st.integers(0, 2**16 - 1)),   # partners
        st.floats(-2e5, 2e5),                                       # t
        value(-4.19e6, 4.19e6), value(-4.19e6, 4.19e6),             # east, north
        value(-8191.0, 8191.0), value(-8191.0, 8191.0),             # v_east, v_north
        st.lists(st.one_of(st.just(math.nan), st.floats(-5.0, 600.0)), min_size=16,
                 max_size=16),                                      # t - partner_t_last
        value(-90.0, 90.0), value(-180.0, 539.99),                  # lat_deg, lon_deg
        st.one_of(value(-62_000.0, 62_000.0), st.sampled_from([math.nan, math.inf])),  # alt_m
        st.one_of(value(-1040.0, 1040.0), st.sampled_from([math.nan, -math.inf])),  # rocd_mps
        value(-2e5, 2e5),                                           # t_tod_s
    )


def _beyond(lo, hi):
    """A value within ``lo .. hi``, or beyond it, NaN or infinite."""
    return st.one_of(st.floats(lo, hi), st.floats(lo * 1.01, hi * 1.01),
                     st.sampled_from([math.nan, math.inf, -math.inf, hi * 1e6]))


wire_rows = _track_rows(lambda lo, hi: st.floats(lo, hi))       # all CAT062 carries
wild_rows = st.tuples(_track_rows(_beyond), st.integers(0, 2**17))   # and partners beyond 16


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(wire_rows, max_size=12), wild=st.one_of(st.none(), wild_rows),
       at=st.integers(0, 11), sac=st.integers(0, 255), sic=st.integers(0, 255),
       service_id=st.integers(0, 255),
       sources=st.dictionaries(st.integers(0, 15), st.tuples(st.integers(0, 255),
                                                              st.integers(0, 255)), max_size=6),
       max_datagram_bytes=st.integers(99, 700), max_records_per_block=st.integers(0, 4))
def test_cat062_encoders_agree_byte_for_byte_and_error_for_error(
        rows, wild, at, sac, sic, service_id, sources, max_datagram_bytes,
        max_records_per_block):
    """Any tracks, in range or not: the same datagrams, or the same EncodeError naming the
    same track and field; and what was encoded decodes to the same values in both."""
    if wild is not None and rows:             # one track with values beyond the wire, maybe
        wild_row, partners = wild
        rows[at % len(rows)] = wild_row[:2] + (partners,) + wild_row[3:]
    tracks = empty_tracks(len(rows))
    columns = np.zeros((5, len(rows)))
    names = ("track_id", "status", "partners", "t", "east", "north", "v_east", "v_north")
    for i, row in enumerate(rows):
        for name, value in zip(names, row):
            tracks[name][i] = value
        tracks["partner_t_last"][i] = tracks["t"][i] - np.asarray(row[8])
        columns[:, i] = row[9:]
    kw = dict(sac=sac, sic=sic, service_id=service_id, partner_sources=sources,
              max_datagram_bytes=max_datagram_bytes, max_records_per_block=max_records_per_block)
    got = outcome(lambda: compiled_062.encode(tracks, *columns, **kw))
    assert got == outcome(lambda: cat062_reference.encode(tracks, *columns, **kw))
    event("encoded" if got[0] == "ok" else f"refused: {got[2].split(' = ')[0]}")
    if got[0] == "ok":
        assert all(len(d) <= max_datagram_bytes for d in got[1])
        decode_both(got[1], day_start_s=86400.0)


def test_cat062_encoders_agree_on_large_pictures(rng):
    tracks = random_tracks(rng, 3000)
    lat, lon, alt, rocd = geodetic_of_tracks(tracks, ORIGIN)
    kw = dict(sac=1, sic=2, partner_sources={0: (1, 1), 2: (2, 2), 4: (255, 255)})
    for limits in (dict(), dict(max_datagram_bytes=65536 * 3), dict(max_records_per_block=37)):
        a = compiled_062.encode(tracks, lat, lon, alt, rocd, tracks["t"], **kw, **limits)
        assert a == cat062_reference.encode(tracks, lat, lon, alt, rocd, tracks["t"], **kw,
                                            **limits)
    assert max(map(len, a)) <= 1472 and len(a) > 1
    decode_both(a)


@pytest.mark.parametrize("args,kw", [
    ((np.zeros(2),), {}),
    ((empty_tracks(1).tolist(),), {}),
    ((empty_tracks(1),), {"sac": 256}),
    ((empty_tracks(1),), {"service_id": -1}),
    ((empty_tracks(1),), {"max_datagram_bytes": 98}),
    ((empty_tracks(1),), {"max_records_per_block": -1}),
    ((empty_tracks(1),), {"partner_sources": {16: (1, 1)}}),
    ((empty_tracks(1),), {"partner_sources": {0: (1, 256)}}),
    ((empty_tracks(2), [1.0, 2.0, 3.0]), {}),
])
def test_cat062_encoders_refuse_the_same_arguments_alike(args, kw):
    tracks, *columns = args
    columns += [0.0] * (5 - len(columns))
    kw = {"sac": 0, "sic": 0, **kw}
    got = outcome(lambda: compiled_062.encode(tracks, *columns, **kw))
    assert got[0] == "raises"
    assert got == outcome(lambda: cat062_reference.encode(tracks, *columns, **kw))


# --- HDLC framing: the compiled one and its pure-Python twin ------------------------------
FRAMINGS = pytest.mark.parametrize("hdlc", [compiled_hdlc, hdlc_reference],
                                   ids=["compiled", "reference"])


@FRAMINGS
def test_hdlc_frame_layout_and_crc(hdlc):
    assert hdlc.crc16_x25(b"123456789") == 0x906E             # the CRC-16/X-25 check value
    frame = hdlc.hdlc_encode(b"\x7e\x01\x7d")
    fcs = hdlc.crc16_x25(b"\x7e\x01\x7d")
    body = b"\x7e\x01\x7d" + fcs.to_bytes(2, "little")
    stuffed = body.replace(b"\x7d", b"\x7d\x5d").replace(b"\x7e", b"\x7d\x5e")
    assert frame == b"\x7e" + stuffed + b"\x7e"


@FRAMINGS
def test_hdlc_survives_bad_bytes_and_resynchronises(hdlc, rng):
    payloads = [bytes(rng.integers(0, 256, int(rng.integers(1, 400)), dtype=np.uint8))
                for _ in range(200)]
    frames = [bytearray(hdlc.hdlc_encode(p)) for p in payloads]
    damaged = set(rng.choice(200, 20, replace=False).tolist())
    for k in damaged:
        at = int(rng.integers(1, len(frames[k]) - 1))
        frames[k][at] ^= 0x10                                # one bit: the FCS catches it
    stream = b"garbage" + b"".join(frames)
    decoder = hdlc.HdlcDecoder()
    got = []
    for i in range(0, len(stream), 97):
        got += decoder.feed(stream[i:i + 97])
    assert got == [p for k, p in enumerate(payloads) if k not in damaged]
    c = decoder.counters()
    assert c["frames_ok"] == len(got) and c["bytes_skipped"] == len(b"garbage")
    assert c["fcs_errors"] + c["frames_aborted"] + c["frames_too_short"] >= len(damaged)


@FRAMINGS
def test_hdlc_bounds_frames(hdlc):
    decoder = hdlc.HdlcDecoder(max_payload_bytes=16)
    assert decoder.feed(b"\x7e" + b"\x01" * 100 + b"\x7e") == []
    assert decoder.frames_too_long == 1
    assert decoder.feed(hdlc.hdlc_encode(b"ok")) == [b"ok"]


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=3000))
def test_hdlc_arbitrary_bytes_never_crash(data):
    decoder = HdlcDecoder(max_payload_bytes=512)
    for payload in decoder.feed(data):
        assert 1 <= len(payload) <= 512


@settings(max_examples=200, deadline=None)
@given(pieces=st.lists(st.one_of(st.binary(min_size=1, max_size=80).map(lambda p: ("frame", p)),
                                 st.binary(max_size=20).map(lambda b: ("bytes", b))),
                       max_size=20),
       chunk=st.integers(1, 64), limit=st.integers(1, 100))
def test_hdlc_compiled_and_reference_agree(pieces, chunk, limit):
    """Frames mixed with stray bytes, cut anywhere: the same frames, payloads and counters."""
    stream = b"".join(compiled_hdlc.hdlc_encode(p) if kind == "frame" else p
                      for kind, p in pieces)
    assert all(compiled_hdlc.hdlc_encode(p) == hdlc_reference.hdlc_encode(p)
               for kind, p in pieces if kind == "frame")
    compiled = compiled_hdlc.HdlcDecoder(max_payload_bytes=limit)
    reference = hdlc_reference.HdlcDecoder(max_payload_bytes=limit)
    for i in range(0, len(stream), chunk):
        assert compiled.feed(stream[i:i + chunk]) == reference.feed(stream[i:i + chunk])
    assert compiled.counters() == reference.counters()


# --- publisher over real transports ------------------------------------------------------
def test_publish_over_udp_loopback(rng):
    receiver = UdpTransport("udp://@127.0.0.1:0")
    receiver.open()
    try:
        port = receiver.local_address[1]
        sender = open_transport(f"udp://127.0.0.1:{port}")
        publisher = Cat062Publisher(ORIGIN, 1, 2, sender)
        assert publisher.framing == "datagram"
        tracks = random_tracks(rng, 100)
        n = publisher.publish(tracks, 3600.0)
        decoder = asterix062.Cat062Decoder()
        got = []
        for _ in range(n):
            data, t_ns = receiver.read_chunk(5.0)
            assert data and t_ns > 0
            got.append(decode_tracks(decoder, data, ORIGIN)[0])
        out = np.concatenate(got)
        assert np.array_equal(np.sort(out["track_id"]), np.sort(tracks["track_id"]))
        sender.close()
    finally:
        receiver.close()


def test_publish_over_a_serial_line_with_hdlc(rng):
    from firmware_interfaces.serial_sensor.device_port import PtyDevicePort

    pty = PtyDevicePort()
    try:
        line = open_transport(pty.path)
        publisher = Cat062Publisher(ORIGIN, 1, 2, line)
        assert publisher.framing == "hdlc"
        tracks = random_tracks(rng, 200)
        n = publisher.publish(tracks, 3600.0)
        deframer = HdlcDecoder()
        decoder = asterix062.Cat062Decoder()
        payloads = []
        while len(payloads) < n:
            select.select([pty.fileno()], [], [], 5.0)
            chunk = pty.read()
            assert chunk, "no bytes on the line"
            payloads += deframer.feed(chunk)
        out = np.concatenate([decode_tracks(decoder, p, ORIGIN)[0] for p in payloads])
        assert len(out) == 200 and deframer.fcs_errors == 0
        line.close()
    finally:
        pty.close()


# --- the partner feeds of a run ----------------------------------------------------------
class FailingTransport:
    datagram_oriented = True

    def __init__(self):
        self.closed = False

    def write(self, data):
        raise TransportError("unreachable")

    def close(self):
        self.closed = True


def test_feeds_send_one_encoding_to_every_feed_and_go_on_past_a_failed_one():
    tracks = random_tracks(np.random.default_rng(5), 300)
    udp, line, bad = Sink(datagram_oriented=True), Sink(datagram_oriented=False), FailingTransport()
    tapped = []
    feeds = Feeds(ORIGIN, 5, 6, [("A", udp), ("X", bad), ("B", line)],
                  tap=lambda t_ns, d: tapped.append(d))
    feeds.publish(tracks, 3600.0)
    # the same datagrams to every feed, framed as each transport needs
    assert udp.written == tapped and len(tapped) > 1
    assert HdlcDecoder().feed(b"".join(line.written)) == tapped
    # the failed feed: every datagram tried and counted, the others unaffected
    links = dict(feeds.links)
    assert links["X"].send_errors == len(tapped)
    assert links["A"].send_errors == links["B"].send_errors == 0
    assert links["A"].datagrams_sent == links["B"].datagrams_sent == len(tapped)
    feeds.close()
    assert bad.closed


# --- I062/500 estimated accuracies ------------------------------------------------------------
def _one_track(P):
    tracks = empty_tracks(1)
    tracks["covariance"][0] = P
    return tracks


def _item_500(record: bytes) -> bytes:
    """The I062/500 of a one-record datagram encoded from an empty track (FRNs 1-7, 12, 13,
    27): after the 4-octet FSPEC and the 27 octets of 010 015 070 105 100 185 040 080."""
    fspec = record[3:7]
    assert fspec == bytes([0xBF, 0x0D, 0x01, 0x04]), fspec.hex()     # FRN 27: bit 0x04 of octet 4
    return record[3 + 4 + 2 + 1 + 3 + 8 + 6 + 4 + 2 + 1:]


def test_accuracies_on_the_wire_and_back(cat062):
    """APC, COV, AGA, ATV and ARC as the specification lays them out: sds rounded up to their
    unit, the XY covariance as sign(c) sqrt(|c|) rounded towards zero."""
    P = np.diag([100.0**2, 30.2**2, 40.0**2, 5.1**2, 0.3**2, 1.0])
    P[0, 1] = P[1, 0] = -2000.0                        # sqrt = 44.72 m: 89 units of 0.5 m
    (d,) = cat062.encode(_one_track(P), 0.0, 0.0, np.nan, np.nan, 0.0, sac=0, sic=0,
                         sd_alt_m=[30.0], sd_rocd_mps=[2.0])
    item = _item_500(d)
    assert item[:2] == bytes([0x80 | 0x40 | 0x10 | 0x04 | 0x01, 0x80])
    assert item[2:6] == (200).to_bytes(2, "big") + (61).to_bytes(2, "big")    # 100 m, 30.2 m
    assert item[6:8] == (-89).to_bytes(2, "big", signed=True)
    assert item[8] == 16                                # 30 m = 15.75 units of 6.25 ft
    assert item[9:11] == bytes([21, 2])                 # 5.1 m/s, 0.3 m/s in 0.25 m/s
    assert item[11] == 63                               # 2 m/s = 62.99 units of 6.25 ft/min
    assert len(item) == 12
    tracks, info = cat062.Cat062Decoder().feed(d)
    row = info[0]
    assert row["present"] & ITEM_062_500
    assert (row["sd_x_m"], row["sd_y_m"]) == (100.0, 30.5)
    assert row["cov_xy_m2"] == -(44.5**2)
    assert row["sd_alt_m"] == 16 * (6.25 * 0.3048)
    assert (row["sd_vx_mps"], row["sd_vy_mps"]) == (5.25, 0.5)
    assert row["sd_rocd_mps"] == pytest.approx(63 * 6.25 * 0.3048 / 60, rel=1e-15)
    assert np.isnan(tracks["covariance"]).all()        # the covariance is track input's job


def test_accuracies_saturate_at_the_field_maxima(cat062):
    P = np.diag([1e12, 4e10, 1.0, 1e6, np.inf, 1.0])
    P[0, 1] = P[1, 0] = 3e9
    (d,) = cat062.encode(_one_track(P), 0.0, 0.0, np.nan, np.nan, 0.0, sac=0, sic=0,
                         sd_alt_m=[1e5], sd_rocd_mps=[np.inf])
    item = _item_500(d)
    assert item == bytes([0xD5, 0x80, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
    P[0, 1] = P[1, 0] = -3e9
    (d,) = cat062.encode(_one_track(P), 0.0, 0.0, np.nan, np.nan, 0.0, sac=0, sic=0)
    item = _item_500(d)
    assert item == bytes([0xC4, 0xFF, 0xFF, 0xFF, 0xFF, 0x80, 0x01, 0xFF, 0xFF])  # -32767


@pytest.mark.parametrize("P", [np.zeros((6, 6)), np.full((6, 6), np.nan),
                               -np.eye(6), np.diag([1.0, 0.0, 1.0, 0.0, 1.0, 1.0])])
def test_no_accuracy_known_sends_no_I062_500(cat062, P):
    """A covariance of zeros (never set), NaN or without positive variances: no I062/500,
    and the record is what it was before accuracies were sent (a 2-octet FSPEC)."""
    (d,) = cat062.encode(_one_track(P), 0.0, 0.0, np.nan, np.nan, 0.0, sac=0, sic=0,
                         sd_alt_m=[np.nan], sd_rocd_mps=[0.0])
    assert d[3:5] == bytes([0xBF, 0x0C]) and len(d) == 3 + 2 + 27
    assert not cat062.Cat062Decoder().feed(d)[1]["present"][0] & ITEM_062_500


def test_an_accuracy_alone_goes_alone(cat062):
    """Each subfield depends on its own part: ATV only, or AGA and ARC only."""
    (d,) = cat062.encode(_one_track(np.diag([0.0, 0.0, 0.0, 1.0, 4.0, 0.0])), 0.0, 0.0,
                         np.nan, np.nan, 0.0, sac=0, sic=0)
    assert _item_500(d) == bytes([0x04, 4, 8])
    (d,) = cat062.encode(empty_tracks(1), 0.0, 0.0, np.nan, np.nan, 0.0, sac=0, sic=0,
                         sd_alt_m=[1.0], sd_rocd_mps=[0.01])
    assert _item_500(d) == bytes([0x11, 0x80, 1, 1])
    info = cat062.Cat062Decoder().feed(d)[1][0]
    assert np.isnan([info["sd_x_m"], info["sd_y_m"], info["cov_xy_m2"], info["sd_vx_mps"],
                     info["sd_vy_mps"]]).all()
    assert info["sd_alt_m"] > 0 and info["sd_rocd_mps"] > 0


def _variance():
    return st.one_of(st.floats(0.0, 1e12), st.floats(-1.0, 1e-3),
                     st.sampled_from([0.0, math.nan, math.inf, -math.inf, 1e300]))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.lists(st.tuples(st.lists(_variance(), min_size=6, max_size=6),
                               st.one_of(st.floats(-1e12, 1e12), st.sampled_from(
                                   [math.nan, math.inf, -math.inf, -0.0, 1e300, -1e300])),
                               _variance(), _variance()), min_size=1, max_size=8))
def test_cat062_encoders_agree_on_accuracies(data):
    """Any covariance diagonal and XY term, any vertical sds (NaN, infinite, negative, zero,
    beyond the fields): the same bytes from both encoders, and the decoders agree; every
    decoded sd is at least the encoded one, or the field's maximum."""
    tracks = empty_tracks(len(data))
    for i, (diag, cxy, _, _) in enumerate(data):
        tracks["covariance"][i] = np.diag(diag)
        tracks["covariance"][i][0, 1] = tracks["covariance"][i][1, 0] = cxy
    sd_alt = [row[2] for row in data]
    sd_rocd = [row[3] for row in data]
    kw = dict(sac=1, sic=2, sd_alt_m=sd_alt, sd_rocd_mps=sd_rocd)
    a = compiled_062.encode(tracks, 0.0, 0.0, np.nan, np.nan, 0.0, **kw)
    assert a == cat062_reference.encode(tracks, 0.0, 0.0, np.nan, np.nan, 0.0, **kw)
    info = np.concatenate([f[1] for f in map(compiled_062.Cat062Decoder().feed, a)])
    decode_both(a)
    for row, (diag, cxy, s_alt, s_rocd) in zip(info, data):
        for name, var, top in (("sd_x_m", diag[0], 32767.5), ("sd_vx_mps", diag[3], 63.75)):
            if row["present"] & ITEM_062_500 and not np.isnan(row[name]):
                assert row[name] >= min(math.sqrt(var), top) and row[name] > 0
        if not np.isnan(row["cov_xy_m2"]):
            assert abs(row["cov_xy_m2"]) <= abs(cxy)
            assert row["cov_xy_m2"] == 0 or np.sign(row["cov_xy_m2"]) == np.sign(cxy)
        if s_alt > 0:
            assert row["sd_alt_m"] >= min(s_alt, 255 * F.ALTITUDE_SCALE_M)
        else:
            assert np.isnan(row["sd_alt_m"])


#: I062/500 subfields: (slot, octets)
_SUBFIELDS_500 = [(0, 4), (1, 2), (2, 4), (3, 1), (4, 1), (5, 2), (6, 2), (7, 1)]


@st.composite
def items_500(draw):
    """An I062/500 with any of its eight subfields and any content; now and then a primary
    subfield with an extra empty octet."""
    chosen = sorted(draw(st.sets(st.sampled_from(_SUBFIELDS_500))))
    primary = bytearray(2 if any(s == 7 for s, _ in chosen) else 1)
    for slot, _ in chosen:
        primary[slot // 7] |= 0x80 >> (slot % 7)
    if draw(st.integers(0, 5)) == 0:
        primary.append(0)
    for i in range(len(primary) - 1):
        primary[i] |= 1
    subs = {slot: draw(st.binary(min_size=size, max_size=size)) for slot, size in chosen}
    return bytes(primary) + b"".join(subs[s] for s, _ in chosen), subs


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(item=items_500())
def test_cat062_decoders_read_any_I062_500(item):
    """Random I062/500 bytes in an otherwise valid record: both decoders agree and read APC,
    COV, AGA, ATV and ARC at their scales (unsigned, COV signed and squared back), NaN where
    absent; APW, ABA and AA are passed over."""
    raw, subs = item
    body = b"\x01\x02" + b"\x00\x10\x00" + b"\x00\x07" + raw
    fspec = bytes([0x91, 0x09, 0x01, 0x04])            # FRN 1, 4, 12, 27
    rec = fspec + body
    datagram = bytes([62]) + (len(rec) + 3).to_bytes(2, "big") + rec
    decoder = decode_both([datagram])
    _, info = decoder.feed(datagram)
    assert decoder.tracks_ok == 2 and decoder.records_bad == 0
    row = info[0]
    assert row["present"] & ITEM_062_500

    def expect(name, value):
        got = row[name]
        assert (np.isnan(got) if value is None else got == value), (name, got, value)

    apc, cov = subs.get(0), subs.get(1)
    expect("sd_x_m", None if apc is None else int.from_bytes(apc[:2], "big") * 0.5)
    expect("sd_y_m", None if apc is None else int.from_bytes(apc[2:], "big") * 0.5)
    c = None if cov is None else int.from_bytes(cov, "big", signed=True) * 0.5
    expect("cov_xy_m2", None if c is None else math.copysign(c * c, c))
    expect("sd_alt_m", None if 3 not in subs else subs[3][0] * (6.25 * 0.3048))
    expect("sd_vx_mps", None if 5 not in subs else subs[5][0] * 0.25)
    expect("sd_vy_mps", None if 5 not in subs else subs[5][1] * 0.25)
    expect("sd_rocd_mps", None if 7 not in subs else subs[7][0] * (6.25 * 0.3048 / 60))


def test_publisher_sends_accuracies_the_partner_reads_back(rng):
    """Through the publisher: each decoded sd bounds the track's own from above by less than
    one unit, and AGA and ARC are the sds along the local vertical."""
    tracks = random_tracks(rng, 300)
    a = rng.normal(size=(300, 6, 6))
    sd = np.array([150.0, 90.0, 60.0, 6.0, 4.0, 1.5])
    tracks["covariance"] = (a @ np.swapaxes(a, 1, 2) / 6 + np.eye(6)) * sd[:, None] * sd
    sink = Sink()
    Cat062Publisher(ORIGIN, 5, 6, sink).publish(tracks, t_tod_s=tracks["t"])
    decoder = asterix062.Cat062Decoder()
    info = np.concatenate([decode_tracks(decoder, d, ORIGIN)[1] for d in sink.written])
    P = tracks["covariance"]
    for name, var, lsb in (("sd_x_m", P[:, 0, 0], 0.5), ("sd_y_m", P[:, 1, 1], 0.5),
                           ("sd_vx_mps", P[:, 3, 3], 0.25), ("sd_vy_mps", P[:, 4, 4], 0.25)):
        excess = info[name] - np.sqrt(var)
        assert np.all((excess >= 0) & (excess < lsb)), name
    root = np.sqrt(np.abs(P[:, 0, 1]))
    q = np.sign(info["cov_xy_m2"]) * np.sqrt(np.abs(info["cov_xy_m2"]))
    assert np.all((np.abs(q) <= root) & (root - np.abs(q) < 0.5))
    assert np.all(np.sign(q[q != 0]) == np.sign(P[q != 0, 0, 1]))
    lat, lon, _, _ = geodetic_of_tracks(tracks, ORIGIN)
    sd_alt, sd_rocd = vertical_accuracies(tracks, ORIGIN, lat, lon)
    assert np.all((info["sd_alt_m"] >= sd_alt) & (info["sd_alt_m"] - sd_alt < F.ALTITUDE_SCALE_M))
    assert np.all((info["sd_rocd_mps"] >= sd_rocd)
                  & (info["sd_rocd_mps"] - sd_rocd < F.ROCD_SCALE_MPS))
    # near the origin the local vertical is the origin's up: P_uu
    near = np.hypot(tracks["east"], tracks["north"]) < 20e3
    assert np.allclose(sd_alt[near], np.sqrt(P[near, 2, 2]), rtol=1e-3)


def test_the_largest_record_fits_the_encoders_record_buffer(cat062):
    """Every item rig sends at its longest (coasting status, 16 partners in SP, I062/340 and
    all five accuracies): 92 octets, within MAX_RECORD_BYTES."""
    tracks = empty_tracks(1)
    tracks["status"] = 2
    tracks["t"] = 100.0
    tracks["partners"] = 0xFFFF
    tracks["partner_t_last"] = 99.0
    tracks["covariance"] = np.eye(6)
    (d,) = cat062.encode(tracks, 1.0, 1.0, 100.0, 1.0, 100.0, sac=1, sic=1,
                         partner_sources={i: (i, i) for i in range(16)},
                         sd_alt_m=[1.0], sd_rocd_mps=[1.0])
    fspec = 5
    items = 2 + 1 + 3 + 8 + 6 + 4 + 2 + 4 + 2 + 2 + 2 + 12 + 3 + (4 + 2 * 16)
    assert len(d) == 3 + fspec + items == 3 + 92
    assert 92 <= cat062.MAX_RECORD_BYTES
    assert d == compiled_062.encode(tracks, 1.0, 1.0, 100.0, 1.0, 100.0, sac=1, sic=1,
                                    partner_sources={i: (i, i) for i in range(16)},
                                    sd_alt_m=[1.0], sd_rocd_mps=[1.0])[0]
