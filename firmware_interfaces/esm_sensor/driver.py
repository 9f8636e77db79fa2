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

from rig.errors import TransportError
from rig.transport import Transport, make_transport

from ..sensor_driver import TransportDriver
from . import protocol as P
from .codec import EsmDecoder


class EsmSensorDriver(TransportDriver):
    """Receives bearings on ``url`` (``udp://@HOST:PORT``, port 0 picks a free one; or a
    :class:`rig.transport.Transport` that gives one datagram per read)."""

    def __init__(self, url: str | Transport = f"udp://@127.0.0.1:{P.DEFAULT_PORT}", *,
                 sensor_id: int = 0, queue_batches: int = 4096, reconnect_max_s: float = 5.0,
                 allow_from: list[str] | None = None):
        transport = url if isinstance(url, Transport) else make_transport(
            url, kind="udp", allow_from=allow_from)
        super().__init__(f"esm-{transport.url}", queue_batches=queue_batches,
                         backoff_max_s=reconnect_max_s)
        self.url = transport.url
        self.transport = transport
        if not getattr(transport, "listen", True):
            raise TransportError(f"{self.url}: the driver listens; give udp://@HOST:PORT")
        self.sensor_id = sensor_id
        self.decoder = EsmDecoder(sensor_id=sensor_id)

    @property
    def local_address(self) -> tuple[str, int]:
        return self.transport.local_address

    def counters(self) -> dict[str, int]:
        c = self.decoder.counters()
        c.update(super().counters())
        c["datagrams_refused"] = getattr(self.transport, "datagrams_refused", 0)
        return c

    def _read_once(self) -> None:
        data, t_arrival_ns = self.transport.read_chunk(0.1)
        if not data:
            return
        if self._tap is not None:
            self._tap(t_arrival_ns, data)
        self._queue_plots(self.decoder.feed(data, t_arrival_ns))
