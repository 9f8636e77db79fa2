"""Pure-Python reference codec of the serial sensor protocol.

Slow and plain on purpose: it states the protocol of ``protocol.py`` in the most direct code
so that the compiled codec (``rig._ext.serial_codec``) can be held to it. The same tests run
against both; the API is the same, and ``RIG_PUREPYTHON=1`` makes rig use this module
(:mod:`rig.twins`).
"""

from __future__ import annotations

import binascii
import math
import zlib

import numpy as np

from rig.errors import BufferFullError, EncodeError
from rig.records import PLOT_DTYPE

from .protocol import (
    AMPLITUDE_SCALE_DB, ANGLE_SCALE_RAD, FRAME_OVERHEAD, HEADER, HEADER_SIZE, MAX_FRAME,
    MAX_PAYLOAD, MAX_PLOTS_PER_FRAME, MSG_PLOTS, PLOT_RECORD, PLOT_RECORD_SIZE,
    RANGE_RATE_ABSENT, RANGE_SCALE_M, SYNC, TRAILER, VERSION,
)

COUNTER_NAMES = (
    "frames_ok", "plots_ok", "header_errors", "crc_errors", "bad_frames", "bytes_skipped",
    "seq_gaps", "seq_restarts", "duplicates", "messages_dropped", "bytes_fed",
)
# the compiled codec's names of the protocol constants
PROTOCOL_VERSION = VERSION
HEADER_BYTES = HEADER_SIZE
FRAME_OVERHEAD_BYTES = FRAME_OVERHEAD
PLOT_RECORD_BYTES = PLOT_RECORD_SIZE
MAX_PLOTS = MAX_PLOTS_PER_FRAME
MAX_PAYLOAD_BYTES = MAX_PAYLOAD
MAX_FRAME_BYTES = MAX_FRAME


def _crc16(data: bytes) -> int:
    return binascii.crc_hqx(data, 0xFFFF)


def encode_frame(msg_type: int, seq: int, t_sensor_ns: int, payload: bytes = b"") -> bytes:
    if not 0 <= msg_type <= 255:
        raise EncodeError(f"msg_type {msg_type} does not fit in one byte")
    if len(payload) > MAX_PAYLOAD:
        raise EncodeError(f"payload of {len(payload)} bytes exceeds the protocol limit of {MAX_PAYLOAD}")
    head = HEADER.pack(SYNC, VERSION, msg_type, len(payload), seq & 0xFFFFFFFF, t_sensor_ns, 0)
    head = head[:18] + _crc16(head[:18]).to_bytes(2, "little")
    body = head + bytes(payload)
    return body + TRAILER.pack(zlib.crc32(body))


def _round(x: float) -> int:
    return math.floor(x + 0.5)


def encode_plots(plots: np.ndarray, seq: int, t_frame_ns: int) -> bytes:
    if plots.dtype != PLOT_DTYPE:
        raise TypeError(f"plots must have dtype rig.records.PLOT_DTYPE, not {plots.dtype}")
    if len(plots) > MAX_PLOTS_PER_FRAME:
        raise EncodeError(f"{len(plots)} plots exceed the limit of {MAX_PLOTS_PER_FRAME} per frame")
    records = []
    for i, p in enumerate(plots):
        def bad(field, limits):
            return EncodeError(f"plot {i}: {field} = {p[field]!r} is outside what the serial "
                               f"protocol carries ({limits})")
        r = float(p["range_m"]) * 1000.0
        if not -0.5 <= r < 2**32 - 0.5:
            raise bad("range_m", "0 to 4294967.295 m")
        az = float(p["az_rad"])
        if not math.isfinite(az):
            raise bad("az_rad", "a finite angle")
        az = math.fmod(az, 2 * math.pi)
        if az < 0:
            az += 2 * math.pi
        az_units = _round(az / ANGLE_SCALE_RAD) % 2**32
        el_units = _round(float(p["el_rad"]) / ANGLE_SCALE_RAD)
        if not -(2**30) <= el_units <= 2**30:
            raise bad("el_rad", "-pi/2 to pi/2 rad")
        rr = float(p["range_rate_mps"])
        if math.isnan(rr):
            rr_units = RANGE_RATE_ABSENT
        else:
            rr_units = _round(rr * 1000.0)
            if not -(2**31) < rr_units < 2**31:
                raise bad("range_rate_mps", "-2147483.647 to 2147483.647 m/s, or NaN")
        amp = _round(float(p["amplitude_db"]) * 100.0)
        if not -(2**15) <= amp < 2**15:
            raise bad("amplitude_db", "-327.68 to 327.67 dB")
        off = _round((float(p["t_sensor"]) * 1e9 - t_frame_ns) / 1000.0)
        if not -(2**31) <= off < 2**31:
            raise bad("t_sensor", "within 2147 s of the frame time")
        records.append(PLOT_RECORD.pack(_round(r), az_units, el_units, rr_units, amp,
                                        int(p["flags"]), off))
    return encode_frame(MSG_PLOTS, seq, t_frame_ns, b"".join(records))


class SerialFrameDecoder:
    """Streaming decoder with the same behaviour and counters as the compiled one."""

    def __init__(self, sensor_id: int = 0, capacity: int = 65536, max_messages: int = 1024):
        if capacity < 2 * MAX_FRAME:
            raise ValueError(f"capacity must be at least {2 * MAX_FRAME} bytes")
        if not 0 <= sensor_id <= 0xFFFF:
            raise ValueError("sensor_id must fit in 16 bits")
        self.sensor_id = sensor_id
        self.capacity = capacity
        self.max_messages = max_messages
        self._buf = bytearray()
        self._messages: list[tuple[int, int, int, bytes]] = []
        self._last_seq: int | None = None
        for name in COUNTER_NAMES:
            setattr(self, name, 0)

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def counters(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTER_NAMES}

    def messages(self) -> list[tuple[int, int, int, bytes]]:
        out, self._messages = self._messages, []
        return out

    def reset(self) -> None:
        self._buf.clear()
        self._last_seq = None

    def feed(self, data, t_arrival_ns: int = 0) -> np.ndarray:
        data = bytes(data)
        self.bytes_fed += len(data)
        rows = []
        pos = 0
        while True:
            take = min(self.capacity - len(self._buf), len(data) - pos)
            self._buf += data[pos:pos + take]
            pos += take
            self._parse(rows, t_arrival_ns)
            if pos >= len(data):
                break
            if len(self._buf) >= self.capacity:
                raise BufferFullError("decoder buffer full without a complete frame")
        return np.array(rows, dtype=PLOT_DTYPE)

    def _skip(self, n: int) -> None:
        self.bytes_skipped += n
        del self._buf[:n]

    def _parse(self, rows: list, t_arrival_ns: int) -> None:
        buf = self._buf
        while len(buf) >= 2:
            at = buf.find(SYNC)
            if at < 0:
                keep = 1 if buf[-1] == SYNC[0] else 0
                self._skip(len(buf) - keep)
                return
            if at:
                self._skip(at)
                continue
            if len(buf) < HEADER_SIZE:
                return
            _, version, msg_type, length, seq, t_frame, hdr_crc = HEADER.unpack_from(buf)
            if hdr_crc != _crc16(bytes(buf[:18])):
                self.header_errors += 1
                self._skip(1)
                continue
            if (version != VERSION or length > MAX_PAYLOAD
                    or (msg_type == MSG_PLOTS and length % PLOT_RECORD_SIZE)):
                self.bad_frames += 1
                self._skip(1)
                continue
            if len(buf) < length + FRAME_OVERHEAD:
                return
            (crc,) = TRAILER.unpack_from(buf, HEADER_SIZE + length)
            if crc != zlib.crc32(bytes(buf[:HEADER_SIZE + length])):
                self.crc_errors += 1
                self._skip(1)
                continue
            if seq == self._last_seq:
                self.duplicates += 1
                del buf[:length + FRAME_OVERHEAD]
                continue
            self._count_seq(seq)
            self.frames_ok += 1
            payload = bytes(buf[HEADER_SIZE:HEADER_SIZE + length])
            del buf[:length + FRAME_OVERHEAD]
            if msg_type != MSG_PLOTS:
                if len(self._messages) < self.max_messages:
                    self._messages.append((msg_type, seq, t_frame, payload))
                else:
                    self.messages_dropped += 1
                continue
            for r, az, el, rr, amp, flags, off in PLOT_RECORD.iter_unpack(payload):
                rows.append((
                    (t_frame + off * 1000) * 1e-9, t_arrival_ns, r * RANGE_SCALE_M,
                    az * ANGLE_SCALE_RAD, el * ANGLE_SCALE_RAD,
                    math.nan if rr == RANGE_RATE_ABSENT else rr * 0.001,
                    amp * AMPLITUDE_SCALE_DB, self.sensor_id, flags, seq,
                ))
                self.plots_ok += 1

    def _count_seq(self, seq: int) -> None:
        if self._last_seq is not None:
            gap = (seq - self._last_seq - 1) % 2**32
            if gap:
                if gap < 2**31:
                    self.seq_gaps += gap
                else:
                    self.seq_restarts += 1
        self._last_seq = seq
