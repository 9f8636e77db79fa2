"""A SCPI radar sensor over VISA: an LXI-style instrument on a raw TCP socket.

- ``protocol``: the commands, the errors and the binary plot block, documented.
- ``blocks``: IEEE 488.2 definite-length blocks and the big-endian plot records.
- ``instrument``: the instrument's behaviour (SCPI parsing, error queue, plot buffer).
- ``emulator``: device side, a TCP server on loopback (:class:`ScpiSensorEmulator`).
- ``driver``: host side over pyvisa (:class:`ScpiSensorDriver`).
- ``family``: what ``rig run``, ``rig replay`` and ``rig emulate`` ask of the family
  (:class:`rig.firmware.FirmwareInterface`).
- ``sim_device.yaml``: a pyvisa-sim definition of the text-only commands, for quick tests.
"""

from pathlib import Path

from .driver import ScpiSensorDriver
from .emulator import ScpiSensorEmulator
from .family import ScpiSensorFamily

#: pyvisa-sim device definition: ``pyvisa.ResourceManager(f"{SIM_DEVICE_YAML}@sim")``.
SIM_DEVICE_YAML = Path(__file__).with_name("sim_device.yaml")
SIM_RESOURCE = "TCPIP0::127.0.0.1::5025::SOCKET"

INTERFACE = ScpiSensorFamily()

__all__ = ["INTERFACE", "ScpiSensorDriver", "ScpiSensorEmulator", "ScpiSensorFamily",
           "SIM_DEVICE_YAML", "SIM_RESOURCE"]
