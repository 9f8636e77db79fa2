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
    p.add_argument("--tracks-from", default=None, metavar="B",
                   help="these partners share their own tracks, not their plots: each one's "
                        "plots are fused by its own tracker and its picture reaches the "
                        "centre each tick as CAT062 with I062/500 accuracies, as from a live "
                        "cat062-tracks partner (docs/fusion.md)")
    p.add_argument("--dt", type=float, default=1.0, metavar="S",
                   help="output tick (default 1 s)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=run)


def names(text: str | None) -> list[str] | None:
    """``"A,B"`` as ``["A", "B"]``; None or nothing as None."""
    out = [s.strip() for s in text.split(",") if s.strip()] if text else []
    return out or None


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
    partners = names(args.partners)
    tracks_from = names(args.tracks_from)
    with Stages() as progress:
        progress.stage(f"reading {args.folder}")
        ic = read_interchange(args.folder)
        result = fuse(ic, partners=partners, dt_s=args.dt, progress=progress,
                      tracks_from=tracks_from)
        progress.stage(f"writing {out.name}")
        try:
            write_tracks(out, result.tracks)
        except OSError as e:
            raise UsageError(f"--out {args.out}: cannot write: {e.strerror or e}") from None
    c = result.engine.counters
    summary = dict(c.as_dict(), tracks=int(result.tracks["track_id"].nunique()),
                   plots_not_selected=result.plots_not_selected,
                   partner_tracks=dict(result.engine.partner_tracks.counters,
                                       received=result.track_input)
                   if result.track_input else None,
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
    for partner, counts in result.track_input.items():
        refused = ", ".join(f"{n} {reason}" for reason, n in counts.items()
                            if reason not in ("received", "taken") and n)
        print(f"  partner {partner}'s tracks: {counts['received']} received, "
              f"{counts['taken']} taken" + (f" (refused: {refused})" if refused else ""))
    if result.track_input:
        pt = result.engine.partner_tracks.counters
        print(f"  partner tracks fused: {pt['partner_tracks_fused']} "
              f"({pt['partner_tracks_started']} started a track)")
    reg = result.engine.registration()
    for row in reg:
        print(f"  registration {row['sensor']}: range {row['range_bias_m']:+.1f} ± "
              f"{row['range_bias_sigma_m']:.1f} m, az {row['az_bias_rad'] * 1e3:+.2f} ± "
              f"{row['az_bias_sigma_rad'] * 1e3:.2f} mrad, clock {row['clock_offset_s']:+.3f} ± "
              f"{row['clock_offset_sigma_s']:.3f} s ({row['n_pairs']} plot pairs)")
    print(f"  time: {result.elapsed_s:.3f} s", file=sys.stdout)
    return 0
