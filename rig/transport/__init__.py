"""Byte and message transports: one small interface, picked by a URL-like string.

``open_transport("/dev/ttyUSB0")``, ``open_transport("socket://127.0.0.1:7000")``,
``open_transport("udp://@127.0.0.1:8600")`` and
``open_transport("TCPIP0::127.0.0.1::5025::SOCKET", kind="visa")`` all give a
:class:`Transport`; readers call :meth:`Transport.read_chunk` and get whatever bytes are there
together with the host's monotonic arrival time, stamped right at the read. VISA sessions are
:class:`MessageTransport`\\ s (``query``, ``read_exact``) as well.

A URL picks its transport by its scheme where the table :data:`TRANSPORTS` has it (``udp://``,
``visa://``), else by ``kind``, the transport of the device's family (``serial`` by default:
device paths and every pyserial URL). ``spy+URL`` logs every byte and message of the
transport ``URL`` names (logger ``rig.transport.spy``), whatever its kind.
"""

from __future__ import annotations

import importlib
import inspect

from rig.errors import UsageError

from .base import MessageTransport, Transport

#: transport kind -> "module:Class", imported when first used
TRANSPORTS: dict[str, str] = {
    "serial": "rig.transport.serial_port:SerialTransport",
    "udp": "rig.transport.udp:UdpTransport",
    "visa": "rig.transport.visa:VisaTransport",
}
SPY_PREFIX = "spy+"


def transport_class(kind: str) -> type[Transport]:
    """The class of transport ``kind`` (a key of :data:`TRANSPORTS`)."""
    if kind not in TRANSPORTS:
        raise UsageError(f"unknown transport {kind!r}; known: {', '.join(TRANSPORTS)}")
    module, _, name = TRANSPORTS[kind].partition(":")
    return getattr(importlib.import_module(module), name)


def make_transport(url: str, *, kind: str = "serial", **options) -> Transport:
    """The transport ``url`` names, not yet open. ``options`` go to its constructor where it
    takes them (``baudrate`` means nothing to a UDP socket and is left out)."""
    if url.startswith(SPY_PREFIX):
        from .spy import spy_on

        return spy_on(make_transport(url[len(SPY_PREFIX):], kind=kind, **options))
    scheme = url.partition("://")[0] if "://" in url else ""
    cls = transport_class(scheme if scheme in TRANSPORTS else kind)
    taken = inspect.signature(cls).parameters
    return cls(url, **{key: value for key, value in options.items() if key in taken})


def open_transport(url: str, *, kind: str = "serial", **options) -> Transport:
    """:func:`make_transport`, opened."""
    transport = make_transport(url, kind=kind, **options)
    transport.open()
    return transport


def __getattr__(name: str):
    # the concrete classes by name, imported on first use
    kinds = {"SerialTransport": "serial", "UdpTransport": "udp", "VisaTransport": "visa"}
    if name in kinds:
        return transport_class(kinds[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["MessageTransport", "Transport", "TRANSPORTS", "make_transport", "open_transport",
           "transport_class", "SerialTransport", "UdpTransport", "VisaTransport"]
