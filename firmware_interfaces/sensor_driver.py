"""What every host driver shares: its life cycle, the reader thread, back-off, state and
link counters. A family's driver subclasses :class:`SensorDriver` and says how to connect,
disconnect and read one batch; it may add what its protocol needs around those steps.

The reader thread calls :meth:`SensorDriver._read_once` until the driver is closed. When a
fault is raised (a :class:`rig.errors.TransportError`, or what :attr:`faults` lists), the
driver asks :meth:`_on_fault` whether the link is lost: a lost link is counted as one
disconnect, closed, and reconnected with exponential back-off (each try counted in
``reconnect_attempts``, each success in ``reconnects``); a fault on a live link leaves the
state ``recovering`` and the next read is tried after the back-off. Any other exception is a
bug: the state becomes ``failed``, the thread stops and logs it, and the rest of the rig
goes on.
"""

from __future__ import annotations

import enum
import logging
import threading
from dataclasses import asdict, dataclass

from rig.errors import TransportError
from rig.transport import Transport, make_transport

from .plot_queue import PlotDriver

log = logging.getLogger(__name__)


class DriverState(str, enum.Enum):
    """Where a driver is; compares equal to its text (``"open"``)."""

    CLOSED = "closed"
    OPEN = "open"                   # connected, nothing decoded yet
    STREAMING = "streaming"         # plots arriving
    RECOVERING = "recovering"       # a fault on a live link; retrying
    DISCONNECTED = "disconnected"   # the link is lost; reconnecting
    FAILED = "failed"               # the reader stopped on a bug

    def __str__(self) -> str:
        return self.value


@dataclass
class LinkCounters:
    disconnects: int = 0            # links lost (once per outage)
    reconnect_attempts: int = 0
    reconnects: int = 0             # links made again after a loss


class SensorDriver(PlotDriver):
    """Life cycle and reader thread of a host driver (see the module docstring).

    Subclasses implement :meth:`_connect`, :meth:`_disconnect`, :meth:`_is_connected` and
    :meth:`_read_once`, and may override :meth:`_after_reconnect`, :meth:`_on_fault`,
    :meth:`_on_failed` and :meth:`_shutdown`.
    """

    #: exceptions that are faults of the line or the instrument, not bugs
    faults: tuple[type[BaseException], ...] = (TransportError,)
    backoff_initial_s = 0.05

    def __init__(self, name: str, *, queue_batches: int = 4096, reconnect: bool = True,
                 backoff_max_s: float = 5.0, join_timeout_s: float = 5.0):
        super().__init__(queue_batches)
        self.name = name
        self.reconnect = reconnect
        self.backoff_max_s = backoff_max_s
        self.join_timeout_s = join_timeout_s
        self.state = DriverState.CLOSED
        self.last_error: BaseException | None = None
        self.link = LinkCounters()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- what a family provides ----------------------------------------------------------
    def _connect(self) -> None:
        raise NotImplementedError

    def _disconnect(self) -> None:
        raise NotImplementedError

    def _is_connected(self) -> bool:
        raise NotImplementedError

    def _read_once(self) -> None:
        """Read one batch (waiting briefly for it), decode it and queue the plots."""
        raise NotImplementedError

    def _after_reconnect(self) -> None:
        """Restore the sensor's state on a new link (e.g. start it streaming again)."""

    def _on_fault(self, error: BaseException) -> bool:
        """Count ``error`` as the family wishes; True if the link is lost."""
        return True

    def _on_failed(self, error: BaseException) -> None:
        """The reader stopped on a bug (e.g. fail the requests waiting for replies)."""

    def _shutdown(self) -> None:
        """Close the link for good (the reader has stopped)."""
        self._disconnect()

    # --- life cycle ------------------------------------------------------------------------
    def open(self) -> "SensorDriver":
        """Connect and start the reader."""
        self._connect()
        self.state = DriverState.OPEN
        self._start_reader()
        return self

    def _start_reader(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=f"rig-{self.name}",
                                            daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.join_timeout_s)
            self._thread = None
        self._shutdown()
        self.state = DriverState.CLOSED

    def __enter__(self):
        if self._thread is None:
            self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def counters(self) -> dict[str, int]:
        """The link's counters and the queue's; a family adds its decoder's."""
        return {**asdict(self.link), "plots_dropped": self.plots_dropped,
                "queued_batches": self.queued_batches}

    def _queue_plots(self, plots) -> None:
        if len(plots):
            self.state = DriverState.STREAMING
            self._queue.put(plots)

    # --- the reader thread -----------------------------------------------------------------
    def _run(self) -> None:
        backoff_s = self.backoff_initial_s
        while not self._stop.is_set():
            try:
                if not self._is_connected():
                    self.link.reconnect_attempts += 1
                    self._connect()
                    self.link.reconnects += 1
                    self.state = DriverState.OPEN
                    log.warning("%s: reconnected", self.name)
                    self._after_reconnect()
                self._read_once()
                backoff_s = self.backoff_initial_s
            except self.faults as e:
                self.last_error = e
                if not self._is_connected() or self._on_fault(e):
                    if self.state != DriverState.DISCONNECTED:
                        self.link.disconnects += 1
                        log.warning("%s", e)
                    self.state = DriverState.DISCONNECTED
                    self._disconnect()
                    if not self.reconnect:
                        return
                else:
                    self.state = DriverState.RECOVERING
                    log.warning("%s (retry in %.2f s)", e, backoff_s)
                self._stop.wait(backoff_s)
                backoff_s = min(backoff_s * 2, self.backoff_max_s)
            except Exception as e:  # a bug, not a line fault: report it and stop reading
                self.last_error = e
                self.state = DriverState.FAILED
                log.exception("%s: reader stopped", self.name)
                self._on_failed(e)
                return


class TransportDriver(SensorDriver):
    """A driver whose link is one :class:`rig.transport.Transport` (``self.transport``, set
    by the subclass before :meth:`open`): connecting opens it, disconnecting closes it."""

    transport = None

    def _connect(self) -> None:
        self.transport.open()

    def _disconnect(self) -> None:
        self.transport.close()

    def _is_connected(self) -> bool:
        return self.transport.is_open


class DatagramDriver(TransportDriver):
    """A driver that listens for datagrams (``udp://@HOST:PORT``, port 0 picks a free one; or
    a :class:`rig.transport.Transport` that gives one datagram per read), stamps each at the
    read and hands it to ``self.decoder`` (set by the subclass: ``feed(data, t_arrival_ns)``
    gives a batch to queue, ``counters()``). ``allow_from`` (addresses, as text or
    :mod:`ipaddress` objects) refuses other senders (counted in ``datagrams_refused``)."""

    def __init__(self, prefix: str, url, *, queue_batches: int = 4096,
                 reconnect_max_s: float = 5.0, allow_from=None):
        transport = url if isinstance(url, Transport) else make_transport(
            url, kind="udp",
            allow_from=None if allow_from is None else [str(a) for a in allow_from])
        super().__init__(f"{prefix}-{transport.url}", queue_batches=queue_batches,
                         backoff_max_s=reconnect_max_s)
        self.url = transport.url
        self.transport = transport
        if not getattr(transport, "listen", True):
            raise TransportError(f"{self.url}: the driver listens; give udp://@HOST:PORT")
        self.t_last_arrival_ns = 0

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
        self.t_last_arrival_ns = t_arrival_ns
        if self._tap is not None:
            self._tap(t_arrival_ns, data)
        self._queue_plots(self.decoder.feed(data, t_arrival_ns))
