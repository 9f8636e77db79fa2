"""``rig run CONFIG``: the real-time bench run."""

from __future__ import annotations

import sys
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser(
        "run", help="run the bench: sensors, live fusion, partner feeds, limits, reports",
        description="Run a bench config: start an emulator process per emulated sensor, open "
                    "every sensor with its real driver, fuse all plots in real time, publish "
                    "the fused picture to every partner's feed, and check timing and accuracy "
                    "against the config's limits. Writes tracks.csv, report.json, junit.xml "
                    "and report.html into --out. Stops at the end of the duration, or cleanly "
                    "on Ctrl-C / SIGTERM. Exit codes: 0 every limit held, 1 a limit failed, "
                    "2 bad configuration, 3 a required sensor could not be opened.")
    p.add_argument("config", help="bench config (YAML), e.g. bench_configs/emulated.yaml")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="output folder (default: a new time-stamped folder under runs/)")
    p.add_argument("--duration", type=float, default=None, metavar="S",
                   help="override the config's duration_s")
    p.add_argument("--live", dest="live", action="store_true", default=None,
                   help="live table even when stdout is not a terminal")
    p.add_argument("--no-live", dest="live", action="store_false",
                   help="plain log lines even on a terminal")
    p.add_argument("--record", type=Path, default=None, metavar="FILE",
                   help="record every raw byte stream, the loop's cycles and the published "
                        "outputs into FILE (relative: inside --out), for 'rig replay'")
    p.add_argument("--force", action="store_true",
                   help="overwrite an existing recording (--record or the config's "
                        "record.path)")
    p.add_argument("--realtime", action="store_true",
                   help="ask for SCHED_FIFO, CPU pinning and 1 ns timer slack where permitted "
                        "(reported in report.json; never required)")
    p.add_argument("--web", action="store_true",
                   help="serve the live air picture (map, tracks, sensors, limits at risk) "
                        "to a browser at --web-host:--web-port")
    p.add_argument("--web-host", default="127.0.0.1", metavar="HOST",
                   help="address the web view listens on (default 127.0.0.1: this machine "
                        "only; the page has no login, so expose it only on a bench network)")
    p.add_argument("--web-port", type=int, default=8765, metavar="PORT",
                   help="port of the web view (default 8765; 0: any free port, printed)")
    p.set_defaults(func=run)


def run(args) -> int:
    from functools import partial

    from rig.bench.config import load_bench_config
    from rig.bench.run import default_out_dir, run_bench
    from rig.errors import UsageError

    if args.duration is not None and not args.duration > 0:
        raise UsageError(f"--duration must be positive, not {args.duration}")
    if not 0 <= args.web_port <= 65535:
        raise UsageError(f"--web-port must be 0..65535, not {args.web_port}")
    loaded = load_bench_config(args.config, duration_s=args.duration)
    out = args.out or default_out_dir()
    outcome = run_bench(loaded, out, view=partial(_views, args), realtime=args.realtime,
                        record=args.record, force=args.force)
    _print_summary(outcome)
    return outcome.exit_code


def _views(args, bench):
    """The views of the run: the terminal's, and the browser's with --web."""
    from rig.bench.live import LiveView
    from rig.bench.view_pipe import ViewGroup

    views = [LiveView.of_bench(bench, live=args.live)]
    if args.web:
        from rig.web.feed import WebView

        views.append(WebView.of_bench(bench, host=args.web_host, port=args.web_port,
                                      figures=views[0]))
    return ViewGroup(views)


def limit_lines(limits: list[dict]) -> list[str]:
    """One line per limit: outcome, name, value, and why when it did not pass."""
    lines = []
    for lim in limits:
        value = "-" if lim["value"] is None else f"{lim['value']:.4g}"
        why = f" ({lim['reason']})" if lim["outcome"] != "pass" and lim["reason"] else ""
        lines.append(f"  [{lim['outcome']}] {lim['name']} {lim['unit']}: {value}{why}")
    return lines


def _print_summary(outcome) -> None:
    r = outcome.report
    t = r["timing"]
    lines = [f"rig run: {r['outcome'].upper()} ({r['name']}, {r['duration_s']:.1f} s, "
             f"stopped by {r['stopped_by']})"]
    pl, tj = t["processing_latency_ms"], t["tick_jitter_ms"]
    if pl["count"]:
        jitter = f"{tj['p99']:.3f} ({tj['count']} ticks)" if tj["count"] else "-"
        lines.append(f"  processing latency ms p50 {pl['p50']:.3f} p99 {pl['p99']:.3f} max "
                     f"{pl['max']:.3f}; tick jitter ms p99 {jitter}; deadline misses "
                     f"{t['deadline_misses']}")
    platform = (r.get("timing_platform") or {}).get("processing_latency_ms")
    probe = (r.get("environment") or {}).get("platform_probe") or {}
    if platform and platform["count"]:
        cpu = (f" (CPU s/s: rig {probe['rig_cpu_s_per_s']:.2f}, others "
               f"{probe['others_cpu_s_per_s']:.2f}, stolen {probe['steal_cpu_s_per_s']:.2f})"
               if probe.get("rig_cpu_s_per_s") is not None else "")
        lines.append(f"  the machine at the same moments, late on others' account: ms p50 "
                     f"{platform['p50']:.3f} p99 {platform['p99']:.3f} max "
                     f"{platform['max']:.3f}{cpu}")
    c = r["counts"]
    lines.append(f"  plots {c['plots_received']}, dropped {c['dropped_plots']}, decoder errors "
                 f"{c['decoder_errors']}, tracks published {c['tracks_published']}")
    for label, s in (r["accuracy"].get("pictures") or {}).items():
        lines.append(f"  {label}: OSPA mean {s['ospa_mean_m']:.1f} m, false tracks "
                     f"{s['false_tracks']}, missed {s['missed_targets']}")
    truth = r.get("truth_check")
    if truth:
        from rig.harness.truth_check import latency_truth_violations, registration_errors

        worst = registration_errors(truth["registration"])
        lines.append(f"  against truth: {latency_truth_violations(truth['transport_latency'])} "
                     f"plots outside their sensor's true latency; registration error up to "
                     f"{worst['registration_range_error_m']:.1f} m, "
                     f"{worst['registration_az_error_mrad']:.2f}/"
                     f"{worst['registration_el_error_mrad']:.2f} mrad az/el, "
                     f"{worst['registration_clock_error_ms']:.0f} ms clock")
    if "not_measurable" in r["accuracy"]:
        lines.append(f"  accuracy: {r['accuracy']['not_measurable']}")
    lines += limit_lines(r["limits"])
    lines.append(f"  reports in {outcome.out_dir}/")
    print("\n".join(lines), file=sys.stderr)
