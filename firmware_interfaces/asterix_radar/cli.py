"""``rig emulate --family asterix-cat048``: an emulated CAT048 radar in this process."""

from __future__ import annotations

import signal
import sys

from rig.firmware import EmulatorSettings

from ..udp_family import emulator_url
from . import protocol as P
from .emulator import AsterixRadarEmulator

#: Random plots stay within 150 km so that every elevation of the random source (up to
#: 0.35 rad) fits the 62 km height range of I048/110.
RANGE_MAX_M = 150_000.0


def run_emulator(run: EmulatorSettings, options) -> int:
    """Serve until the duration ends or a signal stops it; ``options``: the family's flags
    (``sac``, ``sic``, ``site_alt``)."""
    emit = run.emit
    url = emulator_url(run, P.DEFAULT_PORT, "CAT048 emulator")
    if not run.from_scenario:
        run.source.range_max_m = RANGE_MAX_M
    # unless told otherwise the radar's clock reads UTC time of day
    clock = run.clock if run.clock_given else None
    emulator = AsterixRadarEmulator(run.source, url=url, sac=options.sac, sic=options.sic,
                                    site_alt_m=options.site_alt, clock=clock,
                                    frame_interval_s=run.frame_interval_s,
                                    frame_phase=run.frame_phase,
                                    faults=run.faults, on_event=emit)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: emulator.stop())
    host, port = emulator.source_address
    emit({"event": "ready", "device": url, "family": "asterix-cat048",
          "source": f"udp://{host}:{port}", "sac": options.sac, "sic": options.sic, "rate": run.rate})
    print(f"rig emulate: CAT048 radar SAC {options.sac} SIC {options.sic} sending to {url} at "
          f"{run.rate:g} plots/s", file=sys.stderr, flush=True)
    try:
        stats = emulator.serve(run.duration_s, start_ns=run.start_at_ns)
    finally:
        emulator.close()
    emit({"event": "done", "datagrams_sent": stats.datagrams_sent, "plots_sent": stats.plots_sent,
          "plots_unencodable": stats.plots_unencodable, "send_errors": stats.send_errors,
          "last_seq": stats.last_seq, "plots_silenced": stats.plots_silenced,
          "plots_unplugged": stats.plots_unplugged, "faults": emulator.faults.counts})
    return 0
