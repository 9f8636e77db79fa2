"""A track-level partner's side of the family contract (rig.firmware.FirmwareInterface)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, IPvAnyAddress

from rig.errors import FirmwareInterfaceError
from rig.geodesy import Geodetic
from rig.firmware import FamilyOptions
from rig.radar import SiteSpec

from ..udp_family import UdpFamily
from . import protocol as P
from .driver import Cat062TracksDriver


class Cat062TracksOptions(FamilyOptions):
    """A track-level partner's own keys in a bench config."""

    allow_from: list[IPvAnyAddress] | None = Field(
        None, description="believe datagrams only from these sender addresses (others are "
        "refused and counted with datagrams_refused)")
    system_origin: SiteSpec | None = Field(
        None, description="the partner's system reference point, the plane of its I062/100, "
        "I062/185 and I062/500 (default: the run's origin)")


class Cat062TracksFamily(UdpFamily):
    name = "cat062-tracks"
    description = ("track-level partner: its tracker's system tracks (ASTERIX CAT062 with "
                   "I062/500 accuracies) over UDP")
    asterix = True
    time_of_day = True                  # I062/070: UTC time of day
    delivers = "tracks"
    emulator_runner = "firmware_interfaces.cat062_tracks.cli:run_emulator"
    options = Cat062TracksOptions

    def add_emulator_arguments(self, group) -> None:
        group.add_argument("--period", type=float, default=P.DEFAULT_PERIOD_S, metavar="S",
                           help="send the partner's picture every S seconds (default 1)")
        group.add_argument("--sac", type=int, default=0,
                           help="System Area Code of the partner's system (default 0)")
        group.add_argument("--sic", type=int, default=1,
                           help="System Identification Code of the partner's system "
                                "(default 1)")

    def _driver(self, url: str, options: Cat062TracksOptions, sensor) -> Cat062TracksDriver:
        if sensor.origin is None:
            raise FirmwareInterfaceError(f"sensor {sensor.id}: a track-level partner's driver "
                                         f"needs the run's origin")
        return Cat062TracksDriver(url, origin=sensor.origin,
                                  system_origin=options.system_origin,
                                  source=(sensor.entry.sac, sensor.sic),
                                  allow_from=options.allow_from)

    def emulator_args(self, sensor, run_dir: Path, early_driver) -> list[str]:
        return super().emulator_args(sensor, run_dir, early_driver) + [
            "--sac", str(sensor.entry.sac), "--sic", str(sensor.sic)]

    def replay_decoder(self, info: dict):
        """The driver's decode path (:class:`codec.TrackDecoder`: ``feed`` gives partner
        tracks, not plots); ``info`` must hold the run's ``origin`` (``lat_deg``,
        ``lon_deg``, ``alt_m``)."""
        from .codec import TrackDecoder

        if "origin" not in info:
            raise FirmwareInterfaceError(f"sensor {info.get('id')}: replaying a track-level "
                                         f"partner needs the run's origin in its timeline")
        origin = info["origin"]
        if isinstance(origin, dict):            # as a recording's timeline keeps it
            origin = Geodetic(**origin)
        return TrackDecoder(origin, system_origin=info.get("system_origin"),
                            source=(info["sac"], info["sic"]))
