"""An ASTERIX radar: CAT048 (edition 1.31) target reports over UDP.

- ``protocol``: what rig sends and reads, item by item, and the UAP.
- ``geometry``: elevation <-> I048/110 height (spherical earth).
- ``driver``: host side (:class:`AsterixRadarDriver`).
- ``emulator``: device side (:class:`AsterixRadarEmulator`).
- ``reference``: a pure-Python codec that the compiled one is tested against.
"""

from rig.firmware import FirmwareInterface

from .driver import AsterixRadarDriver
from .emulator import AsterixRadarEmulator

INTERFACE = FirmwareInterface(
    name="asterix-cat048",
    description="ASTERIX CAT048 (ed. 1.31) monoradar target reports over UDP",
    transport="udp",
    driver=AsterixRadarDriver,
    emulator=AsterixRadarEmulator,
)

__all__ = ["INTERFACE", "AsterixRadarDriver", "AsterixRadarEmulator"]
