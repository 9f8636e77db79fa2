"""A track-level partner: its own tracker's system tracks as ASTERIX CAT062 over UDP.

- ``protocol``: what the partner sends and what each record must carry.
- ``codec``: CAT062 into validated partner tracks (:class:`TrackDecoder`).
- ``driver``: host side (:class:`Cat062TracksDriver`: ``read_tracks``, never plots).
- ``emulator``: device side (:class:`Cat062TracksEmulator`: a tracker on the partner's radar).
- ``family``: what ``rig run``, ``rig replay`` and ``rig emulate`` ask of the family
  (:class:`rig.firmware.FirmwareInterface`, ``delivers = "tracks"``).
"""

from .codec import TrackDecoder
from .driver import Cat062TracksDriver
from .family import Cat062TracksFamily

INTERFACE = Cat062TracksFamily()

__all__ = ["INTERFACE", "Cat062TracksFamily", "Cat062TracksDriver", "TrackDecoder"]
