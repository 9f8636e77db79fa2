"""Device side of the SCPI sensor: a TCP server on loopback, like an LXI instrument.

The server listens on ``host:port`` (127.0.0.1 by default; port 0 picks a free one, see
:attr:`ScpiSensorEmulator.port`), accepts any number of clients, reads ``\\n``-terminated SCPI
messages and answers them through one :class:`ScpiRadarInstrument`, which acquires plots from
the plot source on the monotonic clock while running. It never blocks on a slow client: answers
wait in a bounded per-client output buffer, and a client that lets it overflow is disconnected.
A client line longer than ``max_line_bytes`` is dropped with error -223.
"""

from __future__ import annotations

import logging
import selectors
import socket
import time

from rig.emulation import PlotSource, SensorClock
from rig.emulation.faults import FaultSchedule
from rig.emulation.pacing import MAX_WAIT_S
from rig.errors import PortBusyError, TransportError

from . import protocol as P
from .instrument import ScpiRadarInstrument

log = logging.getLogger(__name__)


class _Client:
    def __init__(self, sock: socket.socket, address):
        self.sock = sock
        self.address = address
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self.discarding = False


class ScpiSensorEmulator:
    """One emulated SCPI radar sensor on a TCP port."""

    def __init__(self, source: PlotSource, *, host: str = "127.0.0.1", port: int = P.DEFAULT_PORT,
                 clock: SensorClock | None = None, tick_s: float = 0.005,
                 max_line_bytes: int = 4096, max_output_bytes: int = 64 << 20,
                 faults: FaultSchedule | None = None, on_event=None):
        self._start_ns = time.monotonic_ns()
        self.instrument = ScpiRadarInstrument(source, clock=clock, now_s=self._true_s)
        self.tick_s = tick_s
        self.max_line_bytes = max_line_bytes
        self.max_output_bytes = max_output_bytes
        self.host = host
        self._selector = selectors.DefaultSelector()
        self._listener = None
        self._listen(port)
        self.port = self._listener.getsockname()[1]
        self.faults = faults or FaultSchedule([])
        self.on_event = on_event
        self._base_clock = self.instrument.clock
        self.resets = 0
        self._held_for: _Client | None = None
        self._clients: dict[int, _Client] = {}
        self._stop = False
        self.connections = 0

    def _listen(self, port: int) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, port))
        except OSError as e:
            listener.close()
            if getattr(e, "errno", None) == 98:
                raise PortBusyError(f"{self.host}:{port}: address in use") from e
            raise TransportError(f"{self.host}:{port}: cannot listen: {e}") from e
        listener.listen(8)
        listener.setblocking(False)
        self._selector.register(listener, selectors.EVENT_READ, None)
        self._listener = listener

    def _unlisten(self) -> None:
        """The instrument goes away: every client is cut off and nothing listens."""
        for client in list(self._clients.values()):
            self._drop(client)
        if self._listener is not None:
            self._selector.unregister(self._listener)
            self._listener.close()
            self._listener = None

    def _apply_faults(self, t_s: float) -> None:
        for event in self.faults.events(t_s):
            if self.on_event is not None:
                self.on_event(event)
        self.instrument.clock = self.faults.clock(self._base_clock, t_s)
        self.instrument.silent = self.faults.silent(t_s)
        away = self.faults.disconnected(t_s)
        if away and self._listener is not None:
            self._unlisten()
            self.resets += 1
        elif not away and self._listener is None:
            self._listen(self.port)
        client = self._held_for
        for answer in self.faults.release(t_s):   # answers a latency spike held back
            if client is not None and client.sock.fileno() in self._clients:
                self._queue(client, answer)

    @property
    def resource(self) -> str:
        """The VISA resource string that opens this instrument."""
        return P.visa_resource(self.host, self.port)

    def _true_s(self) -> float:
        return (time.monotonic_ns() - self._start_ns) * 1e-9

    def stop(self) -> None:
        """Ask :meth:`serve` to return (safe from a signal handler)."""
        self._stop = True

    def serve(self, duration_s: float | None = None, *, start_ns: int | None = None):
        """Serve until :meth:`stop` or ``duration_s`` seconds after the start (``start_ns``,
        host monotonic: emulation time 0 shared by the emulators of one run; default now)."""
        self._start_ns = time.monotonic_ns() if start_ns is None else start_ns
        end_ns = None if duration_s is None else self._start_ns + round(duration_s * 1e9)
        while not self._stop:
            now = time.monotonic_ns()
            if end_ns is not None and now >= end_ns:
                break
            if self.faults:
                self._apply_faults(self._true_s())
            # plots are taken into the buffer when the host asks: with no fault to apply
            # there is nothing to do between its requests
            timeout = self.tick_s if self.faults else MAX_WAIT_S
            if end_ns is not None:
                timeout = min(timeout, (end_ns - now) * 1e-9)
            ready = self._selector.select(timeout)
            self.instrument.acquire(self._true_s())
            for key, events in ready:
                if key.data is None:
                    self._accept()
                    continue
                client = key.data
                if events & selectors.EVENT_READ:
                    self._read(client)
                if events & selectors.EVENT_WRITE and client.sock.fileno() in self._clients:
                    self._write(client)
        return self.instrument.stats

    def _accept(self) -> None:
        try:
            sock, address = self._listener.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = _Client(sock, address)
        self._clients[sock.fileno()] = client
        self._selector.register(sock, selectors.EVENT_READ, client)
        self.connections += 1

    def _drop(self, client: _Client) -> None:
        self._clients.pop(client.sock.fileno(), None)
        try:
            self._selector.unregister(client.sock)
        except (KeyError, ValueError):
            pass
        client.sock.close()

    def _read(self, client: _Client) -> None:
        try:
            data = client.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            self._drop(client)
            return
        if not data:
            self._drop(client)
            return
        client.inbuf += data
        while True:
            end = client.inbuf.find(b"\n")
            if end < 0:
                if len(client.inbuf) > self.max_line_bytes:
                    client.inbuf.clear()
                    if not client.discarding:
                        self.instrument.push_error(-223)
                    client.discarding = True
                return
            line = bytes(client.inbuf[:end])
            del client.inbuf[:end + 1]
            if client.discarding:
                client.discarding = False
                continue
            self.instrument.acquire(self._true_s())
            answer = self.instrument.handle(line.decode("ascii", "replace").rstrip("\r"))
            if answer:
                self._send(client, answer)

    def _send(self, client: _Client, answer: bytes) -> None:
        if self.faults:       # answers are the frames of a request/response line
            self._held_for = client
            for piece in self.faults.frames([answer], self._true_s()):
                self._queue(client, piece)
            return
        self._queue(client, answer)

    def _queue(self, client: _Client, answer: bytes) -> None:
        if len(client.outbuf) + len(answer) > self.max_output_bytes:
            log.warning("scpi emulator: client %s does not read; disconnecting", client.address)
            self._drop(client)
            return
        client.outbuf += answer
        self._write(client)

    def _write(self, client: _Client) -> None:
        try:
            n = client.sock.send(client.outbuf)
        except BlockingIOError:
            n = 0
        except OSError:
            self._drop(client)
            return
        del client.outbuf[:n]
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if client.outbuf else 0)
        self._selector.modify(client.sock, events, client)

    def close(self) -> None:
        self._unlisten()
        self._selector.close()
