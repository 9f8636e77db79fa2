"""An ASTERIX radar: CAT048 (edition 1.31) target reports over UDP.

- ``protocol``: what rig sends and reads, item by item, and the UAP.
- ``geometry``: elevation <-> I048/110 height (spherical earth).
- ``driver``: host side (:class:`AsterixRadarDriver`).
- ``emulator``: device side (:class:`AsterixRadarEmulator`).
- ``reference``: a pure-Python codec that the compiled one is tested against.
- ``family``: what ``rig run``, ``rig replay`` and ``rig emulate`` ask of the family
  (:class:`rig.firmware.FirmwareInterface`).
"""

from .driver import AsterixRadarDriver
from .emulator import AsterixRadarEmulator
from .family import AsterixRadarFamily

INTERFACE = AsterixRadarFamily()

__all__ = ["INTERFACE", "AsterixRadarFamily", "AsterixRadarDriver", "AsterixRadarEmulator"]
