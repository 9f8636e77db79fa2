# cython: language_level=3
"""HDLC-style framing with a CRC, for carrying datagrams (CAT062 blocks) over a serial line.

Frame on the line (the asynchronous framing of RFC 1662, section 4)::

    0x7E | stuffed( payload | FCS ) | 0x7E

- ``FCS``: CRC-16/X-25 of the payload (reflected polynomial 0x8408, init and final XOR
  0xFFFF; ``ext/rig_crc.h``), sent least significant octet first.
- Stuffing: every 0x7E or 0x7D inside the frame is sent as 0x7D followed by the octet XOR
  0x20, so 0x7E never occurs inside a frame. ``0x7D 0x7E`` aborts the frame.
- Consecutive frames may share one flag; empty frames (two flags) are ignored.

A receiver therefore resynchronises at the next flag after any bad byte: a damaged frame fails
its FCS and is counted, the frames after it are whole. Frames are bounded: one longer than
``max_payload_bytes`` is dropped and counted, and the receiver hunts for the next flag.
"""

from libc.stdint cimport uint8_t, uint16_t
from libc.stdlib cimport malloc, free

from rig_crc cimport rig_crc_init, rig_crc16_x25

from rig.errors import EncodeError

rig_crc_init()

cdef enum:
    FLAG = 0x7E
    ESC = 0x7D
    XOR = 0x20
    FCS_BYTES = 2

FLAG_BYTE = FLAG
ESCAPE_BYTE = ESC


def crc16_x25(data):
    """CRC-16/X-25 of ``data`` (the FCS of a frame)."""
    cdef const uint8_t[::1] src = memoryview(data).cast("B") if len(data) else b"\0"
    return rig_crc16_x25(&src[0], len(data))


def hdlc_encode(payload, Py_ssize_t max_payload_bytes=65535):
    """One frame around ``payload`` (bytes-like), flags at both ends."""
    cdef Py_ssize_t n = len(payload)
    if n == 0:
        raise EncodeError("an HDLC frame needs a payload of at least one octet")
    if n > max_payload_bytes:
        raise EncodeError(f"payload of {n} octets exceeds the frame limit of {max_payload_bytes}")
    cdef const uint8_t[::1] src = memoryview(payload).cast("B")
    cdef uint16_t fcs = rig_crc16_x25(&src[0], n)
    out = bytearray(2 * (n + FCS_BYTES) + 2)
    cdef uint8_t[::1] dst = out
    cdef Py_ssize_t i, k = 0
    cdef uint8_t b
    with nogil:
        dst[k] = FLAG
        k += 1
        for i in range(n + FCS_BYTES):
            if i < n:
                b = src[i]
            elif i == n:
                b = fcs & 0xFF
            else:
                b = fcs >> 8
            if b == FLAG or b == ESC:
                dst[k] = ESC
                dst[k + 1] = b ^ XOR
                k += 2
            else:
                dst[k] = b
                k += 1
        dst[k] = FLAG
        k += 1
    return bytes(out[:k])


COUNTER_NAMES = ("frames_ok", "fcs_errors", "frames_too_short", "frames_too_long",
                 "frames_aborted", "bytes_skipped", "bytes_fed")


cdef class HdlcDecoder:
    """Streaming deframer: :meth:`feed` takes any chunk and returns the payloads it completed."""

    cdef uint8_t *buf
    cdef Py_ssize_t max_frame       # payload + FCS
    cdef Py_ssize_t n               # octets of the current frame so far
    cdef bint in_frame
    cdef bint escaped
    cdef bint overflow
    cdef public unsigned long long frames_ok
    cdef public unsigned long long fcs_errors
    cdef public unsigned long long frames_too_short
    cdef public unsigned long long frames_too_long
    cdef public unsigned long long frames_aborted
    cdef public unsigned long long bytes_skipped
    cdef public unsigned long long bytes_fed

    def __cinit__(self, Py_ssize_t max_payload_bytes=65535):
        if max_payload_bytes < 1:
            raise ValueError("max_payload_bytes must be positive")
        self.max_frame = max_payload_bytes + FCS_BYTES
        self.buf = <uint8_t *>malloc(self.max_frame)
        if self.buf == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.buf)

    def counters(self):
        return {name: getattr(self, name) for name in COUNTER_NAMES}

    def reset(self):
        """Drop a partial frame and hunt for the next flag; counters stay."""
        self.n = 0
        self.in_frame = self.escaped = self.overflow = False

    def feed(self, data):
        """Decode ``data``; return the list of payloads (``bytes``) of the frames it completed."""
        cdef const uint8_t[::1] src = memoryview(data).cast("B") if len(data) else b"\0"
        cdef Py_ssize_t n = len(data)
        cdef Py_ssize_t i = 0
        cdef int done
        frames = []
        self.bytes_fed += n
        while i < n:
            with nogil:
                done = self._scan(&src[0], n, &i)
            if done:
                frames.append((<char *>self.buf)[:self.n - FCS_BYTES])
                self.n = 0
        return frames

    cdef int _scan(self, const uint8_t *p, Py_ssize_t n, Py_ssize_t *pos) noexcept nogil:
        """Consume octets from pos; return 1 with a good frame in buf, 0 when input ran out."""
        cdef uint8_t b
        cdef Py_ssize_t length
        while pos[0] < n:
            b = p[pos[0]]
            pos[0] += 1
            if b == FLAG:
                if not self.in_frame:
                    self.in_frame = True
                    self.n = 0
                    continue
                length = self.n
                if self.escaped:
                    self.frames_aborted += 1
                elif self.overflow:
                    self.frames_too_long += 1
                elif length == 0:
                    pass
                elif length <= FCS_BYTES:
                    self.frames_too_short += 1
                elif rig_crc16_x25(self.buf, length - FCS_BYTES) != (
                        self.buf[length - 2] | (self.buf[length - 1] << 8)):
                    self.fcs_errors += 1
                else:
                    self.frames_ok += 1
                    self.escaped = self.overflow = False
                    return 1
                self.n = 0
                self.escaped = self.overflow = False
                continue
            if not self.in_frame:
                self.bytes_skipped += 1
                continue
            if self.overflow:
                continue
            if b == ESC and not self.escaped:
                self.escaped = True
                continue
            if self.escaped:
                b ^= XOR
                self.escaped = False
            if self.n >= self.max_frame:
                self.overflow = True
                continue
            self.buf[self.n] = b
            self.n += 1
        return 0
