"""Our CAT048 and CAT062 read by decoders nobody here wrote: tshark (strict) and asterix-decoder.

Datagrams go over real UDP on loopback; tshark captures them and decodes them with
Wireshark's ASTERIX dissector (CAT048 ed. 1.31, CAT062 ed. 1.19). Every decoded value must equal
what was encoded within half a unit of the last place, no packet may be malformed, and since
tshark does not flag a LEN that is too small, the structure is checked as well: block lengths
add up to the datagram and records tile each block exactly.
"""

import math

import numpy as np
import pytest

from firmware_interfaces.asterix_radar import geometry
from firmware_interfaces.asterix_radar.codec import asterix048
from firmware_interfaces.asterix_radar.reference import walk_record
from rig.geodesy import enu_rotation
from rig.publish import Cat062Encoder, Origin, geodetic_of_tracks
from rig.publish.codec import asterix062
from rig.records import PLOT_FLAG_CLUTTER_MAP, PLOT_FLAG_SIMULATED
from rig.records_asterix import (
    ITEM_048_070, ITEM_048_090, ITEM_048_200, ITEM_048_220, ITEM_048_240,
)

from .asterix_helpers import (
    TSHARK, Capture, free_udp_port, random_items, random_plots, random_tracks, send_datagrams,
)

needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed (CI installs "
                                  "it: apt-get install tshark)")
FT = 0.3048
NM = 1852.0
SITE_ALT_M = 120.0
ORIGIN = Origin(51.5, 4.25, 30.0)


def one(fields, name):
    values = fields.get(name)
    assert values and len(values) == 1, f"{name}: {values}"
    return values[0]


def num(fields, name):
    return float(one(fields, name))


def angle_diff_deg(a, b):
    return abs((a - b + 180.0) % 360.0 - 180.0)


def check_structure(packets, sent, category):
    """Block lengths add up to the datagram; records tile each block; nothing malformed."""
    assert [p.payload for p in packets] == sent, "captured datagrams differ from those sent"
    records = []
    for packet in packets:
        assert not packet.malformed, packet.expert
        assert not [e for e in packet.expert if "rror" in e], packet.expert
        assert sum(b.length for b in packet.blocks) == len(packet.payload)
        at = 0
        for block in packet.blocks:
            assert block.category == category and block.pos == at
            assert int.from_bytes(packet.payload[at + 1:at + 3], "big") == block.length
            rec_at = at + 3
            for fields in block.records:
                assert fields["_pos"] == rec_at
                rec_at += fields["_size"]
            assert rec_at == at + block.length, "records do not tile the block"
            at += block.length
            records += block.records
    return records


def sent_and_captured(datagrams, tmp_path, category):
    """``datagrams`` sent over UDP on loopback and captured by tshark: (the packets, their
    records), the structure checked by :func:`check_structure`."""
    port = free_udp_port()
    with Capture(port, tmp_path, len(datagrams)) as capture:
        send_datagrams(port, datagrams)
        packets = capture.packets()
    return packets, check_structure(packets, datagrams, category)


@needs_tshark
def test_cat048_decoded_by_tshark_equals_what_was_encoded(tmp_path):
    rng = np.random.default_rng(48)
    n = 400
    plots = random_plots(rng, n)
    plots["range_rate_mps"] = np.clip(plots["range_rate_mps"], -500, 500)
    items = random_items(rng, n)
    datagrams = asterix048.encode(plots, sac=7, sic=42, site_alt_m=SITE_ALT_M, items=items,
                                  max_records_per_block=9)
    assert any(d.count(b"\x30") and len(d) > 600 for d in datagrams)
    packets, records = sent_and_captured(datagrams, tmp_path, 48)
    assert len(records) == n
    assert max(len(p.blocks) for p in packets) > 1          # several blocks per datagram
    heights_ft = geometry.height_from_elevation(plots["range_m"], plots["el_rad"], SITE_ALT_M) / FT
    for i, (f, p, it) in enumerate(zip(records, plots, items)):
        assert int(one(f, "asterix.048_010_SAC"), 0) == 7
        assert int(one(f, "asterix.048_010_SIC"), 0) == 42
        assert abs(num(f, "asterix.048_140_VALUE") - p["t_sensor"] % 86400) <= 1 / 256 + 1e-9
        assert int(one(f, "asterix.048_020_TYP")) == 1
        assert int(one(f, "asterix.048_020_SIM")) == bool(p["flags"] & PLOT_FLAG_SIMULATED)
        assert abs(num(f, "asterix.048_040_RHO") - p["range_m"] / NM) <= 1 / 512 + 1e-9
        assert angle_diff_deg(num(f, "asterix.048_040_THETA"),
                              math.degrees(p["az_rad"])) <= 360 / 2**17 + 1e-9
        assert abs(num(f, "asterix.048_110_3DH") - heights_ft[i]) <= 12.5 + 1e-6
        if np.isnan(p["range_rate_mps"]):
            assert "asterix.048_120" not in f
        else:
            assert int(one(f, "asterix.048_120_CAL_D")) == 0
            assert abs(num(f, "asterix.048_120_CAL_CAL") - p["range_rate_mps"]) <= 0.5 + 1e-9
        if np.isnan(p["amplitude_db"]):
            assert "asterix.048_130" not in f
        else:
            assert abs(num(f, "asterix.048_130_PAM_VALUE") - p["amplitude_db"]) <= 0.5 + 1e-6
        clutter = bool(p["flags"] & PLOT_FLAG_CLUTTER_MAP)
        assert (f.get("asterix.048_030_CODE") == ["13"]) == clutter
        present = it["present"]
        assert ("asterix.048_070" in f) == bool(present & ITEM_048_070)
        if present & ITEM_048_070:
            assert int(one(f, "asterix.048_070_MODE3A")) == it["mode3a"]
            flags = [int(one(f, f"asterix.048_070_{b}")) for b in "VGL"]
            assert flags == [(it["mode3a_flags"] >> k) & 1 for k in (2, 1, 0)]
        if present & ITEM_048_090:
            assert abs(num(f, "asterix.048_090_FL") - it["flight_level"]) <= 1 / 8 + 1e-9
        if present & ITEM_048_220:
            assert int(one(f, "asterix.048_220_VALUE"), 0) == it["aircraft_address"]
        if present & ITEM_048_240:
            assert one(f, "asterix.048_240_VALUE") == it["callsign"].decode()
        if present & ITEM_048_200:
            assert abs(num(f, "asterix.048_200_GSP") - it["ground_speed_mps"] / NM) <= 2**-15 + 1e-12
            assert angle_diff_deg(num(f, "asterix.048_200_HDG"),
                                  math.degrees(it["heading_rad"])) <= 360 / 2**17 + 1e-9
        items_seen = [k for k in f if k.startswith("asterix.048_") and k.count("_") == 1
                      and "@" not in k]
        length, ours = walk_record(records_bytes(packets, f), 0, f["_size"])
        assert length == f["_size"] and len(items_seen) == len(ours)


def records_bytes(packets, fields):
    """The bytes of the record ``fields`` describes (found by its position)."""
    for packet in packets:
        for block in packet.blocks:
            if fields in block.records:
                return packet.payload[fields["_pos"]:fields["_pos"] + fields["_size"]]
    raise AssertionError("record not found")


@needs_tshark
def test_cat062_decoded_by_tshark_equals_what_was_encoded(tmp_path):
    rng = np.random.default_rng(62)
    n = 300
    tracks = random_tracks(rng, n)
    sources = {0: (10, 1), 1: (10, 2), 2: (20, 1), 3: (30, 7)}
    lat, lon, alt, rocd = geodetic_of_tracks(tracks, ORIGIN)
    t_tod = 50_000.0
    datagrams = asterix062.encode(tracks, lat, lon, alt, rocd, t_tod, sac=3, sic=9,
                                  service_id=4, partner_sources=sources,
                                  max_records_per_block=13)
    packets, records = sent_and_captured(datagrams, tmp_path, 62)
    assert len(records) == n
    status_bits = {0: ("CNF", 1), 1: ("CNF", 0), 2: ("CST", 1), 3: ("TSE", 1)}
    for i, (f, tr) in enumerate(zip(records, tracks)):
        assert (int(one(f, "asterix.062_010_SAC"), 0), int(one(f, "asterix.062_010_SIC"), 0)) == (3, 9)
        assert int(one(f, "asterix.062_015_VALUE"), 0) == 4
        assert abs(num(f, "asterix.062_070_VALUE") - t_tod) <= 1 / 256
        assert abs(num(f, "asterix.062_105_LAT") - lat[i]) <= 90 / 2**25 + 1e-12
        assert abs(num(f, "asterix.062_105_LON") - lon[i]) <= 90 / 2**25 + 1e-12
        assert abs(num(f, "asterix.062_100_X") - tr["east"]) <= 0.25 + 1e-9
        assert abs(num(f, "asterix.062_100_Y") - tr["north"]) <= 0.25 + 1e-9
        assert abs(num(f, "asterix.062_185_VX") - tr["v_east"]) <= 0.125 + 1e-9
        assert abs(num(f, "asterix.062_185_VY") - tr["v_north"]) <= 0.125 + 1e-9
        assert int(one(f, "asterix.062_040_VALUE"), 0) == tr["track_id"] & 0xFFFF
        name, value = status_bits[int(tr["status"])]
        assert int(one(f, f"asterix.062_080_{name}")) == value
        assert abs(num(f, "asterix.062_130_VALUE") - alt[i] / FT) <= 3.125 + 1e-9
        assert abs(num(f, "asterix.062_220_VALUE") - rocd[i] * 60 / FT) <= 3.125 + 1e-6
        mask = int(tr["partners"])
        if not mask:
            assert "asterix.062_SP" not in f and "asterix.062_290" not in f
            continue
        times = tr["partner_t_last"]
        newest = int(np.nanargmax(np.where((mask >> np.arange(16)) & 1 == 1, times, -np.inf)))
        age = tr["t"] - times[newest]
        assert abs(num(f, "asterix.062_290_PSR_VALUE") - min(age, 63.75)) <= 0.125 + 1e-9
        if newest in sources:
            sac, sic = sources[newest]
            assert int(one(f, "asterix.062_340_SID_SAC"), 0) == sac
            assert int(one(f, "asterix.062_340_SID_SIC"), 0) == sic
        else:
            assert "asterix.062_340" not in f
        # SP: the extent Wireshark gives it, and our content in those bytes
        sp_size = one(f, "asterix.062_SP@size")
        assert one(f, "asterix.062_SP@pos") - f["_pos"] == f["_size"] - sp_size   # last item
        sp = records_bytes(packets, f)[-sp_size:]
        bits = [k for k in range(16) if mask >> k & 1]
        assert sp_size == 4 + 2 * len(bits) == sp[0] and sp[1] == 1
        assert int.from_bytes(sp[2:4], "big") == mask
        for j, k in enumerate(bits):
            wire_age = int.from_bytes(sp[4 + 2 * j:6 + 2 * j], "big") / 128
            assert abs(wire_age - (tr["t"] - times[k])) <= 1 / 256 + 1e-9


def test_asterix_decoder_second_opinion():
    """The lenient asterix-decoder package reads the same values (a second opinion)."""
    asterix_decoder = pytest.importorskip("asterix", reason="asterix_decoder is not installed")
    rng = np.random.default_rng(7)
    plots = random_plots(rng, 200)
    plots["range_rate_mps"] = np.clip(plots["range_rate_mps"], -500, 500)
    datagrams = asterix048.encode(plots, sac=1, sic=2, site_alt_m=SITE_ALT_M,
                                  max_records_per_block=17)
    decoded = [r for d in datagrams for r in asterix_decoder.parse(d)]
    assert len(decoded) == len(plots)
    for r, p in zip(decoded, plots):
        assert r["category"] == 48
        assert abs(r["I040"]["RHO"]["val"] - p["range_m"] / NM) <= 1 / 512 + 1e-9
        assert angle_diff_deg(r["I040"]["THETA"]["val"], math.degrees(p["az_rad"])) <= 360 / 2**17 + 1e-9
        assert abs(r["I140"]["ToD"]["val"] - p["t_sensor"] % 86400) <= 1 / 256 + 1e-9
    tracks = random_tracks(rng, 100)
    lat, lon, alt, rocd = geodetic_of_tracks(tracks, ORIGIN)
    datagrams = asterix062.encode(tracks, lat, lon, alt, rocd, 1234.5, sac=3, sic=9)
    decoded = [r for d in datagrams for r in asterix_decoder.parse(d)]
    assert len(decoded) == len(tracks)
    for r, tr, la, lo in zip(decoded, tracks, lat, lon):
        assert r["I040"]["TrkN"]["val"] == tr["track_id"]
        assert abs(r["I100"]["X"]["val"] - tr["east"]) <= 0.25 + 1e-9
        assert abs(r["I105"]["Lat"]["val"] - la) <= 90 / 2**25 + 1e-12
        assert abs(r["I105"]["Lon"]["val"] - lo) <= 90 / 2**25 + 1e-12


def random_covariances(rng, n):
    """Covariances with position sd 0.1 m to 50 km, velocity sd 0.05 to 100 m/s (some beyond
    I062/500's fields) and random correlations; every fifth all zero (no accuracy known)."""
    sd = np.concatenate([np.exp(rng.uniform(np.log(0.1), np.log(5e4), (n, 3))),
                         np.exp(rng.uniform(np.log(0.05), np.log(100.0), (n, 3)))], axis=1)
    a = rng.normal(size=(n, 6, 6))
    corr = a @ np.swapaxes(a, 1, 2) + 6 * np.eye(6)
    d = 1 / np.sqrt(np.diagonal(corr, axis1=1, axis2=2))
    corr *= d[:, :, None] * d[:, None, :]
    P = corr * sd[:, :, None] * sd[:, None, :]
    P[::5] = 0.0
    return P


@needs_tshark
def test_cat062_accuracies_decoded_by_tshark_as_intended(tmp_path):
    """I062/500 from each track's covariance: sds rounded up, the XY covariance as
    sign(c) sqrt(|c|) rounded towards zero, values beyond a field at its maximum; AGA and ARC
    along the local vertical at the track."""
    rng = np.random.default_rng(500)
    n = 200
    tracks = random_tracks(rng, n)
    tracks["covariance"] = random_covariances(rng, n)
    datagrams = Cat062Encoder(ORIGIN, 3, 9).encode(tracks, 50_000.0)
    _, records = sent_and_captured(datagrams, tmp_path, 62)
    assert len(records) == n
    lat, lon, _, _ = geodetic_of_tracks(tracks, ORIGIN)
    # the local vertical at each track in the origin's ENU axes
    up_ecef = np.stack([np.cos(np.radians(lat)) * np.cos(np.radians(lon)),
                        np.cos(np.radians(lat)) * np.sin(np.radians(lon)),
                        np.sin(np.radians(lat))], -1)
    u = up_ecef @ enu_rotation(ORIGIN.lat_deg, ORIGIN.lon_deg).T

    def up_rounded(sd, lsb, top):
        return min(math.ceil(sd / lsb), top) * lsb

    saturated = 0
    for f, tr, ui in zip(records, tracks, u):
        P = tr["covariance"]
        if not P.any():
            assert "asterix.062_500" not in f
            continue
        assert num(f, "asterix.062_500_APC_X") == up_rounded(math.sqrt(P[0, 0]), 0.5, 65535)
        assert num(f, "asterix.062_500_APC_Y") == up_rounded(math.sqrt(P[1, 1]), 0.5, 65535)
        c = min(math.floor(math.sqrt(abs(P[0, 1])) / 0.5), 32767) * 0.5
        assert num(f, "asterix.062_500_COV_VALUE") == math.copysign(c, P[0, 1])
        sd_alt_ft = math.sqrt(ui @ P[:3, :3] @ ui) / FT
        assert num(f, "asterix.062_500_AGA_VALUE") == up_rounded(sd_alt_ft, 6.25, 255)
        assert num(f, "asterix.062_500_ATV_X") == up_rounded(math.sqrt(P[3, 3]), 0.25, 255)
        assert num(f, "asterix.062_500_ATV_Y") == up_rounded(math.sqrt(P[4, 4]), 0.25, 255)
        sd_rocd_fpm = math.sqrt(ui @ P[3:, 3:] @ ui) / FT * 60
        assert abs(num(f, "asterix.062_500_ARC_VALUE")
                   - up_rounded(sd_rocd_fpm, 6.25, 255)) <= 1e-9
        for absent in ("APW", "ABA", "AA"):
            assert f"asterix.062_500_{absent}" not in f
        saturated += num(f, "asterix.062_500_APC_X") == 32767.5
    assert saturated > 0          # the maxima were exercised
