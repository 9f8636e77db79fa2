"""Host side of a track-level partner: listen for its CAT062 on UDP, validate its tracks.

>>> with Cat062TracksDriver("udp://@127.0.0.1:8620", origin=origin) as partner:
...     tracks = partner.read_tracks(timeout_s=1.0)   # PARTNER_TRACK_DTYPE

A background thread (:class:`firmware_interfaces.sensor_driver.SensorDriver`) waits for
datagrams, stamps each with ``time.monotonic_ns()`` at the read and decodes it
(:class:`codec.TrackDecoder`: CAT062, then every record validated or counted by reason).
Validated tracks wait in a bounded queue; when the consumer falls behind the oldest batches
are dropped and counted (``plots_dropped``, the queue's counter: tracks here). If the socket
fails, the thread reports it and reopens with exponential backoff. ``allow_from`` refuses
datagrams from other senders (counted in ``datagrams_refused``). The driver delivers tracks,
never plots: :meth:`read_plots` is always empty.
"""

from __future__ import annotations

import numpy as np

from rig.records import empty_plots
from rig.transport import Transport

from ..plot_queue import PlotQueue
from ..sensor_driver import DatagramDriver
from . import protocol as P
from .codec import TrackDecoder, empty_partner_tracks


class Cat062TracksDriver(DatagramDriver):
    """Receives a partner's CAT062 on ``url`` (``udp://@HOST:PORT``, port 0 picks a free one;
    or a :class:`rig.transport.Transport` that gives one datagram per read). ``origin``,
    ``system_origin`` and ``source``: as for :class:`codec.TrackDecoder`."""

    def __init__(self, url: str | Transport = f"udp://@127.0.0.1:{P.DEFAULT_PORT}", *,
                 origin, system_origin=None, source: tuple[int, int] | None = None,
                 queue_batches: int = 4096, reconnect_max_s: float = 5.0,
                 allow_from=None):
        super().__init__("cat062-tracks", url, queue_batches=queue_batches,
                         reconnect_max_s=reconnect_max_s, allow_from=allow_from)
        self._queue = PlotQueue(queue_batches, empty=empty_partner_tracks)
        self.decoder = TrackDecoder(origin, system_origin=system_origin, source=source)

    def read_tracks(self, timeout_s: float | None = None) -> np.ndarray:
        """Every track validated since the last call (PARTNER_TRACK_DTYPE, ``t`` the
        partner's I062/070, ``partner`` 0); waits up to ``timeout_s`` for the first."""
        return self._queue.get_all(timeout_s)

    def read_plots(self, timeout_s: float | None = None) -> np.ndarray:
        """A track-level partner sends no plots: always empty, never waits."""
        return empty_plots(0)

