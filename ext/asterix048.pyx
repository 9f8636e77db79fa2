# cython: language_level=3
"""ASTERIX CAT048 (monoradar target reports, edition 1.31) encoder and decoder.

Plots travel as CAT048 records; the record layout, scales and the mapping of every
``rig.records.PLOT_DTYPE`` field are documented in
``firmware_interfaces/asterix_radar/protocol.py`` and the elevation/height geometry in
``firmware_interfaces/asterix_radar/geometry.py`` (a pure-Python reference codec there is held
to this one by the same tests). Edition 1.31 is the one Wireshark 4.0 decodes by default.

The decoder takes one UDP datagram at a time (several data blocks of several records each),
walks every record against the full UAP so that items rig does not use are skipped by their
defined lengths, and writes plots straight into a PLOT_DTYPE array without the GIL. Nothing it
is given can make it read outside the datagram: a truncated block, a LEN longer or shorter than
the data, an FSPEC that never ends, an unknown category or a record that overruns its block is
counted and skipped, and the rest of the datagram is decoded where it can be (the block walk
``asx_next_record`` of ``rig_asterix.h``, shared with the CAT062 decoder).
"""

import numpy as np
cimport numpy as cnp
from libc.math cimport NAN, isnan, isfinite, fmod, sqrt, sin, asin, M_PI
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy, memset

from rig_asterix cimport (asx_datagrams, asx_field, asx_ld16, asx_ld24, asx_next_record,
                          asx_pack, asx_pack_finish, asx_packer, asx_packer_free,
                          asx_packer_init, asx_primary_length, asx_st16, asx_st24,
                          asx_tod_line, asx_tod_units, asx_tod_unwrap, asx_walk_start,
                          asx_walker, asx_write_fspec)
from rig_asterix cimport asx_round_half_up as round_half_up
from rig_records cimport plot_offsets, plot_t
from rig_records_asterix cimport cat048_items_offsets, cat048_items_t

from rig.errors import EncodeError
from rig import records as _records
from rig.records import PLOT_DTYPE, check_layout
from rig.records_asterix import CAT048_ITEMS_DTYPE

cnp.import_array()

cdef extern from "asterix048_uap.h" nogil:
    const asx_field cat048_uap[28]
    int CAT048_N_FRN

# --- wire constants (see protocol.py) -------------------------------------------------------
cdef enum:
    CATEGORY = 48
    N_FRN = 28
    MAX_RECORD = 64
    BLOCK_HEADER = 3
    MAX_BLOCK = 65535
    CODE_CLUTTER_AREA = 13       # I048/030 "target in clutter area"
    TYP_SINGLE_PSR = 1
    FLAG_CLUTTER_MAP = 0x0001          # rig.records.PLOT_FLAG_CLUTTER_MAP
    FLAG_SIMULATED = 0x0002            # rig.records.PLOT_FLAG_SIMULATED

    ITEM_070 = 0x0001
    ITEM_090 = 0x0002
    ITEM_130 = 0x0004
    ITEM_220 = 0x0008
    ITEM_240 = 0x0010
    ITEM_200 = 0x0020
    ITEM_110 = 0x0040
    ITEM_120 = 0x0080
    ITEM_030 = 0x0100

cdef double NM_M = 1852.0
cdef double FT_M = 0.3048
cdef double RHO_M = 1852.0 / 256.0             # I048/040 RHO, 1/256 NM
cdef double THETA_RAD = 2.0 * M_PI / 65536.0   # I048/040 THETA, 360/2^16 deg
cdef double TOD_S = 1.0 / 128.0                # I048/140, 1/128 s
cdef double HEIGHT_M = 25.0 * 0.3048           # I048/110, 25 ft
cdef double FL_UNIT = 0.25                     # I048/090, 1/4 FL
cdef double GSP_MPS = 1852.0 / 16384.0         # I048/200 ground speed, 2^-14 NM/s
cdef double TWO_PI = 2.0 * M_PI

#: Mean earth radius (IUGG) of the spherical-earth height model, m (see geometry.py).
cdef double EARTH_RADIUS_M = 6371008.8

CATEGORY_NUMBER = CATEGORY
EDITION = "1.31"
MAX_RECORD_BYTES = MAX_RECORD
EARTH_RADIUS = EARTH_RADIUS_M

# IA-5 six-bit alphabet of I048/240: 1..26 = A..Z, 32 = space, 48..57 = 0..9; "?" for a code
# the alphabet leaves undefined
cdef const char *SIXBIT = b"?ABCDEFGHIJKLMNOPQRSTUVWXYZ????? ???????????????0123456789??????"


# --- the C structs must lay out as the numpy dtypes; flag bits as in rig.records -------------
check_layout("plot_t", sizeof(plot_t), plot_offsets(), PLOT_DTYPE)
check_layout("cat048_items_t", sizeof(cat048_items_t), cat048_items_offsets(),
             CAT048_ITEMS_DTYPE)
if (_records.PLOT_FLAG_CLUTTER_MAP, _records.PLOT_FLAG_SIMULATED) != (FLAG_CLUTTER_MAP,
                                                                      FLAG_SIMULATED):
    raise ImportError("asterix048 plot flag bits differ from rig.records")
if CAT048_N_FRN != N_FRN:
    raise ImportError("asterix048_uap.h does not define 28 FRNs")


# --- geometry: spherical earth, straight lines (firmware_interfaces/asterix_radar/geometry.py)
cdef inline double height_from_elevation(double r, double el, double site_alt) noexcept nogil:
    cdef double rs = EARTH_RADIUS_M + site_alt
    return sqrt(r * r + rs * rs + 2.0 * r * rs * sin(el)) - EARTH_RADIUS_M


cdef inline double elevation_from_height(double r, double h, double site_alt) noexcept nogil:
    cdef double rs = EARTH_RADIUS_M + site_alt
    cdef double rt = EARTH_RADIUS_M + h
    if r <= 0.0:
        return NAN
    cdef double s = (rt * rt - r * r - rs * rs) / (2.0 * r * rs)
    if s > 1.0 or s < -1.0:
        return NAN
    return asin(s)


# --- encoder -------------------------------------------------------------------------------
cdef int _encode_record(uint8_t *out, const plot_t *plot, const cat048_items_t *items,
                        uint8_t sac, uint8_t sic, double site_alt_m,
                        Py_ssize_t *length) noexcept nogil:
    """Write one record into out (MAX_RECORD octets); return 0 or the number of a bad field."""
    cdef uint8_t body[MAX_RECORD]
    cdef Py_ssize_t n = 0
    cdef uint64_t frns = 0
    cdef double x, az, h, rr
    cdef int32_t v
    cdef uint32_t present = items.present if items != NULL else 0
    cdef int k, octets, i, c
    cdef uint8_t typ

    # FRN 1: I048/010
    body[n] = sac
    body[n + 1] = sic
    n += 2
    frns |= 1 << 0
    # FRN 2: I048/140 time of day
    if not isfinite(plot.t_sensor):
        return 4
    asx_st24(body + n, asx_tod_units(plot.t_sensor))
    n += 3
    frns |= 1 << 1
    # FRN 3: I048/020 target report descriptor
    typ = items.typ if items != NULL and items.typ != 0 else TYP_SINGLE_PSR
    body[n] = ((typ & 7) << 5) | (0x10 if plot.flags & FLAG_SIMULATED else 0)
    n += 1
    frns |= 1 << 2
    # FRN 4: I048/040 measured position
    x = round_half_up(plot.range_m / RHO_M)
    if not (x >= 0.0 and x <= 65535.0):
        return 1
    az = plot.az_rad
    if not isfinite(az):
        return 2
    az = fmod(az, TWO_PI)
    if az < 0:
        az += TWO_PI
    v = <int32_t>round_half_up(az / THETA_RAD)
    asx_st16(body + n, <uint32_t>x)
    asx_st16(body + n + 2, <uint32_t>(v & 0xFFFF))
    n += 4
    frns |= 1 << 3
    # FRN 5: I048/070 mode-3/A code
    if present & ITEM_070:
        if items.mode3a > 0xFFF:
            return 9
        asx_st16(body + n, ((items.mode3a_flags & 7) << 13) | items.mode3a)
        n += 2
        frns |= 1 << 4
    # FRN 6: I048/090 flight level
    if present & ITEM_090:
        x = round_half_up(items.flight_level / FL_UNIT)
        if not (x >= -8192.0 and x <= 8191.0):
            return 6
        asx_st16(body + n, ((items.fl_flags & 3) << 14) | (<uint32_t>(<int32_t>x) & 0x3FFF))
        n += 2
        frns |= 1 << 5
    # FRN 7: I048/130 radar plot characteristics, PAM subfield only
    if isfinite(plot.amplitude_db):
        x = round_half_up(plot.amplitude_db)
        if not (x >= -128.0 and x <= 127.0):
            return 5
        body[n] = 0x08
        body[n + 1] = <uint8_t>(<int8_t>x)
        n += 2
        frns |= 1 << 6
    # FRN 8: I048/220 aircraft address
    if present & ITEM_220:
        asx_st24(body + n, items.aircraft_address & 0xFFFFFF)
        n += 3
        frns |= 1 << 7
    # FRN 9: I048/240 aircraft identification, 8 six-bit characters
    if present & ITEM_240:
        memset(body + n, 0, 6)
        for i in range(8):
            c = items.callsign[i]
            if c == 0:
                c = 32
            if c == 32:
                k = 32
            elif c >= 65 and c <= 90:
                k = c - 64
            elif c >= 48 and c <= 57:
                k = c
            else:
                return 10
            _put_bits6(body + n, i, k)
        n += 6
        frns |= 1 << 8
    # FRN 13: I048/200 calculated track velocity in polar co-ordinates
    if present & ITEM_200:
        x = round_half_up(items.ground_speed_mps / GSP_MPS)
        if not (x >= 0.0 and x <= 65535.0):
            return 7
        if not isfinite(items.heading_rad):
            return 8
        h = fmod(items.heading_rad, TWO_PI)
        if h < 0:
            h += TWO_PI
        v = <int32_t>round_half_up(h / THETA_RAD)
        asx_st16(body + n, <uint32_t>x)
        asx_st16(body + n + 2, <uint32_t>(v & 0xFFFF))
        n += 4
        frns |= 1 << 12
    # FRN 16: I048/030 warning/error conditions: "target in clutter area"
    if plot.flags & FLAG_CLUTTER_MAP:
        body[n] = CODE_CLUTTER_AREA << 1
        n += 1
        frns |= 1 << 15
    # FRN 19: I048/110 height measured by a 3D radar
    if isfinite(plot.el_rad):
        h = height_from_elevation(plot.range_m, plot.el_rad, site_alt_m)
        x = round_half_up(h / HEIGHT_M)
        if not (x >= -8192.0 and x <= 8191.0):
            return 3
        asx_st16(body + n, <uint32_t>(<int32_t>x) & 0x3FFF)
        n += 2
        frns |= 1 << 18
    # FRN 20: I048/120 radial Doppler speed, CAL subfield; beyond +-511 m/s sent as doubtful
    if not isnan(plot.range_rate_mps):
        rr = round_half_up(plot.range_rate_mps)
        k = 0
        if rr > 511.0:
            rr = 511.0
            k = 1
        elif rr < -512.0:
            rr = -512.0
            k = 1
        body[n] = 0x80
        asx_st16(body + n + 1, (<uint32_t>k << 15) | (<uint32_t>(<int32_t>rr) & 0x3FF))
        n += 3
        frns |= 1 << 19
    # FSPEC: as many octets as the highest FRN present needs, FX on all but the last
    octets = asx_write_fspec(out, frns, N_FRN)
    memcpy(out + octets, body, n)
    length[0] = octets + n
    return 0


cdef inline void _put_bits6(uint8_t *p, int index, int value) noexcept nogil:
    cdef int bit = index * 6          # first bit, counted from the most significant of p[0]
    cdef int k
    for k in range(6):
        if value & (0x20 >> k):
            p[(bit + k) // 8] |= 0x80 >> ((bit + k) % 8)


cdef inline int _get_bits6(const uint8_t *p, int index) noexcept nogil:
    cdef int bit = index * 6
    cdef int k, value = 0
    for k in range(6):
        value = (value << 1) | ((p[(bit + k) // 8] >> (7 - (bit + k) % 8)) & 1)
    return value


_FIELDS = {
    1: ("range_m", "0 to 474104 m (65535/256 NM)"),
    2: ("az_rad", "a finite angle"),
    3: ("el_rad", "an elevation whose 3D height is within -62 418 .. 62 410 m"),
    4: ("t_sensor", "a finite time"),
    5: ("amplitude_db", "-128 to 127 dB (I048/130 PAM), or NaN"),
    6: ("flight_level", "-2048 to 2047.75 FL"),
    7: ("ground_speed_mps", "0 to 7407 m/s"),
    8: ("heading_rad", "a finite angle"),
    9: ("mode3a", "a 12-bit code (4 octal digits)"),
    10: ("callsign", "A-Z, 0-9 and space"),
}


def encode(cnp.ndarray plots, *, int sac, int sic, double site_alt_m=0.0, items=None,
           Py_ssize_t max_datagram_bytes=1472, Py_ssize_t max_records_per_block=0):
    """CAT048 datagrams (a list of ``bytes``) carrying ``plots`` (PLOT_DTYPE), in order.

    Each datagram holds at most ``max_datagram_bytes`` octets, as data blocks of at most
    ``max_records_per_block`` records (0: as many as fit); a datagram therefore holds several
    blocks when that limit is below what fits. ``items`` (CAT048_ITEMS_DTYPE, one row per plot)
    adds the optional items its ``present`` bits name. ``site_alt_m`` is the radar's altitude
    above mean sea level, for the height of I048/110. A value the wire cannot carry raises
    :class:`EncodeError` naming the plot and the field.
    """
    if plots.dtype != PLOT_DTYPE:
        raise TypeError(f"plots must have dtype rig.records.PLOT_DTYPE, not {plots.dtype}")
    if not (0 <= sac <= 255 and 0 <= sic <= 255):
        raise ValueError("sac and sic must each fit in one octet")
    if max_datagram_bytes < MAX_RECORD + BLOCK_HEADER:
        raise ValueError(f"max_datagram_bytes must be at least {MAX_RECORD + BLOCK_HEADER}")
    if max_records_per_block < 0:
        raise ValueError("max_records_per_block must not be negative")
    cdef Py_ssize_t n = plots.shape[0]
    plots = np.ascontiguousarray(plots)
    cdef const plot_t *src = <const plot_t *>cnp.PyArray_DATA(plots)
    cdef const cat048_items_t *isrc = NULL
    if items is not None:
        if items.dtype != CAT048_ITEMS_DTYPE or items.shape[0] != n:
            raise TypeError("items must be a CAT048_ITEMS_DTYPE array with one row per plot")
        items = np.ascontiguousarray(items)
        isrc = <const cat048_items_t *>cnp.PyArray_DATA(items)
    cdef asx_packer pk
    if asx_packer_init(&pk, n, MAX_RECORD, CATEGORY, max_datagram_bytes,
                       max_records_per_block) < 0:
        asx_packer_free(&pk)
        raise MemoryError()
    cdef Py_ssize_t i, rl
    cdef int bad = 0
    cdef Py_ssize_t bad_at = -1
    cdef uint8_t rec[MAX_RECORD]
    cdef uint8_t usac = <uint8_t>sac, usic = <uint8_t>sic
    try:
        with nogil:
            for i in range(n):
                bad = _encode_record(rec, &src[i], &isrc[i] if isrc != NULL else NULL,
                                     usac, usic, site_alt_m, &rl)
                if bad:
                    bad_at = i
                    break
                asx_pack(&pk, rec, rl)
            if bad == 0:
                asx_pack_finish(&pk)
        if bad:
            field, limits = _FIELDS[bad]
            holder = items if bad >= 6 else plots
            raise EncodeError(f"plot {bad_at}: {field} = {holder[bad_at][field]!r} is outside "
                              f"what CAT048 carries ({limits})")
        return asx_datagrams(&pk)
    finally:
        asx_packer_free(&pk)


# --- decoder -------------------------------------------------------------------------------
COUNTER_NAMES = (
    "datagrams", "blocks_ok", "records_ok", "plots_ok", "records_incomplete", "records_bad",
    "blocks_other_category", "blocks_bad_length", "blocks_truncated", "bytes_skipped",
    "bytes_fed", "records_foreign",
)

cdef enum:
    MAX_SOURCES = 255
    FOREIGN_KEPT = 8          # SAC/SICs of foreign records remembered


cdef class Cat048Decoder:
    """Decodes CAT048 datagrams into PLOT_DTYPE arrays, one datagram per :meth:`feed`.

    ``sensor_id`` and ``site_alt_m`` apply to every radar unless :meth:`set_source` names its
    SAC/SIC; after :meth:`only_named_sources`, records of any other SAC/SIC are foreign:
    counted (``records_foreign``, the first few SAC/SICs in :meth:`foreign_sources`) and
    dropped. Each plot's ``seq`` is the number of the datagram that carried it (counted by this
    decoder from 0); ``t_sensor`` is the I048/140 time of day on a continuous time line that
    starts at ``day_start_s`` and steps a day forward when the time of day wraps at midnight.
    Plots lack an elevation (NaN) when the record has no I048/110, a range rate when it has no
    valid I048/120 CAL and an amplitude when it has no I048/130 PAM.
    """

    cdef uint8_t *source_index       # (sac << 8 | sic) -> row of the source tables, 0 = default
    cdef uint16_t src_sensor[256]
    cdef double src_alt[256]
    cdef int n_sources
    cdef bint named_only
    cdef uint16_t foreign_seen[FOREIGN_KEPT]
    cdef int n_foreign_seen
    cdef asx_tod_line tod_line
    cdef uint32_t seq
    cdef public unsigned long long datagrams
    cdef public unsigned long long blocks_ok
    cdef public unsigned long long records_ok
    cdef public unsigned long long plots_ok
    cdef public unsigned long long records_incomplete
    cdef public unsigned long long records_bad
    cdef public unsigned long long blocks_other_category
    cdef public unsigned long long blocks_bad_length
    cdef public unsigned long long blocks_truncated
    cdef public unsigned long long bytes_skipped
    cdef public unsigned long long bytes_fed
    cdef public unsigned long long records_foreign

    def __cinit__(self, int sensor_id=0, double site_alt_m=0.0, double day_start_s=0.0):
        if not 0 <= sensor_id <= 0xFFFF:
            raise ValueError("sensor_id must fit in 16 bits")
        self.source_index = <uint8_t *>calloc(65536, 1)
        if self.source_index == NULL:
            raise MemoryError()
        self.src_sensor[0] = <uint16_t>sensor_id
        self.src_alt[0] = site_alt_m
        self.n_sources = 1
        self.tod_line.day_s = day_start_s

    def __dealloc__(self):
        free(self.source_index)

    def set_source(self, int sac, int sic, int sensor_id, double site_alt_m):
        """Plots from the radar ``sac``/``sic`` get ``sensor_id``; its site is at ``site_alt_m``."""
        if not (0 <= sac <= 255 and 0 <= sic <= 255 and 0 <= sensor_id <= 0xFFFF):
            raise ValueError("sac and sic must fit in 8 bits and sensor_id in 16")
        cdef int key = (sac << 8) | sic
        cdef int row = self.source_index[key]
        if row == 0:
            if self.n_sources > MAX_SOURCES:
                raise ValueError(f"at most {MAX_SOURCES} sources")
            row = self.n_sources
            self.n_sources += 1
            self.source_index[key] = <uint8_t>row
        self.src_sensor[row] = <uint16_t>sensor_id
        self.src_alt[row] = site_alt_m

    def only_named_sources(self):
        """From now on, believe only the SAC/SICs :meth:`set_source` named."""
        self.named_only = True

    def foreign_sources(self):
        """The first few distinct (SAC, SIC) of foreign records, in the order seen."""
        return [(k >> 8, k & 0xFF) for k in self.foreign_seen[:self.n_foreign_seen]]

    def counters(self):
        """All counters as a dict (a snapshot)."""
        return {name: getattr(self, name) for name in COUNTER_NAMES}

    def reset(self):
        """Forget the time-of-day state (after a reconnect); counters stay."""
        self.tod_line.have = 0

    def feed(self, datagram, long long t_arrival_ns=0):
        """Decode one datagram; return a PLOT_DTYPE array of its plots."""
        return self._feed(datagram, t_arrival_ns, False)[0]

    def feed_items(self, datagram, long long t_arrival_ns=0):
        """Decode one datagram; return ``(plots, items)``, items a CAT048_ITEMS_DTYPE array."""
        return self._feed(datagram, t_arrival_ns, True)

    cdef tuple _feed(self, datagram, int64_t t_arrival_ns, bint want_items):
        cdef const uint8_t[::1] src = memoryview(datagram).cast("B") if len(datagram) else b"\0"
        cdef Py_ssize_t n = len(datagram)
        cdef Py_ssize_t cap = n // 10 + 1         # a plot record is at least 10 octets
        out = np.empty(cap, dtype=PLOT_DTYPE)
        items = np.empty(cap if want_items else 0, dtype=CAT048_ITEMS_DTYPE)
        cdef plot_t *dst = <plot_t *>cnp.PyArray_DATA(out)
        cdef cat048_items_t *idst = NULL
        if want_items:
            idst = <cat048_items_t *>cnp.PyArray_DATA(items)
        cdef Py_ssize_t n_out
        with nogil:
            n_out = self._decode(&src[0], n, dst, idst, t_arrival_ns)
        if want_items:
            return out[:n_out], items[:n_out]
        return out[:n_out], None

    cdef Py_ssize_t _decode(self, const uint8_t *p, Py_ssize_t n, plot_t *dst,
                            cat048_items_t *idst, int64_t t_arrival_ns) noexcept nogil:
        cdef Py_ssize_t n_out = 0
        cdef int got
        cdef Py_ssize_t item_at[N_FRN]
        cdef asx_walker w
        cdef const uint8_t *rec
        asx_walk_start(&w, p, n, CATEGORY, cat048_uap, N_FRN)
        rec = asx_next_record(&w, item_at)
        while rec != NULL:
            got = self._plot(rec, item_at, &dst[n_out],
                             &idst[n_out] if idst != NULL else NULL, t_arrival_ns)
            if got > 0:
                n_out += 1
            elif got == 0:
                self.records_incomplete += 1
            rec = asx_next_record(&w, item_at)
        self.datagrams += 1
        self.bytes_fed += n
        self.blocks_ok += w.blocks_ok
        self.records_ok += w.records_ok
        self.records_bad += w.records_bad
        self.blocks_other_category += w.blocks_other_category
        self.blocks_bad_length += w.blocks_bad_length
        self.blocks_truncated += w.blocks_truncated
        self.bytes_skipped += w.bytes_skipped
        self.plots_ok += n_out
        self.seq += 1
        return n_out

    cdef int _plot(self, const uint8_t *r, const Py_ssize_t *at, plot_t *out,
                   cat048_items_t *it, int64_t t_arrival_ns) noexcept nogil:
        """1: a plot in ``out``; 0: a record without the mandatory items; -1: foreign."""
        if at[0] < 0 or at[1] < 0 or at[3] < 0:        # I048/010, /140, /040 are mandatory
            return 0
        cdef const uint8_t *q
        cdef uint8_t sac = r[at[0]], sic = r[at[0] + 1]
        cdef int row = self.source_index[(sac << 8) | sic]
        if row == 0 and self.named_only:
            self._foreign((sac << 8) | sic)
            return -1
        cdef double site_alt = self.src_alt[row]
        cdef double h = NAN
        cdef int32_t v
        cdef uint16_t flags = 0
        cdef Py_ssize_t prim, k
        cdef int i, c
        out.t_sensor = asx_tod_unwrap(&self.tod_line, asx_ld24(r + at[1]) * TOD_S)
        out.t_arrival_ns = t_arrival_ns
        out.range_m = asx_ld16(r + at[3]) * RHO_M
        out.az_rad = asx_ld16(r + at[3] + 2) * THETA_RAD
        out.sensor_id = self.src_sensor[row]
        out.seq = self.seq
        out.range_rate_mps = NAN
        out.amplitude_db = NAN
        if at[2] >= 0 and r[at[2]] & 0x10:
            flags |= FLAG_SIMULATED
        if at[15] >= 0:                                 # I048/030: look for the clutter code
            q = r + at[15]
            while True:
                if (q[0] >> 1) == CODE_CLUTTER_AREA:
                    flags |= FLAG_CLUTTER_MAP
                if not (q[0] & 1):
                    break
                q += 1
        out.flags = flags
        if at[18] >= 0:                                 # I048/110 3D height
            v = asx_ld16(r + at[18]) & 0x3FFF
            if v & 0x2000:
                v -= 0x4000
            h = v * HEIGHT_M
        out.el_rad = elevation_from_height(out.range_m, h, site_alt) if not isnan(h) else NAN
        if at[19] >= 0 and r[at[19]] & 0x80:            # I048/120 CAL subfield
            q = r + at[19]
            prim = asx_primary_length(q)
            v = asx_ld16(q + prim)
            if not (v & 0x8000):                        # D = 0: valid
                v &= 0x3FF
                if v & 0x200:
                    v -= 0x400
                out.range_rate_mps = v
        if at[6] >= 0 and r[at[6]] & 0x08:              # I048/130 PAM subfield
            q = r + at[6]
            prim = asx_primary_length(q)
            k = prim
            for i in range(4):                          # SRL SRR SAM PRL come before PAM
                if q[0] & (0x80 >> i):
                    k += 1
            out.amplitude_db = <int8_t>q[k]
        if it == NULL:
            return 1
        memset(it, 0, sizeof(cat048_items_t))
        it.sac = sac
        it.sic = sic
        it.height_m = h
        it.ground_speed_mps = NAN
        it.heading_rad = NAN
        it.flight_level = NAN
        if at[18] >= 0:
            it.present |= ITEM_110
        if at[19] >= 0:
            it.present |= ITEM_120
        if at[15] >= 0:
            it.present |= ITEM_030
        if at[6] >= 0:
            it.present |= ITEM_130
        if at[2] >= 0:
            it.typ = r[at[2]] >> 5
        if at[4] >= 0:                                  # I048/070
            v = asx_ld16(r + at[4])
            it.mode3a = v & 0xFFF
            it.mode3a_flags = (v >> 13) & 7
            it.present |= ITEM_070
        if at[5] >= 0:                                  # I048/090
            v = asx_ld16(r + at[5])
            it.fl_flags = (v >> 14) & 3
            v &= 0x3FFF
            if v & 0x2000:
                v -= 0x4000
            it.flight_level = v * FL_UNIT
            it.present |= ITEM_090
        if at[7] >= 0:                                  # I048/220
            it.aircraft_address = asx_ld24(r + at[7])
            it.present |= ITEM_220
        if at[8] >= 0:                                  # I048/240
            for i in range(8):
                it.callsign[i] = SIXBIT[_get_bits6(r + at[8], i)]
            it.present |= ITEM_240
        if at[12] >= 0:                                 # I048/200
            it.ground_speed_mps = asx_ld16(r + at[12]) * GSP_MPS
            it.heading_rad = asx_ld16(r + at[12] + 2) * THETA_RAD
            it.present |= ITEM_200
        return 1

    cdef void _foreign(self, int key) noexcept nogil:
        cdef int i
        self.records_foreign += 1
        for i in range(self.n_foreign_seen):
            if self.foreign_seen[i] == key:
                return
        if self.n_foreign_seen < FOREIGN_KEPT:
            self.foreign_seen[self.n_foreign_seen] = <uint16_t>key
            self.n_foreign_seen += 1


def height_m(double range_m, double el_rad, double site_alt_m):
    """The codec's spherical-earth height (geometry.py documents the model)."""
    return height_from_elevation(range_m, el_rad, site_alt_m)


def elevation_rad(double range_m, double height_m, double site_alt_m):
    """Inverse of :func:`height_m` (NaN where no elevation fits)."""
    return elevation_from_height(range_m, height_m, site_alt_m)
