"""The ESM sensor's side of the family contract (rig.firmware.FirmwareInterface)."""

from __future__ import annotations

from pydantic import Field, IPvAnyAddress

from rig.firmware import FamilyOptions

from ..udp_family import MonitoredUdpFamily
from .driver import EsmSensorDriver


class EsmSensorOptions(FamilyOptions):
    """An ESM sensor's own keys in a bench config."""

    allow_from: list[IPvAnyAddress] | None = Field(
        None, description="believe datagrams only from these sender addresses (others are "
        "refused and counted with datagrams_refused)")


class EsmSensorFamily(MonitoredUdpFamily):
    name = "esm-sensor"
    description = "passive ESM receiver: bearings (azimuth, elevation, no range) over UDP"
    time_of_day = False                 # the receiver's clock reads UTC seconds
    emulator_runner = "firmware_interfaces.esm_sensor.cli:run_emulator"
    options = EsmSensorOptions
    heard = "the receiver"

    def add_emulator_arguments(self, group) -> None:
        group.add_argument("--receiver-id", type=int, default=1, metavar="N",
                           help="the receiver's number on the wire, 0 to 65535 (default 1)")

    def _driver(self, url: str, options: EsmSensorOptions, sensor=None) -> EsmSensorDriver:
        return EsmSensorDriver(url, sensor_id=0 if sensor is None else sensor.index,
                               allow_from=options.allow_from)

    def replay_decoder(self, info: dict):
        from .codec import EsmDecoder

        return EsmDecoder(sensor_id=info["index"])
