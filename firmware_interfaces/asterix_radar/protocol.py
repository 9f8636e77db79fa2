"""An ASTERIX radar: CAT048 target reports over UDP, as rig sends and reads them.

Edition followed: **CAT048 edition 1.31** (EUROCONTROL-SPEC-0149-4), the edition Wireshark 4.0
decodes by default. All fields big-endian. A UDP datagram (at most 1472 octets by default, so
that it is never fragmented on Ethernet) holds one or more data blocks::

    CAT (u8, 48) | LEN (u16, octets of the block including these three) | records...

One record per plot, items in UAP order after the FSPEC (FX set on every FSPEC octet but the
last). What rig's encoder sends:

=====  =========  ======  ====================================================================
FRN    item       octets  content (scale) and the PLOT_DTYPE field it carries
=====  =========  ======  ====================================================================
1      I048/010   2       SAC, SIC of the radar
2      I048/140   3       time of day, u24, 1/128 s since midnight UTC: ``t_sensor`` modulo
                          one day
3      I048/020   1       TYP=1 (single PSR detection; TYP from the items array if given),
                          SIM = ``flags & PLOT_FLAG_SIMULATED``
4      I048/040   4       RHO u16, 1/256 NM (``range_m``, 0 .. 474 104 m);
                          THETA u16, 360/2^16 deg (``az_rad``)
5      I048/070   2       mode-3/A code: V G L (bits 16-14), code (bits 12-1) [items]
6      I048/090   2       flight level: V G (bits 16-15), i14, 1/4 FL [items]
7      I048/130   2       radar plot characteristics: primary octet 0x08 (PAM only), then
                          PAM i8, 1 dBm (``amplitude_db`` rounded; left out when NaN)
8      I048/220   3       aircraft address, u24 [items]
9      I048/240   6       aircraft identification, 8 six-bit IA-5 characters [items]
13     I048/200   4       ground speed u16, 2^-14 NM/s; heading u16, 360/2^16 deg [items]
16     I048/030   1       code 13 "target in clutter area" when ``flags & PLOT_FLAG_CLUTTER_MAP``
19     I048/110   2       3D height, i14 (bits 14-1), 25 ft, above mean sea level: from
                          ``range_m``, ``el_rad`` and the site altitude (``geometry.py``); left
                          out when ``el_rad`` is NaN
20     I048/120   3       radial Doppler speed: primary octet 0x80 (CAL only), then D (bit 16)
                          and CAL i10 (bits 10-1), 1 m/s (``range_rate_mps``, positive opening;
                          left out when NaN). Beyond -512 .. 511 m/s the value is clipped and
                          sent with D=1 ("doubtful"), which a receiver reads as not measured.
=====  =========  ======  ====================================================================

[items]: sent when the CAT048_ITEMS_DTYPE row (``rig.records_asterix``) has the item's
``present`` bit. The decoder reads all of the above wherever they are present, in records from
any source, and skips every other item of the UAP by its defined length (including the SP and
RE fields, I048/250 BDS data and the compound items); ``PLOT_FLAG_SATURATED`` has no CAT048
equivalent and is not carried.

Decoded plots: ``sensor_id`` from the SAC/SIC (``Cat048Decoder.set_source``, else the
decoder's default), ``seq`` = number of the datagram, ``t_arrival_ns`` the host's monotonic
clock at the read, ``t_sensor`` the time of day on a continuous line (a day is added when it
wraps at midnight), ``el_rad`` recovered from the height, NaN without I048/110.

Wire limits (an encoder raises :class:`rig.errors.EncodeError` naming the plot and field):
range up to 65535/256 NM; heights -62 419 .. 62 411 m; amplitude -128 .. 127 dB.
:func:`encodable` tells which plots fit, so an emulator can leave out the others and count them.
"""

from __future__ import annotations

import numpy as np

from .geometry import HEIGHT_MAX_M, HEIGHT_MIN_M, HEIGHT_UNIT_M, height_from_elevation

CATEGORY = 48
EDITION = "1.31"
DEFAULT_PORT = 8600                      # the port Wireshark decodes as ASTERIX by default
MAX_DATAGRAM_BYTES = 1472
NM_M = 1852.0
RHO_SCALE_M = NM_M / 256
THETA_SCALE_RAD = 2 * np.pi / 2**16
TOD_SCALE_S = 1 / 128
HEIGHT_SCALE_M = HEIGHT_UNIT_M
FL_SCALE = 0.25
GROUND_SPEED_SCALE_MPS = NM_M / 2**14
RANGE_RATE_SCALE_MPS = 1.0
RANGE_MAX_M = 65535 * RHO_SCALE_M
TYP_SINGLE_PSR = 1
CODE_CLUTTER_AREA = 13

#: The UAP of edition 1.31: FRN -> (item, format), format as in ``ext/rig_asterix.h``:
#: ("fixed", n), ("extended", group), ("repetitive", element), ("explicit",), or
#: ("compound", [subfield formats]) with None for a spare subfield.
UAP: dict[int, tuple[str, tuple]] = {
    1: ("I048/010", ("fixed", 2)),
    2: ("I048/140", ("fixed", 3)),
    3: ("I048/020", ("extended", 1)),
    4: ("I048/040", ("fixed", 4)),
    5: ("I048/070", ("fixed", 2)),
    6: ("I048/090", ("fixed", 2)),
    7: ("I048/130", ("compound", [("fixed", 1)] * 7)),
    8: ("I048/220", ("fixed", 3)),
    9: ("I048/240", ("fixed", 6)),
    10: ("I048/250", ("repetitive", 8)),
    11: ("I048/161", ("fixed", 2)),
    12: ("I048/042", ("fixed", 4)),
    13: ("I048/200", ("fixed", 4)),
    14: ("I048/170", ("extended", 1)),
    15: ("I048/210", ("fixed", 4)),
    16: ("I048/030", ("extended", 1)),
    17: ("I048/080", ("fixed", 2)),
    18: ("I048/100", ("fixed", 4)),
    19: ("I048/110", ("fixed", 2)),
    20: ("I048/120", ("compound", [("fixed", 2), ("repetitive", 6)])),
    21: ("I048/230", ("fixed", 2)),
    22: ("I048/260", ("fixed", 7)),
    23: ("I048/055", ("fixed", 1)),
    24: ("I048/050", ("fixed", 2)),
    25: ("I048/065", ("fixed", 1)),
    26: ("I048/060", ("fixed", 2)),
    27: ("SP", ("explicit",)),
    28: ("RE", ("explicit",)),
}


def encodable(plots: np.ndarray, site_alt_m: float) -> np.ndarray:
    """Boolean mask of the plots CAT048 can carry (range, height and amplitude in limits)."""
    rho = np.floor(plots["range_m"] / RHO_SCALE_M + 0.5)
    ok = (rho >= 0) & (rho <= 65535) & np.isfinite(plots["az_rad"]) & np.isfinite(plots["t_sensor"])
    el = plots["el_rad"]
    with np.errstate(invalid="ignore"):
        h = height_from_elevation(plots["range_m"], el, site_alt_m)
        h_units = np.floor(h / HEIGHT_SCALE_M + 0.5)
        ok &= np.isnan(el) | ((h_units >= HEIGHT_MIN_M / HEIGHT_SCALE_M)
                              & (h_units <= HEIGHT_MAX_M / HEIGHT_SCALE_M))
        amp = np.floor(plots["amplitude_db"].astype(float) + 0.5)
        ok &= np.isnan(amp) | ((amp >= -128) & (amp <= 127))
    return ok
