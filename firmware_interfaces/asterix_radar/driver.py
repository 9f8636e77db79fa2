"""Host side of the ASTERIX radar: listen for CAT048 on UDP, read plots in the background.

>>> with AsterixRadarDriver("udp://@127.0.0.1:8600", sensor_id=0, site_alt_m=35.0) as radar:
...     plots = radar.read_plots(timeout_s=1.0)   # numpy array of rig.records.PLOT_DTYPE

A background thread waits for datagrams, stamps each with ``time.monotonic_ns()`` right at the
read and feeds the compiled decoder (which runs without the GIL). Decoded plots wait in a
bounded queue; when the consumer falls behind the oldest batches are dropped and counted. If
the socket fails, the thread reports it and reopens with exponential backoff.
Several radars may share one port: :meth:`set_source` maps each SAC/SIC to its sensor id and
site altitude.
"""

from __future__ import annotations

import logging
import threading


from rig._ext.asterix048 import Cat048Decoder
from rig.errors import TransportError
from rig.transport.udp import UdpTransport

from ..plot_queue import PlotDriver
from . import protocol as P

log = logging.getLogger(__name__)


class AsterixRadarDriver(PlotDriver):
    """Receives CAT048 on ``url`` (``udp://@HOST:PORT``; port 0 picks a free one)."""

    def __init__(self, url: str = f"udp://@127.0.0.1:{P.DEFAULT_PORT}", *, sensor_id: int = 0,
                 site_alt_m: float = 0.0, queue_batches: int = 4096,
                 reconnect_max_s: float = 5.0, decoder_factory=Cat048Decoder):
        self.url = url
        self.transport = UdpTransport(url)
        if not self.transport.listen:
            raise TransportError(f"{url}: the driver listens; give udp://@HOST:PORT")
        self.sensor_id = sensor_id
        self.decoder = decoder_factory(sensor_id=sensor_id, site_alt_m=site_alt_m)
        self.reconnect_max_s = reconnect_max_s
        super().__init__(queue_batches)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.state = "closed"
        self.last_error: BaseException | None = None
        self.t_last_arrival_ns = 0
        self.disconnects = 0
        self.reconnects = 0

    def set_source(self, sac: int, sic: int, sensor_id: int, site_alt_m: float) -> None:
        self.decoder.set_source(sac, sic, sensor_id, site_alt_m)

    @property
    def local_address(self) -> tuple[str, int]:
        return self.transport.local_address

    def open(self) -> "AsterixRadarDriver":
        self.transport.open()
        self.state = "open"
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"rig-asterix-{self.url}",
                                        daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        self.transport.close()
        self.state = "closed"

    def __enter__(self) -> "AsterixRadarDriver":
        if self._thread is None:
            self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


    def counters(self) -> dict[str, int]:
        c = self.decoder.counters()
        c.update(plots_dropped=self._queue.plots_dropped, disconnects=self.disconnects,
                 reconnects=self.reconnects, queued_batches=len(self._queue))
        return c

    def _run(self) -> None:
        backoff_s = 0.05
        while not self._stop.is_set():
            try:
                if not self.transport.is_open:
                    self.transport.open()
                    self.reconnects += 1
                    self.state = "open"
                    backoff_s = 0.05
                data, t_arrival_ns = self.transport.read_chunk(0.1)
                if not data:
                    continue
                self.t_last_arrival_ns = t_arrival_ns
                if self._tap is not None:
                    self._tap(t_arrival_ns, data)
                plots = self.decoder.feed(data, t_arrival_ns)
                if len(plots):
                    self.state = "streaming"
                    self._queue.put(plots)
            except TransportError as e:
                self.disconnects += 1
                self.last_error = e
                self.state = "disconnected"
                log.warning("%s", e)
                self.transport.close()
                self._stop.wait(backoff_s)
                backoff_s = min(backoff_s * 2, self.reconnect_max_s)
            except Exception as e:  # a bug, not a socket fault: report it and stop reading
                self.last_error = e
                self.state = "failed"
                log.exception("%s: reader stopped", self.url)
                return
