"""``rig emulate --family asterix-cat048``: an emulated CAT048 radar in this process."""

from __future__ import annotations

import signal
import sys

from rig.emulation import RandomPlotSource, SensorClock
from rig.errors import UsageError

from . import protocol as P
from .emulator import AsterixRadarEmulator

#: Plots stay within 150 km so that every elevation of the random source (up to 0.35 rad)
#: fits the 62 km height range of I048/110.
RANGE_MAX_M = 150_000.0


def run_emulator(args, emit) -> int:
    """Serve until the duration ends or a signal stops it; ``emit`` prints one JSON event."""
    url = args.port if args.port != "pty" else f"udp://127.0.0.1:{P.DEFAULT_PORT}"
    if not url.startswith("udp://") or "@" in url:
        raise UsageError(f"--port {url}: the CAT048 emulator sends to udp://HOST:PORT")
    source = RandomPlotSource(args.rate, scan_period_s=args.scan_period, seed=args.seed,
                              range_max_m=RANGE_MAX_M, range_rate=not args.no_range_rate,
                              stamp_at_take=args.stamp == "transmit")
    clock = (SensorClock(args.clock_offset, args.clock_drift)
             if args.clock_offset or args.clock_drift else None)
    emulator = AsterixRadarEmulator(source, url=url, sac=args.sac, sic=args.sic,
                                    site_alt_m=args.site_alt, clock=clock,
                                    frame_interval_s=args.frame_interval)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: emulator.stop())
    host, port = emulator.source_address
    emit({"event": "ready", "device": url, "family": "asterix-cat048",
          "source": f"udp://{host}:{port}", "sac": args.sac, "sic": args.sic, "rate": args.rate})
    print(f"rig emulate: CAT048 radar SAC {args.sac} SIC {args.sic} sending to {url} at "
          f"{args.rate:g} plots/s", file=sys.stderr, flush=True)
    try:
        stats = emulator.serve(args.duration)
    finally:
        emulator.close()
    emit({"event": "done", "datagrams_sent": stats.datagrams_sent, "plots_sent": stats.plots_sent,
          "plots_unencodable": stats.plots_unencodable, "send_errors": stats.send_errors,
          "last_seq": stats.last_seq})
    return 0
