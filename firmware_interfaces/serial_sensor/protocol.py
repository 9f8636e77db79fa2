"""The rig serial sensor protocol: one definition for the device and the host side.

A compact binary framed protocol for high-rate radar plot extractors on a serial line (RS-232,
RS-422, USB CDC) or anything that carries a byte stream. All multi-byte fields are
**little-endian**. Both directions use the same frame.

Frame
-----
======  =====  ===========  ==================================================================
offset  bytes  field        meaning
======  =====  ===========  ==================================================================
0       2      sync         0xEB 0x90
2       1      version      1
3       1      msg_type     MSG_* below
4       2      payload_len  payload bytes, 0 .. 6144 (u16)
6       4      seq          frame counter of the sender, +1 per frame of any type, wraps (u32)
10      8      t_sensor_ns  sender's clock at transmission, ns (i64); for the device this is
                            the sensor clock, which may be offset from and drift against the
                            host's
18      2      hdr_crc      CRC-16/CCITT-FALSE over bytes 0..17 (poly 0x1021, init 0xFFFF)
20      n      payload
20+n    4      crc32        CRC-32 (IEEE 802.3, as ``zlib.crc32``) over bytes 0 .. 19+n
======  =====  ===========  ==================================================================

A frame whose sequence number equals the previous frame's is a duplicate; receivers drop it.

The separate header CRC lets a receiver reject a corrupt length field at once instead of
waiting for up to 6 KiB that will never form a frame. A receiver hunts for the sync word,
checks the header CRC, waits for the whole frame, checks the CRC-32, and on any failure moves
one byte on and hunts again, so a frame that follows garbage or a damaged frame is found.

Plot record (PLOTS payload: 0 .. 256 records of 24 bytes)
----------------------------------------------------------
======  =====  ===========  ==========================================================
offset  bytes  field        encoding
======  =====  ===========  ==========================================================
0       4      range        u32, mm (0 .. 4 294 967.295 m)
4       4      azimuth      u32, 2π/2³² rad, clockwise from true north (wraps)
8       4      elevation    i32, 2π/2³² rad, −π/2 .. π/2
12      4      range_rate   i32, mm/s; −2³¹ means "not measured"
16      2      amplitude    i16, 0.01 dB
18      2      flags        u16, ``rig.records.PLOT_FLAG_*``
20      4      t_offset     i32, µs; plot time = frame t_sensor_ns + 1000·t_offset
======  =====  ===========  ==========================================================

Messages
--------
Device to host:

- ``PLOTS`` (0x01): plot records as above.
- ``STATUS`` (0x02), 32 bytes, sent once per ``status_period`` while powered and on request:
  health u32 (``HEALTH_*`` bits), scan_period_us u32, frames_sent u32, plots_sent u32,
  overrun_frames u32 (frames dropped because the line could not take them), rx_errors u32
  (host frames the device rejected), uptime_s u32, temperature i16 (0.01 °C), reserved u16.
- ``ACK`` (0x03), 8 bytes: acked msg_type u8, result u8 (``ACK_*``), reserved u16,
  acked seq u32.
- ``TIME_ECHO`` (0x04), 16 bytes: host_t_ns i64 (copied from the PING), device_rx_ns i64
  (sensor clock when the PING arrived); the header's t_sensor_ns is the sensor clock when the
  echo left. The host estimates the sensor clock offset as
  ``device_rx_ns - (host_tx + host_rx) / 2`` (the round trip assumed symmetric).

Host to device:

- ``START`` (0x10) and ``STOP`` (0x11): start and stop plot streaming. Answered by ACK.
- ``SET_SCAN_PERIOD`` (0x12), 4 bytes: period u32 in µs, 1 000 .. 60 000 000. ACK (result
  ``ACK_BAD_PARAMETER`` outside the limits).
- ``GET_STATUS`` (0x13): answered by STATUS.
- ``PING`` (0x14), 8 bytes: host_t_ns i64. Answered by TIME_ECHO.

Limits: at most 256 plots (6144 payload bytes, 6168 frame bytes) per frame. The device starts
silent and streams after START; an unknown message type is answered with ``ACK_UNSUPPORTED``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

SYNC = b"\xeb\x90"
VERSION = 1
HEADER = struct.Struct("<2sBBHIqH")        # sync, version, type, length, seq, t_sensor_ns, hdr_crc
HEADER_SIZE = HEADER.size                   # 20
TRAILER = struct.Struct("<I")
FRAME_OVERHEAD = HEADER_SIZE + TRAILER.size  # 24
PLOT_RECORD = struct.Struct("<IIiihHi")      # range, az, el, range_rate, amplitude, flags, t_offset
PLOT_RECORD_SIZE = PLOT_RECORD.size         # 24
MAX_PLOTS_PER_FRAME = 256
MAX_PAYLOAD = MAX_PLOTS_PER_FRAME * PLOT_RECORD_SIZE  # 6144
MAX_FRAME = MAX_PAYLOAD + FRAME_OVERHEAD               # 6168

RANGE_SCALE_M = 0.001
ANGLE_SCALE_RAD = 2 * 3.141592653589793 / 2**32
RANGE_RATE_SCALE_MPS = 0.001
RANGE_RATE_ABSENT = -(2**31)
AMPLITUDE_SCALE_DB = 0.01
T_OFFSET_SCALE_S = 1e-6

# message types
MSG_PLOTS = 0x01
MSG_STATUS = 0x02
MSG_ACK = 0x03
MSG_TIME_ECHO = 0x04
MSG_START = 0x10
MSG_STOP = 0x11
MSG_SET_SCAN_PERIOD = 0x12
MSG_GET_STATUS = 0x13
MSG_PING = 0x14

MESSAGE_NAMES = {
    MSG_PLOTS: "PLOTS", MSG_STATUS: "STATUS", MSG_ACK: "ACK", MSG_TIME_ECHO: "TIME_ECHO",
    MSG_START: "START", MSG_STOP: "STOP", MSG_SET_SCAN_PERIOD: "SET_SCAN_PERIOD",
    MSG_GET_STATUS: "GET_STATUS", MSG_PING: "PING",
}

# ACK results
ACK_OK = 0
ACK_BAD_PARAMETER = 1
ACK_UNSUPPORTED = 2
ACK_BAD_LENGTH = 3

# STATUS health bits
HEALTH_STREAMING = 0x01
HEALTH_OVERRUN = 0x02     # frames were dropped since the last STATUS
HEALTH_FAULT = 0x04

SCAN_PERIOD_MIN_US = 1_000
SCAN_PERIOD_MAX_US = 60_000_000

STATUS = struct.Struct("<IIIIIIIhH")
ACK = struct.Struct("<BBHI")
TIME_ECHO = struct.Struct("<qq")
PING = struct.Struct("<q")
SCAN_PERIOD = struct.Struct("<I")


@dataclass(frozen=True)
class Status:
    """A decoded STATUS message."""

    health: int
    scan_period_s: float
    frames_sent: int
    plots_sent: int
    overrun_frames: int
    rx_errors: int
    uptime_s: int
    temperature_c: float

    @property
    def streaming(self) -> bool:
        return bool(self.health & HEALTH_STREAMING)

    def pack(self) -> bytes:
        return STATUS.pack(self.health, round(self.scan_period_s * 1e6),
                           self.frames_sent & 0xFFFFFFFF, self.plots_sent & 0xFFFFFFFF,
                           self.overrun_frames & 0xFFFFFFFF, self.rx_errors & 0xFFFFFFFF,
                           self.uptime_s & 0xFFFFFFFF, round(self.temperature_c * 100), 0)

    @classmethod
    def unpack(cls, payload: bytes) -> "Status":
        h, period_us, frames, plots, overruns, rx_err, uptime, temp, _ = STATUS.unpack(payload)
        return cls(h, period_us * 1e-6, frames, plots, overruns, rx_err, uptime, temp / 100)


@dataclass(frozen=True)
class Message:
    """A decoded non-plot message."""

    msg_type: int
    seq: int
    t_sensor_ns: int
    payload: bytes

    @property
    def name(self) -> str:
        return MESSAGE_NAMES.get(self.msg_type, f"0x{self.msg_type:02x}")
