"""Publish the fused picture as ASTERIX CAT062, and read it back.

>>> publisher = Cat062Publisher(origin, sac=0, sic=1, transport=open_transport("udp://127.0.0.1:8600"))
>>> publisher.publish(tracks, t_tod_s=43200.0)     # tracks: rig.records.TRACK_DTYPE

The wire format is in :mod:`rig.publish.cat062_format`. Tracks are ENU at the reference
``origin`` (anything with ``lat_deg``, ``lon_deg``, ``alt_m``); the publisher adds their WGS-84
position, the rate of climb along each track's own vertical, which partners' displays expect,
and the accuracies of altitude and climb rate along that vertical (I062/500 AGA and ARC; the
horizontal accuracies come from the covariance as it is), and hands the datagrams to the
transport: one datagram per UDP datagram, or, on a byte stream (serial), each in an
HDLC-style frame with a CRC-16/X-25 FCS.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass

import numpy as np
import pymap3d

from rig.errors import EncodeError, TransportError, UsageError
from rig.geodesy import Geodetic, LocalFrame
from rig.records import TRACK_DTYPE

from .codec import Cat062Decoder, encode, hdlc_encode

FRAMINGS = ("datagram", "hdlc")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Origin:
    """A WGS-84 reference point (the ENU origin of the tracks)."""

    lat_deg: float
    lon_deg: float
    alt_m: float = 0.0


def _origin(origin) -> Origin:
    if isinstance(origin, Origin):
        return origin
    if isinstance(origin, dict):
        return Origin(float(origin["lat_deg"]), float(origin["lon_deg"]),
                      float(origin.get("alt_m", 0.0)))
    if isinstance(origin, (tuple, list)):
        return Origin(*map(float, origin))
    return Origin(float(origin.lat_deg), float(origin.lon_deg), float(origin.alt_m))


@functools.lru_cache(maxsize=16)
def _frame(origin: Origin) -> LocalFrame:
    return LocalFrame(Geodetic(origin.lat_deg, origin.lon_deg, origin.alt_m))


def _up_axes(origin: Origin, lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    """The local vertical at each (lat, lon), expressed in the origin's ENU axes, ``(n, 3)``."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    up_ecef = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], -1)
    return up_ecef @ _frame(origin).rotation.T


def geodetic_of_tracks(tracks: np.ndarray, origin) -> tuple[np.ndarray, ...]:
    """``(lat_deg, lon_deg, alt_m, rocd_mps)`` of each track: WGS-84 position and the rate of
    climb along the track's local vertical."""
    o = _origin(origin)
    enu = np.stack([tracks["east"], tracks["north"], tracks["up"]], -1)
    lat, lon, alt = _frame(o).geodetic_from_enu(enu)
    v = np.stack([tracks["v_east"], tracks["v_north"], tracks["v_up"]], -1)
    rocd = np.einsum("ij,ij->i", _up_axes(o, lat, lon), v) if len(tracks) else np.zeros(0)
    return lat, lon, alt, rocd


def vertical_accuracies(tracks: np.ndarray, origin, lat_deg: np.ndarray,
                        lon_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(sd_alt_m, sd_rocd_mps)`` of each track: the standard deviations of its position and
    velocity along the local vertical ``u`` at ``(lat_deg, lon_deg)``, ``sqrt(uᵀ P u)`` of the
    covariance's position and velocity blocks (NaN where the covariance is)."""
    if not len(tracks):
        return np.zeros(0), np.zeros(0)
    u = _up_axes(_origin(origin), lat_deg, lon_deg)
    P = tracks["covariance"]
    var_alt = np.einsum("ni,nij,nj->n", u, P[:, :3, :3], u)          # uᵀ P_pos u
    var_rocd = np.einsum("ni,nij,nj->n", u, P[:, 3:, 3:], u)         # uᵀ P_vel u
    return np.sqrt(np.maximum(var_alt, 0.0)), np.sqrt(np.maximum(var_rocd, 0.0))


def complete_tracks(tracks: np.ndarray, info: np.ndarray, origin) -> np.ndarray:
    """Fill ``up`` and ``v_up`` (NaN from the decoder) from the WGS-84 position, altitude and
    rate of climb in ``info``; where I062/100 was absent, east and north come from I062/105."""
    o = _origin(origin)
    have = ~np.isnan(info["lat_deg"]) & ~np.isnan(info["alt_m"])
    if have.any():
        e, n, u = pymap3d.geodetic2enu(info["lat_deg"][have], info["lon_deg"][have],
                                       info["alt_m"][have], o.lat_deg, o.lon_deg, o.alt_m)
        tracks["up"][have] = u
        no_xy = np.isnan(tracks["east"][have])
        tracks["east"][np.flatnonzero(have)[no_xy]] = np.asarray(e)[no_xy]
        tracks["north"][np.flatnonzero(have)[no_xy]] = np.asarray(n)[no_xy]
        ok = have & ~np.isnan(info["rocd_mps"]) & ~np.isnan(tracks["v_east"])
        if ok.any():
            axes = _up_axes(o, info["lat_deg"][ok], info["lon_deg"][ok])
            horizontal = axes[:, 0] * tracks["v_east"][ok] + axes[:, 1] * tracks["v_north"][ok]
            tracks["v_up"][ok] = (info["rocd_mps"][ok] - horizontal) / axes[:, 2]
    return tracks


def decode_tracks(decoder: Cat062Decoder, datagram, origin) -> tuple[np.ndarray, np.ndarray]:
    """Decode one CAT062 datagram into complete TRACK_DTYPE rows and their CAT062 info."""
    tracks, info = decoder.feed(datagram)
    return complete_tracks(tracks, info, origin), info


class Cat062Encoder:
    """One picture as CAT062 datagrams: WGS-84 position and rate of climb added to each
    track, then encoded. ``partner_sources``: partner index -> (SAC, SIC) of its sensor, for
    I062/340."""

    def __init__(self, origin, sac: int, sic: int, *, service_id: int = 1,
                 partner_sources: dict[int, tuple[int, int]] | None = None,
                 max_datagram_bytes: int = 1472):
        self.origin = _origin(origin)
        self.sac = sac
        self.sic = sic
        self.service_id = service_id
        self.partner_sources = dict(partner_sources or {})
        self.max_datagram_bytes = max_datagram_bytes
        self.tracks_not_encodable = 0
        self._reported: set[int] = set()

    def encode(self, tracks: np.ndarray, t_tod_s) -> list[bytes]:
        """The CAT062 datagrams of one picture; ``t_tod_s`` is the UTC time of day of the
        tracks (one value, or one per track). A track the wire cannot carry (a position,
        speed or altitude beyond its fields) is left out, counted in
        :attr:`tracks_not_encodable` and logged once per track; the others still go."""
        if tracks.dtype != TRACK_DTYPE:
            raise TypeError(f"tracks must have dtype rig.records.TRACK_DTYPE, not {tracks.dtype}")
        lat, lon, alt, rocd = geodetic_of_tracks(tracks, self.origin)
        sd_alt, sd_rocd = vertical_accuracies(tracks, self.origin, lat, lon)
        tod = np.broadcast_to(np.asarray(t_tod_s, dtype=np.float64), (len(tracks),))
        while True:
            try:
                return encode(tracks, lat, lon, alt, rocd, tod, sac=self.sac, sic=self.sic,
                              service_id=self.service_id, partner_sources=self.partner_sources,
                              max_datagram_bytes=self.max_datagram_bytes,
                              sd_alt_m=sd_alt, sd_rocd_mps=sd_rocd)
            except EncodeError as e:
                if e.index is None:
                    raise
                self._not_encodable(int(tracks["track_id"][e.index]), e)
                keep = np.arange(len(tracks)) != e.index
                tracks, lat, lon, alt, rocd, tod, sd_alt, sd_rocd = (
                    a[keep] for a in (tracks, lat, lon, alt, rocd, tod, sd_alt, sd_rocd))

    def _not_encodable(self, track_id: int, error: EncodeError) -> None:
        self.tracks_not_encodable += 1
        if track_id not in self._reported:
            self._reported.add(track_id)
            log.warning("CAT062: track %d left out: %s", track_id,
                        str(error).split(": ", 1)[-1])


class FeedLink:
    """One partner feed's transport with its framing: ``"datagram"`` (each datagram as it is;
    the default on datagram transports such as UDP) or ``"hdlc"`` (each in an HDLC-style
    frame; the default on byte streams such as a serial line)."""

    def __init__(self, transport, framing: str | None = None):
        if framing is None:
            framing = "datagram" if getattr(transport, "datagram_oriented", False) else "hdlc"
        if framing not in FRAMINGS:
            raise UsageError(f"framing must be one of {', '.join(FRAMINGS)}, not {framing!r}")
        self.transport = transport
        self.framing = framing
        self.datagrams_sent = 0
        self.bytes_sent = 0
        self.send_errors = 0

    def send(self, datagrams: list[bytes]) -> None:
        """Write each datagram, framed; a transport failure is counted and raised as
        :class:`TransportError` (the rest of the picture is not sent)."""
        for datagram in datagrams:
            wire = datagram if self.framing == "datagram" else hdlc_encode(datagram)
            try:
                self.transport.write(wire)
            except TransportError:
                self.send_errors += 1
                raise
            self.bytes_sent += len(wire)
            self.datagrams_sent += 1


class Cat062Publisher:
    """Sends the picture to one partner feed: a :class:`Cat062Encoder` and a
    :class:`FeedLink` over ``transport`` (an open :class:`rig.transport.Transport`)."""

    def __init__(self, origin, sac: int, sic: int, transport, *, service_id: int = 1,
                 partner_sources: dict[int, tuple[int, int]] | None = None,
                 framing: str | None = None, max_datagram_bytes: int = 1472):
        self.encoder = Cat062Encoder(origin, sac, sic, service_id=service_id,
                                     partner_sources=partner_sources,
                                     max_datagram_bytes=max_datagram_bytes)
        self.link = FeedLink(transport, framing)
        self.pictures = 0
        self.tracks_sent = 0
        self.last_encode_ns = 0

    @property
    def framing(self) -> str:
        return self.link.framing

    def encode(self, tracks: np.ndarray, t_tod_s) -> list[bytes]:
        """The CAT062 datagrams of one picture, without sending them."""
        return self.encoder.encode(tracks, t_tod_s)

    def publish(self, tracks: np.ndarray, t_tod_s) -> int:
        """Encode and send one picture; ``t_tod_s`` is the UTC time of day of the tracks
        (one value, or one per track). Returns the number of datagrams sent. A transport
        failure is counted and raised as :class:`TransportError`."""
        t0 = time.perf_counter_ns()
        left_out = self.encoder.tracks_not_encodable
        datagrams = self.encoder.encode(tracks, t_tod_s)
        left_out = self.encoder.tracks_not_encodable - left_out
        self.last_encode_ns = time.perf_counter_ns() - t0
        self.link.send(datagrams)
        self.pictures += 1
        self.tracks_sent += len(tracks) - left_out
        return len(datagrams)

    def counters(self) -> dict[str, int]:
        return {"pictures": self.pictures, "datagrams_sent": self.link.datagrams_sent,
                "tracks_sent": self.tracks_sent, "bytes_sent": self.link.bytes_sent,
                "send_errors": self.link.send_errors,
                "tracks_not_encodable": self.encoder.tracks_not_encodable}
