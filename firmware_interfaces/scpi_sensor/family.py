"""The SCPI sensor's side of the family contract (rig.firmware.FirmwareInterface)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from pydantic import Field

from rig.errors import CodecError
from rig.firmware import FamilyOptions, FirmwareInterface

from .blocks import parse_block, plots_from_payload
from .driver import ScpiSensorDriver


class ScpiBlockDecoder:
    """Replay: each recorded chunk is one binary plot block, as the driver fetched it."""

    def __init__(self, sensor_id: int):
        self.sensor_id = sensor_id

    def feed(self, block: bytes, t_arrival_ns: int) -> np.ndarray:
        parsed = parse_block(block)
        if parsed is None:
            raise CodecError(f"incomplete plot block ({len(block)} bytes)")
        data, _ = parsed
        return plots_from_payload(data, sensor_id=self.sensor_id, t_arrival_ns=t_arrival_ns)

    def reset(self) -> None:
        pass

    def counters(self) -> dict:
        return {}


class ScpiSensorOptions(FamilyOptions):
    """A SCPI sensor's own keys in a bench config."""

    idn: str | None = Field(None, min_length=1, description="the instrument's *IDN? answer "
                            "must start with this (e.g. 'RIG,SCPI-RADAR-EMU'): another "
                            "instrument at the address is refused")


class ScpiSensorFamily(FirmwareInterface):
    name = "scpi-sensor"
    description = "SCPI radar sensor over VISA (raw TCP socket, IEEE 488.2 binary plot blocks)"
    transport = "visa"
    emulator_runner = "firmware_interfaces.scpi_sensor.cli:run_emulator"
    options = ScpiSensorOptions

    def add_emulator_arguments(self, group) -> None:
        group.add_argument("--host", default="127.0.0.1",
                           help="address to listen on (default 127.0.0.1, loopback only)")

    def emulator_args(self, sensor, run_dir: Path, early_driver) -> list[str]:
        return ["--port", "0"]              # any free port on loopback

    def open_driver(self, sensor, target: str, tap):
        return self.opened(ScpiSensorDriver(target, sensor_id=sensor.index,
                                            expect_idn=sensor.entry.options.idn), tap)

    def clock_shift_s(self, sensor, driver, t0_ns: int) -> float:
        t_before = time.monotonic_ns()
        sensor_s = float(driver.query("SYSTem:CLOCk?"))
        t_after = time.monotonic_ns()
        return sensor_s - (t_before + t_after) * 0.5e-9 + t0_ns * 1e-9

    def replay_decoder(self, info: dict):
        return ScpiBlockDecoder(info["index"])
