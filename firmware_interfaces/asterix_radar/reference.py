"""Pure-Python reference codec of CAT048 as rig uses it (``protocol.py``).

Slow and plain on purpose: the same tests run against it and the compiled codec
(``rig._ext.asterix048``), which must agree with it byte for byte and value for value. The
API is the same: :func:`encode`, :class:`Cat048Decoder`, :func:`height_m` and
:func:`elevation_rad`; ``RIG_PUREPYTHON=1`` makes rig use it (:mod:`rig.twins`). The ASTERIX
building blocks (record walk, block walk, packing) are shared with the CAT062 twin in
:mod:`rig.asterix_reference`.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from rig import asterix_reference as asx
from rig.errors import EncodeError
from rig.records import PLOT_DTYPE, PLOT_FLAG_CLUTTER_MAP, PLOT_FLAG_SIMULATED
from rig.records_asterix import (
    CAT048_ITEMS_DTYPE, ITEM_048_030, ITEM_048_070, ITEM_048_090, ITEM_048_110, ITEM_048_120,
    ITEM_048_130, ITEM_048_200, ITEM_048_220, ITEM_048_240,
)

from .geometry import EARTH_RADIUS_M, elevation_from_height, height_from_elevation
from .protocol import (
    CATEGORY, CODE_CLUTTER_AREA, EDITION, FL_SCALE, GROUND_SPEED_SCALE_MPS, HEIGHT_SCALE_M,
    RHO_SCALE_M, THETA_SCALE_RAD, TOD_SCALE_S, TYP_SINGLE_PSR, UAP,
)

COUNTER_NAMES = (
    "datagrams", "blocks_ok", "records_ok", "plots_ok", "records_incomplete", "records_bad",
    "blocks_other_category", "blocks_bad_length", "blocks_truncated", "bytes_skipped",
    "bytes_fed", "records_foreign",
)
FOREIGN_KEPT = 8             # SAC/SICs of foreign records remembered
FOREIGN = object()           # _plot's answer for a record of a SAC/SIC not believed
CATEGORY_NUMBER = CATEGORY
MAX_RECORD_BYTES = MAX_RECORD = 64
EARTH_RADIUS = EARTH_RADIUS_M
_SIXBIT = {**{i + 1: chr(65 + i) for i in range(26)}, 32: " ",
           **{48 + i: chr(48 + i) for i in range(10)}}
_FIELDS = {
    "range_m": "0 to 474104 m (65535/256 NM)", "az_rad": "a finite angle",
    "el_rad": "an elevation whose 3D height is within -62 418 .. 62 410 m",
    "t_sensor": "a finite time", "amplitude_db": "-128 to 127 dB (I048/130 PAM), or NaN",
    "flight_level": "-2048 to 2047.75 FL", "ground_speed_mps": "0 to 7407 m/s",
    "heading_rad": "a finite angle", "mode3a": "a 12-bit code (4 octal digits)",
    "callsign": "A-Z, 0-9 and space",
}
_round = asx.round_half_up          # floor(x + 0.5), NaN and infinities as they are


def height_m(range_m: float, el_rad: float, site_alt_m: float) -> float:
    """The codec's spherical-earth height (geometry.py documents the model)."""
    return float(height_from_elevation(range_m, el_rad, site_alt_m))


def elevation_rad(range_m: float, height_m: float, site_alt_m: float) -> float:
    """Inverse of :func:`height_m` (NaN where no elevation fits)."""
    return float(elevation_from_height(range_m, height_m, site_alt_m))


class _Bad(Exception):
    def __init__(self, field: str):
        self.field = field


def _angle_units(a: float) -> int:
    a = math.fmod(a, 2 * math.pi)
    if a < 0:
        a += 2 * math.pi
    return int(_round(a / THETA_SCALE_RAD)) & 0xFFFF


def _record(p, it, sac: int, sic: int, site_alt_m: float) -> bytes:
    items: dict[int, bytes] = {}
    present = int(it["present"]) if it is not None else 0
    t = float(p["t_sensor"])
    if not math.isfinite(t):
        raise _Bad("t_sensor")
    items[1] = bytes((sac, sic))
    items[2] = asx.time_of_day_units(t).to_bytes(3, "big")
    typ = int(it["typ"]) if it is not None and it["typ"] else TYP_SINGLE_PSR
    items[3] = bytes((((typ & 7) << 5) | (0x10 if p["flags"] & PLOT_FLAG_SIMULATED else 0),))
    rho = _round(float(p["range_m"]) / RHO_SCALE_M)
    if not 0 <= rho <= 65535:
        raise _Bad("range_m")
    if not math.isfinite(float(p["az_rad"])):
        raise _Bad("az_rad")
    items[4] = struct.pack(">HH", int(rho), _angle_units(float(p["az_rad"])))
    if present & ITEM_048_070:
        if it["mode3a"] > 0xFFF:
            raise _Bad("mode3a")
        items[5] = struct.pack(">H", ((int(it["mode3a_flags"]) & 7) << 13) | int(it["mode3a"]))
    if present & ITEM_048_090:
        fl = _round(float(it["flight_level"]) / FL_SCALE)
        if not -8192 <= fl <= 8191:
            raise _Bad("flight_level")
        items[6] = struct.pack(">H", ((int(it["fl_flags"]) & 3) << 14) | (int(fl) & 0x3FFF))
    amp = float(p["amplitude_db"])
    if math.isfinite(amp):
        pam = _round(amp)
        if not -128 <= pam <= 127:
            raise _Bad("amplitude_db")
        items[7] = struct.pack(">Bb", 0x08, int(pam))
    if present & ITEM_048_220:
        items[8] = (int(it["aircraft_address"]) & 0xFFFFFF).to_bytes(3, "big")
    if present & ITEM_048_240:
        bits = 0
        for ch in bytes(it["callsign"]).ljust(8, b" ")[:8]:
            if ch in (0, 32):
                code = 32
            elif 65 <= ch <= 90:
                code = ch - 64
            elif 48 <= ch <= 57:
                code = ch
            else:
                raise _Bad("callsign")
            bits = (bits << 6) | code
        items[9] = bits.to_bytes(6, "big")
    if present & ITEM_048_200:
        gsp = _round(float(it["ground_speed_mps"]) / GROUND_SPEED_SCALE_MPS)
        if not 0 <= gsp <= 65535:
            raise _Bad("ground_speed_mps")
        if not math.isfinite(float(it["heading_rad"])):
            raise _Bad("heading_rad")
        items[13] = struct.pack(">HH", int(gsp), _angle_units(float(it["heading_rad"])))
    if p["flags"] & PLOT_FLAG_CLUTTER_MAP:
        items[16] = bytes((CODE_CLUTTER_AREA << 1,))
    el = float(p["el_rad"])
    if math.isfinite(el):
        h = _round(float(height_from_elevation(float(p["range_m"]), el, site_alt_m)) / HEIGHT_SCALE_M)
        if not -8192 <= h <= 8191:
            raise _Bad("el_rad")
        items[19] = struct.pack(">H", int(h) & 0x3FFF)
    rr = float(p["range_rate_mps"])
    if not math.isnan(rr):
        v = _round(rr)
        doubtful = 0
        if v > 511:
            v, doubtful = 511, 1
        elif v < -512:
            v, doubtful = -512, 1
        items[20] = struct.pack(">BH", 0x80, (doubtful << 15) | (int(v) & 0x3FF))
    return asx.record(items)


def encode(plots: np.ndarray, *, sac: int, sic: int, site_alt_m: float = 0.0, items=None,
           max_datagram_bytes: int = 1472, max_records_per_block: int = 0) -> list[bytes]:
    if plots.dtype != PLOT_DTYPE:
        raise TypeError(f"plots must have dtype rig.records.PLOT_DTYPE, not {plots.dtype}")
    if not (0 <= sac <= 255 and 0 <= sic <= 255):
        raise ValueError("sac and sic must each fit in one octet")
    if max_datagram_bytes < MAX_RECORD + 3:
        raise ValueError(f"max_datagram_bytes must be at least {MAX_RECORD + 3}")
    if max_records_per_block < 0:
        raise ValueError("max_records_per_block must not be negative")
    if items is not None and (items.dtype != CAT048_ITEMS_DTYPE or len(items) != len(plots)):
        raise TypeError("items must be a CAT048_ITEMS_DTYPE array with one row per plot")
    records = []
    for i, p in enumerate(plots):
        it = items[i] if items is not None else None
        try:
            records.append(_record(p, it, sac, sic, site_alt_m))
        except _Bad as e:
            holder = it if e.field in ("flight_level", "ground_speed_mps", "heading_rad",
                                       "mode3a", "callsign") else p
            raise EncodeError(f"plot {i}: {e.field} = {holder[e.field]!r} is outside what "
                              f"CAT048 carries ({_FIELDS[e.field]})") from None
    return asx.pack(records, CATEGORY, max_datagram_bytes, max_records_per_block)


def walk_record(data: bytes, at: int, end: int) -> tuple[int, dict[int, int]]:
    """``(length, {frn: offset of its item})`` of the record at ``at``; length -1 if bad."""
    return asx.walk_record(UAP, data, at, end)


class Cat048Decoder:
    """The reference decoder: same behaviour and counters as ``rig._ext.asterix048``."""

    def __init__(self, sensor_id: int = 0, site_alt_m: float = 0.0, day_start_s: float = 0.0):
        if not 0 <= sensor_id <= 0xFFFF:
            raise ValueError("sensor_id must fit in 16 bits")
        self.default = (sensor_id, site_alt_m)
        self.sources: dict[tuple[int, int], tuple[int, float]] = {}
        self.named_only = False
        self.foreign_seen: list[tuple[int, int]] = []
        self.tod_line = asx.TimeOfDayLine(day_start_s)
        self.seq = 0
        for name in COUNTER_NAMES:
            setattr(self, name, 0)

    def set_source(self, sac: int, sic: int, sensor_id: int, site_alt_m: float) -> None:
        if not (0 <= sac <= 255 and 0 <= sic <= 255 and 0 <= sensor_id <= 0xFFFF):
            raise ValueError("sac and sic must fit in 8 bits and sensor_id in 16")
        self.sources[(sac, sic)] = (sensor_id, site_alt_m)

    def only_named_sources(self) -> None:
        self.named_only = True

    def foreign_sources(self) -> list[tuple[int, int]]:
        return list(self.foreign_seen)

    def counters(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTER_NAMES}

    def reset(self) -> None:
        self.tod_line.reset()

    def feed(self, datagram, t_arrival_ns: int = 0) -> np.ndarray:
        return self.feed_items(datagram, t_arrival_ns)[0]

    def feed_items(self, datagram, t_arrival_ns: int = 0) -> tuple[np.ndarray, np.ndarray]:
        data = bytes(datagram)
        n = len(data)
        self.datagrams += 1
        self.bytes_fed += n
        plots, items = [], []
        for at in asx.records(self, data, CATEGORY, UAP):
            row = self._plot(data, at, t_arrival_ns)
            if row is None:
                self.records_incomplete += 1
            elif row is not FOREIGN:
                plots.append(row[0])
                items.append(row[1])
        self.plots_ok += len(plots)
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        return np.array(plots, dtype=PLOT_DTYPE), np.array(items, dtype=CAT048_ITEMS_DTYPE)

    def _plot(self, data: bytes, at: dict[int, int], t_arrival_ns: int):
        if not {1, 2, 4} <= at.keys():
            return None
        sac, sic = data[at[1]], data[at[1] + 1]
        if self.named_only and (sac, sic) not in self.sources:
            self.records_foreign += 1
            if (sac, sic) not in self.foreign_seen and len(self.foreign_seen) < FOREIGN_KEPT:
                self.foreign_seen.append((sac, sic))
            return FOREIGN
        sensor_id, site_alt = self.sources.get((sac, sic), self.default)
        t = self.tod_line.unwrap(int.from_bytes(data[at[2]:at[2] + 3], "big") * TOD_SCALE_S)
        rho, theta = struct.unpack_from(">HH", data, at[4])
        range_m = rho * RHO_SCALE_M
        flags = 0
        present = 0
        typ = 0
        if 3 in at:
            typ = data[at[3]] >> 5
            if data[at[3]] & 0x10:
                flags |= PLOT_FLAG_SIMULATED
        if 16 in at:
            present |= ITEM_048_030
            q = at[16]
            while True:
                if data[q] >> 1 == CODE_CLUTTER_AREA:
                    flags |= PLOT_FLAG_CLUTTER_MAP
                if not data[q] & 1:
                    break
                q += 1
        height = math.nan
        if 19 in at:
            present |= ITEM_048_110
            v = int.from_bytes(data[at[19]:at[19] + 2], "big") & 0x3FFF
            height = (v - 0x4000 if v & 0x2000 else v) * HEIGHT_SCALE_M
        el = float(elevation_from_height(range_m, height, site_alt)) if not math.isnan(height) else math.nan
        rr = math.nan
        if 20 in at:
            present |= ITEM_048_120
            q = at[20]
            if data[q] & 0x80:
                prim = asx.primary_length(data, q)
                v = int.from_bytes(data[q + prim:q + prim + 2], "big")
                if not v & 0x8000:
                    v &= 0x3FF
                    rr = float(v - 0x400 if v & 0x200 else v)
        amp = math.nan
        if 7 in at:
            present |= ITEM_048_130
            q = at[7]
            if data[q] & 0x08:
                prim = asx.primary_length(data, q)
                k = prim + sum(1 for i in range(4) if data[q] & (0x80 >> i))
                amp = float(struct.unpack_from(">b", data, q + k)[0])
        plot = (t, t_arrival_ns, range_m, theta * THETA_SCALE_RAD, el, rr, amp, sensor_id,
                flags, self.seq)
        mode3a = mode3a_flags = fl_flags = address = 0
        fl = gsp = hdg = math.nan
        callsign = b""
        if 5 in at:
            present |= ITEM_048_070
            v = int.from_bytes(data[at[5]:at[5] + 2], "big")
            mode3a, mode3a_flags = v & 0xFFF, (v >> 13) & 7
        if 6 in at:
            present |= ITEM_048_090
            v = int.from_bytes(data[at[6]:at[6] + 2], "big")
            fl_flags = (v >> 14) & 3
            v &= 0x3FFF
            fl = (v - 0x4000 if v & 0x2000 else v) * FL_SCALE
        if 8 in at:
            present |= ITEM_048_220
            address = int.from_bytes(data[at[8]:at[8] + 3], "big")
        if 9 in at:
            present |= ITEM_048_240
            bits = int.from_bytes(data[at[9]:at[9] + 6], "big")
            callsign = "".join(_SIXBIT.get((bits >> (42 - 6 * i)) & 0x3F, "?")
                               for i in range(8)).encode()
        if 13 in at:
            present |= ITEM_048_200
            g, h = struct.unpack_from(">HH", data, at[13])
            gsp, hdg = g * GROUND_SPEED_SCALE_MPS, h * THETA_SCALE_RAD
        item = (height, gsp, hdg, fl, address, present, mode3a, sac, sic, typ, mode3a_flags,
                fl_flags, callsign)
        return plot, item
