# cython: language_level=3
"""ASTERIX CAT062 (SDPS system track data, edition 1.19) encoder and decoder.

The fused picture leaves the rig as CAT062 system tracks. Record layout, scales, the track
status mapping and the rig provenance carried in the special purpose field (SP) are
documented byte by byte in ``rig/publish/cat062_format.py``. Edition 1.19 is the one
Wireshark 4.0 decodes by default.

The encoder takes ``rig.records.TRACK_DTYPE`` rows plus what only the publisher knows (the
WGS-84 position, the local rate of climb, the accuracies along the local vertical and the time
of day, see ``rig/publish/cat062.py``); the horizontal accuracies of I062/500 come from each
track's covariance.
The decoder walks every record against the full UAP (items rig does not use are skipped by
their defined lengths) and writes TRACK_DTYPE rows and CAT062_INFO_DTYPE rows without the GIL;
bad input is counted and skipped by the block walk it shares with the CAT048 decoder
(``asx_next_record`` in ``rig_asterix.h``). ``rig/publish/cat062_reference.py`` is its
pure-Python twin, held to it byte for byte by the tests.
"""

import numpy as np
cimport numpy as cnp
from libc.math cimport NAN, ceil, fabs, floor, isfinite, isnan, sqrt
from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset

from rig_asterix cimport (asx_datagrams, asx_field, asx_ld16, asx_ld24, asx_ld24s, asx_ld32,
                          asx_next_record, asx_pack, asx_pack_finish, asx_packer,
                          asx_packer_free, asx_packer_init, asx_primary_length, asx_st16,
                          asx_st24, asx_st32, asx_tod_line, asx_tod_units, asx_tod_unwrap,
                          asx_walk_start, asx_walker, asx_write_fspec)
from rig_asterix cimport asx_round_half_up as round_half_up
from rig_records cimport track_offsets, track_t
from rig_records_asterix cimport cat062_info_offsets, cat062_info_t

from rig import records as _records
from rig.errors import EncodeError
from rig.records import MAX_PARTNERS, TRACK_DTYPE, check_layout
from rig.records_asterix import CAT062_INFO_DTYPE

cnp.import_array()

cdef extern from "asterix062_uap.h" nogil:
    const asx_field cat062_uap[35]
    const asx_field cat062_500_sub[8]
    int CAT062_N_FRN

cdef enum:
    CATEGORY = 62
    N_FRN = 35
    MAX_RECORD = 96
    BLOCK_HEADER = 3
    MAX_BLOCK = 65535
    N_PARTNERS = 16
    SP_VERSION = 1
    NO_SOURCE = 0xFFFF
    AGE_UNKNOWN = 0xFFFF

    STATUS_TENTATIVE = 0          # rig.records.TRACK_STATUS_*
    STATUS_CONFIRMED = 1
    STATUS_COASTING = 2
    STATUS_DELETED = 3

    ITEM_105 = 0x0001             # rig.records_asterix.ITEM_062_*
    ITEM_100 = 0x0002
    ITEM_185 = 0x0004
    ITEM_130 = 0x0008
    ITEM_220 = 0x0010
    ITEM_290 = 0x0020
    ITEM_340 = 0x0040
    ITEM_SP = 0x0080
    ITEM_070 = 0x0100
    ITEM_080 = 0x0200
    ITEM_015 = 0x0400
    ITEM_136 = 0x0800
    ITEM_500 = 0x1000

cdef double TOD_S = 1.0 / 128.0                  # I062/070
cdef double LATLON_DEG = 180.0 / 33554432.0      # I062/105, 180/2^25 deg
cdef double XY_M = 0.5                           # I062/100
cdef double V_MPS = 0.25                         # I062/185
cdef double ALT_M = 6.25 * 0.3048                # I062/130, 6.25 ft
cdef double ROCD_MPS = 6.25 * 0.3048 / 60.0      # I062/220, 6.25 ft/min
cdef double FL_UNIT = 0.25                       # I062/136, 1/4 FL
cdef double AGE290_S = 0.25                      # I062/290, 1/4 s
cdef double SP_AGE_S = 1.0 / 128.0               # SP partner ages, 1/128 s
cdef double SD_XY_M = 0.5                        # I062/500 APC and COV
cdef double SD_V_MPS = 0.25                      # I062/500 ATV

CATEGORY_NUMBER = CATEGORY
EDITION = "1.19"
MAX_RECORD_BYTES = MAX_RECORD
SP_FORMAT_VERSION = SP_VERSION


# --- the C structs must lay out as the numpy dtypes; constants as in rig.records -------------
check_layout("track_t", sizeof(track_t), track_offsets(), TRACK_DTYPE)
check_layout("cat062_info_t", sizeof(cat062_info_t), cat062_info_offsets(),
             CAT062_INFO_DTYPE)
if MAX_PARTNERS != N_PARTNERS or (
        _records.TRACK_STATUS_TENTATIVE, _records.TRACK_STATUS_CONFIRMED,
        _records.TRACK_STATUS_COASTING, _records.TRACK_STATUS_DELETED) != (0, 1, 2, 3):
    raise ImportError("asterix062 track status values or MAX_PARTNERS differ from rig.records")
if CAT062_N_FRN != N_FRN:
    raise ImportError("asterix062_uap.h does not define 35 FRNs")


cdef inline bint fits(double x, double lo, double hi) noexcept nogil:
    return x >= lo and x <= hi


# --- encoder ---------------------------------------------------------------------------------
ctypedef struct encode_ctx:
    uint8_t sac
    uint8_t sic
    uint8_t service_id
    uint16_t sources[16]          # partner -> sac << 8 | sic, NO_SOURCE when unknown


cdef int _encode_record(uint8_t *out, const track_t *tr, double lat, double lon, double alt,
                        double rocd, double tod, double sd_alt, double sd_rocd,
                        const encode_ctx *ctx, Py_ssize_t *length) noexcept nogil:
    """Write one record into out (MAX_RECORD octets); return 0 or the number of a bad field."""
    cdef uint8_t body[MAX_RECORD]
    cdef Py_ssize_t n = 0, n_sp
    cdef uint64_t frns = 0
    cdef double x, y, newest = NAN, age
    cdef int k, octets, last = -1, i
    cdef uint32_t mask

    body[0] = ctx.sac                                   # FRN 1: I062/010
    body[1] = ctx.sic
    n = 2
    frns |= 1 << 0
    body[n] = ctx.service_id                            # FRN 3: I062/015
    n += 1
    frns |= 1 << 2
    if not isfinite(tod):                               # FRN 4: I062/070
        return 1
    asx_st24(body + n, asx_tod_units(tod))
    n += 3
    frns |= 1 << 3
    x = round_half_up(lat / LATLON_DEG)                 # FRN 5: I062/105
    y = round_half_up(lon / LATLON_DEG)
    if not fits(x, -16777216.0, 16777216.0):
        return 2
    if y >= 33554432.0:                                 # 180 deg east is 180 deg west
        y -= 67108864.0
    if not fits(y, -33554432.0, 33554431.0):
        return 3
    asx_st32(body + n, <uint32_t>(<int32_t>x))
    asx_st32(body + n + 4, <uint32_t>(<int32_t>y))
    n += 8
    frns |= 1 << 4
    x = round_half_up(tr.east / XY_M)                   # FRN 6: I062/100
    y = round_half_up(tr.north / XY_M)
    if not fits(x, -8388608.0, 8388607.0):
        return 4
    if not fits(y, -8388608.0, 8388607.0):
        return 5
    asx_st24(body + n, <uint32_t>(<int32_t>x) & 0xFFFFFF)
    asx_st24(body + n + 3, <uint32_t>(<int32_t>y) & 0xFFFFFF)
    n += 6
    frns |= 1 << 5
    x = round_half_up(tr.v_east / V_MPS)                # FRN 7: I062/185
    y = round_half_up(tr.v_north / V_MPS)
    if not fits(x, -32768.0, 32767.0):
        return 6
    if not fits(y, -32768.0, 32767.0):
        return 7
    asx_st16(body + n, <uint32_t>(<int32_t>x) & 0xFFFF)
    asx_st16(body + n + 2, <uint32_t>(<int32_t>y) & 0xFFFF)
    n += 4
    frns |= 1 << 6
    asx_st16(body + n, tr.track_id & 0xFFFF)            # FRN 12: I062/040
    n += 2
    frns |= 1 << 11
    n += _track_status(body + n, tr.status)             # FRN 13: I062/080
    frns |= 1 << 12
    for i in range(N_PARTNERS):                         # the newest partner update
        if (tr.partners >> i) & 1 and isfinite(tr.partner_t_last[i]):
            if last < 0 or tr.partner_t_last[i] > newest:
                newest = tr.partner_t_last[i]
                last = i
    if last >= 0:                                       # FRN 14: I062/290, PSR age
        age = round_half_up((tr.t - newest) / AGE290_S)
        body[n] = 0x40
        body[n + 1] = <uint8_t>(0 if age < 0 else (255 if age > 255 else age))
        n += 2
        frns |= 1 << 13
    if isfinite(alt):                                   # FRN 18: I062/130
        x = round_half_up(alt / ALT_M)
        if not fits(x, -32768.0, 32767.0):
            return 8
        asx_st16(body + n, <uint32_t>(<int32_t>x) & 0xFFFF)
        n += 2
        frns |= 1 << 17
    if isfinite(rocd):                                  # FRN 20: I062/220
        x = round_half_up(rocd / ROCD_MPS)
        if not fits(x, -32768.0, 32767.0):
            return 9
        asx_st16(body + n, <uint32_t>(<int32_t>x) & 0xFFFF)
        n += 2
        frns |= 1 << 19
    octets = _accuracies(body + n, tr.covariance, sd_alt, sd_rocd)
    if octets:                                          # FRN 27: I062/500
        n += octets
        frns |= 1 << 26
    if last >= 0 and ctx.sources[last] != NO_SOURCE:    # FRN 28: I062/340, SID
        body[n] = 0x80
        asx_st16(body + n + 1, ctx.sources[last])
        n += 3
        frns |= 1 << 27
    if tr.partners:                                     # FRN 35: SP, rig provenance
        if tr.partners >> N_PARTNERS:
            return 10
        n_sp = n
        n += 4
        for i in range(N_PARTNERS):
            if (tr.partners >> i) & 1:
                age = round_half_up((tr.t - tr.partner_t_last[i]) / SP_AGE_S)
                if not (age >= 0.0 and age < AGE_UNKNOWN):
                    age = AGE_UNKNOWN
                asx_st16(body + n, <uint32_t>age)
                n += 2
        body[n_sp] = <uint8_t>(n - n_sp)
        body[n_sp + 1] = SP_VERSION
        asx_st16(body + n_sp + 2, tr.partners)
        frns |= <uint64_t>1 << 34
    octets = asx_write_fspec(out, frns, N_FRN)
    memcpy(out + octets, body, n)
    length[0] = octets + n
    return 0


cdef inline double _sd_units(double sd, double lsb, double top) noexcept nogil:
    """An accuracy (sd > 0) in units of ``lsb``, rounded up, saturating at ``top``."""
    cdef double x = sd / lsb
    return top if x >= top else ceil(x)


cdef int _accuracies(uint8_t *p, const double *P, double sd_alt,
                     double sd_rocd) noexcept nogil:
    """I062/500 from the covariance ``P`` (6x6, row-major) and the vertical accuracies: APC and
    COV, AGA, ATV, ARC, each when its variance or sd is positive. Returns its octets, 0 when no
    subfield is known (then nothing is written that counts)."""
    cdef uint8_t sub[12]
    cdef uint8_t prim0 = 0, prim1 = 0
    cdef int n = 0, head
    cdef double c
    if P[0] > 0 and P[7] > 0:                           # APC: sd east, sd north
        asx_st16(sub, <uint32_t>_sd_units(sqrt(P[0]), SD_XY_M, 65535.0))
        asx_st16(sub + 2, <uint32_t>_sd_units(sqrt(P[7]), SD_XY_M, 65535.0))
        n = 4
        prim0 |= 0x80
        if isfinite(P[1]):                              # COV: sign(c) sqrt(|c|), toward 0
            c = floor(sqrt(fabs(P[1])) / SD_XY_M)
            if c > 32767.0:
                c = 32767.0
            if P[1] < 0:
                c = -c
            asx_st16(sub + n, <uint32_t>(<int32_t>c) & 0xFFFF)
            n += 2
            prim0 |= 0x40
    if sd_alt > 0:                                      # AGA
        sub[n] = <uint8_t>_sd_units(sd_alt, ALT_M, 255.0)
        n += 1
        prim0 |= 0x10
    if P[21] > 0 and P[28] > 0:                         # ATV: sd v_east, sd v_north
        sub[n] = <uint8_t>_sd_units(sqrt(P[21]), SD_V_MPS, 255.0)
        sub[n + 1] = <uint8_t>_sd_units(sqrt(P[28]), SD_V_MPS, 255.0)
        n += 2
        prim0 |= 0x04
    if sd_rocd > 0:                                     # ARC, in the second octet
        sub[n] = <uint8_t>_sd_units(sd_rocd, ROCD_MPS, 255.0)
        n += 1
        prim1 = 0x80
    if n == 0:
        return 0
    head = 1
    p[0] = prim0
    if prim1:
        p[0] |= 1
        p[1] = prim1
        head = 2
    memcpy(p + head, sub, n)
    return head + n


cdef Py_ssize_t _track_status(uint8_t *p, uint16_t status) noexcept nogil:
    """I062/080: MON=0 (multisensor), MRH=1 (geometric), SRC=2 (3D radar) and CNF; TSE for a
    deleted track (first extension), CST for a coasting one (third extension)."""
    cdef uint8_t first = 0x20 | (2 << 2) | (0x02 if status == STATUS_TENTATIVE else 0)
    if status == STATUS_DELETED:
        p[0] = first | 1
        p[1] = 0x40
        return 2
    if status == STATUS_COASTING:
        p[0] = first | 1
        p[1] = 0x01
        p[2] = 0x01
        p[3] = 0x80
        return 4
    p[0] = first
    return 1


_FIELDS = {
    1: ("t_tod_s", "a finite time of day"),
    2: ("lat_deg", "-90 to 90 deg"),
    3: ("lon_deg", "-180 to 180 deg"),
    4: ("east", "-4194304 to 4194303.5 m"),
    5: ("north", "-4194304 to 4194303.5 m"),
    6: ("v_east", "-8192 to 8191.75 m/s"),
    7: ("v_north", "-8192 to 8191.75 m/s"),
    8: ("alt_m", "-62 424 to 62 422 m (6.25 ft units, 16 bits), or NaN"),
    9: ("rocd_mps", "-1040 to 1040 m/s, or NaN"),
    10: ("partners", "partners 0 to 15 only"),
}


def encode(cnp.ndarray tracks, lat_deg, lon_deg, alt_m, rocd_mps, t_tod_s, *, int sac,
           int sic, int service_id=1, partner_sources=None, Py_ssize_t max_datagram_bytes=1472,
           Py_ssize_t max_records_per_block=0, sd_alt_m=None, sd_rocd_mps=None):
    """CAT062 datagrams (a list of ``bytes``) carrying ``tracks`` (TRACK_DTYPE), in order.

    ``lat_deg``, ``lon_deg``, ``alt_m`` (geometric altitude over the WGS-84 ellipsoid, NaN to
    leave I062/130 out), ``rocd_mps`` (rate of climb along the local vertical, NaN to leave
    I062/220 out) and ``t_tod_s`` (UTC time of day of each track) are float64 arrays, one value
    per track. ``partner_sources`` maps partner index to ``(sac, sic)`` of that partner's
    sensor, for I062/340; partners not in it are left out of I062/340. Datagrams hold at most
    ``max_datagram_bytes`` octets in blocks of at most ``max_records_per_block`` records
    (0: as many as fit). A value the wire cannot carry raises :class:`EncodeError` naming the
    track and the field. ``track_id`` travels modulo 65536 (I062/040 has 16 bits).

    I062/500 carries the accuracies: APC, COV and ATV from each track's ``covariance``, AGA
    and ARC from ``sd_alt_m`` and ``sd_rocd_mps`` (standard deviations along the local
    vertical, one per track; None or NaN leaves them out). Accuracies saturate at their fields'
    maxima and never raise.
    """
    if tracks.dtype != TRACK_DTYPE:
        raise TypeError(f"tracks must have dtype rig.records.TRACK_DTYPE, not {tracks.dtype}")
    if not (0 <= sac <= 255 and 0 <= sic <= 255 and 0 <= service_id <= 255):
        raise ValueError("sac, sic and service_id must each fit in one octet")
    if max_datagram_bytes < MAX_RECORD + BLOCK_HEADER:
        raise ValueError(f"max_datagram_bytes must be at least {MAX_RECORD + BLOCK_HEADER}")
    if max_records_per_block < 0:
        raise ValueError("max_records_per_block must not be negative")
    cdef Py_ssize_t n = tracks.shape[0]
    tracks = np.ascontiguousarray(tracks)
    columns = [np.ascontiguousarray(np.broadcast_to(np.asarray(c, dtype=np.float64), (n,)))
               for c in (lat_deg, lon_deg, alt_m, rocd_mps, t_tod_s,
                         np.nan if sd_alt_m is None else sd_alt_m,
                         np.nan if sd_rocd_mps is None else sd_rocd_mps)]
    cdef const double[::1] lat = columns[0]
    cdef const double[::1] lon = columns[1]
    cdef const double[::1] alt = columns[2]
    cdef const double[::1] rocd = columns[3]
    cdef const double[::1] tod = columns[4]
    cdef const double[::1] sd_alt = columns[5]
    cdef const double[::1] sd_rocd = columns[6]
    cdef encode_ctx ctx
    ctx.sac = <uint8_t>sac
    ctx.sic = <uint8_t>sic
    ctx.service_id = <uint8_t>service_id
    cdef int i
    for i in range(N_PARTNERS):
        ctx.sources[i] = NO_SOURCE
    for partner, (psac, psic) in (partner_sources or {}).items():
        if not (0 <= partner < N_PARTNERS and 0 <= psac <= 255 and 0 <= psic <= 255):
            raise ValueError(f"partner_sources: {partner}: ({psac}, {psic}) is not a partner "
                             f"0..{N_PARTNERS - 1} with an 8-bit SAC and SIC")
        ctx.sources[partner] = (psac << 8) | psic
    cdef const track_t *src = <const track_t *>cnp.PyArray_DATA(tracks)
    cdef asx_packer pk
    if asx_packer_init(&pk, n, MAX_RECORD, CATEGORY, max_datagram_bytes,
                       max_records_per_block) < 0:
        asx_packer_free(&pk)
        raise MemoryError()
    cdef Py_ssize_t k, rl, bad_at = -1
    cdef int bad = 0
    cdef uint8_t rec[MAX_RECORD]
    try:
        with nogil:
            for k in range(n):
                bad = _encode_record(rec, &src[k], lat[k], lon[k], alt[k], rocd[k], tod[k],
                                     sd_alt[k], sd_rocd[k], &ctx, &rl)
                if bad:
                    bad_at = k
                    break
                asx_pack(&pk, rec, rl)
            if bad == 0:
                asx_pack_finish(&pk)
        if bad:
            field, limits = _FIELDS[bad]
            column = {1: 4, 2: 0, 3: 1, 8: 2, 9: 3}.get(bad)
            value = columns[column][bad_at] if column is not None else tracks[bad_at][field]
            raise EncodeError(f"track {bad_at}: {field} = {value!r} is outside what CAT062 "
                              f"carries ({limits})", index=bad_at)
        return asx_datagrams(&pk)
    finally:
        asx_packer_free(&pk)


# --- decoder ---------------------------------------------------------------------------------
COUNTER_NAMES = (
    "datagrams", "blocks_ok", "records_ok", "tracks_ok", "records_incomplete", "records_bad",
    "blocks_other_category", "blocks_bad_length", "blocks_truncated", "sp_foreign",
    "bytes_skipped", "bytes_fed",
)


cdef class Cat062Decoder:
    """Decodes CAT062 datagrams, one per :meth:`feed`, into ``(tracks, info)``.

    ``tracks`` is a TRACK_DTYPE array: ``track_id`` (I062/040), ``status`` (I062/080), ``t``
    (I062/070 on a continuous time line from ``day_start_s``, as in the CAT048 decoder),
    ``east``/``north`` (I062/100), ``v_east``/``v_north`` (I062/185), ``partners`` and
    ``partner_t_last`` (the rig SP field). ``up`` and ``v_up`` are NaN here: they follow from
    the WGS-84 position, the altitude and the rate of climb in ``info`` (CAT062_INFO_DTYPE)
    and the reference origin, which :func:`rig.publish.cat062.decode_tracks` applies.
    ``n_updates`` is 0 and ``covariance`` NaN: the accuracies of I062/500 go to ``info``
    (:mod:`rig.fusion.track_input` builds a covariance from them).
    """

    cdef asx_tod_line tod_line
    cdef public unsigned long long datagrams
    cdef public unsigned long long blocks_ok
    cdef public unsigned long long records_ok
    cdef public unsigned long long tracks_ok
    cdef public unsigned long long records_incomplete
    cdef public unsigned long long records_bad
    cdef public unsigned long long blocks_other_category
    cdef public unsigned long long blocks_bad_length
    cdef public unsigned long long blocks_truncated
    cdef public unsigned long long sp_foreign
    cdef public unsigned long long bytes_skipped
    cdef public unsigned long long bytes_fed

    def __cinit__(self, double day_start_s=0.0):
        self.tod_line.day_s = day_start_s

    def counters(self):
        """All counters as a dict (a snapshot)."""
        return {name: getattr(self, name) for name in COUNTER_NAMES}

    def reset(self):
        """Forget the time-of-day state; counters stay."""
        self.tod_line.have = 0

    def feed(self, datagram):
        """Decode one datagram; return ``(tracks, info)``."""
        cdef const uint8_t[::1] src = memoryview(datagram).cast("B") if len(datagram) else b"\0"
        cdef Py_ssize_t n = len(datagram)
        cdef Py_ssize_t cap = n // 8 + 1            # a track record is at least 8 octets
        tracks = np.empty(cap, dtype=TRACK_DTYPE)
        info = np.empty(cap, dtype=CAT062_INFO_DTYPE)
        cdef track_t *dst = <track_t *>cnp.PyArray_DATA(tracks)
        cdef cat062_info_t *idst = <cat062_info_t *>cnp.PyArray_DATA(info)
        cdef Py_ssize_t n_out
        with nogil:
            n_out = self._decode(&src[0], n, dst, idst)
        return tracks[:n_out], info[:n_out]

    cdef Py_ssize_t _decode(self, const uint8_t *p, Py_ssize_t n, track_t *dst,
                            cat062_info_t *idst) noexcept nogil:
        cdef Py_ssize_t n_out = 0
        cdef Py_ssize_t item_at[N_FRN]
        cdef asx_walker w
        cdef const uint8_t *rec
        asx_walk_start(&w, p, n, CATEGORY, cat062_uap, N_FRN)
        rec = asx_next_record(&w, item_at)
        while rec != NULL:
            if self._track(rec, item_at, &dst[n_out], &idst[n_out]):
                n_out += 1
            else:
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
        self.tracks_ok += n_out
        return n_out

    cdef bint _track(self, const uint8_t *r, const Py_ssize_t *at, track_t *tr,
                     cat062_info_t *it) noexcept nogil:
        if at[0] < 0 or at[3] < 0 or at[11] < 0:       # I062/010, /070, /040 are mandatory
            return False
        cdef const uint8_t *q
        cdef int32_t v
        cdef int i, k, octets
        cdef uint32_t bits, mask
        cdef Py_ssize_t sp_len
        cdef uint16_t age
        memset(it, 0, sizeof(cat062_info_t))
        tr.track_id = asx_ld16(r + at[11])
        tr.n_updates = 0
        tr.partners = 0
        tr.t = asx_tod_unwrap(&self.tod_line, asx_ld24(r + at[3]) * TOD_S)
        tr.east = tr.north = tr.up = NAN
        tr.v_east = tr.v_north = tr.v_up = NAN
        for i in range(36):
            tr.covariance[i] = NAN
        for i in range(N_PARTNERS):
            tr.partner_t_last[i] = NAN
        it.sac = r[at[0]]
        it.sic = r[at[0] + 1]
        it.present = ITEM_070
        it.lat_deg = it.lon_deg = it.alt_m = it.rocd_mps = it.psr_age_s = NAN
        it.flight_level = NAN
        it.sd_x_m = it.sd_y_m = it.cov_xy_m2 = it.sd_alt_m = NAN
        it.sd_vx_mps = it.sd_vy_mps = it.sd_rocd_mps = NAN
        if at[2] >= 0:
            it.service_id = r[at[2]]
            it.present |= ITEM_015
        if at[4] >= 0:
            it.lat_deg = (<int32_t>asx_ld32(r + at[4])) * LATLON_DEG
            it.lon_deg = (<int32_t>asx_ld32(r + at[4] + 4)) * LATLON_DEG
            it.present |= ITEM_105
        if at[5] >= 0:
            tr.east = asx_ld24s(r + at[5]) * XY_M
            tr.north = asx_ld24s(r + at[5] + 3) * XY_M
            it.present |= ITEM_100
        if at[6] >= 0:
            tr.v_east = (<int16_t>asx_ld16(r + at[6])) * V_MPS
            tr.v_north = (<int16_t>asx_ld16(r + at[6] + 2)) * V_MPS
            it.present |= ITEM_185
        tr.status = STATUS_CONFIRMED
        if at[12] >= 0:                                 # I062/080
            q = r + at[12]
            bits = 0
            octets = 0
            while octets < 4:
                bits |= (<uint32_t>(q[octets] & 0xFE)) << (24 - 8 * octets)
                octets += 1
                if not (q[octets - 1] & 1):
                    break
            it.status_bits = bits
            it.present |= ITEM_080
            if bits & (0x40 << 16):                     # TSE: last report of the track
                tr.status = STATUS_DELETED
            elif bits & 0x80:                           # CST: coasting
                tr.status = STATUS_COASTING
            elif bits & (0x02 << 24):                   # CNF = 1: tentative
                tr.status = STATUS_TENTATIVE
        if at[13] >= 0 and r[at[13]] & 0x40:            # I062/290 PSR age
            q = r + at[13]
            k = asx_primary_length(q)
            if q[0] & 0x80:                             # TRK age comes first
                k += 1
            it.psr_age_s = q[k] * AGE290_S
            it.present |= ITEM_290
        if at[16] >= 0:                                 # I062/136
            it.flight_level = (<int16_t>asx_ld16(r + at[16])) * FL_UNIT
            it.present |= ITEM_136
        if at[17] >= 0:                                 # I062/130
            it.alt_m = (<int16_t>asx_ld16(r + at[17])) * ALT_M
            it.present |= ITEM_130
        if at[19] >= 0:                                 # I062/220
            it.rocd_mps = (<int16_t>asx_ld16(r + at[19])) * ROCD_MPS
            it.present |= ITEM_220
        if at[26] >= 0:                                 # I062/500
            _read_accuracies(r + at[26], it)
            it.present |= ITEM_500
        if at[27] >= 0 and r[at[27]] & 0x80:            # I062/340 SID
            q = r + at[27]
            k = asx_primary_length(q)
            it.last_sac = q[k]
            it.last_sic = q[k + 1]
            it.present |= ITEM_340
        if at[34] >= 0:                                 # SP: rig provenance
            q = r + at[34]
            sp_len = q[0]
            mask = asx_ld16(q + 2) if sp_len >= 4 else 0
            if sp_len >= 4 and q[1] == SP_VERSION and sp_len == 4 + 2 * _popcount16(mask):
                tr.partners = mask
                k = 4
                for i in range(N_PARTNERS):
                    if (mask >> i) & 1:
                        age = asx_ld16(q + k)
                        k += 2
                        if age != AGE_UNKNOWN:
                            tr.partner_t_last[i] = tr.t - age * SP_AGE_S
                it.present |= ITEM_SP
            else:
                self.sp_foreign += 1
        return True


cdef void _read_accuracies(const uint8_t *q, cat062_info_t *it) noexcept nogil:
    """APC, COV, AGA, ATV and ARC of the I062/500 at ``q`` (walked already, so every subfield
    present is defined and within the record); the others are passed over."""
    cdef Py_ssize_t prim = asx_primary_length(q), k = prim, slot
    cdef double c
    for slot in range(7 * prim):
        if not (q[slot // 7] & (0x80 >> (slot % 7))):
            continue
        if slot == 0:                                   # APC
            it.sd_x_m = asx_ld16(q + k) * SD_XY_M
            it.sd_y_m = asx_ld16(q + k + 2) * SD_XY_M
        elif slot == 1:                                 # COV = sign(c) sqrt(|c|)
            c = (<int16_t>asx_ld16(q + k)) * SD_XY_M
            it.cov_xy_m2 = c * fabs(c)
        elif slot == 3:                                 # AGA
            it.sd_alt_m = q[k] * ALT_M
        elif slot == 5:                                 # ATV
            it.sd_vx_mps = q[k] * SD_V_MPS
            it.sd_vy_mps = q[k + 1] * SD_V_MPS
        elif slot == 7:                                 # ARC
            it.sd_rocd_mps = q[k] * ROCD_MPS
        k += cat062_500_sub[slot].size


cdef inline int _popcount16(uint32_t m) noexcept nogil:
    cdef int c = 0
    while m:
        c += m & 1
        m >>= 1
    return c
