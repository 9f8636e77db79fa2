"""A track-level partner's CAT062 datagrams turned into validated partner tracks.

:class:`TrackDecoder` is the whole decode path of the driver (and of a replay): the CAT062
codec rig publishes with (:class:`rig.publish.codec.Cat062Decoder`, compiled, or its twin)
reads each datagram into track rows and their items, and
:class:`rig.fusion.track_input.TrackInput` validates them into PARTNER_TRACK_DTYPE rows with
covariances from I062/500. It never raises on any bytes: what it cannot use it counts.
"""

from __future__ import annotations

import numpy as np

from rig.fusion.track_input import PARTNER_TRACK_DTYPE, REASONS, TrackInput
from rig.publish.codec import Cat062Decoder

#: the partner index the decoder gives every track (the bench's handle sets the real one)
PARTNER = 0


def empty_partner_tracks(n: int = 0) -> np.ndarray:
    return np.zeros(n, PARTNER_TRACK_DTYPE)


class TrackDecoder:
    """Partner tracks out of CAT062 datagrams, one datagram per :meth:`feed`.

    ``origin``: rig's reference point (anything with ``lat_deg``, ``lon_deg``, ``alt_m``), the
    ENU frame of the tracks given. ``system_origin``: the partner's system reference point
    (the plane of its I062/100, I062/185 and accuracies) where it differs from ``origin``.
    ``source``: the (SAC, SIC) of the partner's system; records of others are dropped and
    counted (``tracks_foreign``); None takes any. ``limits``: keywords of
    :class:`~rig.fusion.track_input.TrackInput` (``max_ahead_s``, ``max_behind_s``, ...).

    Tracks handed on: ``t`` is I062/070 on the decoder's continuous time line (UTC time of day,
    a day added when it wraps), ``partner`` is 0.

    Counters (:meth:`counters`): the CAT062 decoder's (``datagrams``, ``blocks_ok``,
    ``records_ok``, ``records_incomplete``, ``records_bad``, ``blocks_bad_length``,
    ``blocks_truncated``, ``blocks_other_category``, ``bytes_skipped``, ...; its own
    ``tracks_ok`` renamed ``tracks_decoded``), ``tracks_foreign``, ``tracks_ok`` (validated
    and handed on) and ``track_<reason>`` for every reason of
    :data:`rig.fusion.track_input.REASONS`.
    """

    def __init__(self, origin, *, system_origin=None, source: tuple[int, int] | None = None,
                 **limits):
        self.decoder = Cat062Decoder()
        self.input = TrackInput(origin, None if system_origin is None
                                else {PARTNER: system_origin}, **limits)
        self.source = None if source is None else (int(source[0]), int(source[1]))
        self.tracks_foreign = 0

    def feed(self, data, t_arrival_ns: int = 0) -> np.ndarray:
        """The validated tracks of one datagram (PARTNER_TRACK_DTYPE, in their order)."""
        tracks, info = self.decoder.feed(bytes(data))
        if self.source is not None and len(info):
            mine = (info["sac"] == self.source[0]) & (info["sic"] == self.source[1])
            self.tracks_foreign += int(np.count_nonzero(~mine))
            tracks, info = tracks[mine], info[mine]
        if not len(tracks):
            return empty_partner_tracks()
        return self.input.take(tracks, info, PARTNER)

    def reset(self) -> None:
        """Forget the time-of-day line (a new link); what was taken per track stays."""
        self.decoder.reset()

    def counters(self) -> dict[str, int]:
        c = self.decoder.counters()
        c["tracks_decoded"] = c.pop("tracks_ok")
        c["tracks_foreign"] = self.tracks_foreign
        taken = self.input.counters
        c["tracks_ok"] = taken["taken"]
        for reason in REASONS:
            c[f"track_{reason}"] = taken[reason]
        return c
