"""``rig score``: score tracks against truth (OSPA, GOSPA, RMSE, breaks, switches, ...)."""

from __future__ import annotations

import math
from pathlib import Path

from rig import strict_json


def add_parser(sub) -> None:
    from rig.scoring.defaults import DEFAULT_CUTOFF_M, DEFAULT_DT_S, DEFAULT_ORDER

    p = sub.add_parser(
        "score", help="score tracks.csv against truth.csv",
        description="Score tracks against truth on a time grid: OSPA and GOSPA over time, "
                    "position and velocity RMSE of assigned tracks, missed targets, false "
                    "tracks, track breaks, identity switches and time to first track. Tracks "
                    "are sampled at each grid time by their latest state extrapolated at "
                    "constant velocity. docs/offline.md defines every metric.")
    p.add_argument("truth", metavar="TRUTH.csv",
                   help="truth.csv (or an interchange folder holding one)")
    p.add_argument("tracks", metavar="TRACKS.csv", help="tracks.csv")
    p.add_argument("--cutoff", type=float, default=DEFAULT_CUTOFF_M, metavar="C",
                   help=f"OSPA/GOSPA cutoff c in metres (default {DEFAULT_CUTOFF_M:g})")
    p.add_argument("--order", type=float, default=DEFAULT_ORDER, metavar="P",
                   help=f"OSPA/GOSPA order p (default {DEFAULT_ORDER:g})")
    p.add_argument("--dt", type=float, default=DEFAULT_DT_S, metavar="S",
                   help=f"grid step in seconds (default {DEFAULT_DT_S:g})")
    p.add_argument("--max-age", type=float, default=None, metavar="S",
                   help="oldest track state that still counts (default 1.5 × the tracks' "
                        "output interval, at least the grid step)")
    p.add_argument("--gate", type=float, default=None, metavar="M",
                   help="how far a track may be from the target it holds, for identity "
                        "(default: the cutoff)")
    p.add_argument("--explain", action="store_true",
                   help="list every false, mostly false and duplicate track (when, near "
                        "which target, from which sensors' plots where tracks.csv has a "
                        "sensors column), every identity switch and every track break")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--series", action="store_true",
                   help="with --json: add the per-time series, the id lists and what "
                        "--explain lists")
    p.set_defaults(func=run)


def run(args) -> int:
    from rig.errors import UsageError
    from rig.interchange import read_tracks, read_truth
    from rig.progress import Stages
    from rig.scoring import print_explanation, print_score, score
    from rig.scoring.defaults import MAX_CUTOFF_M, MAX_ORDER

    if args.max_age is not None and not args.max_age > 0:
        raise UsageError(f"--max-age must be positive, not {args.max_age}")
    for flag, value in (("--cutoff", args.cutoff), ("--gate", args.gate)):
        if value is not None and not 0 < value <= MAX_CUTOFF_M:
            raise UsageError(f"{flag} must be from 0 to {MAX_CUTOFF_M:g} m, not {value}")
    if not 0 < args.dt < math.inf:
        raise UsageError(f"--dt must be a positive finite number, not {args.dt}")
    if not 1 <= args.order <= MAX_ORDER:
        raise UsageError(f"--order must be from 1 to {MAX_ORDER:g}, not {args.order}")
    truth_path = Path(args.truth)
    if truth_path.is_dir():
        truth_path = truth_path / "truth.csv"
    with Stages() as progress:
        progress.stage(f"reading {truth_path.name}")
        truth = read_truth(truth_path)
        progress.stage(f"reading {Path(args.tracks).name}")
        tracks = read_tracks(args.tracks)
        result = score(truth, tracks, cutoff_m=args.cutoff, order=args.order, dt_s=args.dt,
                       max_age_s=args.max_age, gate_m=args.gate, progress=progress)
    if args.json:
        out = result.to_json(series=args.series)
        if args.explain:
            out.update(result.explain())
        print(strict_json.dumps(out), flush=True)
    else:
        print_score(result)
        if args.explain:
            print_explanation(result, tracks)
    return 0
