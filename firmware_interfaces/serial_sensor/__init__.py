"""The rig serial sensor: a high-rate plot extractor on a serial line.

- ``protocol``: the wire format, documented byte by byte.
- ``driver``: host side (:class:`SerialSensorDriver`).
- ``emulator``: device side (:class:`SerialSensorEmulator`).
- ``reference``: a pure-Python codec that the compiled one is tested against.
"""

from rig.firmware import FirmwareInterface

from .driver import SerialSensorDriver
from .emulator import SerialSensorEmulator

INTERFACE = FirmwareInterface(
    name="serial-sensor",
    description="rig binary framed plot protocol over a serial line (pty, tty, any pyserial URL)",
    transport="serial",
    driver=SerialSensorDriver,
    emulator=SerialSensorEmulator,
)

__all__ = ["INTERFACE", "SerialSensorDriver", "SerialSensorEmulator"]
