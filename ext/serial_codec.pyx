# cython: language_level=3
"""Encoder and streaming decoder of the rig serial sensor protocol.

The protocol itself (byte offsets, scales, limits) is documented in
``firmware_interfaces/serial_sensor/protocol.py``; the constants below must equal the ones
there (a test holds them together). The decoder's inner loop runs without the GIL and writes
plots straight into a numpy structured array of ``rig.records.PLOT_DTYPE``.
"""

import numpy as np
cimport numpy as cnp
from libc.math cimport NAN, isnan, floor, fmod, M_PI, llround
from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t, INT32_MIN
from libc.stdlib cimport malloc, free
from libc.string cimport memchr, memcpy, memmove

from rig_crc cimport rig_crc_init, rig_crc32, rig_crc16_ccitt
from rig_records cimport plot_offsets, plot_t

from rig.errors import BufferFullError, EncodeError
from rig.records import PLOT_DTYPE, check_layout

cnp.import_array()
rig_crc_init()

# --- protocol constants (see protocol.py) --------------------------------------------------
cdef enum:
    SYNC0 = 0xEB
    SYNC1 = 0x90
    VERSION = 1
    HEADER_SIZE = 20
    TRAILER_SIZE = 4
    FRAME_OVERHEAD = 24
    PLOT_RECORD_SIZE = 24
    MAX_PLOTS_PER_FRAME = 256
    MAX_PAYLOAD = 6144                   # MAX_PLOTS_PER_FRAME * PLOT_RECORD_SIZE
    MAX_FRAME = 6168                     # MAX_PAYLOAD + FRAME_OVERHEAD
    MSG_PLOTS = 0x01
    RANGE_RATE_ABSENT = -2147483648      # INT32_MIN

SYNC = bytes((SYNC0, SYNC1))
PROTOCOL_VERSION = VERSION
HEADER_BYTES = HEADER_SIZE
FRAME_OVERHEAD_BYTES = FRAME_OVERHEAD
PLOT_RECORD_BYTES = PLOT_RECORD_SIZE
MAX_PLOTS = MAX_PLOTS_PER_FRAME
MAX_PAYLOAD_BYTES = MAX_PAYLOAD
MAX_FRAME_BYTES = MAX_FRAME

cdef double TWO_PI = 2.0 * M_PI
cdef double BAM = TWO_PI / 4294967296.0        # rad per unit of a 32-bit angle

# --- the layout check: rig_records.pxd must mirror rig.records.PLOT_DTYPE -------------------
check_layout("plot_t", sizeof(plot_t), plot_offsets(), PLOT_DTYPE)


# --- little-endian loads and stores ------------------------------------------------------
cdef inline uint16_t ld16(const uint8_t *p) noexcept nogil:
    return <uint16_t>(p[0] | (<uint16_t>p[1] << 8))

cdef inline uint32_t ld32(const uint8_t *p) noexcept nogil:
    return (<uint32_t>p[0] | (<uint32_t>p[1] << 8) | (<uint32_t>p[2] << 16)
            | (<uint32_t>p[3] << 24))

cdef inline uint64_t ld64(const uint8_t *p) noexcept nogil:
    return <uint64_t>ld32(p) | (<uint64_t>ld32(p + 4) << 32)

cdef inline void st16(uint8_t *p, uint16_t v) noexcept nogil:
    p[0] = v & 0xFF
    p[1] = v >> 8

cdef inline void st32(uint8_t *p, uint32_t v) noexcept nogil:
    p[0] = v & 0xFF
    p[1] = (v >> 8) & 0xFF
    p[2] = (v >> 16) & 0xFF
    p[3] = v >> 24

cdef inline void st64(uint8_t *p, uint64_t v) noexcept nogil:
    st32(p, <uint32_t>v)
    st32(p + 4, <uint32_t>(v >> 32))


# --- encoder -------------------------------------------------------------------------------
cdef void _write_header(uint8_t *p, uint8_t msg_type, uint16_t length, uint32_t seq,
                        int64_t t_ns) noexcept nogil:
    p[0] = SYNC0
    p[1] = SYNC1
    p[2] = VERSION
    p[3] = msg_type
    st16(p + 4, length)
    st32(p + 6, seq)
    st64(p + 10, <uint64_t>t_ns)
    st16(p + 18, rig_crc16_ccitt(p, 18))


cdef void _write_trailer(uint8_t *frame, Py_ssize_t length) noexcept nogil:
    st32(frame + HEADER_SIZE + length, rig_crc32(0, frame, HEADER_SIZE + length))


def encode_frame(int msg_type, seq, long long t_sensor_ns, payload=b""):
    """One complete frame of any message type around ``payload`` (bytes-like).

    ``seq`` is taken modulo 2**32.
    """
    cdef const uint8_t[::1] body = memoryview(payload).cast("B") if len(payload) else b"\0"
    cdef Py_ssize_t n = len(payload)
    if not 0 <= msg_type <= 255:
        raise EncodeError(f"msg_type {msg_type} does not fit in one byte")
    if n > MAX_PAYLOAD:
        raise EncodeError(f"payload of {n} bytes exceeds the protocol limit of {MAX_PAYLOAD}")
    out = bytearray(n + FRAME_OVERHEAD)
    cdef uint8_t[::1] buf = out
    _write_header(&buf[0], <uint8_t>msg_type, <uint16_t>n, <uint32_t>(seq & 0xFFFFFFFF),
                  t_sensor_ns)
    if n:
        memcpy(&buf[HEADER_SIZE], &body[0], n)
    _write_trailer(&buf[0], n)
    return bytes(out)


def encode_plots(cnp.ndarray plots, seq, long long t_frame_ns):
    """One PLOTS frame carrying ``plots`` (a PLOT_DTYPE array of at most 256 records).

    Each plot's time travels as an offset in microseconds from ``t_frame_ns``. Values are
    rounded to the wire scales; a value the wire cannot carry raises :class:`EncodeError`
    naming the field and the plot. ``seq`` is taken modulo 2**32.
    """
    if plots.dtype != PLOT_DTYPE:
        raise TypeError(f"plots must have dtype rig.records.PLOT_DTYPE, not {plots.dtype}")
    cdef Py_ssize_t n = plots.shape[0]
    if n > MAX_PLOTS_PER_FRAME:
        raise EncodeError(f"{n} plots exceed the limit of {MAX_PLOTS_PER_FRAME} per frame")
    plots = np.ascontiguousarray(plots)
    cdef const plot_t *src = <const plot_t *>cnp.PyArray_DATA(plots)
    out = bytearray(n * PLOT_RECORD_SIZE + FRAME_OVERHEAD)
    cdef uint8_t[::1] buf = out
    cdef uint8_t *p
    cdef Py_ssize_t i
    cdef int bad = -1
    cdef int bad_field = 0
    cdef uint32_t seq32 = <uint32_t>(seq & 0xFFFFFFFF)
    with nogil:
        for i in range(n):
            p = &buf[HEADER_SIZE + i * PLOT_RECORD_SIZE]
            bad_field = _encode_plot(p, &src[i], t_frame_ns)
            if bad_field:
                bad = <int>i
                break
        if bad < 0:
            _write_header(&buf[0], MSG_PLOTS, <uint16_t>(n * PLOT_RECORD_SIZE), seq32, t_frame_ns)
            _write_trailer(&buf[0], n * PLOT_RECORD_SIZE)
    if bad >= 0:
        field, limits = _FIELD_LIMITS[bad_field]
        raise EncodeError(f"plot {bad}: {field} = {plots[bad][field]!r} is outside what the "
                          f"serial protocol carries ({limits})")
    return bytes(out)


_FIELD_LIMITS = {
    1: ("range_m", "0 to 4294967.295 m"),
    2: ("az_rad", "a finite angle"),
    3: ("el_rad", "-pi/2 to pi/2 rad"),
    4: ("range_rate_mps", "-2147483.647 to 2147483.647 m/s, or NaN"),
    5: ("amplitude_db", "-327.68 to 327.67 dB"),
    6: ("t_sensor", "within 2147 s of the frame time"),
}


cdef int _encode_plot(uint8_t *p, const plot_t *plot, int64_t t_frame_ns) noexcept nogil:
    """Write one 24-byte plot record; return 0, or the number of the field out of range."""
    cdef double r = plot.range_m * 1000.0
    if not (r >= -0.5 and r < 4294967295.5):
        return 1
    cdef double az = plot.az_rad
    if isnan(az) or az - az != 0.0:
        return 2
    az = fmod(az, TWO_PI)
    if az < 0:
        az += TWO_PI
    cdef double az_units = floor(az / BAM + 0.5)
    if az_units >= 4294967296.0:
        az_units -= 4294967296.0
    cdef double el_units = floor(plot.el_rad / BAM + 0.5)
    if not (el_units >= -1073741824.0 and el_units <= 1073741824.0):
        return 3
    cdef int32_t rr
    cdef double rr_units
    if isnan(plot.range_rate_mps):
        rr = RANGE_RATE_ABSENT
    else:
        rr_units = floor(plot.range_rate_mps * 1000.0 + 0.5)
        if not (rr_units > -2147483648.0 and rr_units <= 2147483647.0):
            return 4
        rr = <int32_t>rr_units
    cdef double amp = floor(plot.amplitude_db * 100.0 + 0.5)
    if not (amp >= -32768.0 and amp <= 32767.0):
        return 5
    cdef double off_us = floor((plot.t_sensor * 1e9 - <double>t_frame_ns) / 1000.0 + 0.5)
    if not (off_us >= -2147483648.0 and off_us <= 2147483647.0):
        return 6
    st32(p, <uint32_t>floor(r + 0.5))
    st32(p + 4, <uint32_t>az_units)
    st32(p + 8, <uint32_t>(<int32_t>el_units))
    st32(p + 12, <uint32_t>rr)
    st16(p + 16, <uint16_t>(<int16_t>amp))
    st16(p + 18, plot.flags)
    st32(p + 20, <uint32_t>(<int32_t>off_us))
    return 0


# --- decoder -------------------------------------------------------------------------------
cdef enum ParseResult:
    NEED_MORE = 0
    OUTPUT_FULL = 1
    GOT_MESSAGE = 2


cdef class SerialFrameDecoder:
    """Streaming decoder: ``feed(chunk, t_arrival_ns)`` returns the plots completed by it.

    Frames may be split across chunks, many may arrive in one chunk, and garbage may sit
    between them: the decoder finds the next sync word whose header CRC holds, checks the
    frame CRC and resynchronises byte by byte after anything bad, counting what it dropped.
    Its buffer is bounded (``capacity`` bytes); a corrupt length field cannot grow it.

    A frame with the same sequence number as the one before it is a duplicate: dropped and
    counted. Messages other than PLOTS are queued as ``(msg_type, seq, t_sensor_ns, payload)``
    tuples and handed out by :meth:`messages`.
    """

    cdef uint8_t *buf
    cdef Py_ssize_t capacity
    cdef Py_ssize_t start          # first unparsed byte
    cdef Py_ssize_t end            # one past the last buffered byte
    cdef uint16_t sensor_id
    cdef bint have_seq
    cdef uint32_t last_seq
    cdef list _messages
    cdef Py_ssize_t max_messages
    # counters
    cdef public unsigned long long frames_ok
    cdef public unsigned long long plots_ok
    cdef public unsigned long long header_errors
    cdef public unsigned long long crc_errors
    cdef public unsigned long long bad_frames
    cdef public unsigned long long bytes_skipped
    cdef public unsigned long long seq_gaps
    cdef public unsigned long long seq_restarts
    cdef public unsigned long long duplicates
    cdef public unsigned long long messages_dropped
    cdef public unsigned long long bytes_fed

    def __cinit__(self, int sensor_id=0, Py_ssize_t capacity=65536, Py_ssize_t max_messages=1024):
        if capacity < 2 * MAX_FRAME:
            raise ValueError(f"capacity must be at least {2 * MAX_FRAME} bytes")
        if not 0 <= sensor_id <= 0xFFFF:
            raise ValueError("sensor_id must fit in 16 bits")
        self.buf = <uint8_t *>malloc(capacity)
        if self.buf == NULL:
            raise MemoryError()
        self.capacity = capacity
        self.sensor_id = <uint16_t>sensor_id
        self._messages = []
        self.max_messages = max_messages

    def __dealloc__(self):
        free(self.buf)

    @property
    def buffered(self):
        """Bytes held waiting for the rest of a frame."""
        return self.end - self.start

    def counters(self):
        """All counters as a dict (a snapshot)."""
        return {name: getattr(self, name) for name in COUNTER_NAMES}

    def messages(self):
        """Non-plot messages decoded so far, oldest first; the queue is emptied."""
        out = self._messages
        self._messages = []
        return out

    def reset(self):
        """Forget buffered bytes and sequence state (after a reconnect); counters stay."""
        self.start = self.end = 0
        self.have_seq = False

    def feed(self, data, long long t_arrival_ns=0):
        """Decode ``data`` (any bytes-like object); return a PLOT_DTYPE array of new plots."""
        cdef const uint8_t[::1] src = memoryview(data).cast("B") if len(data) else b"\0"
        cdef Py_ssize_t n = len(data)
        cdef Py_ssize_t pos = 0, take, n_out = 0
        cdef Py_ssize_t cap_out = (self.end - self.start + n) // PLOT_RECORD_SIZE + 1
        out = np.empty(cap_out, dtype=PLOT_DTYPE)
        cdef plot_t *dst = <plot_t *>cnp.PyArray_DATA(out)
        cdef ParseResult res
        self.bytes_fed += n
        while True:
            with nogil:
                if self.start > 0 and (self.capacity - self.end) < (n - pos):
                    memmove(self.buf, self.buf + self.start, self.end - self.start)
                    self.end -= self.start
                    self.start = 0
                take = min(self.capacity - self.end, n - pos)
                if take > 0:
                    memcpy(self.buf + self.end, &src[pos], take)
                    self.end += take
                    pos += take
                res = self._parse(dst, &n_out, cap_out, t_arrival_ns)
            if res == GOT_MESSAGE:
                self._take_message()
                continue
            if res == OUTPUT_FULL:  # cannot happen: cap_out bounds every plot in the input
                raise BufferFullError("decoder output overflow")
            if pos >= n:
                break
            if self.end - self.start >= self.capacity:
                # _parse leaves less than one frame when it needs more; a full buffer here
                # would mean a frame larger than the buffer, which the length check forbids.
                raise BufferFullError("decoder buffer full without a complete frame")
        if self.start == self.end:
            self.start = self.end = 0
        return out[:n_out]

    cdef ParseResult _parse(self, plot_t *dst, Py_ssize_t *n_out, Py_ssize_t cap_out,
                            int64_t t_arrival_ns) noexcept nogil:
        cdef const uint8_t *p
        cdef const uint8_t *hit
        cdef Py_ssize_t avail, length, frame_len, k, n_plots
        cdef uint8_t msg_type
        cdef uint32_t seq, gap
        cdef int64_t t_frame
        while True:
            avail = self.end - self.start
            if avail < 2:
                return NEED_MORE
            p = self.buf + self.start
            if p[0] != SYNC0 or p[1] != SYNC1:
                hit = <const uint8_t *>memchr(p + 1, SYNC0, avail - 1)
                if hit == NULL:
                    # keep nothing: no sync byte anywhere
                    self.bytes_skipped += avail
                    self.start = self.end
                    return NEED_MORE
                self.bytes_skipped += hit - p
                self.start += hit - p
                continue
            if avail < HEADER_SIZE:
                return NEED_MORE
            if ld16(p + 18) != rig_crc16_ccitt(p, 18):
                self.header_errors += 1
                self._skip(1)
                continue
            length = ld16(p + 4)
            msg_type = p[3]
            if (p[2] != VERSION or length > MAX_PAYLOAD
                    or (msg_type == MSG_PLOTS and length % PLOT_RECORD_SIZE != 0)):
                self.bad_frames += 1
                self._skip(1)
                continue
            frame_len = length + FRAME_OVERHEAD
            if avail < frame_len:
                return NEED_MORE
            if ld32(p + HEADER_SIZE + length) != rig_crc32(0, p, HEADER_SIZE + length):
                self.crc_errors += 1
                self._skip(1)
                continue
            seq = ld32(p + 6)
            t_frame = <int64_t>ld64(p + 10)
            if self.have_seq:
                if seq == self.last_seq:
                    # the same frame again (a line or a sender repeating itself): drop it
                    self.duplicates += 1
                    self.start += frame_len
                    continue
                gap = seq - self.last_seq - 1
                if gap != 0:
                    if gap < 0x80000000u:
                        self.seq_gaps += gap
                    else:
                        self.seq_restarts += 1
            self.have_seq = True
            self.last_seq = seq
            self.frames_ok += 1
            if msg_type != MSG_PLOTS:
                # left in place for feed() to copy out with the GIL held
                return GOT_MESSAGE
            n_plots = length // PLOT_RECORD_SIZE
            if n_out[0] + n_plots > cap_out:
                return OUTPUT_FULL
            for k in range(n_plots):
                _decode_plot(p + HEADER_SIZE + k * PLOT_RECORD_SIZE, &dst[n_out[0] + k],
                             t_frame, t_arrival_ns, self.sensor_id, seq)
            n_out[0] += n_plots
            self.plots_ok += n_plots
            self.start += frame_len

    cdef inline void _skip(self, Py_ssize_t n) noexcept nogil:
        self.bytes_skipped += n
        self.start += n

    cdef void _take_message(self):
        cdef const uint8_t *p = self.buf + self.start
        cdef Py_ssize_t length = ld16(p + 4)
        if len(self._messages) < self.max_messages:
            self._messages.append((p[3], ld32(p + 6), <int64_t>ld64(p + 10),
                                   (<const char *>p)[HEADER_SIZE:HEADER_SIZE + length]))
        else:
            self.messages_dropped += 1
        self.start += length + FRAME_OVERHEAD


cdef inline void _decode_plot(const uint8_t *p, plot_t *out, int64_t t_frame_ns,
                              int64_t t_arrival_ns, uint16_t sensor_id,
                              uint32_t seq) noexcept nogil:
    cdef int32_t rr = <int32_t>ld32(p + 12)
    out.t_sensor = (t_frame_ns + <int64_t>(<int32_t>ld32(p + 20)) * 1000) * 1e-9
    out.t_arrival_ns = t_arrival_ns
    out.range_m = ld32(p) * 0.001
    out.az_rad = ld32(p + 4) * BAM
    out.el_rad = (<int32_t>ld32(p + 8)) * BAM
    out.range_rate_mps = NAN if rr == RANGE_RATE_ABSENT else rr * 0.001
    out.amplitude_db = (<int16_t>ld16(p + 16)) * 0.01
    out.sensor_id = sensor_id
    out.flags = ld16(p + 18)
    out.seq = seq


COUNTER_NAMES = (
    "frames_ok", "plots_ok", "header_errors", "crc_errors", "bad_frames", "bytes_skipped",
    "seq_gaps", "seq_restarts", "duplicates", "messages_dropped", "bytes_fed",
)
