"""``rig check CONFIG...``: validate bench configs without running them; ``--schema``
prints their JSON Schema, ``--probe`` opens their real sensors."""

from __future__ import annotations

import sys

from rig.errors import ConfigError, RigError
from rig.firmware import delivers_tracks


def add_parser(sub) -> None:
    p = sub.add_parser("check", help="validate bench configs without running them",
                       description="Load and validate bench configs and the scenarios they "
                                   "name; print what each run would do. Every problem of a "
                                   "file is one line FILE:LINE:COLUMN: key: message (expected "
                                   "...); exit code 2 when a config is invalid.")
    p.add_argument("config", nargs="*", help="bench configs (YAML)")
    p.add_argument("--schema", action="store_true",
                   help="print the JSON Schema of bench configs (draft 7, for editors) and "
                        "exit")
    p.add_argument("--probe", action="store_true",
                   help="after validating, open each real sensor's port or instrument and say "
                        "what answered; exit code 3 when a required one does not")
    p.set_defaults(func=run, parser=p)


def run(args) -> int:
    if args.schema:
        from rig.bench.config_schema import bench_config_schema_text

        sys.stdout.write(bench_config_schema_text())
        return 0
    if not args.config:
        args.parser.error("the following arguments are required: config (or --schema)")
    codes = [check_one(path, probe=args.probe) for path in args.config]
    failed = sum(code != 0 for code in codes)
    if len(codes) > 1 and failed:
        print(f"rig check: {failed} of {len(codes)} configs failed", file=sys.stderr)
    return max(codes)


def check_one(path: str, *, probe: bool = False) -> int:
    """Check one config, printing what it does or its problems (one a line, on stderr);
    returns its exit code."""
    from rig.bench.config import load_bench_config

    try:
        loaded = load_bench_config(path)
    except ConfigError as e:
        for problem in e.problems:
            print(problem, file=sys.stderr)
        return e.exit_code
    except RigError as e:
        print(f"rig check: {path}: error: {e}", file=sys.stderr)
        return e.exit_code
    describe(loaded)
    if probe:
        from rig.bench.probe import print_probes, probe_sensors

        return print_probes(probe_sensors(loaded.config))
    return 0


def describe(loaded) -> None:
    """What a run of ``loaded`` would do."""
    cfg = loaded.config
    sc = loaded.scenario
    print(f"{loaded.path}: ok")
    print(f"  {cfg.name}: mode {cfg.mode}, {cfg.duration_s:g} s, origin "
          f"{sc.origin.lat_deg:.4f} {sc.origin.lon_deg:.4f} {sc.origin.alt_m:g} m")
    print(f"  scenario {sc.name!r}: {len(sc.trajectories)} targets, seed {sc.seed}")
    for entry, radar in zip(cfg.sensors, loaded.radars):
        sends = " (the partner's tracks)" if delivers_tracks(entry.family) else ""
        print(f"  sensor {entry.id} (partner {radar.partner}): {entry.family} via "
              f"{entry.transport}{sends}{'' if entry.required else ' (not required)'}")
    for feed in cfg.outputs.feeds:
        print(f"  feed to partner {feed.partner}: {feed.format} via {feed.transport}")
    plots = expected_plots(loaded)
    if plots is not None:
        print(f"  about {plots} plots over the run ({plots / cfg.duration_s:.1f}/s), "
              f"{int(cfg.duration_s / cfg.outputs.period_s)} pictures")
    print(f"  {len(loaded.limits)} limits: " + ", ".join(f"{l.name} {l.unit}" for l in loaded.limits))
    for warning in inconclusive_by_design(cfg, loaded.limits, plots):
        print(f"  warning: {warning}")


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
    over the scenario for the run's duration, as the emulators draw them, but for the radars
    of track-level partners (None when a sensor is real: its rate is not known
    beforehand)."""
    if not loaded.has_truth:
        return None
    from rig.sensor_models.radar import RadarModel
    from rig.sensor_models.simulate import sensor_rng

    sc = loaded.scenario
    return sum(len(RadarModel(radar, sc.origin).plots(
        sc.trajectories, 0.0, loaded.config.duration_s, sensor_rng(sc.seed, radar.id)))
        for entry, radar in zip(loaded.config.sensors, loaded.radars)
        if not delivers_tracks(entry.family))      # its plots stay with its partner's tracker


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
