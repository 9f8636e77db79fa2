"""The partner feeds: the same fused picture, encoded once, sent to every partner."""

from __future__ import annotations

import logging
import time

import numpy as np

from rig.errors import TransportError

from .cat062 import Cat062Encoder, FeedLink

log = logging.getLogger(__name__)


class Feeds:
    """:meth:`publish` encodes a picture once as CAT062 and sends the same datagrams to
    every feed, each framed as its transport needs (:class:`FeedLink`). A feed that fails is
    counted and reported once; the others still get the picture.

    ``transports``: ``(name, open transport)`` pairs, one per feed. ``tap`` (optional) is
    called with each datagram as sent, for recording.
    """

    def __init__(self, origin, sac: int, sic: int, transports, *, partner_sources=None,
                 tap=None):
        self.encoder = Cat062Encoder(origin, sac, sic, partner_sources=partner_sources)
        self.links = [(name, FeedLink(t)) for name, t in transports]
        self.tap = tap

    def publish(self, tracks: np.ndarray, t_tod_s: float) -> int:
        """Send ``tracks`` to every feed (each datagram tried on each feed, each failure
        counted); returns the host monotonic time (ns) when done."""
        datagrams = self.encoder.encode(tracks, t_tod_s) if len(tracks) else []
        for name, link in self.links:
            for datagram in datagrams:
                try:
                    link.send([datagram])
                except TransportError as e:
                    if link.send_errors == 1:
                        log.warning("feed %s: %s", name, e)
        done_ns = time.monotonic_ns()
        if self.tap is not None:
            for datagram in datagrams:
                self.tap(done_ns, datagram)
        return done_ns

    def close(self) -> None:
        for _, link in self.links:
            link.transport.close()
