"""Partner feeds: the fused picture as ASTERIX CAT062 over UDP or a serial line.

- :mod:`rig.publish.cat062_format`: the wire format, byte by byte.
- :mod:`rig.publish.cat062`: :class:`Cat062Encoder` (a picture as datagrams),
  :class:`FeedLink` (one transport and its framing), :class:`Cat062Publisher` (the two for
  one feed) and :func:`decode_tracks`.
- :mod:`rig.publish.feeds`: :class:`Feeds`, one picture encoded once and sent to every
  partner (what ``rig run`` publishes through).
"""

from .cat062 import (Cat062Encoder, Cat062Publisher, FeedLink, Origin, complete_tracks,
                     decode_tracks, geodetic_of_tracks)
from .feeds import Feeds

__all__ = ["Cat062Encoder", "Cat062Publisher", "FeedLink", "Feeds", "Origin",
           "complete_tracks", "decode_tracks", "geodetic_of_tracks"]
