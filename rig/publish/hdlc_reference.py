"""Pure-Python twin of ``rig._ext.hdlc_framing`` (``ext/hdlc_framing.pyx`` documents the
framing): the same functions, class and counters, written plainly. The tests hold the
compiled framing to it on random and damaged streams."""

from __future__ import annotations

from rig.errors import EncodeError

FLAG_BYTE = 0x7E
ESCAPE_BYTE = 0x7D
_XOR = 0x20
_FCS_BYTES = 2
COUNTER_NAMES = ("frames_ok", "fcs_errors", "frames_too_short", "frames_too_long",
                 "frames_aborted", "bytes_skipped", "bytes_fed")


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc_table()


def crc16_x25(data) -> int:
    """CRC-16/X-25: reflected polynomial 0x8408, initial value and final XOR 0xFFFF."""
    crc = 0xFFFF
    for b in bytes(data):
        crc = (crc >> 8) ^ _TABLE[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFF


def hdlc_encode(payload, max_payload_bytes: int = 65535) -> bytes:
    """One frame around ``payload``, flags at both ends."""
    payload = bytes(payload)
    if not payload:
        raise EncodeError("an HDLC frame needs a payload of at least one octet")
    if len(payload) > max_payload_bytes:
        raise EncodeError(f"payload of {len(payload)} octets exceeds the frame limit of "
                          f"{max_payload_bytes}")
    fcs = crc16_x25(payload)
    out = bytearray([FLAG_BYTE])
    for b in payload + bytes([fcs & 0xFF, fcs >> 8]):
        if b in (FLAG_BYTE, ESCAPE_BYTE):
            out += bytes([ESCAPE_BYTE, b ^ _XOR])
        else:
            out.append(b)
    out.append(FLAG_BYTE)
    return bytes(out)


class HdlcDecoder:
    """Streaming deframer: :meth:`feed` takes any chunk and returns the payloads it completed."""

    def __init__(self, max_payload_bytes: int = 65535):
        if max_payload_bytes < 1:
            raise ValueError("max_payload_bytes must be positive")
        self.max_frame = max_payload_bytes + _FCS_BYTES
        self.buf = bytearray()
        self.in_frame = self.escaped = self.overflow = False
        for name in COUNTER_NAMES:
            setattr(self, name, 0)

    def counters(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTER_NAMES}

    def reset(self) -> None:
        """Drop a partial frame and hunt for the next flag; counters stay."""
        self.buf = bytearray()
        self.in_frame = self.escaped = self.overflow = False

    def feed(self, data) -> list[bytes]:
        frames = []
        data = bytes(data)
        self.bytes_fed += len(data)
        for b in data:
            if b == FLAG_BYTE:
                if not self.in_frame:
                    self.in_frame = True
                    self.buf = bytearray()
                    continue
                frame = self._end_frame()
                if frame is not None:
                    frames.append(frame)
                continue
            if not self.in_frame:
                self.bytes_skipped += 1
                continue
            if self.overflow:
                continue
            if b == ESCAPE_BYTE and not self.escaped:
                self.escaped = True
                continue
            if self.escaped:
                b ^= _XOR
                self.escaped = False
            if len(self.buf) >= self.max_frame:
                self.overflow = True
                continue
            self.buf.append(b)
        return frames

    def _end_frame(self) -> bytes | None:
        """A flag ended the frame in ``buf``: its payload if good, else None (counted)."""
        buf, self.buf = self.buf, bytearray()
        escaped, overflow = self.escaped, self.overflow
        self.escaped = self.overflow = False
        if escaped:
            self.frames_aborted += 1
        elif overflow:
            self.frames_too_long += 1
        elif not buf:
            pass
        elif len(buf) <= _FCS_BYTES:
            self.frames_too_short += 1
        elif crc16_x25(buf[:-2]) != buf[-2] | (buf[-1] << 8):
            self.fcs_errors += 1
        else:
            self.frames_ok += 1
            return bytes(buf[:-2])
        return None
