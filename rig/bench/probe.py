"""``rig check --probe``: open each real sensor of a bench config and say what answered.

A serial sensor answers when its port opens (the bytes it sends in ``listen_s`` are
counted), a UDP one when its socket binds (datagrams counted), a VISA instrument when it
answers ``*IDN?`` (and, with the sensor's ``idn`` key, with the configured start). Each
port is opened with the sensor's own settings (line settings, VISA library, timeout and
terminations) and closed again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rig.errors import RigError, TransportError
from rig.firmware import get_interface
from rig.transport import MessageTransport, make_transport

LISTEN_S = 1.0


@dataclass(frozen=True)
class Probe:
    """What one real sensor's port or instrument did when opened."""

    sensor: str
    family: str
    transport: str
    required: bool
    answered: bool
    detail: str

    def __str__(self) -> str:
        head = f"probe sensor {self.sensor} ({self.family} via {self.transport})"
        if self.answered:
            return f"{head}: {self.detail}"
        need = "required" if self.required else "not required"
        return f"{head}: NO ANSWER ({need}): {self.detail}"


def _settings(options) -> dict:
    """The transport keywords a family's options give (line or session settings)."""
    for name in ("line_settings", "session_settings"):
        method = getattr(options, name, None)
        if method is not None:
            return method()
    return {}


def _listen(transport, listen_s: float) -> tuple[int, int]:
    """(chunks, bytes) read from ``transport`` in ``listen_s``."""
    chunks = size = 0
    end = time.monotonic() + listen_s
    while (left := end - time.monotonic()) > 0:
        data, _ = transport.read_chunk(min(left, 0.1))
        if data:
            chunks += 1
            size += len(data)
    return chunks, size


def probe_sensor(entry, *, listen_s: float = LISTEN_S) -> Probe:
    """Open the real sensor of bench-config ``entry`` and see what answers."""
    family = get_interface(entry.family)
    settings = _settings(entry.options)

    def result(answered: bool, detail: str) -> Probe:
        return Probe(entry.id, entry.family, entry.transport, entry.required, answered, detail)

    try:
        transport = make_transport(entry.transport, kind=family.transport, **settings)
        transport.open()
    except RigError as e:
        return result(False, str(e))
    try:
        if isinstance(transport, MessageTransport):
            idn = transport.query("*IDN?")
            expected = settings.get("expect_idn")
            if expected is not None and not idn.startswith(expected):
                return result(False, f"*IDN? answered {idn!r}, not the configured "
                                     f"{expected!r}: another instrument")
            return result(True, f"*IDN? {idn}")
        chunks, size = _listen(transport, listen_s)
        if family.transport == "udp":
            return result(True, f"bound, {chunks} datagrams ({size} bytes) in {listen_s:g} s")
        return result(True, f"opened, {size} bytes in {listen_s:g} s")
    except TransportError as e:
        return result(False, str(e))
    finally:
        release = getattr(transport, "release", transport.close)
        release()


def probe_sensors(config, *, listen_s: float = LISTEN_S) -> list[Probe]:
    """:func:`probe_sensor` of every real sensor of ``config`` (a BenchConfig)."""
    return [probe_sensor(entry, listen_s=listen_s) for entry in config.sensors
            if not entry.emulated]


def print_probes(probes: list[Probe]) -> int:
    """Print each probe; the exit code: 3 when a required sensor did not answer."""
    if not probes:
        print("  probe: no real sensors (every sensor is emulated)")
    for probe in probes:
        print(f"  {probe}")
    return 3 if any(p.required and not p.answered for p in probes) else 0
