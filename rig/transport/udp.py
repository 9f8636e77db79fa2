"""UDP transport: ``udp://HOST:PORT`` sends there, ``udp://@HOST:PORT`` listens there.

- ``udp://127.0.0.1:8600``: every :meth:`~UdpTransport.write` is one datagram to that
  address (the local end is any free port unless ``?bind=HOST:PORT`` names it).
- ``udp://@127.0.0.1:8600``: bound to that address, reading what anyone sends to it; port 0
  picks a free port (see :attr:`UdpTransport.local_address`). ``udp://@:8600`` listens on
  the loopback address; give ``@0.0.0.0:8600`` to listen on every interface on purpose.
- IPv6 addresses go in brackets: ``udp://[::1]:8600``.

ASTERIX and other datagram protocols need the datagram boundaries, so :meth:`read_chunk`
returns exactly one datagram per call (:attr:`datagram_oriented` is true).
"""

from __future__ import annotations

import ipaddress
import select
import socket
import time
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

from rig.errors import DisconnectedError, PortBusyError, TransportError, UsageError

from .base import Transport

MAX_DATAGRAM_BYTES = 65535
LOOPBACK = "127.0.0.1"


def parse_udp_url(url: str) -> tuple[bool, tuple[str, int], tuple[str, int] | None]:
    """``(listen, (host, port), bind)`` of a ``udp://`` URL; :class:`UsageError` if malformed."""
    parts = urlsplit(url)
    if parts.scheme != "udp":
        raise UsageError(f"{url}: not a udp:// URL")
    listen = "@" in parts.netloc
    try:
        port = parts.port
    except ValueError as e:
        raise UsageError(f"{url}: bad port: {e}") from e
    host = parts.hostname or (LOOPBACK if listen else None)
    if host is None or port is None:
        raise UsageError(f"{url}: expected udp://HOST:PORT or udp://@HOST:PORT")
    bind = None
    for value in parse_qs(parts.query).get("bind", []):
        bind_parts = urlsplit(f"udp://{value}")
        if bind_parts.port is None:
            raise UsageError(f"{url}: bind={value} needs HOST:PORT")
        bind = (bind_parts.hostname or LOOPBACK, bind_parts.port)
    return listen, (host, port), bind


def _any_address(host: str) -> str:
    """The local address a sender binds to: loopback for a loopback destination, else any."""
    if host.startswith("127.") or host in ("localhost", "::1"):
        return "::1" if ":" in host else LOOPBACK
    return "::" if ":" in host else "0.0.0.0"


def host_address(text: str) -> str:
    """An IP address in one spelling (an IPv4 address mapped into IPv6 as IPv4)."""
    ip = ipaddress.ip_address(text.split("%")[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.compressed


class UdpTransport(Transport):
    """One UDP socket; see the module docstring for the URL forms."""

    datagram_oriented = True

    def __init__(self, url: str, *, rcvbuf_bytes: int = 4 << 20,
                 allow_from: Iterable[str] | None = None):
        self.url = url
        self.listen, self.address, self.bind = parse_udp_url(url)
        self.rcvbuf_bytes = rcvbuf_bytes
        self.allow_from = None
        if allow_from is not None:
            self.allow_from = frozenset(map(host_address, allow_from))
        self._sock: socket.socket | None = None
        self.datagrams_sent = 0
        self.datagrams_received = 0
        self.datagrams_refused = 0          # from a sender not in allow_from
        self.send_errors = 0

    @property
    def is_open(self) -> bool:
        return self._sock is not None

    @property
    def local_address(self) -> tuple[str, int]:
        """The (host, port) the socket is bound to."""
        return self._require_open().getsockname()[:2]

    def open(self) -> None:
        if self._sock is not None:
            return
        host = self.address[0]
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf_bytes)
            if self.listen:
                sock.bind(self.address)
            elif self.bind is not None:
                sock.bind(self.bind)
            else:
                sock.bind((_any_address(host), 0))
        except OSError as e:
            sock.close()
            if isinstance(e, PermissionError):
                raise TransportError(f"{self.url}: permission denied: {e}") from e
            if getattr(e, "errno", None) == 98:       # EADDRINUSE
                raise PortBusyError(f"{self.url}: address in use: another program holds it") from e
            raise TransportError(f"{self.url}: cannot open: {e}") from e
        sock.setblocking(False)
        self._sock = sock

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def _require_open(self) -> socket.socket:
        if self._sock is None:
            raise DisconnectedError(f"{self.url}: socket is not open")
        return self._sock

    def fileno(self) -> int:
        return self._require_open().fileno()

    def read_chunk(self, timeout_s: float) -> tuple[bytes, int]:
        """One datagram, or ``b""`` when none came within ``timeout_s`` (or the one that came
        is from a sender ``allow_from`` does not name: refused and counted)."""
        sock = self._require_open()
        try:
            data, sender = self._receive(sock)
            t_arrival_ns = time.monotonic_ns()
        except BlockingIOError:
            try:
                ready, _, _ = select.select([sock], [], [], timeout_s)
            except (OSError, ValueError) as e:
                raise DisconnectedError(f"{self.url}: read failed: {e}") from e
            if not ready:
                return b"", time.monotonic_ns()
            try:
                data, sender = self._receive(sock)
                t_arrival_ns = time.monotonic_ns()
            except BlockingIOError:
                return b"", time.monotonic_ns()
            except OSError as e:
                raise DisconnectedError(f"{self.url}: read failed: {e}") from e
        except OSError as e:
            raise DisconnectedError(f"{self.url}: read failed: {e}") from e
        if sender is not None and host_address(sender[0]) not in self.allow_from:
            self.datagrams_refused += 1
            return b"", t_arrival_ns
        self.datagrams_received += 1
        return data, t_arrival_ns

    def _receive(self, sock: socket.socket) -> tuple[bytes, tuple | None]:
        """One datagram, and its sender where ``allow_from`` needs to know it."""
        if self.allow_from is None:
            return sock.recv(MAX_DATAGRAM_BYTES), None
        return sock.recvfrom(MAX_DATAGRAM_BYTES)

    def write(self, data) -> None:
        """Send ``data`` as one datagram to the URL's address.

        Nobody listening is not an error (UDP does not know); a datagram the network refuses
        (too large, no route) raises :class:`TransportError`.
        """
        sock = self._require_open()
        if self.listen:
            raise TransportError(f"{self.url}: a listening socket has no address to send to")
        try:
            sock.sendto(data, self.address)
        except BlockingIOError:
            self.send_errors += 1
            return
        except ConnectionRefusedError:
            self.send_errors += 1
            return
        except OSError as e:
            self.send_errors += 1
            raise TransportError(f"{self.url}: send failed: {e}") from e
        self.datagrams_sent += 1
