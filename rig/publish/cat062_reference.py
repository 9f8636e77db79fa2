"""Pure-Python twin of ``rig._ext.asterix062``: the CAT062 encoder and decoder, written plainly.

The wire format is :mod:`rig.publish.cat062_format`; the API, every byte encoded, every value
decoded and every counter are those of ``ext/asterix062.pyx``, which the tests hold to this
module. ``RIG_PUREPYTHON=1`` makes rig use it instead of the compiled codec (:mod:`rig.twins`).
"""

from __future__ import annotations

import math
import struct

import numpy as np

from rig import asterix_reference as asx
from rig.errors import EncodeError
from rig.records import MAX_PARTNERS, TRACK_DTYPE, TRACK_STATUS_CONFIRMED, TRACK_STATUS_COASTING
from rig.records import TRACK_STATUS_DELETED, TRACK_STATUS_TENTATIVE
from rig.records_asterix import (
    CAT062_INFO_DTYPE, ITEM_062_015, ITEM_062_070, ITEM_062_080, ITEM_062_100, ITEM_062_105,
    ITEM_062_130, ITEM_062_136, ITEM_062_185, ITEM_062_220, ITEM_062_290, ITEM_062_340,
    ITEM_062_500, ITEM_062_SP,
)

from .cat062_format import (
    ALTITUDE_SCALE_M, CATEGORY, COV_MAX, EDITION, LATLON_SCALE_DEG, PSR_AGE_SCALE_S,
    ROCD_SCALE_MPS, SD_OCTET_MAX, SD_V_SCALE_MPS, SD_XY_MAX, SD_XY_SCALE_M, SP_AGE_SCALE_S,
    SP_AGE_UNKNOWN, SP_FORMAT_VERSION, STATUS_OCTETS, TOD_SCALE_S, UAP, VELOCITY_SCALE_MPS,
    XY_SCALE_M,
)

CATEGORY_NUMBER = CATEGORY
MAX_RECORD_BYTES = 96
COUNTER_NAMES = (
    "datagrams", "blocks_ok", "records_ok", "tracks_ok", "records_incomplete", "records_bad",
    "blocks_other_category", "blocks_bad_length", "blocks_truncated", "sp_foreign",
    "bytes_skipped", "bytes_fed",
)
NO_SOURCE = 0xFFFF                  # a partner without (SAC, SIC): no I062/340
FL_SCALE = 0.25                     # I062/136, 1/4 FL
_STATUS_NAMES = {TRACK_STATUS_TENTATIVE: "tentative", TRACK_STATUS_CONFIRMED: "confirmed",
                 TRACK_STATUS_COASTING: "coasting", TRACK_STATUS_DELETED: "deleted"}

# error number -> (field, what CAT062 carries); the numbers and order of the compiled encoder
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
_COLUMN_OF = {1: 4, 2: 0, 3: 1, 8: 2, 9: 3}     # error number -> row of the per-track columns


class _Bad(Exception):
    def __init__(self, number: int):
        self.number = number


def _scaled(value: float, scale: float, lo: int, hi: int, bad: int):
    """``value / scale`` rounded half up; :class:`_Bad` unless within ``lo .. hi``."""
    units = asx.round_half_up(value / scale)
    if not lo <= units <= hi:
        raise _Bad(bad)
    return units


# --- encoder -------------------------------------------------------------------------------
def _sd_units(sd: float, lsb: float, top: int) -> int:
    """An accuracy (sd > 0) in units of ``lsb``, rounded up, saturating at ``top``."""
    x = sd / lsb
    return top if x >= top else math.ceil(x)


def _accuracies(P, sd_alt: float, sd_rocd: float) -> bytes:
    """I062/500 (APC and COV, AGA, ATV, ARC, each when its variance or sd is positive) from the
    covariance ``P`` (6x6) and the vertical accuracies; empty when none is known."""
    prim0 = prim1 = 0
    sub = b""
    if P[0][0] > 0 and P[1][1] > 0:                                 # APC
        sub += struct.pack(">HH", _sd_units(math.sqrt(P[0][0]), SD_XY_SCALE_M, SD_XY_MAX),
                           _sd_units(math.sqrt(P[1][1]), SD_XY_SCALE_M, SD_XY_MAX))
        prim0 |= 0x80
        c = P[0][1]
        if math.isfinite(c):                                        # COV, toward zero
            units = min(math.floor(math.sqrt(abs(c)) / SD_XY_SCALE_M), COV_MAX)
            sub += struct.pack(">h", -units if c < 0 else units)
            prim0 |= 0x40
    if sd_alt > 0:                                                  # AGA
        sub += bytes((_sd_units(sd_alt, ALTITUDE_SCALE_M, SD_OCTET_MAX),))
        prim0 |= 0x10
    if P[3][3] > 0 and P[4][4] > 0:                                 # ATV
        sub += bytes((_sd_units(math.sqrt(P[3][3]), SD_V_SCALE_MPS, SD_OCTET_MAX),
                      _sd_units(math.sqrt(P[4][4]), SD_V_SCALE_MPS, SD_OCTET_MAX)))
        prim0 |= 0x04
    if sd_rocd > 0:                                                 # ARC
        sub += bytes((_sd_units(sd_rocd, ROCD_SCALE_MPS, SD_OCTET_MAX),))
        prim1 = 0x80
    if not sub:
        return b""
    return (bytes((prim0 | 1, prim1)) if prim1 else bytes((prim0,))) + sub


def _record(tr, lat: float, lon: float, alt: float, rocd: float, tod: float, sd_alt: float,
            sd_rocd: float, sac: int, sic: int, service_id: int, sources: list[int]) -> bytes:
    items: dict[int, bytes] = {}
    t = float(tr["t"])
    partners = int(tr["partners"])
    t_last = [float(x) for x in tr["partner_t_last"]]
    items[1] = bytes((sac, sic))                                    # I062/010
    items[3] = bytes((service_id,))                                 # I062/015
    if not math.isfinite(tod):                                      # I062/070
        raise _Bad(1)
    items[4] = asx.time_of_day_units(tod).to_bytes(3, "big")
    x = _scaled(lat, LATLON_SCALE_DEG, -2**24, 2**24, 2)            # I062/105
    y = asx.round_half_up(lon / LATLON_SCALE_DEG)
    if y >= 2**25:                                                  # 180 deg east is 180 west
        y -= 2**26
    if not -2**25 <= y <= 2**25 - 1:
        raise _Bad(3)
    items[5] = struct.pack(">ii", x, y)
    x = _scaled(float(tr["east"]), XY_SCALE_M, -2**23, 2**23 - 1, 4)    # I062/100
    y = _scaled(float(tr["north"]), XY_SCALE_M, -2**23, 2**23 - 1, 5)
    items[6] = (x & 0xFFFFFF).to_bytes(3, "big") + (y & 0xFFFFFF).to_bytes(3, "big")
    x = _scaled(float(tr["v_east"]), VELOCITY_SCALE_MPS, -2**15, 2**15 - 1, 6)   # I062/185
    y = _scaled(float(tr["v_north"]), VELOCITY_SCALE_MPS, -2**15, 2**15 - 1, 7)
    items[7] = struct.pack(">hh", x, y)
    items[12] = struct.pack(">H", int(tr["track_id"]) & 0xFFFF)    # I062/040
    # I062/080: any status but the four named ones goes as confirmed
    items[13] = STATUS_OCTETS[_STATUS_NAMES.get(int(tr["status"]), "confirmed")]
    last = None                                                     # the newest partner update
    for i in range(MAX_PARTNERS):
        if (partners >> i) & 1 and math.isfinite(t_last[i]):
            if last is None or t_last[i] > t_last[last]:
                last = i
    if last is not None:                                            # I062/290, PSR age only
        age = asx.round_half_up((t - t_last[last]) / PSR_AGE_SCALE_S)
        # saturating at 0 and 255; a NaN track time is undefined in C and gives 0 on x86-64
        age = 0 if math.isnan(age) or age < 0 else min(age, 255)
        items[14] = bytes((0x40, int(age)))
    if math.isfinite(alt):                                          # I062/130
        items[18] = struct.pack(">h", _scaled(alt, ALTITUDE_SCALE_M, -2**15, 2**15 - 1, 8))
    if math.isfinite(rocd):                                         # I062/220
        items[20] = struct.pack(">h", _scaled(rocd, ROCD_SCALE_MPS, -2**15, 2**15 - 1, 9))
    accuracies = _accuracies(tr["covariance"].tolist(), sd_alt, sd_rocd)
    if accuracies:                                                  # I062/500
        items[27] = accuracies
    if last is not None and sources[last] != NO_SOURCE:            # I062/340, SID only
        items[28] = bytes((0x80,)) + struct.pack(">H", sources[last])
    if partners:                                                    # SP, rig provenance
        if partners >> MAX_PARTNERS:
            raise _Bad(10)
        ages = b""
        for i in range(MAX_PARTNERS):
            if (partners >> i) & 1:
                age = asx.round_half_up((t - t_last[i]) / SP_AGE_SCALE_S)
                if not 0 <= age < SP_AGE_UNKNOWN:
                    age = SP_AGE_UNKNOWN
                ages += struct.pack(">H", age)
        items[35] = struct.pack(">BBH", 4 + len(ages), SP_FORMAT_VERSION, partners) + ages
    return asx.record(items)


def encode(tracks: np.ndarray, lat_deg, lon_deg, alt_m, rocd_mps, t_tod_s, *, sac: int,
           sic: int, service_id: int = 1, partner_sources=None, max_datagram_bytes: int = 1472,
           max_records_per_block: int = 0, sd_alt_m=None, sd_rocd_mps=None) -> list[bytes]:
    """CAT062 datagrams (a list of ``bytes``) carrying ``tracks`` (TRACK_DTYPE), in order; the
    arguments, limits and errors of ``rig._ext.asterix062.encode``."""
    if not isinstance(tracks, np.ndarray):
        raise TypeError(f"Argument 'tracks' has incorrect type (expected numpy.ndarray, got "
                        f"{type(tracks).__name__})")
    if tracks.dtype != TRACK_DTYPE:
        raise TypeError(f"tracks must have dtype rig.records.TRACK_DTYPE, not {tracks.dtype}")
    if not (0 <= sac <= 255 and 0 <= sic <= 255 and 0 <= service_id <= 255):
        raise ValueError("sac, sic and service_id must each fit in one octet")
    if max_datagram_bytes < MAX_RECORD_BYTES + asx.BLOCK_HEADER:
        raise ValueError(f"max_datagram_bytes must be at least "
                         f"{MAX_RECORD_BYTES + asx.BLOCK_HEADER}")
    if max_records_per_block < 0:
        raise ValueError("max_records_per_block must not be negative")
    n = tracks.shape[0]
    tracks = np.ascontiguousarray(tracks)
    columns = [np.ascontiguousarray(np.broadcast_to(np.asarray(c, dtype=np.float64), (n,)))
               for c in (lat_deg, lon_deg, alt_m, rocd_mps, t_tod_s,
                         np.nan if sd_alt_m is None else sd_alt_m,
                         np.nan if sd_rocd_mps is None else sd_rocd_mps)]
    sources = [NO_SOURCE] * MAX_PARTNERS
    for partner, (psac, psic) in (partner_sources or {}).items():
        if not (0 <= partner < MAX_PARTNERS and 0 <= psac <= 255 and 0 <= psic <= 255):
            raise ValueError(f"partner_sources: {partner}: ({psac}, {psic}) is not a partner "
                             f"0..{MAX_PARTNERS - 1} with an 8-bit SAC and SIC")
        sources[partner] = (psac << 8) | psic
    lat, lon, alt, rocd, tod, sd_alt, sd_rocd = (c.tolist() for c in columns)
    records = []
    for k in range(n):
        try:
            records.append(_record(tracks[k], lat[k], lon[k], alt[k], rocd[k], tod[k],
                                   sd_alt[k], sd_rocd[k], sac, sic, service_id, sources))
        except _Bad as e:
            field, limits = _FIELDS[e.number]
            column = _COLUMN_OF.get(e.number)
            value = columns[column][k] if column is not None else tracks[k][field]
            raise EncodeError(f"track {k}: {field} = {value!r} is outside what CAT062 "
                              f"carries ({limits})", index=k) from None
    return asx.pack(records, CATEGORY, max_datagram_bytes, max_records_per_block)


# --- decoder -------------------------------------------------------------------------------
def _i16(data: bytes, at: int) -> int:
    return struct.unpack_from(">h", data, at)[0]


def _i24(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 3], "big", signed=True)


_SUB_500 = UAP[27][1][1]            # I062/500 subfield formats: APC COV APW AGA ABA ATV AA | ARC


def _read_accuracies(data: bytes, at: int) -> list[float]:
    """``[sd_x, sd_y, cov_xy, sd_alt, sd_vx, sd_vy, sd_rocd]`` of the I062/500 at ``at`` (a
    walked record: every subfield present is defined), NaN for those absent."""
    out = [math.nan] * 7
    prim = asx.primary_length(data, at)
    k = at + prim
    for slot in range(7 * prim):
        if not data[at + slot // 7] & (0x80 >> (slot % 7)):
            continue
        if slot == 0:                                           # APC
            out[0] = int.from_bytes(data[k:k + 2], "big") * SD_XY_SCALE_M
            out[1] = int.from_bytes(data[k + 2:k + 4], "big") * SD_XY_SCALE_M
        elif slot == 1:                                         # COV = sign(c) sqrt(|c|)
            c = _i16(data, k) * SD_XY_SCALE_M
            out[2] = c * abs(c)
        elif slot == 3:                                         # AGA
            out[3] = data[k] * ALTITUDE_SCALE_M
        elif slot == 5:                                         # ATV
            out[4] = data[k] * SD_V_SCALE_MPS
            out[5] = data[k + 1] * SD_V_SCALE_MPS
        elif slot == 7:                                         # ARC
            out[6] = data[k] * ROCD_SCALE_MPS
        k += _SUB_500[slot][1]
    return out


class Cat062Decoder:
    """Decodes CAT062 datagrams, one per :meth:`feed`, into ``(tracks, info)``: the behaviour,
    results and counters of ``rig._ext.asterix062.Cat062Decoder`` (whose docstring describes
    the fields)."""

    def __init__(self, day_start_s: float = 0.0):
        self.tod_line = asx.TimeOfDayLine(day_start_s)
        for name in COUNTER_NAMES:
            setattr(self, name, 0)

    def counters(self) -> dict[str, int]:
        """All counters as a dict (a snapshot)."""
        return {name: getattr(self, name) for name in COUNTER_NAMES}

    def reset(self) -> None:
        """Forget the time-of-day state; counters stay."""
        self.tod_line.reset()

    def feed(self, datagram) -> tuple[np.ndarray, np.ndarray]:
        """Decode one datagram; return ``(tracks, info)``."""
        data = bytes(memoryview(datagram).cast("B")) if len(datagram) else b""
        self.datagrams += 1
        self.bytes_fed += len(data)
        tracks, infos = [], []
        for at in asx.records(self, data, CATEGORY, UAP):
            row = self._track(data, at)
            if row is None:
                self.records_incomplete += 1
            else:
                tracks.append(row[0])
                infos.append(row[1])
        self.tracks_ok += len(tracks)
        return np.array(tracks, dtype=TRACK_DTYPE), np.array(infos, dtype=CAT062_INFO_DTYPE)

    def _track(self, data: bytes, at: dict[int, int]):
        """``(track row, info row)`` of one record, or None without I062/010, /070, /040."""
        if not {1, 4, 12} <= at.keys():
            return None
        nan = math.nan
        t = self.tod_line.unwrap(int.from_bytes(data[at[4]:at[4] + 3], "big") * TOD_SCALE_S)
        east = north = v_east = v_north = nan
        lat = lon = alt = rocd = psr_age = flight_level = nan
        accuracies = [nan] * 7
        status = TRACK_STATUS_CONFIRMED
        present = ITEM_062_070
        service_id = status_bits = last_sac = last_sic = partners = 0
        t_last = [nan] * MAX_PARTNERS
        if 3 in at:                                             # I062/015
            service_id = data[at[3]]
            present |= ITEM_062_015
        if 5 in at:                                             # I062/105
            ilat, ilon = struct.unpack_from(">ii", data, at[5])
            lat, lon = ilat * LATLON_SCALE_DEG, ilon * LATLON_SCALE_DEG
            present |= ITEM_062_105
        if 6 in at:                                             # I062/100
            east, north = _i24(data, at[6]) * XY_SCALE_M, _i24(data, at[6] + 3) * XY_SCALE_M
            present |= ITEM_062_100
        if 7 in at:                                             # I062/185
            v_east = _i16(data, at[7]) * VELOCITY_SCALE_MPS
            v_north = _i16(data, at[7] + 2) * VELOCITY_SCALE_MPS
            present |= ITEM_062_185
        if 13 in at:                                            # I062/080, first 4 octets
            for k in range(4):
                octet = data[at[13] + k]
                status_bits |= (octet & 0xFE) << (24 - 8 * k)
                if not octet & 1:
                    break
            present |= ITEM_062_080
            if status_bits & (0x40 << 16):                      # TSE: last report of the track
                status = TRACK_STATUS_DELETED
            elif status_bits & 0x80:                            # CST: coasting
                status = TRACK_STATUS_COASTING
            elif status_bits & (0x02 << 24):                    # CNF = 1: tentative
                status = TRACK_STATUS_TENTATIVE
        if 14 in at and data[at[14]] & 0x40:                    # I062/290, its PSR age
            q = at[14]
            k = asx.primary_length(data, q)
            if data[q] & 0x80:                                  # the TRK age comes first
                k += 1
            psr_age = data[q + k] * PSR_AGE_SCALE_S
            present |= ITEM_062_290
        if 17 in at:                                            # I062/136
            flight_level = _i16(data, at[17]) * FL_SCALE
            present |= ITEM_062_136
        if 18 in at:                                            # I062/130
            alt = _i16(data, at[18]) * ALTITUDE_SCALE_M
            present |= ITEM_062_130
        if 20 in at:                                            # I062/220
            rocd = _i16(data, at[20]) * ROCD_SCALE_MPS
            present |= ITEM_062_220
        if 27 in at:                                            # I062/500
            accuracies = _read_accuracies(data, at[27])
            present |= ITEM_062_500
        if 28 in at and data[at[28]] & 0x80:                    # I062/340, its SID
            q = at[28] + asx.primary_length(data, at[28])
            last_sac, last_sic = data[q], data[q + 1]
            present |= ITEM_062_340
        if 35 in at:                                            # SP: rig provenance
            q = at[35]
            sp_len = data[q]
            mask = int.from_bytes(data[q + 2:q + 4], "big") if sp_len >= 4 else 0
            if (sp_len >= 4 and data[q + 1] == SP_FORMAT_VERSION
                    and sp_len == 4 + 2 * bin(mask).count("1")):
                partners = mask
                k = q + 4
                for i in range(MAX_PARTNERS):
                    if (mask >> i) & 1:
                        age = int.from_bytes(data[k:k + 2], "big")
                        k += 2
                        if age != SP_AGE_UNKNOWN:
                            t_last[i] = t - age * SP_AGE_SCALE_S
                present |= ITEM_062_SP
            else:
                self.sp_foreign += 1
        track_id = int.from_bytes(data[at[12]:at[12] + 2], "big")
        track = (track_id, status, 0, partners, t, east, north, nan, v_east, v_north, nan,
                 np.full((6, 6), nan), t_last)
        info = (lat, lon, alt, rocd, psr_age, flight_level, *accuracies, present, status_bits,
                data[at[1]], data[at[1] + 1], service_id, last_sac, last_sic)
        return track, info
