"""``rig emulate --family asterix-cat048``: an emulated CAT048 radar in this process."""

from __future__ import annotations

import signal
import sys

from rig.errors import UsageError

from . import protocol as P
from .emulator import AsterixRadarEmulator

#: Random plots stay within 150 km so that every elevation of the random source (up to
#: 0.35 rad) fits the 62 km height range of I048/110.
RANGE_MAX_M = 150_000.0


def run_emulator(args, source, clock, emit) -> int:
    """Serve until the duration ends or a signal stops it; ``emit`` prints one JSON event."""
    url = args.port if args.port != "pty" else f"udp://127.0.0.1:{P.DEFAULT_PORT}"
    if not url.startswith("udp://") or "@" in url:
        raise UsageError(f"--port {url}: the CAT048 emulator sends to udp://HOST:PORT")
    if args.scenario is None:
        source.range_max_m = RANGE_MAX_M
    if args.scenario is None and args.start_at is None and not (args.clock_offset or args.clock_drift):
        clock = None     # the radar's clock reads UTC time of day
    emulator = AsterixRadarEmulator(source, url=url, sac=args.sac, sic=args.sic,
                                    site_alt_m=args.site_alt, clock=clock,
                                    frame_interval_s=args.frame_interval,
                                    faults=args.fault_schedule, on_event=emit)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: emulator.stop())
    host, port = emulator.source_address
    emit({"event": "ready", "device": url, "family": "asterix-cat048",
          "source": f"udp://{host}:{port}", "sac": args.sac, "sic": args.sic, "rate": args.rate})
    print(f"rig emulate: CAT048 radar SAC {args.sac} SIC {args.sic} sending to {url} at "
          f"{args.rate:g} plots/s", file=sys.stderr, flush=True)
    try:
        stats = emulator.serve(args.duration, start_ns=args.start_at)
    finally:
        emulator.close()
    emit({"event": "done", "datagrams_sent": stats.datagrams_sent, "plots_sent": stats.plots_sent,
          "plots_unencodable": stats.plots_unencodable, "send_errors": stats.send_errors,
          "last_seq": stats.last_seq, "plots_silenced": stats.plots_silenced,
          "plots_unplugged": stats.plots_unplugged, "faults": emulator.faults.counts})
    return 0
