"""``rig replay FILE``: a recorded run through the same codecs and fusion, bit for bit."""

from __future__ import annotations

import sys
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser(
        "replay", help="replay a recording (rig run --record) through the same codecs and fusion",
        description="Feed a recording made by 'rig run --record FILE' (or a 'record:' key in "
                    "the config) back through the same decoders and the same fusion. The "
                    "fused output is identical bit for bit to the live run's: compare the two "
                    "tracks.csv with cmp. --out receives the same files as rig run --out; "
                    "limits are checked again (exit 1 when one fails). The recording is "
                    "validated first: damaged chunks are reported and skipped.")
    p.add_argument("recording", help="the recording file (its rotations FILE.1 ... follow)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    p.add_argument("--pace", choices=("fast", "recorded"), default="fast",
                   help="as fast as possible (default) or at the recorded pace")
    p.set_defaults(func=run)


def run(args) -> int:
    from rig.bench.replay import replay
    from rig.commands.run import limit_lines
    from rig.progress import Stages

    with Stages() as progress:
        report = replay(args.recording, args.out, pace=args.pace, progress=progress)
    recording = report.get("recording") or {}
    partial = "" if recording.get("clean", True) else " (of a partial recording)"
    print(f"rig replay: {report['outcome'].upper()}{partial}: "
          f"{report['counts']['plots_received']} plots, {report['counts']['ticks']} pictures; "
          f"reports in {args.out}/", file=sys.stderr)
    for problem in recording.get("problems", []):
        print(f"  recording: {problem}", file=sys.stderr)
    if recording.get("plots_lost_to_damage"):
        print(f"  recording: {recording['plots_lost_to_damage']} plots the run fused were in "
              f"damaged chunks", file=sys.stderr)
    for line in limit_lines(report["limits"]):
        print(line, file=sys.stderr)
    return report["exit_code"]
