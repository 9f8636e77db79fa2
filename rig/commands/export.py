"""``rig export RECORDING --pcapng FILE --csv DIR``: a recording for Wireshark and for tables."""

from __future__ import annotations

import sys
import time

#: progress shows once an export has run this long (on a terminal)
PROGRESS_AFTER_S = 1.0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "export", help="export a recording: wire traffic to pcapng, plots and tracks to CSV",
        description="Export a recording made by 'rig run --record'. --pcapng FILE writes the "
                    "bytes every sensor sent and every CAT062 datagram published, one capture "
                    "interface per sensor and per partner feed, with UTC nanosecond "
                    "timestamps, for Wireshark or tshark (UDP as Ethernet/IP/UDP on the "
                    "config's ports, ASTERIX decoded with '-d udp.port==PORT,asterix'; an "
                    "emulated UDP sensor on 8600, Wireshark's ASTERIX port; serial bytes as "
                    "RTAC serial, other byte streams as data). --csv DIR writes plots.csv (every "
                    "plot fused) and tracks.csv (as a run's; the published tracks). A damaged "
                    "or torn recording exports what is intact and says what was skipped on "
                    "stderr. Exit codes: 0 exported, 2 not a recording or bad usage.")
    p.add_argument("recording", help="the recording (its rotations NAME.1, NAME.2 ... too)")
    p.add_argument("--pcapng", metavar="FILE", help="pcapng capture file to write")
    p.add_argument("--csv", metavar="DIR", help="folder to write plots.csv and tracks.csv into")
    p.set_defaults(func=run)


class _Progress:
    """The export's progress (bytes of the recording read) as a :class:`rig.progress.Stages`
    line on ``console`` (stderr by default) once the export has taken ``PROGRESS_AFTER_S``,
    and only when it is a terminal; nothing otherwise."""

    def __init__(self, total: int, console=None):
        from rig.progress import stderr_console

        self.total = total
        self.done = 0
        self.console = console or stderr_console()
        self.show_at = time.monotonic() + PROGRESS_AFTER_S if self.console.is_terminal else None
        self.stages = None

    def __call__(self, n: int) -> None:
        self.done += n
        if self.stages is not None:
            self.stages.advance(n)
        elif self.show_at is not None and time.monotonic() >= self.show_at:
            from rig.progress import Stages

            self.stages = Stages(self.console, enabled=True).__enter__()
            self.stages.stage("exporting", total=self.total, unit="bytes")
            self.stages.advance(self.done)

    def close(self) -> None:
        if self.stages is not None:
            self.stages.__exit__(None, None, None)


def run(args) -> int:
    from rig.errors import UsageError
    from rig.record.export_recording import export_recording, recording_bytes

    if args.pcapng is None and args.csv is None:
        raise UsageError("nothing to export to: give --pcapng FILE, --csv DIR, or both")
    progress = _Progress(recording_bytes(args.recording))
    try:
        result = export_recording(args.recording, pcapng=args.pcapng, csv_dir=args.csv,
                                  progress=progress)
    finally:
        progress.close()
    for problem in result.report.problems():
        print(f"rig export: {args.recording}: skipped: {problem}", file=sys.stderr)
    for what in result.skipped:
        print(f"rig export: {args.recording}: not exported: {what}", file=sys.stderr)
    if args.pcapng is not None:
        packets = sum(i["packets"] for i in result.interfaces)
        print(f"{args.pcapng}: {packets} packets on {len(result.interfaces)} interfaces, "
              f"timestamps {result.clock.source}")
        for i in result.interfaces:
            print(f"  {i['interface']}: {i['description']}: {i['packets']} packets, "
                  f"{i['bytes']} bytes")
    if args.csv is not None:
        source = f" ({result.tracks_from})" if result.tracks_from else ""
        print(f"{args.csv}: plots.csv {result.plots} plots, tracks.csv {result.tracks} "
              f"tracks{source}")
    return 0
