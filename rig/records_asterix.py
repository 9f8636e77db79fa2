"""Numpy records of the ASTERIX items that the plot and track records do not hold.

The CAT048 decoder can hand out, beside each plot, what else its target report carried
(:data:`CAT048_ITEMS_DTYPE`, row ``i`` belongs to plot ``i``); the encoder takes the same
array to send those items. The CAT062 decoder gives, beside each track, the wire-level facts
(:data:`CAT062_INFO_DTYPE`). ``present`` holds one ``ITEM_*`` bit per item the record carried.
The C structs in ``ext/rig_records_asterix.pxd`` mirror these dtypes; the codecs check the
layouts when they are imported.
"""

from __future__ import annotations

import numpy as np

# CAT048 optional items (bits of CAT048_ITEMS_DTYPE["present"])
ITEM_048_070 = 0x0001     # mode-3/A code
ITEM_048_090 = 0x0002     # flight level
ITEM_048_130 = 0x0004     # radar plot characteristics with the primary plot amplitude (PAM)
ITEM_048_220 = 0x0008     # aircraft address
ITEM_048_240 = 0x0010     # aircraft identification
ITEM_048_200 = 0x0020     # calculated track velocity (polar)
ITEM_048_110 = 0x0040     # height measured by a 3D radar
ITEM_048_120 = 0x0080     # radial Doppler speed (calculated)
ITEM_048_030 = 0x0100     # warning/error conditions

CAT048_ITEMS_DTYPE = np.dtype(
    [
        ("height_m", "f8"),           # I048/110 3D height above mean sea level, NaN absent
        ("ground_speed_mps", "f8"),   # I048/200, NaN absent
        ("heading_rad", "f8"),        # I048/200, clockwise from north, NaN absent
        ("flight_level", "f8"),       # I048/090, in flight levels (100 ft), NaN absent
        ("aircraft_address", "u4"),   # I048/220, 24 bits
        ("present", "u4"),            # ITEM_048_* bits
        ("mode3a", "u2"),             # I048/070 code, 12 bits (4 octal digits)
        ("sac", "u1"),                # I048/010
        ("sic", "u1"),
        ("typ", "u1"),                # I048/020 TYP (1 = single PSR detection)
        ("mode3a_flags", "u1"),       # I048/070 V, G, L as bits 2, 1, 0
        ("fl_flags", "u1"),           # I048/090 V, G as bits 1, 0
        ("callsign", "S8"),           # I048/240, A-Z 0-9 and space
    ],
    align=True,
)

# CAT062 items (bits of CAT062_INFO_DTYPE["present"])
ITEM_062_105 = 0x0001     # WGS-84 position
ITEM_062_100 = 0x0002     # cartesian position
ITEM_062_185 = 0x0004     # cartesian velocity
ITEM_062_130 = 0x0008     # geometric altitude
ITEM_062_220 = 0x0010     # rate of climb/descent
ITEM_062_290 = 0x0020     # system track update ages (PSR age)
ITEM_062_340 = 0x0040     # measured information (last measuring sensor)
ITEM_062_SP = 0x0080      # rig provenance in the special purpose field
ITEM_062_070 = 0x0100     # time of track information
ITEM_062_080 = 0x0200     # track status
ITEM_062_015 = 0x0400     # service identification
ITEM_062_136 = 0x0800     # measured flight level
ITEM_062_500 = 0x1000     # estimated accuracies

CAT062_INFO_DTYPE = np.dtype(
    [
        ("lat_deg", "f8"),            # I062/105, NaN absent
        ("lon_deg", "f8"),
        ("alt_m", "f8"),              # I062/130 geometric altitude (WGS-84 ellipsoid), NaN absent
        ("rocd_mps", "f8"),           # I062/220 rate of climb/descent, local vertical, NaN absent
        ("psr_age_s", "f8"),          # I062/290 PSR age, NaN absent
        ("flight_level", "f8"),       # I062/136, NaN absent
        ("sd_x_m", "f8"),             # I062/500 APC: sd of X (east), m, NaN absent
        ("sd_y_m", "f8"),             # I062/500 APC: sd of Y (north), m, NaN absent
        ("cov_xy_m2", "f8"),          # I062/500 COV: XY covariance, m^2, NaN absent
        ("sd_alt_m", "f8"),           # I062/500 AGA: sd of the geometric altitude, NaN absent
        ("sd_vx_mps", "f8"),          # I062/500 ATV: sd of Vx, m/s, NaN absent
        ("sd_vy_mps", "f8"),          # I062/500 ATV: sd of Vy, m/s, NaN absent
        ("sd_rocd_mps", "f8"),        # I062/500 ARC: sd of the rate of climb, NaN absent
        ("present", "u4"),            # ITEM_062_* bits
        ("status_bits", "u4"),        # I062/080 first four octets as on the wire, FX bits cleared
        ("sac", "u1"),                # I062/010 of the system that sent the track
        ("sic", "u1"),
        ("service_id", "u1"),         # I062/015
        ("last_sac", "u1"),           # I062/340 SID: the sensor that last measured the track
        ("last_sic", "u1"),
    ],
    align=True,
)
