"""The registry of firmware interface families, and the contract each family fulfils.

A family (one kind of sensor hardware) lives in one package that holds its protocol
definition, its host-side driver, its device-side emulator, and exposes a
:class:`FirmwareInterface` subclass instance. Built-in families are listed in
:data:`BUILTIN`; other packages add theirs through the entry point group
``rig.firmware_interfaces``. A family's module is imported only when it is used.

``rig run``, ``rig replay``, ``rig emulate`` and ``rig monitor`` know nothing of any
family: they ask the family's interface for each step (how to start and address its emulator,
how to open its driver, where its clock sits, how to stop it streaming, how to decode what a
recording kept of its bytes).

A family's own keys of a bench-config sensor entry are its :attr:`FirmwareInterface.options`
model (the entry's ``family`` says which model checks the rest of the entry), and its own
``rig emulate`` flags come from :meth:`FirmwareInterface.add_emulator_arguments`.

A sensor handed to these methods (``sensor``) is the bench's handle: ``sensor.index`` (the
plots' ``sensor_id``), ``sensor.id``, ``sensor.entry`` (its bench-config entry: ``transport``,
``emulated``, ``sac``, and ``options``, the family's own keys), ``sensor.sic`` and
``sensor.radar`` (the scenario's radar: ``radar.site.alt_m``, ``radar.scan_period_s``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from rig.errors import FirmwareInterfaceError, TransportError, UsageError


class FamilyOptions(BaseModel):
    """A family's own keys of a bench-config sensor entry; a family with some subclasses it
    (an unknown key is an error naming the family)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class EmulatorSettings:
    """What ``rig emulate`` hands every family's emulator: the plots to send and when."""

    source: object                      # rig.emulation plot source: take_until(t_s)
    clock: object                       # rig.emulation.SensorClock: sensor_time(t_s)
    port: str                           # --port: "pty", a device, URL or TCP port
    rate: float                         # plots per second of a random source
    duration_s: float | None            # None: until a signal
    start_at_ns: int | None             # host monotonic ns of emulation time 0
    frame_interval_s: float
    faults: object                      # rig.emulation.faults.FaultSchedule
    emit: Callable[[dict], None]        # prints one JSON event line
    from_scenario: bool                 # plots of a scenario's radar (else random)
    clock_given: bool                   # the clock was set (scenario, --start-at, offset/drift)
    frame_phase: float = 0.0            # 0..1 of frame_interval_s: where the frames fall


#: The counters in which the families' decoders count the frames (records, blocks) they
#: rejected, and those of the frames they decoded whole (a driver has one of these).
DECODER_ERROR_KEYS = ("header_errors", "crc_errors", "bad_frames", "records_bad",
                      "blocks_bad_length", "blocks_truncated", "records_incomplete",
                      "bad_blocks")
FRAME_OK_KEYS = ("frames_ok", "blocks_ok", "fetches")


def decoder_errors(counters: dict) -> int:
    """Frames (records, blocks) a driver's decoder rejected, whatever its family."""
    return int(sum(counters.get(k, 0) for k in DECODER_ERROR_KEYS))


ENTRY_POINT_GROUP = "rig.firmware_interfaces"

#: name -> "module:attribute" of the family's FirmwareInterface
BUILTIN: dict[str, str] = {
    "serial-sensor": "firmware_interfaces.serial_sensor:INTERFACE",
    "asterix-cat048": "firmware_interfaces.asterix_radar:INTERFACE",
    "scpi-sensor": "firmware_interfaces.scpi_sensor:INTERFACE",
    "esm-sensor": "firmware_interfaces.esm_sensor:INTERFACE",
    "cat062-tracks": "firmware_interfaces.cat062_tracks:INTERFACE",
}


class FirmwareInterface:
    """What the rig needs to know about one sensor hardware family. A family subclasses it,
    sets the class attributes and overrides what its hardware needs."""

    name: str = ""
    description: str = ""
    transport: str = ""                 # "serial", "udp", "visa", ...
    #: the family's sensor clock reads UTC time of day (plots are taken to the nearest day)
    time_of_day: bool = False
    #: "module:function(settings: EmulatorSettings, options: argparse.Namespace) -> exit
    #: code": ``rig emulate --family``; ``options`` holds the flags of
    #: :meth:`add_emulator_arguments`
    emulator_runner: str = ""
    #: the family's own keys of a bench-config sensor entry
    options: type[FamilyOptions] = FamilyOptions
    #: what its driver hands the loop: "plots" (``read_plots``: PLOT_DTYPE), or "tracks" (a
    #: track-level partner: ``read_tracks``, PARTNER_TRACK_DTYPE of rig.fusion.track_input,
    #: fused by rig.fusion.partner_tracks; ``read_plots`` gives none)
    delivers: str = "plots"
    #: its datagrams are ASTERIX (``rig export --pcapng`` shows an emulated one's on UDP port
    #: 8600, which Wireshark decodes as ASTERIX; other families' on a port it does not)
    asterix: bool = False

    def add_emulator_arguments(self, group) -> None:
        """Add the family's own ``rig emulate`` flags to ``group`` (an argparse argument
        group: ``group.add_argument(...)``)."""

    # --- emulated sensors --------------------------------------------------------------
    def emulator_args(self, sensor, run_dir: Path, early_driver) -> list[str]:
        """Arguments added to ``rig emulate`` for this sensor in a run (``run_dir`` holds the
        run's scenario; ``early_driver`` is what :meth:`open_early` returned)."""
        return []

    # --- drivers -----------------------------------------------------------------------
    def open_early(self, sensor, tap):
        """A driver that must exist before the emulator starts (e.g. the socket it sends
        to), opened, or None. ``tap`` sees every raw chunk the driver reads."""
        return None

    def open_driver(self, sensor, target: str, tap):
        """The driver of ``sensor`` on ``target`` (the config's transport, or the emulator's
        device), opened; ``tap`` as for :meth:`open_early`."""
        raise TransportError(f"sensor {sensor.id}: family {self.name} has no driver to run")

    def clock_shift_s(self, sensor, driver, t0_ns: int) -> float:
        """For a real sensor: where its clock sits, ``t_run = t_sensor − shift``, measured
        once the driver is open (registration estimates what is left)."""
        return 0.0

    @staticmethod
    def opened(driver, tap):
        """``driver`` with its raw tap set, opened: what :meth:`open_early` and
        :meth:`open_driver` return."""
        driver.set_tap(tap)
        driver.open()
        return driver

    # --- rig monitor -------------------------------------------------------------------
    def open_monitor(self, target: str, options: FamilyOptions):
        """For ``rig monitor``: the family's driver on ``target`` (a port, URL or resource the
        user named, or an emulator's device), opened and streaming, taking the plots of every
        source it hears; ``options``: the family's keys (:attr:`options`)."""
        raise UsageError(f"family {self.name} cannot be monitored")

    def open_monitor_early(self, options: FamilyOptions):
        """For ``rig monitor --emulate``: a driver that must exist before the emulator starts
        (the socket it sends to), opened as by :meth:`open_monitor`, or None."""
        return None

    def monitor_emulator_args(self, early_driver) -> list[str]:
        """Arguments added to ``rig emulate --family NAME`` for ``rig monitor --emulate``
        (``early_driver``: what :meth:`open_monitor_early` returned)."""
        return []

    def monitor_clock_shift_s(self, driver) -> float | None:
        """Where the sensor's clock sits against the host's monotonic clock,
        ``t_host_s = t_sensor − shift`` (modulo a day for :attr:`time_of_day`), or None when
        it cannot be known: ``rig monitor``'s latency."""
        return None

    def stop_streaming(self, driver) -> str | None:
        """Tell the sensor behind ``driver`` to stop streaming (``rig monitor`` does before it
        closes the driver): the command sent and acknowledged, or None when the family has no
        way to tell it (no control channel). A failure raises :class:`TransportError`."""
        return None

    # --- replay ------------------------------------------------------------------------
    def replay_decoder(self, info: dict):
        """A fresh decoder of what this family's driver read, for ``rig replay``: an object
        with ``feed(chunk, t_arrival_ns) -> PLOT_DTYPE array``, ``reset()`` and
        ``counters() -> dict``. ``info`` is the recording's record of the sensor (``index``,
        ``id``, ``sac``, ``sic``, ``site_alt_m``)."""
        raise FirmwareInterfaceError(f"family {self.name} cannot replay a recording")


def available() -> dict[str, str]:
    """Every known family: name -> "module:attribute" (built-ins win over plug-ins)."""
    found = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    found.update(BUILTIN)
    return dict(sorted(found.items()))


def get_interface(name: str) -> FirmwareInterface:
    """Import and return the family called ``name``."""
    families = available()
    if name not in families:
        raise FirmwareInterfaceError(
            f"unknown firmware interface {name!r}; known: {', '.join(families) or 'none'}")
    module_name, _, attr = families[name].partition(":")
    try:
        module = importlib.import_module(module_name)
        interface = getattr(module, attr)
    except (ImportError, AttributeError) as e:
        raise FirmwareInterfaceError(
            f"firmware interface {name!r}: cannot load {families[name]}: {e}") from e
    if not isinstance(interface, FirmwareInterface):
        raise FirmwareInterfaceError(
            f"firmware interface {name!r}: {families[name]} is not a FirmwareInterface")
    return interface


def delivers_tracks(family: str) -> bool:
    """Whether the family ``family`` is a track-level partner's: its driver hands the loop
    the partner's tracks, never plots (:attr:`FirmwareInterface.delivers`)."""
    return get_interface(family).delivers == "tracks"
