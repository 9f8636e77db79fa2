"""The ASTERIX radar's side of the family contract (rig.firmware.FirmwareInterface)."""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import Field, IPvAnyAddress

from rig.errors import UsageError
from rig.firmware import FamilyOptions, FirmwareInterface
from rig.transport.udp import parse_udp_url

from .driver import AsterixRadarDriver

DAY_S = 86400.0


class AsterixRadarOptions(FamilyOptions):
    """An ASTERIX radar's own keys in a bench config."""

    allow_from: list[IPvAnyAddress] | None = Field(
        None, description="believe datagrams only from these sender addresses (others are "
        "refused and counted with foreign_records)")


class AsterixRadarFamily(FirmwareInterface):
    name = "asterix-cat048"
    description = "ASTERIX CAT048 (ed. 1.31) monoradar target reports over UDP"
    transport = "udp"
    asterix = True
    time_of_day = True                  # I048/140: UTC time of day
    emulator_runner = "firmware_interfaces.asterix_radar.cli:run_emulator"
    options = AsterixRadarOptions

    def add_emulator_arguments(self, group) -> None:
        group.add_argument("--sac", type=int, default=0,
                           help="System Area Code (default 0)")
        group.add_argument("--sic", type=int, default=1,
                           help="System Identification Code (default 1)")
        group.add_argument("--site-alt", type=float, default=0.0, metavar="M",
                           help="radar altitude above mean sea level (default 0)")

    def open_early(self, sensor, tap):
        # the listening socket exists before the emulated radar starts sending to it
        url = "udp://@127.0.0.1:0" if sensor.entry.emulated else sensor.entry.transport
        allow = sensor.entry.options.allow_from
        driver = AsterixRadarDriver(url, sensor_id=sensor.index,
                                    site_alt_m=sensor.radar.site.alt_m,
                                    allow_from=None if allow is None else [str(a) for a in allow])
        driver.set_source(sensor.entry.sac, sensor.sic, sensor.index, sensor.radar.site.alt_m)
        driver.only_named_sources()         # plots under another SAC/SIC are not this radar's
        return self.opened(driver, tap)

    def emulator_args(self, sensor, run_dir: Path, early_driver) -> list[str]:
        port = early_driver.local_address[1]
        return ["--port", f"udp://127.0.0.1:{port}", "--sac", str(sensor.entry.sac),
                "--sic", str(sensor.sic), "--site-alt", str(sensor.radar.site.alt_m)]

    def clock_shift_s(self, sensor, driver, t0_ns: int) -> float:
        # the radar's clock is UTC time of day: the time of day at the run's start
        return (time.time() - (time.monotonic_ns() - t0_ns) * 1e-9) % DAY_S

    def open_monitor(self, target: str, options: AsterixRadarOptions):
        if target.startswith("udp://") and not parse_udp_url(target)[0]:
            raise UsageError(f"{target}: the radar is heard where its datagrams arrive: "
                             f"give udp://@HOST:PORT")
        allow = options.allow_from
        driver = AsterixRadarDriver(target, allow_from=None if allow is None else
                                    [str(a) for a in allow])
        return self.opened(driver, None)

    def open_monitor_early(self, options: AsterixRadarOptions):
        return self.open_monitor("udp://@127.0.0.1:0", options)

    def monitor_emulator_args(self, early_driver) -> list[str]:
        return ["--port", f"udp://127.0.0.1:{early_driver.local_address[1]}"]

    def monitor_clock_shift_s(self, driver) -> float:
        return self.clock_shift_s(None, driver, 0)

    def stop_streaming(self, driver) -> None:
        """CAT048 over UDP has no control channel: the radar cannot be told to stop."""
        return None

    def replay_decoder(self, info: dict):
        from .codec import Cat048Decoder

        decoder = Cat048Decoder(sensor_id=info["index"], site_alt_m=info["site_alt_m"])
        decoder.set_source(info["sac"], info["sic"], info["index"], info["site_alt_m"])
        decoder.only_named_sources()
        return decoder
