"""The ASTERIX radar's side of the family contract (rig.firmware.FirmwareInterface)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, IPvAnyAddress

from rig.firmware import FamilyOptions

from ..udp_family import MonitoredUdpFamily
from .driver import AsterixRadarDriver


class AsterixRadarOptions(FamilyOptions):
    """An ASTERIX radar's own keys in a bench config."""

    allow_from: list[IPvAnyAddress] | None = Field(
        None, description="believe datagrams only from these sender addresses (others are "
        "refused and counted with foreign_records)")


class AsterixRadarFamily(MonitoredUdpFamily):
    name = "asterix-cat048"
    description = "ASTERIX CAT048 (ed. 1.31) monoradar target reports over UDP"
    asterix = True
    time_of_day = True                  # I048/140: UTC time of day
    emulator_runner = "firmware_interfaces.asterix_radar.cli:run_emulator"
    options = AsterixRadarOptions
    heard = "the radar"

    def add_emulator_arguments(self, group) -> None:
        group.add_argument("--sac", type=int, default=0,
                           help="System Area Code (default 0)")
        group.add_argument("--sic", type=int, default=1,
                           help="System Identification Code (default 1)")
        group.add_argument("--site-alt", type=float, default=0.0, metavar="M",
                           help="radar altitude above mean sea level (default 0)")

    def _driver(self, url: str, options: AsterixRadarOptions, sensor=None) -> AsterixRadarDriver:
        if sensor is None:                  # rig monitor: every source heard
            return AsterixRadarDriver(url, allow_from=options.allow_from)
        alt_m = sensor.radar.site.alt_m
        driver = AsterixRadarDriver(url, sensor_id=sensor.index, site_alt_m=alt_m,
                                    allow_from=options.allow_from)
        driver.set_source(sensor.entry.sac, sensor.sic, sensor.index, alt_m)
        driver.only_named_sources()         # plots under another SAC/SIC are not this radar's
        return driver

    def emulator_args(self, sensor, run_dir: Path, early_driver) -> list[str]:
        return super().emulator_args(sensor, run_dir, early_driver) + [
            "--sac", str(sensor.entry.sac), "--sic", str(sensor.sic),
            "--site-alt", str(sensor.radar.site.alt_m)]

    def stop_streaming(self, driver) -> None:
        """CAT048 over UDP has no control channel: the radar cannot be told to stop."""
        return None

    def replay_decoder(self, info: dict):
        from .codec import Cat048Decoder

        decoder = Cat048Decoder(sensor_id=info["index"], site_alt_m=info["site_alt_m"])
        decoder.set_source(info["sac"], info["sic"], info["index"], info["site_alt_m"])
        decoder.only_named_sources()
        return decoder
