"""Recorded bytes as capture-file packets: the link-layer framing Wireshark dissects.

- UDP datagrams: Ethernet + IPv4 (or IPv6) + UDP (``LINKTYPE_ETHERNET``), so Wireshark
  decodes the payload by port (ASTERIX on 8600 by default, or ``-d udp.port==P,asterix``).
- Serial byte streams: ``LINKTYPE_RTAC_SERIAL``, a 12-byte header (arrival time, the event
  "data received" or "data sent", control lines) before the bytes, which Wireshark shows as
  an "RTAC Serial Line" with the bytes as Data.
- Other byte streams (a SCPI instrument through VISA): ``LINKTYPE_WIRESHARK_UPPER_PDU``
  naming the ``data`` dissector and the text of the Protocol column, so Wireshark shows the
  bytes as Data under that name, with no lower layers it would have to invent.
"""

from __future__ import annotations

import ipaddress
import struct

LINKTYPE_ETHERNET = 1
LINKTYPE_RTAC_SERIAL = 250
LINKTYPE_WIRESHARK_UPPER_PDU = 252

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
IP_PROTO_UDP = 17
IPV4_HEADER = struct.Struct("!BBHHHBBH4s4s")
IPV6_HEADER = struct.Struct("!IHBB16s16s")
UDP_HEADER = struct.Struct("!HHHH")
#: the largest UDP payload an IPv4 packet carries (65535 - 20 - 8); IPv6 carries 20 more
MAX_UDP_PAYLOAD = {4: 65507, 6: 65527}

RTAC_HEADER = struct.Struct("!IIBBH")
RTAC_DATA_TX_START = 0x01
RTAC_DATA_RX_START = 0x02

EXP_PDU_TAG_END_OF_OPT = 0
EXP_PDU_TAG_PROTO_NAME = 12
EXP_PDU_TAG_COL_PROT_TEXT = 33


def internet_checksum(data: bytes) -> int:
    """The one's complement sum of 16-bit words (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def udp_frame(payload: bytes, src: tuple[str, int], dst: tuple[str, int]) -> bytes:
    """``payload`` as one Ethernet frame carrying an IP packet carrying a UDP datagram from
    ``src`` to ``dst`` ((address, port); both IPv4 or both IPv6), checksums filled in."""
    src_ip, dst_ip = ipaddress.ip_address(src[0]), ipaddress.ip_address(dst[0])
    if src_ip.version != dst_ip.version:
        raise ValueError(f"UDP endpoints {src[0]} and {dst[0]} are not of one IP version")
    version = dst_ip.version
    if len(payload) > MAX_UDP_PAYLOAD[version]:
        raise ValueError(f"a UDP datagram of {len(payload)} bytes does not fit an IPv{version} "
                         f"packet (at most {MAX_UDP_PAYLOAD[version]})")
    length = UDP_HEADER.size + len(payload)
    pseudo = (src_ip.packed + dst_ip.packed
              + (struct.pack("!BBH", 0, IP_PROTO_UDP, length) if version == 4
                 else struct.pack("!I3xB", length, IP_PROTO_UDP)))
    udp = UDP_HEADER.pack(src[1], dst[1], length, 0) + payload
    checksum = internet_checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", checksum) + udp[8:]
    if version == 4:
        header = IPV4_HEADER.pack(0x45, 0, IPV4_HEADER.size + length, 0, 0x4000, 64,
                                  IP_PROTO_UDP, 0, src_ip.packed, dst_ip.packed)
        header = header[:10] + struct.pack("!H", internet_checksum(header)) + header[12:]
        ethertype = ETHERTYPE_IPV4
    else:
        header = IPV6_HEADER.pack(6 << 28, length, IP_PROTO_UDP, 64, src_ip.packed,
                                  dst_ip.packed)
        ethertype = ETHERTYPE_IPV6
    return bytes(12) + struct.pack("!H", ethertype) + header + udp


def rtac_serial_frame(payload: bytes, wall_ns: int, *, sent: bool) -> bytes:
    """``payload`` behind an RTAC serial header: its time (UTC seconds and microseconds) and
    whether the host received it (a sensor's bytes) or sent it (a partner feed)."""
    seconds, ns = divmod(wall_ns, 1_000_000_000)
    event = RTAC_DATA_TX_START if sent else RTAC_DATA_RX_START
    return RTAC_HEADER.pack(seconds & 0xFFFFFFFF, ns // 1000, event, 0, 0) + payload


def _string_tag(tag: int, text: str) -> bytes:
    value = text.encode()
    value += bytes(-len(value) % 4 or 4)        # NUL-terminated, padded to 4 bytes
    return struct.pack("!HH", tag, len(value)) + value


def upper_pdu_frame(payload: bytes, dissector: str = "data",
                    protocol: str | None = None) -> bytes:
    """``payload`` behind Wireshark's exported-PDU tags naming the ``dissector`` to use and
    the ``protocol`` its Protocol column shows."""
    tags = _string_tag(EXP_PDU_TAG_PROTO_NAME, dissector)
    if protocol:
        tags += _string_tag(EXP_PDU_TAG_COL_PROT_TEXT, protocol)
    return tags + struct.pack("!HH", EXP_PDU_TAG_END_OF_OPT, 0) + payload
