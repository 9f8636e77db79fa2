"""The serial sensor's side of the family contract (rig.firmware.FirmwareInterface)."""

from __future__ import annotations

from pathlib import Path

from rig.firmware import FirmwareInterface

from .driver import SerialSensorDriver


class SerialSensorFamily(FirmwareInterface):
    name = "serial-sensor"
    description = "rig binary framed plot protocol over a serial line (pty, tty, any pyserial URL)"
    transport = "serial"
    emulator_runner = "firmware_interfaces.serial_sensor.cli:run_emulator"

    def emulator_args(self, sensor, run_dir: Path, early_driver) -> list[str]:
        # a stable name for the line, so the driver reopens it after a disconnect
        return ["--link", str(run_dir / f"sensor-{sensor.id}.tty")]

    def open_driver(self, sensor, target: str, tap):
        return self.opened(SerialSensorDriver(target, sensor_id=sensor.index,
                                              baudrate=sensor.entry.baudrate), tap)

    def clock_shift_s(self, sensor, driver, t0_ns: int) -> float:
        # PING: the sensor's clock minus the host's monotonic clock
        return (driver.ping().offset_ns + t0_ns) * 1e-9

    def replay_decoder(self, info: dict):
        from .codec import SerialFrameDecoder

        return SerialFrameDecoder(sensor_id=info["index"])
