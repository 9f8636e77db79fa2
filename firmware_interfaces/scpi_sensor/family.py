"""The SCPI sensor's side of the family contract (rig.firmware.FirmwareInterface)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from pydantic import Field

from rig.errors import CodecError
from rig.firmware import FamilyOptions, FirmwareInterface

from . import protocol as P
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
    visa_library: str = Field("@py", description="pyvisa's backend: '@py' (pyvisa-py), '' "
                              "(the system's VISA), a VISA library's path, or "
                              "'DEVICES.yaml@sim' (pyvisa-sim)")
    visa_timeout_ms: int = Field(2000, gt=0, le=600_000, description="how long an answer "
                                 "may take")
    read_termination: str = Field(P.TERMINATION, min_length=1, max_length=4,
                                  description="ends every answer (and follows a plot block)")
    write_termination: str = Field(P.TERMINATION, min_length=1, max_length=4,
                                   description="ends every command")

    def session_settings(self) -> dict:
        """The keyword arguments of :class:`ScpiSensorDriver` these keys set."""
        return dict(expect_idn=self.idn, backend=self.visa_library,
                    timeout_s=self.visa_timeout_ms / 1000,
                    read_termination=self.read_termination,
                    write_termination=self.write_termination)


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
                                            **sensor.entry.options.session_settings()), tap)

    def clock_shift_s(self, sensor, driver, t0_ns: int) -> float:
        t_before = time.monotonic_ns()
        sensor_s = float(driver.query("SYSTem:CLOCk?"))
        t_after = time.monotonic_ns()
        return sensor_s - (t_before + t_after) * 0.5e-9 + t0_ns * 1e-9

    def open_monitor(self, target: str, options: ScpiSensorOptions):
        return self.opened(ScpiSensorDriver(target, **options.session_settings()), None)

    def monitor_emulator_args(self, early_driver) -> list[str]:
        return ["--port", "0"]

    def monitor_clock_shift_s(self, driver) -> float:
        return self.clock_shift_s(None, driver, 0)

    def stop_streaming(self, driver) -> str:
        driver.write("ABOR")
        driver.query("*OPC?")               # answered once ABORt is done
        return "ABORt"

    def replay_decoder(self, info: dict):
        return ScpiBlockDecoder(info["index"])
