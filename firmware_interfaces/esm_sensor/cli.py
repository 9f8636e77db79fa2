"""``rig emulate --family esm-sensor``: an emulated ESM receiver in this process."""

from __future__ import annotations

import signal
import sys

from rig.errors import UsageError
from rig.firmware import EmulatorSettings

from ..udp_family import emulator_url
from . import protocol as P
from .emulator import EsmSensorEmulator


def run_emulator(run: EmulatorSettings, options) -> int:
    """Serve until the duration ends or a signal stops it; ``options``: the family's flags
    (``receiver_id``)."""
    emit = run.emit
    url = emulator_url(run, P.DEFAULT_PORT, "ESM emulator")
    if not 0 <= options.receiver_id <= 0xFFFF:
        raise UsageError(f"--receiver-id must be 0 to 65535, not {options.receiver_id}")
    # unless told otherwise the receiver's clock reads UTC
    clock = run.clock if run.clock_given else None
    emulator = EsmSensorEmulator(run.source, url=url, receiver_id=options.receiver_id,
                                 clock=clock, frame_interval_s=run.frame_interval_s,
                                 frame_phase=run.frame_phase, faults=run.faults, on_event=emit)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: emulator.stop())
    host, port = emulator.source_address
    emit({"event": "ready", "device": url, "family": "esm-sensor",
          "source": f"udp://{host}:{port}", "receiver_id": options.receiver_id,
          "rate": run.rate})
    print(f"rig emulate: ESM receiver {options.receiver_id} sending bearings to {url} at "
          f"{run.rate:g} plots/s", file=sys.stderr, flush=True)
    try:
        stats = emulator.serve(run.duration_s, start_ns=run.start_at_ns)
    finally:
        emulator.close()
    emit({"event": "done", "datagrams_sent": stats.datagrams_sent, "plots_sent": stats.plots_sent,
          "plots_unencodable": stats.plots_unencodable, "send_errors": stats.send_errors,
          "first_seq": stats.first_seq, "last_seq": stats.last_seq,
          "plots_silenced": stats.plots_silenced, "plots_unplugged": stats.plots_unplugged,
          "faults": emulator.faults.counts})
    return 0
