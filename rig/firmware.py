"""The registry of firmware interface families.

A family (one kind of sensor hardware) lives in a module that holds its protocol definition,
its host-side driver and its device-side emulator, and exposes a :class:`FirmwareInterface`.
Built-in families are listed in :data:`BUILTIN`; other packages add theirs through the entry
point group ``rig.firmware_interfaces``. A family's module is imported only when it is used.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points

from rig.errors import FirmwareInterfaceError

ENTRY_POINT_GROUP = "rig.firmware_interfaces"

#: name -> "module:attribute" of the family's FirmwareInterface
BUILTIN: dict[str, str] = {
    "serial-sensor": "firmware_interfaces.serial_sensor:INTERFACE",
    "asterix-cat048": "firmware_interfaces.asterix_radar:INTERFACE",
    "scpi-sensor": "firmware_interfaces.scpi_sensor:INTERFACE",
}


@dataclass(frozen=True)
class FirmwareInterface:
    """What the rig needs to know about one sensor hardware family."""

    name: str
    description: str
    transport: str              # "serial", "udp", "visa"
    driver: type                # host side
    emulator: type              # device side


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
