"""The fused picture on the wire: ASTERIX CAT062 edition 1.19, as rig sends it.

Every field is big-endian (ASTERIX). A UDP datagram holds one or more data blocks::

    CAT (u8, 62) | LEN (u16, octets of the block including these three) | records...

One record per track, items in UAP order after the FSPEC (5 octets when the SP field is
present, fewer otherwise; FX set on every octet but the last):

=====  =========  ======  ===================================================================
FRN    item       octets  content (scale)
=====  =========  ======  ===================================================================
1      I062/010   2       SAC, SIC of the fusion centre
3      I062/015   1       service identification
4      I062/070   3       time of track information, u24, 1/128 s since midnight UTC
5      I062/105   8       latitude, longitude, i32 each, 180/2^25 deg (WGS-84)
6      I062/100   6       X, Y, i24 each, 0.5 m: east and north in the ENU plane of the
                          configuration's reference origin (the system reference point)
7      I062/185   4       Vx, Vy, i16 each, 0.25 m/s: v_east, v_north at the origin
12     I062/040   2       track number, u16 (``track_id`` modulo 65536)
13     I062/080   1..4    track status, see below
14     I062/290   2       system track update ages: primary octet 0x40 (PSR age only), then
                          PSR age u8, 1/4 s, saturating at 63.75 s: the time since the newest
                          plot of any partner (our sensors are primary 3D radars)
18     I062/130   2       geometric altitude over the WGS-84 ellipsoid, i16, 6.25 ft
20     I062/220   2       rate of climb/descent along the local vertical at the track, i16,
                          6.25 ft/min
27     I062/500   2..12   estimated accuracies from the track's covariance, below
28     I062/340   3       measured information: primary octet 0x80 (SID only), then SAC, SIC
                          of the sensor of the partner whose plot updated the track last
35     SP         4+2k    rig provenance, below
=====  =========  ======  ===================================================================

I062/105 and I062/100 describe the same point; ``up`` (ENU at the origin) follows from the
WGS-84 position and altitude, and ``v_up`` from the rate of climb, the horizontal velocity and
the tilt between the local vertical and the origin's (:func:`rig.publish.cat062.decode_tracks`).

Track status (I062/080)
-----------------------
First octet: MON=0 (multisensor track), SPI=0, MRH=1 (geometric altitude more reliable),
SRC=2 (altitude from a 3D radar), CNF (1 = tentative), FX. ``TRACK_STATUS_DELETED`` adds the
first extension with TSE=1 (last report of the track); ``TRACK_STATUS_COASTING`` adds three
extensions, the third with CST=1 (coasting). Octets::

    tentative  0x2A            confirmed  0x28
    coasting   0x29 0x01 0x01 0x80        deleted  0x29 0x40

Provenance in the special purpose field (SP, FRN 35)
----------------------------------------------------
Present when at least one partner's plots updated the track (``partners != 0``):

======  ======  ==============================================================================
offset  octets  content
======  ======  ==============================================================================
0       1       LEN: octets of the SP field including this one, 4 + 2k
1       1       format version, 1
2       2       partner mask, u16: bit i set when partner i's plots updated the track
                (``TRACK_DTYPE["partners"]``; partners 16 and up cannot be sent)
4       2k      for each set bit i, in increasing i: age of partner i's last update, u16,
                1/128 s, = time of track (I062/070) minus ``partner_t_last[i]``; 0xFFFF means
                unknown or 511.99 s or older
======  ======  ==============================================================================

A receiver that finds an SP field of another format (other version or length) counts it
(``sp_foreign``) and ignores it. Not carried: ``n_updates``.

Estimated accuracies (I062/500, FRN 27)
---------------------------------------
A compound item; rig sends five of its subfields, each when its part of the covariance is
known (a variance that is positive: a covariance of zeros or NaN sends none, and then no
I062/500). Primary subfield: APC 0x80, COV 0x40, AGA 0x10, ATV 0x04, FX; ARC 0x80 in a second
octet, present only with ARC. Standard deviations are rounded up and the XY covariance towards
zero, so the decoded accuracies never claim more than the track's covariance and the decoded
xy block stays positive semidefinite. A value beyond its field is sent as the field's maximum,
which the specification reads as "this or more".

=======  ======  ===========================================================================
subfld   octets  content (scale, maximum)
=======  ======  ===========================================================================
APC      4       sd of east, sd of north (I062/100's axes): u16 each, 0.5 m, 32 767.5 m
COV      2       XY covariance as sign(c) sqrt(|c|): i16, 0.5 m, +-16 383.5 m (2.68e8 m^2)
AGA      1       sd of the geometric altitude, along the local vertical at the track: u8,
                 6.25 ft, 1 593.75 ft
ATV      2       sd of v_east, sd of v_north (I062/185's axes): u8 each, 0.25 m/s, 63.75 m/s
ARC      1       sd of the rate of climb along the local vertical: u8, 6.25 ft/min,
                 1 593.75 ft/min
=======  ======  ===========================================================================

The decoder reads these five into CAT062_INFO_DTYPE (``sd_x_m``, ``sd_y_m``, ``cov_xy_m2``,
``sd_alt_m``, ``sd_vx_mps``, ``sd_vy_mps``, ``sd_rocd_mps``; NaN when absent) and skips the
others (APW, ABA, AA) by their lengths.

Over a serial line the same datagrams travel in HDLC-style frames with a CRC-16/X-25 FCS
(``ext/hdlc_framing.pyx`` documents the framing).
"""

from __future__ import annotations

CATEGORY = 62
EDITION = "1.19"
SP_FORMAT_VERSION = 1
TOD_SCALE_S = 1 / 128
LATLON_SCALE_DEG = 180 / 2**25
XY_SCALE_M = 0.5
VELOCITY_SCALE_MPS = 0.25
ALTITUDE_SCALE_M = 6.25 * 0.3048
ROCD_SCALE_MPS = 6.25 * 0.3048 / 60
PSR_AGE_SCALE_S = 0.25
SP_AGE_SCALE_S = 1 / 128
SP_AGE_UNKNOWN = 0xFFFF
SD_XY_SCALE_M = 0.5                 # I062/500 APC and COV
SD_V_SCALE_MPS = 0.25               # I062/500 ATV
SD_XY_MAX = 0xFFFF                  # APC, u16
COV_MAX = 0x7FFF                    # COV, |i16|
SD_OCTET_MAX = 0xFF                 # AGA, ATV, ARC, u8

STATUS_OCTETS = {
    "tentative": b"\x2a",
    "confirmed": b"\x28",
    "coasting": b"\x29\x01\x01\x80",
    "deleted": b"\x29\x40",
}

_F1, _F2, _F3, _F4, _F6, _F7, _F8 = (("fixed", n) for n in (1, 2, 3, 4, 6, 7, 8))

#: The UAP of edition 1.19 (the C table is ``ext/asterix062_uap.h``): FRN -> (item, format),
#: formats as in :mod:`rig.asterix_reference`. FRNs 2 and 29-33 are spare. Every item has its
#: length here, so a decoder skips the items rig does not read.
UAP: dict[int, tuple[str, tuple]] = {
    1: ("I062/010", _F2),
    3: ("I062/015", _F1),
    4: ("I062/070", _F3),
    5: ("I062/105", _F8),
    6: ("I062/100", _F6),
    7: ("I062/185", _F4),
    8: ("I062/210", _F2),
    9: ("I062/060", _F2),
    10: ("I062/245", _F7),
    # I062/380: ADR ID MHG IAS TAS SAL FSS | TIS TID COM SAB ACS BVR GVR |
    #           RAN TAR TAN GSP VUN MET EMC | POS GAL PUN MB IAR MAC BPS
    11: ("I062/380", ("compound", [_F3, _F6, _F2, _F2, _F2, _F2, _F2,
                                   ("extended", 1), ("repetitive", 15), _F2, _F2, _F7, _F2, _F2,
                                   _F2, _F2, _F2, _F2, _F1, _F8, _F1,
                                   _F6, _F2, _F1, ("repetitive", 8), _F2, _F2, _F2])),
    12: ("I062/040", _F2),
    13: ("I062/080", ("extended", 1)),
    # I062/290: TRK PSR SSR MDS ADS ES VDL | UAT LOP MLT
    14: ("I062/290", ("compound", [_F1, _F1, _F1, _F1, _F2, _F1, _F1, _F1, _F1, _F1])),
    15: ("I062/200", _F1),
    16: ("I062/295", ("compound", [_F1] * 31)),
    17: ("I062/136", _F2),
    18: ("I062/130", _F2),
    19: ("I062/135", _F2),
    20: ("I062/220", _F2),
    # I062/390: TAG CSN IFI FCT TAC WTC DEP | DST RDS CFL CTL TOD AST STS | STD STA PEM PEC
    21: ("I062/390", ("compound", [_F2, _F7, _F4, _F1, _F4, _F1, _F4,
                                   _F4, _F3, _F2, _F2, ("repetitive", 4), _F6, _F1,
                                   _F7, _F7, _F2, _F7])),
    22: ("I062/270", ("extended", 1)),
    23: ("I062/300", _F1),
    # I062/110: SUM PMN POS GA EM1 TOS XP
    24: ("I062/110", ("compound", [_F1, _F4, _F6, _F2, _F2, _F1, _F1])),
    25: ("I062/120", _F2),
    26: ("I062/510", ("extended", 3)),
    # I062/500: APC COV APW AGA ABA ATV AA | ARC
    27: ("I062/500", ("compound", [_F4, _F2, _F4, _F1, _F1, _F2, _F2, _F1])),
    # I062/340: SID POS HEI MDC MDA TYP
    28: ("I062/340", ("compound", [_F2, _F4, _F2, _F2, _F2, _F1])),
    34: ("RE", ("explicit",)),
    35: ("SP", ("explicit",)),
}
