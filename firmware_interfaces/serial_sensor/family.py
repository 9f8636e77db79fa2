"""The serial sensor's side of the family contract (rig.firmware.FirmwareInterface)."""

from __future__ import annotations

from pathlib import Path

from rig.firmware import FamilyOptions, FirmwareInterface
from rig.transport.serial_line import SerialLine

from .driver import SerialSensorDriver


class SerialSensorOptions(SerialLine, FamilyOptions):
    """A serial sensor's own keys in a bench config: its line settings (pyserial's names)."""


class SerialSensorFamily(FirmwareInterface):
    name = "serial-sensor"
    description = "rig binary framed plot protocol over a serial line (pty, tty, any pyserial URL)"
    transport = "serial"
    emulator_runner = "firmware_interfaces.serial_sensor.cli:run_emulator"
    options = SerialSensorOptions

    def add_emulator_arguments(self, group) -> None:
        group.add_argument("--status-period", type=float, default=1.0, metavar="S",
                           help="period of unsolicited STATUS messages, 0 for none (default 1 s)")
        group.add_argument("--autostart", action="store_true",
                           help="stream at once instead of waiting for START")
        group.add_argument("--link", default=None, metavar="PATH",
                           help="keep PATH a symbolic link to the current pty and announce it "
                                "as the device (a host can reopen it after a disconnect)")
        group.add_argument("--rfc2217", action="store_true",
                           help="with --port tcp:PORT: speak RFC 2217 (rfc2217://HOST:PORT, the "
                                "host sets the line) instead of raw bytes (socket://HOST:PORT)")
        group.add_argument("--bind", default="127.0.0.1", metavar="ADDRESS",
                           help="with --port tcp:PORT: the address to listen on (default "
                                "127.0.0.1, loopback only)")

    def emulator_args(self, sensor, run_dir: Path, early_driver) -> list[str]:
        # a stable name for the line, so the driver reopens it after a disconnect
        return ["--link", str(run_dir / f"sensor-{sensor.id}.tty")]

    def open_driver(self, sensor, target: str, tap):
        return self.opened(SerialSensorDriver(target, sensor_id=sensor.index,
                                              **sensor.entry.options.line_settings()), tap)

    def clock_shift_s(self, sensor, driver, t0_ns: int) -> float:
        # PING: the sensor's clock minus the host's monotonic clock
        return (driver.ping().offset_ns + t0_ns) * 1e-9

    def open_monitor(self, target: str, options: SerialSensorOptions):
        return self.opened(SerialSensorDriver(target, **options.line_settings()), None)

    def monitor_clock_shift_s(self, driver) -> float:
        return self.clock_shift_s(None, driver, 0)

    def stop_streaming(self, driver) -> str:
        driver.stop_streaming()
        return "STOP"

    def replay_decoder(self, info: dict):
        from .codec import SerialFrameDecoder

        return SerialFrameDecoder(sensor_id=info["index"])
