"""``rig view RECORDING``: the air picture of a recorded run in the browser."""

from __future__ import annotations

import sys


def add_parser(sub) -> None:
    p = sub.add_parser(
        "view", help="replay a recording's air picture in the browser",
        description="Serve the web view of a recording made by 'rig run --record': the "
                    "partners' sites and coverage, each partner's plots, the fused tracks "
                    "as published (CAT062, decoded) with their trails, and each sensor's "
                    "health, played back at --speed; the slider scrubs through the whole "
                    "recording. Runs until Ctrl-C.")
    p.add_argument("recording", help="recording file (rig run --record)")
    p.add_argument("--speed", type=float, default=1.0,
                   help="playback speed (default 1: as recorded; 0: all at once)")
    p.add_argument("--web-host", default="127.0.0.1", metavar="HOST",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--web-port", type=int, default=8765, metavar="PORT",
                   help="port (default 8765; 0: any free port)")
    p.set_defaults(func=run)


def run(args) -> int:
    import asyncio
    import math

    from rig.errors import TransportError, UsageError
    from rig.record import RecordingReport
    from rig.web.recording import recording_messages
    from rig.web.server import serve

    if not (math.isfinite(args.speed) and args.speed >= 0):
        raise UsageError(f"--speed must be 0 or more, not {args.speed}")
    if not 0 <= args.web_port <= 65535:
        raise UsageError(f"--web-port must be 0..65535, not {args.web_port}")
    report = RecordingReport()
    messages = recording_messages(args.recording, report=report)
    setup = next(messages)                       # a bad file fails here, before serving

    async def feed(hub) -> None:
        await hub.ingest(setup)
        t_last = None
        for message in messages:
            t = message["t"]
            if args.speed and t_last is not None:
                await asyncio.sleep(max(0.0, t - t_last) / args.speed)
            else:
                await asyncio.sleep(0)
            t_last = t
            await hub.ingest(message)
        for problem in report.problems():
            print(f"rig view: {args.recording}: {problem}", file=sys.stderr)
        print("rig view: end of the recording (Ctrl-C to stop serving)", file=sys.stderr,
              flush=True)

    def listening(url: str) -> None:
        print(f"rig view: {setup['name']} at {url}", file=sys.stderr, flush=True)

    try:
        asyncio.run(serve(args.web_host, args.web_port, math.inf, feed, linger=True,
                          on_listening=listening))
    except KeyboardInterrupt:                    # the normal end of a viewing
        return 0
    except OSError as e:
        raise TransportError(f"cannot serve at {args.web_host}:{args.web_port}: {e}") from e
    return 0
