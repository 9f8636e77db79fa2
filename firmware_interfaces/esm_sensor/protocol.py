"""The ESM sensor protocol: a passive receiver reporting bearings to a host over UDP.

An ESM (or IRST) receiver measures the direction a signal comes from, never its range. It
sends what it measured as binary datagrams, one message per datagram, to the host's address.
All multi-byte fields are **big-endian** (network byte order).

Message (one UDP datagram of at most 1472 octets, never fragmented on Ethernet)
------------------------------------------------------------------------------
======  =====  ===========  ==================================================================
offset  bytes  field        meaning
======  =====  ===========  ==================================================================
0       4      magic        ``ESMB`` (0x45 0x53 0x4D 0x42)
4       1      version      1
5       1      msg_type     0x01 BEARINGS (the only type of version 1)
6       2      receiver_id  the receiver's own number, as set on it (u16)
8       4      seq          message counter of the receiver, +1 per message, wraps (u32)
12      2      count        bearing records that follow, 0 .. 90 (u16); 0: alive, nothing heard
14      2      reserved     0
16      8      t_sensor_ns  the receiver's clock when the message left, ns (i64); unless set
                            otherwise it reads UTC (ns since 1970-01-01, GPS-disciplined)
24      16·n   records      ``count`` bearing records (below)
24+16n  4      crc32        CRC-32 (IEEE 802.3, as ``zlib.crc32``) of octets 0 .. 23+16n
======  =====  ===========  ==================================================================

Bearing record (16 octets)
--------------------------
======  =====  ===========  ==================================================================
offset  bytes  field        encoding
======  =====  ===========  ==================================================================
0       4      t_offset     i32, µs: the bearing's time is ``t_sensor_ns + 1000·t_offset``
4       4      azimuth      i32, µrad clockwise from true north, 0 .. 6 283 185 (< 2π);
                            −2³¹: no solution
8       4      elevation    i32, µrad above the local horizontal, −1 570 796 .. 1 570 796
                            (±π/2); −2³¹: no solution
12      2      amplitude    i16, 0.01 dB, received signal level; −32 768: not measured
14      2      flags        u16, ``rig.records.PLOT_FLAG_*`` (simulated test emitter,
                            saturated receiver, ...)
======  =====  ===========  ==================================================================

Angles are measured at the receiver's site, in its own local tangent plane. The receiver's
accuracy is not on the wire: a fuser takes it from the sensor's description (``sigma_az_rad``,
``sigma_el_rad``), as for every family.

UDP keeps the message boundaries, but a host still reads every datagram as bytes that may
hold garbage (a damaged line, a foreign sender): it looks for the magic, checks the header
(version, type, count, reserved), that the datagram holds the whole message, and the CRC-32;
on any failure it moves one octet on and looks again, so a message behind garbage is still
found. A record whose angle is missing or impossible (azimuth outside [0, 2π), elevation
outside [−π/2, π/2]) is dropped and counted by reason, never handed on.

Decoded plots (``rig.records.PLOT_DTYPE``): ``range_m`` and ``range_rate_mps`` NaN (a passive
sensor measures neither), ``az_rad``, ``el_rad``, ``t_sensor`` (s, the receiver's clock),
``amplitude_db`` (NaN when not measured), ``flags``, ``seq`` = the message's sequence number,
``sensor_id`` the host's number of the sensor, ``t_arrival_ns`` the host's monotonic clock at
the read.

Wire limits (an encoder raises :class:`rig.errors.EncodeError` naming the plot and field): a
bearing within 2147 s of its message's time; amplitude −327.67 .. 327.67 dB; possible
angles. :func:`encodable` tells which plots fit, so that an emulator can leave out the others
and count them (all but the time, which depends on the message's).
"""

from __future__ import annotations

import math
import struct

import numpy as np

MAGIC = b"ESMB"
VERSION = 1
MSG_BEARINGS = 0x01
DEFAULT_PORT = 8640
MAX_DATAGRAM_BYTES = 1472

HEADER = struct.Struct(">4sBBHIHHq")    # magic, version, type, receiver, seq, count, 0, t_ns
HEADER_SIZE = HEADER.size               # 24
TRAILER = struct.Struct(">I")           # crc32
MESSAGE_OVERHEAD = HEADER_SIZE + TRAILER.size  # 28

#: one bearing record on the wire
RECORD_DTYPE = np.dtype([
    ("t_offset_us", ">i4"),
    ("az_urad", ">i4"),
    ("el_urad", ">i4"),
    ("amplitude_cdb", ">i2"),
    ("flags", ">u2"),
])
RECORD_SIZE = RECORD_DTYPE.itemsize     # 16
MAX_RECORDS = (MAX_DATAGRAM_BYTES - MESSAGE_OVERHEAD) // RECORD_SIZE  # 90

ANGLE_SCALE_RAD = 1e-6
ANGLE_ABSENT = -(2**31)
AZ_MAX_URAD = math.floor(2 * math.pi / ANGLE_SCALE_RAD)      # 6 283 185, below 2π
EL_MAX_URAD = math.floor(math.pi / 2 / ANGLE_SCALE_RAD)      # 1 570 796, below π/2
AMPLITUDE_SCALE_DB = 0.01
AMPLITUDE_ABSENT = -(2**15)
T_OFFSET_SCALE_S = 1e-6


def message_size(count: int) -> int:
    """Octets of a message of ``count`` bearing records."""
    return MESSAGE_OVERHEAD + count * RECORD_SIZE


def angles_valid(az_rad: np.ndarray, el_rad: np.ndarray) -> np.ndarray:
    """Boolean mask of the bearings whose angles are possible: azimuth in [0, 2π), elevation
    in [−π/2, π/2], both finite."""
    with np.errstate(invalid="ignore"):
        return ((az_rad >= 0) & (az_rad < 2 * np.pi)
                & (el_rad >= -np.pi / 2) & (el_rad <= np.pi / 2))


def amplitude_units(amplitude_db: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Amplitudes in 0.01 dB, rounded half up (NaN: not measured, stays NaN), and the mask of
    those the field carries (NaN, or −327.67 .. 327.67 dB)."""
    with np.errstate(invalid="ignore"):
        units = np.floor(amplitude_db.astype(float) / AMPLITUDE_SCALE_DB + 0.5)
        return units, np.isnan(units) | ((units > AMPLITUDE_ABSENT) & (units < 2**15))


def encodable(plots: np.ndarray) -> np.ndarray:
    """Boolean mask of the plots the protocol can carry: possible angles, a finite time, an
    amplitude in limits or NaN."""
    ok = angles_valid(plots["az_rad"], plots["el_rad"]) & np.isfinite(plots["t_sensor"])
    return ok & amplitude_units(plots["amplitude_db"])[1]
