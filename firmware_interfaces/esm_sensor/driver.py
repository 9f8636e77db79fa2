"""Host side of the ESM sensor: listen for bearings on UDP, read them in the background.

>>> with EsmSensorDriver("udp://@127.0.0.1:8640", sensor_id=4) as esm:
...     plots = esm.read_plots(timeout_s=1.0)   # PLOT_DTYPE, range_m and range_rate_mps NaN

A background thread (:class:`firmware_interfaces.sensor_driver.SensorDriver`) waits for
datagrams, stamps each with ``time.monotonic_ns()`` at the read and decodes it
(:class:`codec.EsmDecoder`). Decoded plots wait in a bounded queue; when the consumer falls
behind the oldest batches are dropped and counted. If the socket fails, the thread reports it
and reopens with exponential backoff. ``allow_from`` refuses datagrams from other senders
(counted in ``datagrams_refused``).
"""

from __future__ import annotations

from rig.transport import Transport

from ..sensor_driver import DatagramDriver
from . import protocol as P
from .codec import EsmDecoder


class EsmSensorDriver(DatagramDriver):
    """Receives bearings on ``url`` (``udp://@HOST:PORT``, port 0 picks a free one; or a
    :class:`rig.transport.Transport` that gives one datagram per read)."""

    def __init__(self, url: str | Transport = f"udp://@127.0.0.1:{P.DEFAULT_PORT}", *,
                 sensor_id: int = 0, queue_batches: int = 4096, reconnect_max_s: float = 5.0,
                 allow_from=None):
        super().__init__("esm", url, queue_batches=queue_batches,
                         reconnect_max_s=reconnect_max_s, allow_from=allow_from)
        self.sensor_id = sensor_id
        self.decoder = EsmDecoder(sensor_id=sensor_id)

