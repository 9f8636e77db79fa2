"""Byte transports: one small interface, picked by a URL-like string.

``open_transport("/dev/ttyUSB0")``, ``open_transport("socket://127.0.0.1:7000")`` and
``open_transport("loop://")`` all give a :class:`Transport`; readers call
:meth:`Transport.read_chunk` and get whatever bytes are there together with the host's
monotonic arrival time, stamped right at the read.
"""

from __future__ import annotations

from .base import Transport
from .serial_port import SerialTransport
from .udp import UdpTransport

#: URL scheme -> transport class; anything else is a pyserial URL or device path.
SCHEMES: dict[str, type[Transport]] = {
    "udp": UdpTransport,
}


def open_transport(url: str, **options) -> Transport:
    """Open the transport that ``url`` names: ``udp://`` (see :mod:`rig.transport.udp`), or
    any pyserial URL or device path."""
    scheme = url.partition("://")[0] if "://" in url else ""
    transport = SCHEMES.get(scheme, SerialTransport)(url, **options)
    transport.open()
    return transport


__all__ = ["Transport", "SerialTransport", "UdpTransport", "open_transport"]
