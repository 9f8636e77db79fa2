"""The registry of firmware interface families, and the contract each family fulfils.

A family (one kind of sensor hardware) lives in one package that holds its protocol
definition, its host-side driver, its device-side emulator, and exposes a
:class:`FirmwareInterface` subclass instance. Built-in families are listed in
:data:`BUILTIN`; other packages add theirs through the entry point group
``rig.firmware_interfaces``. A family's module is imported only when it is used.

``rig run``, ``rig replay`` and ``rig emulate`` know nothing of any family: they ask the
family's interface for each step (how to start and address its emulator, how to open its
driver, where its clock sits, how to decode what a recording kept of its bytes).

A sensor handed to these methods (``sensor``) is the bench's handle: ``sensor.index`` (the
plots' ``sensor_id``), ``sensor.id``, ``sensor.entry`` (its bench-config entry: ``transport``,
``emulated``, ``baudrate``, ``sac``), ``sensor.sic`` and ``sensor.radar`` (the scenario's radar:
``radar.site.alt_m``, ``radar.scan_period_s``).
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from pathlib import Path

from rig.errors import FirmwareInterfaceError, TransportError

ENTRY_POINT_GROUP = "rig.firmware_interfaces"

#: name -> "module:attribute" of the family's FirmwareInterface
BUILTIN: dict[str, str] = {
    "serial-sensor": "firmware_interfaces.serial_sensor:INTERFACE",
    "asterix-cat048": "firmware_interfaces.asterix_radar:INTERFACE",
    "scpi-sensor": "firmware_interfaces.scpi_sensor:INTERFACE",
}


class FirmwareInterface:
    """What the rig needs to know about one sensor hardware family. A family subclasses it,
    sets the class attributes and overrides what its hardware needs."""

    name: str = ""
    description: str = ""
    transport: str = ""                 # "serial", "udp", "visa", ...
    #: the family's sensor clock reads UTC time of day (plots are taken to the nearest day)
    time_of_day: bool = False
    #: "module:function(args, source, clock, emit) -> exit code": ``rig emulate --family``
    emulator_runner: str = ""

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
