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
    plots = expected_plots(loaded)
    if plots is not None:
        print(f"  about {plots} plots over the run ({plots / cfg.duration_s:.1f}/s), "
              f"{int(cfg.duration_s / cfg.outputs.period_s)} pictures")
    print(f"  {len(loaded.limits)} limits: " + ", ".join(f"{l.name} {l.unit}" for l in loaded.limits))
    for warning in inconclusive_by_design(cfg, loaded.limits, plots):
        print(f"  warning: {warning}")
    return 0


def expected_samples(cfg, plots: int | None = None) -> dict[str, int]:
    """How many samples a run of ``cfg`` gives: one per picture (lateness), one per interval
    between pictures (jitter), one per grid time of the accuracy scoring after the warm-up
    (OSPA, GOSPA) and, when ``plots`` is known, one per plot (processing and transport
    latency)."""
    ticks = int(cfg.duration_s / cfg.outputs.period_s)
    scored = max(0, int(cfg.duration_s - cfg.accuracy.warmup_s))
    counts = {"tick_lateness_ms": ticks, "tick_jitter_ms": max(0, ticks - 1),
              "ospa_m": scored, "gospa_m": scored}
    if plots is not None:
        counts.update(processing_latency_ms=plots, transport_latency_ms=plots)
    return counts


def expected_plots(loaded) -> int | None:
    """About how many plots an emulated run of ``loaded`` fuses: its radars' models drawn
    over the scenario for the run's duration, as the emulators draw them (None when a sensor
    is real: its rate is not known beforehand)."""
    if not loaded.has_truth:
        return None
    from rig.sensor_models.radar import RadarModel
    from rig.sensor_models.simulate import sensor_rng

    sc = loaded.scenario
    return sum(len(RadarModel(radar, sc.origin).plots(
        sc.trajectories, 0.0, loaded.config.duration_s, sensor_rng(sc.seed, radar.id)))
        for radar in loaded.radars)


def inconclusive_by_design(cfg, limits, plots: int | None = None) -> list[str]:
    """The percentile limits that the run's duration and rates cannot decide even when every
    sample is within them (judged at 95 % confidence)."""
    from rig.harness.limits import samples_for_pass
    from rig.harness.measurements import PERCENTILES

    counts = expected_samples(cfg, plots)
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
