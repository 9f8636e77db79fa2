"""``rig scenario``: write an offline interchange folder from a scenario."""

from __future__ import annotations

import json
import sys


def add_parser(sub) -> None:
    p = sub.add_parser(
        "scenario", help="write an interchange folder (truth, sensors, plots) from a scenario",
        description="Build a scenario (the built-in two-partner default, or a YAML scenario "
                    "file) and write the offline interchange folder of docs/architecture.md: "
                    "scenario.json, sensors.csv (with the emulation's true biases and clock "
                    "errors in their own columns), truth.csv and plots.csv. Seeded and "
                    "deterministic: the same file and options give the same folder.")
    p.add_argument("file", nargs="?", default="builtin", metavar="FILE",
                   help="scenario YAML file, or 'builtin[:NAME]' (default: the built-in "
                        "two-partner scenario)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write (created)")
    p.add_argument("--frame", choices=("wgs84", "flat"), default="wgs84",
                   help="wgs84: sites as lat/lon/alt, plots in each site's own tangent plane "
                        "(default); flat: sites in ENU metres at the origin, plots against "
                        "the origin's axes")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the file's)")
    p.add_argument("--targets", type=int, default=None, metavar="N",
                   help="number of random targets (default: the file's)")
    p.add_argument("--duration", type=float, default=None, metavar="S",
                   help="length of the run in seconds (default: the file's)")
    p.add_argument("--biased", action="store_true",
                   help="give every sensor random range/azimuth/elevation biases, clock "
                        "offset and drift (drawn from the seed; written to sensors.csv)")
    p.add_argument("--variant", default=None, metavar="NAME",
                   help="add the sensors of the scenario's variant NAME (its 'variants:' "
                        "key) after its own sensors, whose plots and errors stay as without "
                        "it for the same seed. The built-in scenario has 'passive': one "
                        "passive angle-only (ESM-like) sensor per partner (sensors.csv kind "
                        "'passive' with an empty sigma_range_m, an empty range_m in "
                        "plots.csv), 'tracks': a third partner C whose radar C1 in the south "
                        "feeds its own tracker, which shares tracks only (family "
                        "cat062-tracks), and 'passive+tracks': both")
    p.add_argument("--clock-errors", action="store_true",
                   help="give every sensor the random clock offset and drift of --biased, "
                        "without the biases")
    p.add_argument("--truth-dt", type=float, default=None, metavar="S",
                   help="interval of truth.csv rows (default: the file's truth_dt_s)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    from rig.errors import UsageError
    from rig.progress import Stages
    from rig.scenario import load_scenario, write_scenario_folder

    if args.seed is not None and args.seed < 0:
        raise UsageError(f"--seed must be >= 0, not {args.seed}")
    for name, least, most in (("duration", 0.001, 7 * 86400), ("truth_dt", 0.001, 3600)):
        value = getattr(args, name)
        if value is not None and not least <= value <= most:
            raise UsageError(f"--{name.replace('_', '-')} must be within {least:g} to "
                             f"{most:g} s, not {value}")
    with Stages() as progress:
        progress.stage("building the scenario")
        scenario = load_scenario(args.file, seed=args.seed, targets=args.targets,
                                 duration_s=args.duration, biased=args.biased,
                                 clock_errors=args.clock_errors, variant=args.variant)
        summary = write_scenario_folder(scenario, args.out, args.frame,
                                        truth_dt_s=args.truth_dt, progress=progress)
    summary["scenario"] = scenario.name
    summary["variant"] = scenario.variant
    if args.json:
        print(json.dumps(summary), flush=True)
    else:
        sensors = ", ".join(f"{k} {v}" for k, v in summary["plots_per_sensor"].items())
        print(f"rig scenario: wrote {args.out} ({args.frame}): {summary['targets']} targets, "
              f"{summary['truth_rows']} truth rows, {summary['plots']} plots ({sensors}; "
              f"{summary['clutter_plots']} clutter) over {scenario.duration_s:g} s, "
              f"seed {scenario.seed}", file=sys.stdout, flush=True)
    return 0
