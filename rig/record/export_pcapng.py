"""A recording's wire traffic as one pcapng file that Wireshark opens.

One interface per sensor (its RAW stream, interface = sensor index) and one per partner feed
(after the sensors), each named after what it carried (``if_name``, ``if_description``),
with nanosecond timestamps (``if_tsresol`` 9) in UTC (:mod:`rig.record.export_clock`):

- a UDP sensor's datagrams (ASTERIX CAT048), each as it came, and every CAT062 datagram
  published, on each UDP feed, as Ethernet/IP/UDP packets with the ports of the transport
  URL. An emulated UDP sensor listened on a port the recording does not keep: its packets go
  to 8600, the port Wireshark decodes as ASTERIX without being told, if its family's
  datagrams are ASTERIX (CAT048 plots, a partner's CAT062 tracks), else to 50000 (an ESM
  sensor's bearings: Wireshark shows them as data);
- a serial sensor's bytes, one packet per chunk read, and a serial feed's HDLC frames as
  RTAC serial packets (received, sent); any other byte stream (a SCPI instrument's answers
  through VISA) as Data (:mod:`rig.record.export_frames`).

The recording keeps each published datagram once (every feed was sent the same ones), so
each feed's interface shows all of them; a send that failed on one feed is not marked.
"""

from __future__ import annotations

import ipaddress
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

from pcapng import FileWriter, blocks

from rig import __version__
from rig.errors import FirmwareInterfaceError
from rig.firmware import get_interface
from rig.outfiles import atomic_path
from rig.transport import SPY_PREFIX, TRANSPORTS
from rig.transport.udp import parse_udp_url

from .export_clock import WallClock
from .export_frames import (LINKTYPE_ETHERNET, LINKTYPE_RTAC_SERIAL,
                            LINKTYPE_WIRESHARK_UPPER_PDU, rtac_serial_frame, udp_frame,
                            upper_pdu_frame)
from .format import Kind
from .reader import Record

#: the UDP port Wireshark decodes as ASTERIX by default
ASTERIX_UDP_PORT = 8600
#: the port shown for a UDP family that is not ASTERIX where the recording has none (one
#: Wireshark leaves as data)
OTHER_UDP_PORT = 50000
#: byte-stream chunks longer than this go as several packets (Wireshark reads up to 256 KiB)
MAX_STREAM_PACKET = 65536
TSRESOL_NS = b"\x09"
EMULATED = "emulated"


@dataclass(frozen=True)
class Interface:
    """One capture interface: what it is called, its link type, and how a recorded payload
    at a UTC time (ns) becomes its packets."""

    name: str
    description: str
    link_type: int
    frames: Callable[[bytes, int], list[bytes]]


def _transport_kind(url: str, family: str | None) -> str:
    """``udp``, ``serial``, ``visa`` (or a plug-in family's own kind), as rig opens it."""
    scheme = url.partition("://")[0] if "://" in url else ""
    if scheme in TRANSPORTS:
        return scheme
    if family is None:
        return "serial"
    try:
        return get_interface(family).transport or "serial"
    except FirmwareInterfaceError:
        return "serial" if url != EMULATED else "bytes"


def _address(host: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if host == "localhost":
        return ipaddress.ip_address("127.0.0.1")
    try:
        return ipaddress.ip_address(host or "")
    except ValueError:
        return None


def _other_end(address) -> str:
    """The far end's address where the recording does not name it: loopback beside a
    loopback address, else unspecified (``0.0.0.0``, ``::``)."""
    if address.version == 6:
        return "::1" if address.is_loopback else "::"
    return "127.0.0.1" if address.is_loopback else "0.0.0.0"


def udp_endpoints(url: str, *, received: bool, sender: str | None = None,
                  default_port: int = ASTERIX_UDP_PORT
                  ) -> tuple[tuple[str, int], tuple[str, int]]:
    """(source, destination) of the datagrams of a UDP transport ``url``, whose address is
    always the destination: rig ``received`` them there (a sensor; ``sender``: the address
    it believes, else the source is unknown), or sent them there (a feed; from its
    ``?bind=``). An unknown source port is taken to be the destination's, an unknown
    destination port (an emulated sensor's) is ``default_port``."""
    if url == EMULATED:
        return ("127.0.0.1", default_port), ("127.0.0.1", default_port)
    _, (host, port), bind = parse_udp_url(url)
    port = port or default_port
    here = _address(host) or ipaddress.ip_address("0.0.0.0")
    far = _address(sender) if received else _address(bind[0]) if bind else None
    if far is None or far.version != here.version:
        far = ipaddress.ip_address(_other_end(here))
    far_port = bind[1] if bind and not received else port
    return (far.compressed, far_port), (here.compressed, port)


def _udp_frames(src, dst, payload: bytes, _utc_ns: int) -> list[bytes]:
    return [udp_frame(payload, src, dst)]


def _stream_frames(frame, payload: bytes, utc_ns: int) -> list[bytes]:
    return [frame(payload[i:i + MAX_STREAM_PACKET], utc_ns)
            for i in range(0, max(len(payload), 1), MAX_STREAM_PACKET)]


def _interface(name: str, description: str, kind: str, url: str, *, received: bool,
               sender: str | None = None, wrap=None, protocol: str | None = None) -> Interface:
    if kind == "udp" and (url == EMULATED or url.startswith("udp://")):
        src, dst = udp_endpoints(url, received=received, sender=sender,
                                 default_port=ASTERIX_UDP_PORT if _asterix(protocol)
                                 else OTHER_UDP_PORT)
        frames = partial(_udp_frames, src, dst)
        if url == EMULATED:
            description += f" (shown as UDP {src[0]}:{src[1]} -> {dst[0]}:{dst[1]})"
        return Interface(name, description, LINKTYPE_ETHERNET, frames)
    if kind == "serial":
        frame = partial(_rtac, sent=not received)
        link_type = LINKTYPE_RTAC_SERIAL
    else:
        frame = partial(_upper_pdu, protocol=protocol)
        link_type = LINKTYPE_WIRESHARK_UPPER_PDU
    frames = partial(_stream_frames, frame)
    if wrap is not None:
        frames = partial(_wrapped, wrap, frames)
    return Interface(name, description, link_type, frames)


def _asterix(family: str | None) -> bool:
    """Whether a family's datagrams are ASTERIX (a feed's, without a family, are CAT062)."""
    if family is None:
        return True
    try:
        return get_interface(family).asterix
    except FirmwareInterfaceError:
        return False


def _rtac(payload: bytes, utc_ns: int, *, sent: bool) -> bytes:
    return rtac_serial_frame(payload, utc_ns, sent=sent)


def _upper_pdu(payload: bytes, _utc_ns: int, *, protocol: str | None) -> bytes:
    return upper_pdu_frame(payload, protocol=protocol)


def _wrapped(wrap, frames, payload: bytes, utc_ns: int) -> list[bytes]:
    return frames(wrap(payload), utc_ns)


def _hdlc(datagram: bytes) -> bytes:
    from rig.publish.codec import hdlc_encode

    return hdlc_encode(datagram)


def sensor_interfaces(meta: dict) -> list[Interface]:
    """One interface per sensor of the recorded run's config, in sensor order."""
    out = []
    for i, entry in enumerate(_entries(meta, "sensors")):
        sensor_id = str(entry.get("id", i))
        family = entry.get("family") if isinstance(entry.get("family"), str) else None
        url = str(entry.get("transport", EMULATED)).removeprefix(SPY_PREFIX)
        kind = _transport_kind(url, family)
        allow = entry.get("allow_from")
        sender = str(allow[0]) if isinstance(allow, list) and allow else None
        out.append(_interface(f"sensor {sensor_id}",
                              f"sensor {sensor_id} {family or 'unknown family'} {url}", kind,
                              url, received=True, sender=sender, protocol=family))
    return out


def feed_interfaces(meta: dict) -> list[Interface]:
    """One interface per partner feed of the recorded run's config, in feed order."""
    config = meta.get("config")
    outputs = config.get("outputs") if isinstance(config, dict) else None
    out = []
    for k, feed in enumerate(_entries({"config": outputs}, "feeds")
                             if isinstance(outputs, dict) else []):
        partner = str(feed.get("partner", k))
        url = str(feed.get("transport", "")).removeprefix(SPY_PREFIX)
        kind = "udp" if url.startswith("udp://") else "serial"
        out.append(_interface(f"feed {partner}",
                              f"feed to partner {partner} {feed.get('format', 'cat062')} {url}",
                              kind, url, received=False,
                              wrap=None if kind == "udp" else _hdlc))
    return out


def _entries(meta: dict, key: str) -> list[dict]:
    config = meta.get("config")
    entries = config.get(key) if isinstance(config, dict) else None
    return [e if isinstance(e, dict) else {} for e in entries] if isinstance(entries, list) else []


class PcapngExport:
    """Writes the RAW and OUTPUT records handed to :meth:`add` into ``path`` (whole or not at
    all: the file appears when the block ends without an error)."""

    def __init__(self, path: str | Path, meta: dict, clock: WallClock):
        self.path = Path(path)
        self.clock = clock
        self.sensors = sensor_interfaces(meta)
        self.feeds = feed_interfaces(meta)
        self.interfaces = self.sensors + self.feeds
        self.packets = [0] * len(self.interfaces)
        self.bytes = [0] * len(self.interfaces)
        self.unknown_streams: dict[int, int] = {}     # RAW of a sensor the config lacks
        self.not_exportable: list[str] = []
        self._stack = ExitStack()
        self._shb = blocks.SectionHeader(options={"shb_userappl": f"rig {__version__}"})
        for iface in self.interfaces:
            self._shb.new_member(blocks.InterfaceDescription, link_type=iface.link_type,
                                 snaplen=0, options={"if_name": iface.name,
                                                     "if_description": iface.description,
                                                     "if_tsresol": TSRESOL_NS})

    def __enter__(self) -> "PcapngExport":
        tmp = self._stack.enter_context(atomic_path(self.path))
        self._file = self._stack.enter_context(open(tmp, "wb"))
        self._writer = FileWriter(self._file, self._shb)
        return self

    def __exit__(self, *exc) -> None:
        self._stack.__exit__(*exc)

    def add(self, rec: Record) -> None:
        if rec.kind == Kind.RAW:
            if rec.stream < len(self.sensors):
                self._write(rec.stream, rec.data, rec.t_ns)
            else:
                self.unknown_streams[rec.stream] = self.unknown_streams.get(rec.stream, 0) + 1
        elif rec.kind == Kind.OUTPUT:
            for k in range(len(self.feeds)):
                self._write(len(self.sensors) + k, rec.data, rec.t_ns)

    def _write(self, index: int, payload: bytes, t_ns: int) -> None:
        utc_ns = max(self.clock.utc_ns(t_ns), 0)
        iface = self.interfaces[index]
        try:
            frames = iface.frames(payload, utc_ns)
        except ValueError as e:          # a datagram too large for IP, an empty HDLC frame
            if len(self.not_exportable) < 10:
                self.not_exportable.append(f"{iface.name}: {e}")
            return
        for frame in frames:
            self._writer.write_block(self._shb.new_member(
                blocks.EnhancedPacket, interface_id=index, timestamp_high=utc_ns >> 32,
                timestamp_low=utc_ns & 0xFFFFFFFF, packet_data=frame))
        self.packets[index] += len(frames)
        self.bytes[index] += len(payload)

    def summary(self) -> list[dict]:
        """Per interface: its name, description, packets and payload bytes written."""
        return [{"interface": i, "name": iface.name, "description": iface.description,
                 "packets": self.packets[i], "bytes": self.bytes[i]}
                for i, iface in enumerate(self.interfaces)]
