"""The partner feeds: the same fused picture, encoded once, sent to every partner."""

from __future__ import annotations

import logging
import time

import numpy as np

from rig._ext.hdlc_framing import hdlc_encode
from rig.errors import TransportError
from rig.publish.cat062 import Cat062Publisher
from rig.transport import open_transport

from .config import OutputsEntry

log = logging.getLogger(__name__)


class Feeds:
    """Opens every feed's transport; :meth:`publish` encodes a picture once as CAT062 and
    sends the same datagrams to every feed (HDLC-framed on byte streams). A feed that fails is
    counted and reported; the others still get the picture.

    ``tap`` (optional) is called with each datagram as sent, for recording.
    """

    def __init__(self, outputs: OutputsEntry, origin, *, partner_sources=None, tap=None):
        self.entries = list(outputs.feeds)
        self.transports = []
        for entry in self.entries:
            transport = open_transport(entry.transport)
            self.transports.append(transport)
        self._encoder = Cat062Publisher(origin, outputs.sac, outputs.sic, transport=None,
                                        partner_sources=partner_sources, framing="datagram")
        self._hdlc = [not getattr(t, "datagram_oriented", False) for t in self.transports]
        self.tap = tap
        self.pictures = 0
        self.updates = 0
        self.datagrams = 0
        self.tracks_sent = 0
        self.send_errors = [0] * len(self.entries)

    def publish(self, tracks: np.ndarray, t_tod_s: float, *, update: bool = False) -> int:
        """Send ``tracks`` to every feed; returns the host monotonic time (ns) when done."""
        datagrams = self._encoder.encode(tracks, t_tod_s) if len(tracks) else []
        for i, transport in enumerate(self.transports):
            for datagram in datagrams:
                try:
                    transport.write(hdlc_encode(datagram) if self._hdlc[i] else datagram)
                except TransportError as e:
                    if not self.send_errors[i]:
                        log.warning("feed %s: %s", self.entries[i].partner, e)
                    self.send_errors[i] += 1
        done_ns = time.monotonic_ns()
        if self.tap is not None:
            for datagram in datagrams:
                self.tap(done_ns, datagram)
        self.datagrams += len(datagrams)
        self.tracks_sent += len(tracks)
        if update:
            self.updates += 1
        else:
            self.pictures += 1
        return done_ns

    def close(self) -> None:
        for transport in self.transports:
            transport.close()

    def summary(self) -> list[dict]:
        return [{"partner": e.partner, "format": e.format, "transport": e.transport,
                 "send_errors": n, "tracks_not_encodable": self._encoder.tracks_not_encodable}
                for e, n in zip(self.entries, self.send_errors)]
