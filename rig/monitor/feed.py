"""A partner's CAT062 feed for ``rig monitor cat062 URL``: listen where the fused picture is
published and decode its tracks (one datagram per UDP datagram, or HDLC frames on a byte
stream such as a serial line, as :class:`rig.publish.FeedLink` sends them)."""

from __future__ import annotations

import time

import numpy as np

from rig.errors import UsageError
from rig.publish.codec import Cat062Decoder, HdlcDecoder
from rig.records import TRACK_DTYPE
from rig.records_asterix import CAT062_INFO_DTYPE
from rig.transport import make_transport

from .tally import DAY_S, wrapped_to_day

TRACK_ERROR_KEYS = ("records_bad", "records_incomplete", "blocks_bad_length",
                    "blocks_truncated")
FRAME_ERROR_KEYS = ("fcs_errors", "frames_too_short", "frames_too_long", "frames_aborted")
STATUS_NAMES = ("tentative", "confirmed", "coasting", "deleted")


class Cat062Feed:
    """Reads the CAT062 feed at ``url`` (``udp://@HOST:PORT``, or a serial port / URL at
    ``baudrate``, the transport's default when None)."""

    what = "tracks"
    columns = ("track_id", "status", "sac/sic", "lat_deg", "lon_deg", "alt_m", "speed_mps")

    def __init__(self, url: str, *, baudrate: int | None = None):
        self.url = url
        line = {} if baudrate is None else {"baudrate": baudrate}
        self.transport = make_transport(url, kind="serial", **line)
        if not getattr(self.transport, "listen", True):
            raise UsageError(f"{url}: a feed is read where it arrives: give udp://@HOST:PORT")
        self.datagram_oriented = getattr(self.transport, "datagram_oriented", False)
        self.decoder = Cat062Decoder()
        self.framing = None if self.datagram_oriented else HdlcDecoder()
        self.transport.open()
        # UTC time of day = host monotonic + this (the tracks' times are UTC times of day)
        self.utc_minus_monotonic_s = time.time() - time.monotonic()
        self.track_ids: set[int] = set()
        self.stop_sent = None
        self.stop_error = None
        self.emulator_summary = None
        self._info = np.zeros(0, dtype=CAT062_INFO_DTYPE)
        self._arrival_ns = np.zeros(0, dtype=np.int64)

    @property
    def title(self) -> str:
        return f"CAT062 feed on {self.url}"

    @property
    def state(self) -> str:
        return "receiving" if self.decoder.counters()["datagrams"] else "listening"

    def read(self, timeout_s: float) -> np.ndarray:
        """The tracks of what arrives within ``timeout_s`` (TRACK_DTYPE)."""
        tracks, infos, arrivals = [], [], []
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            data, t_arrival_ns = self.transport.read_chunk(left)
            if not data:
                continue
            payloads = [data] if self.framing is None else self.framing.feed(data)
            for payload in payloads:
                got, info = self.decoder.feed(payload)
                tracks.append(got)
                infos.append(info)
                arrivals.append(np.full(len(got), t_arrival_ns, dtype=np.int64))
        if not tracks:
            return np.zeros(0, dtype=TRACK_DTYPE)
        tracks = np.concatenate(tracks)
        if len(tracks):
            self._info, self._arrival_ns = np.concatenate(infos), np.concatenate(arrivals)
            self.track_ids.update(tracks["track_id"].tolist())
        return tracks

    def latency_s(self, tracks: np.ndarray) -> np.ndarray | None:
        """Each track's age when it arrived: UTC time of day then minus the track's time."""
        if not len(tracks):
            return None
        arrival_tod = np.mod(self._arrival_ns * 1e-9 + self.utc_minus_monotonic_s, DAY_S)
        return wrapped_to_day(arrival_tod - tracks["t"])

    def counters(self) -> dict:
        c = self.decoder.counters()
        framing = self.framing.counters() if self.framing is not None else {}
        return {"frames_ok": c["blocks_ok"],
                "decoder_errors": (sum(c[k] for k in TRACK_ERROR_KEYS)
                                   + sum(framing.get(k, 0) for k in FRAME_ERROR_KEYS)),
                "bytes_skipped": c["bytes_skipped"] + framing.get("bytes_skipped", 0),
                "seq_gaps": None, "dropped": None, "track_ids": len(self.track_ids),
                "datagrams": c["datagrams"]}

    def rows(self, tracks: np.ndarray) -> list[tuple]:
        """Table rows of the last ``len(tracks)`` tracks read."""
        info = self._info[-len(tracks):] if len(self._info) >= len(tracks) else None
        rows = []
        for i, t in enumerate(tracks):
            lat = lon = alt = float("nan")
            sac_sic = "-"
            if info is not None:
                lat, lon, alt = info[i]["lat_deg"], info[i]["lon_deg"], info[i]["alt_m"]
                sac_sic = f"{info[i]['sac']}/{info[i]['sic']}"
            status = STATUS_NAMES[t["status"]] if t["status"] < len(STATUS_NAMES) else "?"
            rows.append((int(t["track_id"]), status, sac_sic, f"{lat:.5f}", f"{lon:.5f}",
                         f"{alt:.0f}", f"{np.hypot(t['v_east'], t['v_north']):.1f}"))
        return rows

    def finish(self) -> np.ndarray:
        """A feed has no control channel: nothing to stop; the socket is closed."""
        self.transport.close()
        return np.zeros(0, dtype=TRACK_DTYPE)
