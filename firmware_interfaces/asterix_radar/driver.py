"""Host side of the ASTERIX radar: listen for CAT048 on UDP, read plots in the background.

>>> with AsterixRadarDriver("udp://@127.0.0.1:8600", sensor_id=0, site_alt_m=35.0) as radar:
...     plots = radar.read_plots(timeout_s=1.0)   # numpy array of rig.records.PLOT_DTYPE

A background thread waits for datagrams, stamps each with ``time.monotonic_ns()`` right at the
read and feeds the compiled decoder (which runs without the GIL). Decoded plots wait in a
bounded queue; when the consumer falls behind the oldest batches are dropped and counted. If
the socket fails, the thread reports it and reopens with exponential backoff.
Several radars may share one port: :meth:`set_source` maps each SAC/SIC to its sensor id and
site altitude; after :meth:`only_named_sources` a record of any other SAC/SIC is counted
(``records_foreign``) and never becomes a plot.
"""

from __future__ import annotations

from rig.transport import Transport

from ..sensor_driver import DatagramDriver
from . import protocol as P
from .codec import Cat048Decoder


class AsterixRadarDriver(DatagramDriver):
    """Receives CAT048 on ``url`` (``udp://@HOST:PORT``, port 0 picks a free one; or a
    :class:`rig.transport.Transport` that gives one datagram per read)."""

    def __init__(self, url: str | Transport = f"udp://@127.0.0.1:{P.DEFAULT_PORT}", *, sensor_id: int = 0,
                 site_alt_m: float = 0.0, queue_batches: int = 4096,
                 reconnect_max_s: float = 5.0, decoder_factory=Cat048Decoder,
                 allow_from=None):
        super().__init__("asterix", url, queue_batches=queue_batches,
                         reconnect_max_s=reconnect_max_s, allow_from=allow_from)
        self.sensor_id = sensor_id
        self.decoder = decoder_factory(sensor_id=sensor_id, site_alt_m=site_alt_m)

    def set_source(self, sac: int, sic: int, sensor_id: int, site_alt_m: float) -> None:
        self.decoder.set_source(sac, sic, sensor_id, site_alt_m)

    def only_named_sources(self) -> None:
        """Believe only the SAC/SICs :meth:`set_source` named."""
        self.decoder.only_named_sources()

    def foreign_sources(self) -> list[tuple[int, int]]:
        """The first few (SAC, SIC) of the records refused as foreign."""
        return self.decoder.foreign_sources()

