"""Partner tracks from CAT062 (rig.fusion.track_input): taken through rig's own codec, and
every reason to refuse one counted."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rig.fusion.track_input import PARTNER_TRACK_DTYPE, REASONS, TrackInput
from rig.geodesy import Geodetic, LocalFrame
from rig.publish import Cat062Encoder, Origin, decode_tracks, geodetic_of_tracks
from rig.publish import cat062_format as F
from rig.publish.cat062 import vertical_accuracies
from rig.publish.codec import Cat062Decoder, asterix062
from rig.records import empty_tracks

from .asterix_helpers import uap_datagrams
from .test_cat062_publish import items_500

ORIGIN = Origin(52.0, 5.0, 10.0)
SD = np.array([120.0, 90.0, 45.0, 6.0, 5.0, 1.2])


def partner_tracks(n, t=1000.0, rng=None, spread_m=150e3):
    """Tracks a partner holds, with full covariances (correlated x and y)."""
    rng = rng or np.random.default_rng(1)
    tracks = empty_tracks(n)
    tracks["track_id"] = np.arange(100, 100 + n)
    tracks["status"] = 1
    tracks["t"] = t
    tracks["east"] = rng.uniform(-spread_m, spread_m, n)
    tracks["north"] = rng.uniform(-spread_m, spread_m, n)
    tracks["up"] = rng.uniform(1000.0, 11000.0, n)
    tracks["v_east"] = rng.normal(0, 150, n)
    tracks["v_north"] = rng.normal(0, 150, n)
    tracks["v_up"] = rng.normal(0, 5, n)
    P = np.diag(SD**2)
    P[0, 1] = P[1, 0] = 0.6 * SD[0] * SD[1]
    tracks["covariance"] = P
    return tracks


def send(tracks, origin=ORIGIN, t_tod_s=None, encoder=None):
    """The datagrams rig's encoder makes of ``tracks``."""
    encoder = encoder or Cat062Encoder(origin, 7, 7)
    return encoder.encode(tracks, tracks["t"] if t_tod_s is None else t_tod_s)


def receive(decoder, datagrams, origin=ORIGIN):
    got = [decode_tracks(decoder, d, origin) for d in datagrams]
    return np.concatenate([g[0] for g in got]), np.concatenate([g[1] for g in got])


def test_good_tracks_pass_with_the_covariance_of_I062_500():
    """Encoded by rig's encoder, decoded, taken: the state within the wire's resolution, the
    covariance from I062/500 (sds at most one unit above the track's own, the xy covariance
    at most one unit below, no position-velocity terms)."""
    tracks = partner_tracks(50)
    tracks["east"][:5] = tracks["north"][:5] = 0.0          # at the origin: vertical = up
    decoder = Cat062Decoder(day_start_s=0.0)
    inp = TrackInput(ORIGIN)
    got = inp.take(*receive(decoder, send(tracks)), partner=3)
    assert got.dtype == PARTNER_TRACK_DTYPE and len(got) == 50
    assert inp.counters == {"received": 50, "taken": 50, **{r: 0 for r in REASONS}}
    assert np.all(got["partner"] == 3)
    assert np.array_equal(got["track_number"], tracks["track_id"])
    assert np.all(np.abs(got["t"] - tracks["t"]) <= 1 / 256)
    truth = np.stack([tracks[k] for k in ("east", "north", "up", "v_east", "v_north", "v_up")], 1)
    err = np.abs(got["state"] - truth)
    assert np.all(err[:, :2] <= 0.5) and np.all(err[:, 2] <= 1.0)   # WGS-84 LSB, 6.25 ft
    assert np.all(err[:, 3:5] <= 0.125) and np.all(err[:, 5] <= 0.05)
    P = got["covariance"]
    sd = np.sqrt(np.diagonal(P, axis1=1, axis2=2))
    for k, lsb in ((0, 0.5), (1, 0.5), (3, 0.25), (4, 0.25)):
        assert np.all((sd[:, k] >= SD[k]) & (sd[:, k] < SD[k] + lsb)), k
    root = math.sqrt(0.6 * SD[0] * SD[1])
    assert np.all((np.sqrt(P[:, 0, 1]) <= root) & (np.sqrt(P[:, 0, 1]) > root - 0.5))
    assert np.all(P[:, :3, 3:] == 0.0)                    # CAT062 carries no such terms
    # at the origin up is along the local vertical: AGA and ARC, rounded up to 6.25 ft(/min)
    assert np.all((sd[:5, 2] >= SD[2]) & (sd[:5, 2] < SD[2] + F.ALTITUDE_SCALE_M))
    assert np.all((sd[:5, 5] >= SD[5]) & (sd[:5, 5] < SD[5] + F.ROCD_SCALE_MPS))
    np.linalg.cholesky(P)                                              # every one SPD


def test_a_partner_with_its_own_reference_point():
    """A partner 300 km away sends I062/100, /185 and the cartesian accuracies in its own
    plane: taken into rig's frame, the state is the truth and the covariance is rotated (the
    horizontal accuracies keep their size, their axes turn)."""
    partner_origin = Origin(54.5, 8.5, 0.0)
    rig, far = (LocalFrame(Geodetic(o.lat_deg, o.lon_deg, o.alt_m)) for o in (ORIGIN, partner_origin))
    truth = partner_tracks(30, spread_m=80e3)
    # the same aircraft in the partner's plane
    R = far.rotation @ rig.rotation.T                                  # rig ENU -> partner ENU
    p_rig = np.stack([truth["east"], truth["north"], truth["up"]], 1)
    v_rig = np.stack([truth["v_east"], truth["v_north"], truth["v_up"]], 1)
    theirs = truth.copy()
    p = far.enu_from_ecef(rig.ecef_from_enu(p_rig))
    v = v_rig @ R.T
    for k, name in enumerate(("east", "north", "up")):
        theirs[name] = p[:, k]
    for k, name in enumerate(("v_east", "v_north", "v_up")):
        theirs[name] = v[:, k]
    P = np.diag([300.0**2, 30.0**2, 40.0**2, 8.0**2, 1.0**2, 1.0])      # long east, thin north
    theirs["covariance"] = P
    decoder = Cat062Decoder()
    inp = TrackInput(ORIGIN, {1: partner_origin})
    got = inp.take(*receive(decoder, send(theirs, partner_origin), partner_origin), partner=1)
    assert len(got) == 30
    assert np.max(np.abs(got["state"][:, :3] - p_rig)) < 1.5
    assert np.max(np.abs(got["state"][:, 3:] - v_rig)) < 0.3
    cov = got["covariance"]
    e_partner = R.T[:, 0]                          # the partner's east in rig's axes
    along = np.einsum("i,nij,j->n", e_partner, cov[:, :3, :3], e_partner)
    assert np.allclose(np.sqrt(along), 300.0, rtol=0.01)
    # in rig's axes the long axis is turned by the meridian convergence (~2.8°): an
    # east-north covariance appears where the partner had none
    rotated = (R.T @ P[:3, :3] @ R)[:2, :2]
    assert abs(rotated[0, 1]) > 3000.0
    np.testing.assert_allclose(cov[:, 0, 0], rotated[0, 0], rtol=0.01)
    np.testing.assert_allclose(cov[:, 0, 1], rotated[0, 1], rtol=0.15)
    # the same tracks taken as if in rig's own plane are kilometres off
    wrong = TrackInput(ORIGIN).take(*receive(Cat062Decoder(), send(theirs, partner_origin),
                                             partner_origin), partner=1)
    assert np.max(np.abs(wrong["state"][:, 3:5] - v_rig[:, :2])) > 1.0


def _counted(inp, reason):
    return {k: v for k, v in inp.counters.items() if k not in ("received", "taken") and v} == (
        {reason: inp.counters[reason]} if reason else {})


def test_missing_accuracies_are_refused():
    tracks = partner_tracks(6)
    tracks["covariance"][0] = 0.0                                      # no I062/500 at all
    tracks["covariance"][1] = np.diag([100.0, 100.0, 0.0, 0.0, 0.0, 0.0])  # APC, no ATV
    tracks["covariance"][2] = np.diag([0.0, 0.0, 0.0, 1.0, 1.0, 0.0])      # ATV, no APC
    tracks["covariance"][3] = np.nan                                   # unknown
    inp = TrackInput(ORIGIN)
    got = inp.take(*receive(Cat062Decoder(), send(tracks)), partner=0)
    assert got["track_number"].tolist() == [104, 105]
    assert inp.counters["missing_accuracy"] == 4 and _counted(inp, "missing_accuracy")


def _item_500_offset(datagram):
    """Where the I062/500 of the first record of one of rig's datagrams starts, from its
    FSPEC and the fixed lengths of the items before it."""
    sizes = {1: 2, 3: 1, 4: 3, 5: 8, 6: 6, 7: 4, 12: 2, 13: 1, 18: 2, 20: 2}
    fspec = datagram[3:7]
    at = 3 + 4
    for frn in range(1, 27):
        if fspec[(frn - 1) // 7] & (0x80 >> ((frn - 1) % 7)):
            at += sizes[frn]
    return at


def test_zero_accuracies_on_the_wire_and_bad_values_are_refused():
    tracks = partner_tracks(1)
    (d,) = send(tracks)
    at = _item_500_offset(d)
    assert d[at:at + 2] == bytes([0xD5, 0x80])           # APC COV AGA ATV | ARC
    zero_apc = bytearray(d)
    zero_apc[at + 2:at + 6] = bytes(4)                   # APC: 0 m, 0 m
    zero_atv = bytearray(d)
    zero_atv[at + 9:at + 11] = bytes(2)                  # ATV: 0 m/s, 0 m/s
    inp = TrackInput(ORIGIN)
    for i, bad in enumerate((zero_apc, zero_atv)):
        tracks_i, info = decode_tracks(Cat062Decoder(), bytes(bad), ORIGIN)
        tracks_i["track_id"] = i
        assert len(inp.take(tracks_i, info, partner=0)) == 0
    assert inp.counters["bad_accuracy"] == 2
    # values a decoder cannot give, but an array can hold: negative, NaN in an optional one,
    # an xy covariance beyond sd_x sd_y (not positive definite)
    base_tracks, base_info = decode_tracks(Cat062Decoder(), d, ORIGIN)
    cases = [("sd_y_m", -3.0), ("sd_vy_mps", np.inf), ("sd_alt_m", 0.0), ("sd_rocd_mps", -1.0),
             ("cov_xy_m2", 1.01 * base_info["sd_x_m"][0] * base_info["sd_y_m"][0]),
             ("cov_xy_m2", np.inf)]
    for k, (name, value) in enumerate(cases):
        tr, info = base_tracks.copy(), base_info.copy()
        tr["track_id"] = 10 + k
        info[name] = value
        assert len(inp.take(tr, info, partner=0)) == 0, name
    assert inp.counters["bad_accuracy"] == 2 + len(cases) and _counted(inp, "bad_accuracy")


def test_saturated_accuracies_are_refused_and_vertical_ones_defaulted():
    tracks = partner_tracks(4)
    tracks["covariance"][0][0, 0] = 40e3**2              # APC beyond 32 767.5 m
    tracks["covariance"][1][4, 4] = 70.0**2              # ATV beyond 63.75 m/s
    tracks["covariance"][2][2, 2] = 900.0**2             # AGA beyond 1 593.75 ft: default
    tracks["covariance"][2][5, 5] = 20.0**2              # ARC beyond 1 593.75 ft/min: default
    inp = TrackInput(ORIGIN, default_sd_alt_m=2000.0, default_sd_rocd_mps=30.0)
    got = inp.take(*receive(Cat062Decoder(), send(tracks)), partner=0)
    assert got["track_number"].tolist() == [102, 103]
    assert inp.counters["accuracy_saturated"] == 2 and _counted(inp, "accuracy_saturated")
    sd = np.sqrt(np.diagonal(got["covariance"][0]))
    assert sd[2] >= 2000.0 and sd[5] >= 30.0                     # the stated defaults
    assert sd[2] < 2000.0 * 1.01 and sd[5] < 30.0 * 1.01


def test_incomplete_or_impossible_state_is_refused():
    tracks = partner_tracks(4)
    lat, lon, alt, rocd = geodetic_of_tracks(tracks, ORIGIN)
    sd_alt, sd_rocd = vertical_accuracies(tracks, ORIGIN, lat, lon)
    alt[0] = np.nan                                      # no I062/130: no altitude
    rocd[1] = np.nan                                     # no I062/220: no rate of climb
    datagrams = asterix062.encode(tracks, lat, lon, alt, rocd, tracks["t"], sac=7, sic=7,
                                  sd_alt_m=sd_alt, sd_rocd_mps=sd_rocd)
    trk, info = receive(Cat062Decoder(), datagrams)
    info["lat_deg"][2] = 95.0                            # a latitude no aircraft has
    inp = TrackInput(ORIGIN)
    got = inp.take(trk, info, partner=0)
    assert got["track_number"].tolist() == [103]
    assert inp.counters["non_finite_state"] == 3 and _counted(inp, "non_finite_state")
    trk["t"][3] = np.nan
    TrackInput(ORIGIN).take(trk, info, 0)
    inp2 = TrackInput(ORIGIN)
    assert len(inp2.take(trk[3:], info[3:], 0)) == 0 and inp2.counters["non_finite_state"] == 1


def test_a_re_sent_picture_is_counted_as_repeated_not_taken_twice():
    tracks = partner_tracks(20)
    datagrams = send(tracks)
    decoder = Cat062Decoder()
    inp = TrackInput(ORIGIN)
    first = inp.take(*receive(decoder, datagrams), partner=2)
    again = inp.take(*receive(decoder, datagrams), partner=2)
    assert len(first) == 20 and len(again) == 0
    assert inp.counters["repeated"] == 20 and _counted(inp, "repeated")
    # the same track numbers from another partner are other tracks
    assert len(inp.take(*receive(Cat062Decoder(), datagrams), partner=5)) == 20
    # the next picture, one second on, is taken; a track repeated inside it is counted once
    tracks["t"] += 1.0
    twice = np.concatenate([tracks, tracks[:1]])
    got = inp.take(*receive(decoder, send(twice)), partner=2)
    assert len(got) == 20 and inp.counters["repeated"] == 21


def test_times_that_jump_are_refused():
    inp = TrackInput(ORIGIN, max_ahead_s=15.0, max_behind_s=60.0)
    decoder = Cat062Decoder()
    tracks = partner_tracks(20, t=1000.0)
    tracks["t"][3] = 1000.0 + 3600.0                      # an hour ahead of its picture
    got = inp.take(*receive(decoder, send(tracks)), partner=0)
    assert len(got) == 19 and inp.counters["time_ahead"] == 1 and _counted(inp, "time_ahead")
    nxt = partner_tracks(20, t=1002.0)
    nxt["t"][4] = 1002.0 - 120.0                          # two minutes behind the stream
    nxt["t"][5] = 999.0                                   # older than what was taken for it
    got = inp.take(*receive(decoder, send(nxt)), partner=0)
    assert 104 not in got["track_number"] and 105 not in got["track_number"]
    assert inp.counters["time_backwards"] == 2 and len(got) == 18


def test_a_partner_that_restarts_is_followed_again():
    """A whole picture an hour later (a partner back after an outage, or a clock step): the
    first is refused as a jump, the stream then moves there and the next is taken."""
    inp = TrackInput(ORIGIN, stream_window=32)
    decoder = Cat062Decoder()
    assert len(inp.take(*receive(decoder, send(partner_tracks(40, t=1000.0))), 0)) == 40
    later = partner_tracks(40, t=4600.0)
    assert len(inp.take(*receive(decoder, send(later)), 0)) == 0
    assert inp.counters["time_ahead"] == 40
    later["t"] += 1.0
    assert len(inp.take(*receive(decoder, send(later)), 0)) == 40
    # and a clock stepped back: refused once, then followed, its old track times forgotten
    back = partner_tracks(40, t=2000.0)
    assert len(inp.take(*receive(decoder, send(back)), 0)) == 0
    back["t"] += 1.0
    assert len(inp.take(*receive(decoder, send(back)), 0)) == 40


def test_an_empty_datagram_takes_nothing():
    inp = TrackInput(ORIGIN)
    got = inp.take(empty_tracks(0), Cat062Decoder().feed(b"")[1], partner=0)
    assert len(got) == 0 and inp.counters["received"] == 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datagrams=st.lists(uap_datagrams(62, F.UAP, {1, 4, 12},
                                        {27: items_500().map(lambda item: item[0])}),
                          min_size=1, max_size=3))
def test_any_decoded_bytes_are_taken_or_counted_never_a_crash(datagrams):
    """Records of any items with any content, random I062/500 included: every record is taken
    or refused for one reason, and what is taken has a finite state and an SPD covariance."""
    decoder = Cat062Decoder()
    inp = TrackInput(ORIGIN)
    for d in datagrams:
        tracks, info = decode_tracks(decoder, d, ORIGIN)
        got = inp.take(tracks, info, partner=0)
        assert np.all(np.isfinite(got["state"]))
        if len(got):
            assert np.all(np.linalg.eigvalsh(got["covariance"])[:, 0] > 0)
    c = inp.counters
    assert c["received"] == decoder.tracks_ok
    assert c["taken"] + sum(c[r] for r in REASONS) == c["received"]


@pytest.mark.parametrize("partner", [0, 15])
def test_taken_tracks_keep_their_partner(partner):
    got = TrackInput(ORIGIN).take(*receive(Cat062Decoder(), send(partner_tracks(3))), partner)
    assert got["partner"].tolist() == [partner] * 3
