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
    for warning in inconclusive_by_design(cfg, loaded.limits):
        print(f"  warning: {warning}")
    return 0


def expected_samples(cfg) -> dict[str, int]:
    """How many samples a run of ``cfg`` gives the measurements counted by its clock alone:
    one per picture (lateness), one per interval between pictures (jitter), one per grid
    time of the accuracy scoring after the warm-up (OSPA, GOSPA)."""
    ticks = int(cfg.duration_s / cfg.outputs.period_s)
    scored = max(0, int(cfg.duration_s - cfg.accuracy.warmup_s))
    return {"tick_lateness_ms": ticks, "tick_jitter_ms": max(0, ticks - 1),
            "ospa_m": scored, "gospa_m": scored}


def inconclusive_by_design(cfg, limits) -> list[str]:
    """The percentile limits that the run's duration and rates cannot decide even when every
    sample is within them (judged at 95 % confidence)."""
    from rig.harness.limits import samples_for_pass
    from rig.harness.measurements import PERCENTILES

    counts = expected_samples(cfg)
    warnings = []
    for lim in limits:
        if lim.statistic not in PERCENTILES or lim.measurement not in counts:
            continue
        share = PERCENTILES[lim.statistic] / 100.0
        needed = samples_for_pass(0, 1.0 - share if lim.op == "<=" else share)
        if counts[lim.measurement] < needed:
            warnings.append(f"{lim.name} cannot pass: the run gives about "
                            f"{counts[lim.measurement]} samples, a pass needs at least "
                            f"{needed} (a longer run, more pictures a second "
                            f"(outputs.period_s), or a lower percentile)")
    return warnings
