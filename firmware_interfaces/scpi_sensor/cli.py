"""``rig emulate --family scpi-sensor``: an emulated SCPI radar on a TCP port in this process."""

from __future__ import annotations

import signal
import sys

from rig.errors import UsageError
from rig.firmware import EmulatorSettings

from . import protocol as P
from .emulator import ScpiSensorEmulator


def _port(text: str) -> int:
    if text == "pty":
        return P.DEFAULT_PORT
    try:
        port = int(text)
    except ValueError:
        raise UsageError(f"--port {text}: the SCPI emulator takes a TCP port number "
                         f"(0 picks a free one)") from None
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port}: not a TCP port")
    return port


def run_emulator(run: EmulatorSettings, options) -> int:
    """Serve until the duration ends or a signal stops it; ``options``: the family's flags
    (``host``)."""
    emit = run.emit
    emulator = ScpiSensorEmulator(run.source, host=options.host, port=_port(run.port),
                                  clock=run.clock, faults=run.faults, on_event=emit)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: emulator.stop())
    emit({"event": "ready", "device": emulator.resource, "family": "scpi-sensor",
          "host": emulator.host, "port": emulator.port, "rate": run.rate})
    print(f"rig emulate: SCPI radar sensor at {emulator.resource} ({run.rate:g} plots/s "
          f"once INITiated)", file=sys.stderr, flush=True)
    try:
        stats = emulator.serve(run.duration_s, start_ns=run.start_at_ns)
    finally:
        emulator.close()
    emit({"event": "done", "plots_acquired": stats.plots_acquired,
          "plots_fetched": stats.plots_fetched, "plots_lost": stats.plots_lost,
          "fetches": stats.fetches, "commands": stats.commands,
          "errors_queued": stats.errors_queued, "connections": emulator.connections,
          "plots_silenced": stats.plots_silenced, "resets": emulator.resets,
          "faults": emulator.faults.counts})
    return 0
