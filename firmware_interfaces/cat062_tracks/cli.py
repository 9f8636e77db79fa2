"""``rig emulate --family cat062-tracks``: an emulated track-level partner in this process."""

from __future__ import annotations

import signal
import sys

from rig.errors import UsageError
from rig.firmware import EmulatorSettings

from ..udp_family import emulator_url
from . import protocol as P
from .emulator import Cat062TracksEmulator


def run_emulator(run: EmulatorSettings, options) -> int:
    """Serve until the duration ends or a signal stops it; ``options``: the family's flags
    (``period``, ``sac``, ``sic``)."""
    emit = run.emit
    url = emulator_url(run, P.DEFAULT_PORT, "track-level partner")
    if not run.from_scenario:
        raise UsageError("--family cat062-tracks runs a partner's tracker on a scenario's "
                         "radar: give --scenario FILE|builtin and --sensor ID")
    if not 0 < options.period <= 3600:
        raise UsageError(f"--period must be positive and at most 3600 s, not {options.period}")
    for name in ("sac", "sic"):
        if not 0 <= getattr(options, name) <= 255:
            raise UsageError(f"--{name} must be 0 to 255, not {getattr(options, name)}")
    radar = run.source.spec                 # rig.emulation.scenario_source.ScenarioPlotSource
    if not radar.measures_range:
        raise UsageError(f"sensor {radar.id} is passive: a partner's tracker here runs on a "
                         f"radar")
    # unless told otherwise the partner's clock reads UTC time of day
    clock = run.clock if run.clock_given else None
    emulator = Cat062TracksEmulator(run.source, radar=radar, origin=run.source.scenario.origin,
                                    url=url, sac=options.sac, sic=options.sic,
                                    period_s=options.period, clock=clock,
                                    frame_phase=run.frame_phase, faults=run.faults,
                                    on_event=emit)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: emulator.stop())
    host, port = emulator.source_address
    emit({"event": "ready", "device": url, "family": "cat062-tracks",
          "source": f"udp://{host}:{port}", "sac": options.sac, "sic": options.sic,
          "sensor": radar.id, "period_s": options.period})
    print(f"rig emulate: partner {radar.partner}'s tracker on radar {radar.id} (SAC "
          f"{options.sac} SIC {options.sic}) sending CAT062 tracks to {url} every "
          f"{options.period:g} s", file=sys.stderr, flush=True)
    try:
        stats = emulator.serve(run.duration_s, start_ns=run.start_at_ns)
    finally:
        emulator.close()
    engine = emulator.tracker.engine.counters
    emit({"event": "done", "pictures_sent": stats.pictures_sent,
          "datagrams_sent": stats.datagrams_sent, "tracks_sent": stats.tracks_sent,
          "tracks_unencodable": stats.tracks_unencodable, "plots_fused": stats.plots_fused,
          "send_errors": stats.send_errors, "plots_silenced": stats.plots_silenced,
          "pictures_unplugged": stats.pictures_unplugged,
          "tracks_initiated": engine.tracks_initiated,
          "tracks_confirmed": engine.tracks_confirmed, "faults": emulator.faults.counts})
    return 0
