"""UDP transport: ``udp://HOST:PORT`` sends there, ``udp://@HOST:PORT`` listens there.

- ``udp://127.0.0.1:8600``: every :meth:`~UdpTransport.write` is one datagram to that
  address. The local end is any free port on the address the route to HOST leaves from
  (loopback for a loopback HOST) unless ``?bind=HOST:PORT`` names it.
- ``udp://@127.0.0.1:8600``: bound to that address, reading what anyone sends to it; port 0
  picks a free port (see :attr:`UdpTransport.local_address`). ``udp://@:8600`` listens on
  the loopback address; give ``@0.0.0.0:8600`` to listen on every interface on purpose.
- IPv4 multicast: ``udp://@239.1.2.3:8600?iface=10.0.0.5`` joins the group on the interface
  with that address and hears what is sent to the group; ``udp://239.1.2.4:8610?iface=
  10.0.0.5&ttl=4`` sends to the group out of that interface. ``iface`` is loopback
  (127.0.0.1) unless given, so a group stays on this machine until the URL names a network;
  ``ttl`` (hops, default 1) is for senders. Senders loop their datagrams back to members on
  this machine too.
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
#: query keys of a udp:// URL
URL_OPTIONS = ("bind", "iface", "ttl")
DEFAULT_MULTICAST_TTL = 1


def parse_udp_url(url: str) -> tuple[bool, tuple[str, int], tuple[str, int] | None]:
    """``(listen, (host, port), bind)`` of a ``udp://`` URL; :class:`UsageError` if malformed
    (its multicast options too: see :func:`multicast_options`)."""
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
    query = _query(url, parts.query)
    bind = None
    for value in query.get("bind", []):
        bind_parts = urlsplit(f"udp://{value}")
        if bind_parts.port is None:
            raise UsageError(f"{url}: bind={value} needs HOST:PORT")
        bind = (bind_parts.hostname or LOOPBACK, bind_parts.port)
    _multicast(url, host, listen, query)
    return listen, (host, port), bind


def multicast_options(url: str) -> tuple[str, int] | None:
    """``(iface, ttl)`` of a ``udp://`` URL whose host is an IPv4 multicast group (the address
    of the interface to join or send on, and the senders' hop limit), else None."""
    parts = urlsplit(url)
    listen, (host, _), _ = parse_udp_url(url)
    return _multicast(url, host, listen, _query(url, parts.query))


def _query(url: str, text: str) -> dict[str, list[str]]:
    try:
        query = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError as e:
        raise UsageError(f"{url}: bad query: {e}") from e
    unknown = sorted(set(query) - set(URL_OPTIONS))
    if unknown:
        raise UsageError(f"{url}: unknown option {unknown[0]}=; expected "
                         f"{', '.join(URL_OPTIONS)}")
    return query


def _is_multicast(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_multicast
    except ValueError:
        return False


def _multicast(url: str, host: str, listen: bool,
               query: dict[str, list[str]]) -> tuple[str, int] | None:
    """The checked ``(iface, ttl)`` of a multicast URL, or None for any other address."""
    if not _is_multicast(host):
        for key in ("iface", "ttl"):
            if key in query:
                raise UsageError(f"{url}: {key}= is for multicast groups (224.0.0.0/4), "
                                 f"not {host}")
        return None
    if ":" in host:
        raise UsageError(f"{url}: IPv6 multicast is not supported; give an IPv4 group")
    iface = query.get("iface", [LOOPBACK])[-1]
    try:
        if ipaddress.ip_address(iface).version != 4:
            raise ValueError
    except ValueError:
        raise UsageError(f"{url}: iface={iface} is not the IPv4 address of an "
                         f"interface") from None
    ttl_text = query.get("ttl", [str(DEFAULT_MULTICAST_TTL)])[-1]
    if listen and "ttl" in query:
        raise UsageError(f"{url}: ttl= is for senders; a listener only joins the group")
    if not ttl_text.isdigit() or not 0 <= int(ttl_text) <= 255:
        raise UsageError(f"{url}: ttl={ttl_text} is not a hop count from 0 to 255")
    return iface, int(ttl_text)


def _source_address(host: str) -> str:
    """The local address a sender to ``host`` binds to: the one the route to ``host`` leaves
    from (loopback for a loopback destination), never every interface."""
    if host.startswith("127.") or host in ("localhost", "::1"):
        return "::1" if ":" in host else LOOPBACK
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((host, 9))
        except OSError as e:
            raise TransportError(f"no route to {host}: {e}") from e
        return probe.getsockname()[0]


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
        self.multicast = multicast_options(url)
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
            if self.multicast is not None:
                self._open_multicast(sock)
            elif self.listen:
                sock.bind(self.address)
            elif self.bind is not None:
                sock.bind(self.bind)
            else:
                sock.bind((_source_address(host), 0))
        except OSError as e:
            sock.close()
            if isinstance(e, PermissionError):
                raise TransportError(f"{self.url}: permission denied: {e}") from e
            if getattr(e, "errno", None) == 98:       # EADDRINUSE
                raise PortBusyError(f"{self.url}: address in use: another program holds it") from e
            raise TransportError(f"{self.url}: cannot open: {e}") from e
        except TransportError as e:
            sock.close()
            raise TransportError(f"{self.url}: cannot open: {e}") from e
        sock.setblocking(False)
        self._sock = sock

    def _open_multicast(self, sock: socket.socket) -> None:
        """Join the group on the interface (a listener; several may share the port), or send
        to it out of the interface, looped back to members on this machine."""
        iface, ttl = self.multicast
        group = socket.inet_aton(self.address[0])
        if self.listen:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(self.address)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                            group + socket.inet_aton(iface))
            return
        sock.bind(self.bind or (iface, 0))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(iface))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)

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
