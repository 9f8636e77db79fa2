"""A passive ESM receiver: bearings (azimuth and elevation, no range) over UDP.

- ``protocol``: the datagram, octet by octet.
- ``codec``: encoder and decoder (numpy, see there why not Cython).
- ``driver``: host side (:class:`EsmSensorDriver`).
- ``emulator``: device side (:class:`EsmSensorEmulator`).
- ``family``: what ``rig run``, ``rig replay``, ``rig monitor`` and ``rig emulate`` ask of the
  family (:class:`rig.firmware.FirmwareInterface`).
"""

from .driver import EsmSensorDriver
from .emulator import EsmSensorEmulator
from .family import EsmSensorFamily

INTERFACE = EsmSensorFamily()

__all__ = ["INTERFACE", "EsmSensorFamily", "EsmSensorDriver", "EsmSensorEmulator"]
