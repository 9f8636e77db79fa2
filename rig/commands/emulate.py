"""``rig emulate``: serve an emulated sensor so a host program or a person can open it."""

from __future__ import annotations

import json

from rig.firmware import available as available_families


def add_parser(sub) -> None:
    p = sub.add_parser(
        "emulate", help="serve an emulated serial sensor on a pty or serial port",
        description="Serve an emulated rig serial sensor. With --port pty (the default) a new "
                    "pseudo-terminal is made and its path printed; open it with any serial "
                    "program or 'rig monitor PATH'. Streaming starts when the host sends START "
                    "(or at once with --autostart). One JSON object per line goes to stdout: "
                    "{\"event\": \"ready\", \"device\": PATH} first, a summary at the end.")
    p.add_argument("--port", default="pty", metavar="PTY|URL",
                   help="'pty' for a new pseudo-terminal (default), or a serial port / "
                        "pyserial URL to serve on")
    p.add_argument("--rate", type=float, default=1000.0, metavar="PLOTS_PER_S",
                   help="plots per second (default 1000)")
    p.add_argument("--duration", type=float, default=None, metavar="S",
                   help="stop after S seconds (default: until Ctrl-C or SIGTERM)")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed of the plots (default 0; with --scenario the scenario's)")
    p.add_argument("--scan-period", type=float, default=4.0, metavar="S",
                   help="antenna rotation period (default 4 s)")
    p.add_argument("--frame-interval", type=float, default=0.002, metavar="S",
                   help="how often pending plots are framed and sent (default 0.002 s)")
    p.add_argument("--status-period", type=float, default=1.0, metavar="S",
                   help="period of unsolicited STATUS messages, 0 for none (default 1 s)")
    p.add_argument("--clock-offset", type=float, default=0.0, metavar="S",
                   help="sensor clock offset from true time (default 0)")
    p.add_argument("--clock-drift", type=float, default=0.0, metavar="PPM",
                   help="sensor clock drift (default 0)")
    p.add_argument("--no-range-rate", action="store_true", help="plots without range rate")
    p.add_argument("--stamp", choices=("detect", "transmit"), default="detect",
                   help="plot time: when detected (default), or when framed and written "
                        "(to measure the line's latency alone)")
    p.add_argument("--autostart", action="store_true",
                   help="stream at once instead of waiting for START")
    p.add_argument("--family", choices=list(available_families()), default="serial-sensor",
                   help="sensor hardware family (default serial-sensor). asterix-cat048: "
                        "CAT048 over UDP, --port udp://HOST:PORT is where it sends (default "
                        "udp://127.0.0.1:8600). scpi-sensor: a SCPI instrument on a TCP port "
                        "(--port N, 0 picks a free one; default 5025), announced as a VISA "
                        "resource string")
    p.add_argument("--sac", type=int, default=0, help="asterix-cat048: System Area Code (default 0)")
    p.add_argument("--sic", type=int, default=1,
                   help="asterix-cat048: System Identification Code (default 1)")
    p.add_argument("--site-alt", type=float, default=0.0, metavar="M",
                   help="asterix-cat048: radar altitude above mean sea level (default 0)")
    p.add_argument("--host", default="127.0.0.1",
                   help="scpi-sensor: address to listen on (default 127.0.0.1, loopback only)")
    p.add_argument("--scenario", default=None, metavar="FILE|builtin",
                   help="stream what a radar of this scenario reports (a YAML scenario file, "
                        "or 'builtin' for the default two-partner scenario) instead of random "
                        "plots, stamped by that radar's own offset and drifting clock "
                        "(--clock-offset/--clock-drift add to them); stops when the scenario "
                        "ends unless --duration is given")
    p.add_argument("--sensor", default=None, metavar="ID",
                   help="with --scenario: the radar to emulate (default: the first)")
    p.add_argument("--speed", type=float, default=1.0, metavar="FACTOR",
                   help="with --scenario: run the scenario FACTOR times faster than real "
                        "time; the sensor clock then reads scenario time (default 1)")
    p.add_argument("--start-at", type=int, default=None, metavar="NS",
                   help="host monotonic time (ns) at which emulation time 0 is, shared by the "
                        "emulators of one run; the sensor clock then reads emulation time "
                        "(plus its offset and drift) instead of the host's clock")
    p.add_argument("--faults", default=None, metavar="JSON",
                   help="faults to inject, a JSON list of {kind, at_s, duration_s, ...} in "
                        "emulation time (see rig.emulation.faults); '@FILE' reads the list "
                        "from FILE")
    p.add_argument("--link", default=None, metavar="PATH",
                   help="serial-sensor: keep PATH a symbolic link to the current pty and "
                        "announce it as the device (a host can reopen it after a disconnect)")
    p.set_defaults(func=run)


def _positive(name: str, value: float | None) -> None:
    from rig.errors import UsageError

    if value is not None and not value > 0:
        raise UsageError(f"--{name} must be positive, not {value}")


def plot_source(args):
    """(source, clock) of the emulated sensor: a scenario's radar, or random plots.

    With ``--scenario`` the duration defaults to the scenario's; ``args`` is updated."""
    from rig.emulation import RandomPlotSource, SensorClock

    if args.scenario is not None:
        from rig.emulation.scenario_source import scenario_emulation

        run_ = scenario_emulation(args.scenario, args.sensor, speed=args.speed,
                                  seed=args.seed, extra_offset_s=args.clock_offset,
                                  extra_drift_ppm=args.clock_drift)
        args.duration = args.duration or run_.duration_s
        return run_.source, run_.clock
    source = RandomPlotSource(args.rate, scan_period_s=args.scan_period,
                              seed=args.seed or 0, range_rate=not args.no_range_rate,
                              stamp_at_take=args.stamp == "transmit")
    return source, SensorClock(args.clock_offset, args.clock_drift)


def fault_schedule(args):
    """The ``--faults`` schedule (empty without it); a bad list is a usage error."""
    from pathlib import Path

    from pydantic import ValidationError

    from rig.emulation.faults import FaultSchedule
    from rig.errors import UsageError

    text = args.faults
    if text and text.startswith("@"):
        text = Path(text[1:]).read_text()
    try:
        return FaultSchedule.from_json(text, seed=args.seed or 0)
    except (ValueError, ValidationError) as e:
        raise UsageError(f"--faults: {e}") from e


def run(args) -> int:
    import importlib

    from rig.errors import UsageError
    from rig.firmware import get_interface

    _positive("rate", args.rate)
    _positive("duration", args.duration)
    _positive("scan-period", args.scan_period)
    _positive("frame-interval", args.frame_interval)
    source, clock = plot_source(args)
    args.fault_schedule = fault_schedule(args)
    runner = get_interface(args.family).emulator_runner
    if not runner:
        raise UsageError(f"family {args.family} has no emulator")
    module, _, function = runner.partition(":")
    return getattr(importlib.import_module(module), function)(args, source, clock, _emit)


def _emit(event: dict) -> None:
    print(json.dumps(event), flush=True)
