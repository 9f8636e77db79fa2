"""The ESM sensor's side of the family contract (rig.firmware.FirmwareInterface)."""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import Field, IPvAnyAddress

from rig.errors import UsageError
from rig.firmware import FamilyOptions, FirmwareInterface
from rig.transport.udp import parse_udp_url

from .driver import EsmSensorDriver


class EsmSensorOptions(FamilyOptions):
    """An ESM sensor's own keys in a bench config."""

    allow_from: list[IPvAnyAddress] | None = Field(
        None, description="believe datagrams only from these sender addresses (others are "
        "refused and counted with datagrams_refused)")


def _utc_at(t0_ns: int) -> float:
    """UTC (s since 1970) when the host's monotonic clock read ``t0_ns``."""
    return time.time() - (time.monotonic_ns() - t0_ns) * 1e-9


class EsmSensorFamily(FirmwareInterface):
    name = "esm-sensor"
    description = "passive ESM receiver: bearings (azimuth, elevation, no range) over UDP"
    transport = "udp"
    emulator_runner = "firmware_interfaces.esm_sensor.cli:run_emulator"
    options = EsmSensorOptions

    def add_emulator_arguments(self, group) -> None:
        group.add_argument("--receiver-id", type=int, default=1, metavar="N",
                           help="the receiver's number on the wire, 0 to 65535 (default 1)")

    def open_early(self, sensor, tap):
        # the listening socket exists before the emulated receiver starts sending to it
        url = "udp://@127.0.0.1:0" if sensor.entry.emulated else sensor.entry.transport
        return self.opened(self._driver(url, sensor.entry.options, sensor.index), tap)

    def emulator_args(self, sensor, run_dir: Path, early_driver) -> list[str]:
        return ["--port", f"udp://127.0.0.1:{early_driver.local_address[1]}"]

    def clock_shift_s(self, sensor, driver, t0_ns: int) -> float:
        # the receiver's clock reads UTC: UTC at the run's start
        return _utc_at(t0_ns)

    def open_monitor(self, target: str, options: EsmSensorOptions):
        if target.startswith("udp://") and not parse_udp_url(target)[0]:
            raise UsageError(f"{target}: the receiver is heard where its datagrams arrive: "
                             f"give udp://@HOST:PORT")
        return self.opened(self._driver(target, options), None)

    def open_monitor_early(self, options: EsmSensorOptions):
        return self.open_monitor("udp://@127.0.0.1:0", options)

    def monitor_emulator_args(self, early_driver) -> list[str]:
        return ["--port", f"udp://127.0.0.1:{early_driver.local_address[1]}"]

    def monitor_clock_shift_s(self, driver) -> float:
        return _utc_at(0)

    def stop_streaming(self, driver) -> None:
        """The receiver sends over UDP with no control channel: it cannot be told to stop."""
        return None

    def replay_decoder(self, info: dict):
        from .codec import EsmDecoder

        return EsmDecoder(sensor_id=info["index"])

    @staticmethod
    def _driver(url: str, options: EsmSensorOptions, sensor_id: int = 0) -> EsmSensorDriver:
        allow = options.allow_from
        return EsmSensorDriver(url, sensor_id=sensor_id,
                               allow_from=None if allow is None else [str(a) for a in allow])
