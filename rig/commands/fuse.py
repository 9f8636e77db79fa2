"""``rig fuse``: fuse an interchange folder's plots into tracks.csv."""

from __future__ import annotations

import sys
from pathlib import Path

from rig import strict_json


def add_parser(sub) -> None:
    p = sub.add_parser(
        "fuse", help="fuse an interchange folder's plots into tracks",
        description="Fuse every partner's plots of an interchange folder (docs/architecture.md) into one "
                    "air picture and write the confirmed tracks at each output tick to "
                    "tracks.csv. Plots that cannot be used are counted and reported; only a "
                    "folder that cannot be read stops the run (exit code 2).")
    p.add_argument("folder", help="interchange folder (scenario.json, sensors.csv, plots.csv)")
    p.add_argument("--out", required=True, metavar="TRACKS.csv", help="tracks file to write")
    p.add_argument("--partners", default=None, metavar="A,B",
                   help="fuse only these partners' sensors (default: all)")
    p.add_argument("--dt", type=float, default=1.0, metavar="S",
                   help="output tick (default 1 s)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    from rig.errors import UsageError
    from rig.fusion.offline import fuse
    from rig.interchange import read_interchange, write_tracks
    from rig.progress import Stages

    out = Path(args.out)
    if out.is_dir():
        raise UsageError(f"--out {args.out}: is a folder; give the tracks file to write")
    if not out.parent.is_dir():
        raise UsageError(f"--out {args.out}: its folder {out.parent} is not there")
    partners = [s.strip() for s in args.partners.split(",") if s.strip()] if args.partners \
        else None
    with Stages() as progress:
        progress.stage(f"reading {args.folder}")
        ic = read_interchange(args.folder)
        result = fuse(ic, partners=partners, dt_s=args.dt, progress=progress)
        progress.stage(f"writing {out.name}")
        try:
            write_tracks(out, result.tracks)
        except OSError as e:
            raise UsageError(f"--out {args.out}: cannot write: {e.strerror or e}") from None
    c = result.engine.counters
    summary = dict(c.as_dict(), tracks=int(result.tracks["track_id"].nunique()),
                   plots_not_selected=result.plots_not_selected,
                   time_s=round(result.elapsed_s, 4), out=str(args.out))
    if args.json:
        print(strict_json.dumps(summary))
        return 0
    print(f"rig fuse: {summary['tracks']} tracks written to {args.out}")
    print(f"  plots: {c.plots_in} in, {c.plots_used} used, {c.plots_rejected} rejected"
          + (f", {result.plots_not_selected} of partners not selected"
             if result.plots_not_selected else ""))
    for reason, count in summary["rejected"].items():
        print(f"    rejected, {reason}: {count}")
    print(f"  tracks: {c.tracks_initiated} initiated, {c.tracks_confirmed} confirmed, "
          f"{c.tracks_deleted} deleted ({c.tracks_merged} merged as duplicates)")
    reg = result.engine.registration()
    for row in reg:
        print(f"  registration {row['sensor']}: range {row['range_bias_m']:+.1f} ± "
              f"{row['range_bias_sigma_m']:.1f} m, az {row['az_bias_rad'] * 1e3:+.2f} ± "
              f"{row['az_bias_sigma_rad'] * 1e3:.2f} mrad, clock {row['clock_offset_s']:+.3f} ± "
              f"{row['clock_offset_sigma_s']:.3f} s ({row['n_pairs']} plot pairs)")
    print(f"  time: {result.elapsed_s:.3f} s", file=sys.stdout)
    return 0
