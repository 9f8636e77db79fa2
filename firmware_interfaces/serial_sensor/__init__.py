"""The rig serial sensor: a high-rate plot extractor on a serial line.

- ``protocol``: the wire format, documented byte by byte.
- ``driver``: host side (:class:`SerialSensorDriver`).
- ``emulator``: device side (:class:`SerialSensorEmulator`).
- ``reference``: a pure-Python codec that the compiled one is tested against.
- ``family``: what ``rig run``, ``rig replay`` and ``rig emulate`` ask of the family
  (:class:`rig.firmware.FirmwareInterface`).
"""

from .driver import SerialSensorDriver
from .emulator import SerialSensorEmulator
from .family import SerialSensorFamily

INTERFACE = SerialSensorFamily()

__all__ = ["INTERFACE", "SerialSensorFamily", "SerialSensorDriver", "SerialSensorEmulator"]
