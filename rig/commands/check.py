"""``rig check CONFIG``: validate a bench config without running it."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("check", help="validate a bench config without running it",
                       description="Load and validate a bench config and the scenario it "
                                   "names; print what the run would do. Exit code 2 with a "
                                   "message naming the file and the key when it is invalid.")
    p.add_argument("config", help="bench config (YAML)")
    p.set_defaults(func=run)


def run(args) -> int:
    from rig.bench.config import load_bench_config

    loaded = load_bench_config(args.config)
    cfg = loaded.config
    sc = loaded.scenario
    print(f"{loaded.path}: ok")
    print(f"  {cfg.name}: mode {cfg.mode}, {cfg.duration_s:g} s, origin "
          f"{sc.origin.lat_deg:.4f} {sc.origin.lon_deg:.4f} {sc.origin.alt_m:g} m")
    print(f"  scenario {sc.name!r}: {len(sc.trajectories)} targets, seed {sc.seed}")
    for entry, radar in zip(cfg.sensors, loaded.radars):
        print(f"  sensor {entry.id} (partner {radar.partner}): {entry.family} via "
              f"{entry.transport}{'' if entry.required else ' (not required)'}")
    for feed in cfg.outputs.feeds:
        print(f"  feed to partner {feed.partner}: {feed.format} via {feed.transport}")
    print(f"  {len(loaded.limits)} limits: " + ", ".join(f"{l.name} {l.unit}" for l in loaded.limits))
    return 0
