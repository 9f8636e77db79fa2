"""Partner feeds: the fused picture as ASTERIX CAT062 over UDP or a serial line.

- :mod:`rig.publish.cat062_format`: the wire format, byte by byte.
- :mod:`rig.publish.cat062`: :class:`Cat062Publisher` and :func:`decode_tracks`.
"""

from .cat062 import Cat062Publisher, Origin, complete_tracks, decode_tracks, geodetic_of_tracks

__all__ = ["Cat062Publisher", "Origin", "complete_tracks", "decode_tracks",
           "geodetic_of_tracks"]
