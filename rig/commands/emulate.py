"""``rig emulate``: serve an emulated sensor so a host program or a person can open it."""

from __future__ import annotations

import argparse
import json

from rig.firmware import available as available_families

DEFAULT_FAMILY = "serial-sensor"


def add_parser(sub, argv: list[str] | None = None) -> None:
    """``rig emulate``; with ``argv`` (an ``rig emulate`` command line), also the flags of
    the family it names (``--family``, the default family without it)."""
    p = sub.add_parser(
        "emulate", help="serve an emulated sensor (serial on a pty by default)",
        description="Serve an emulated sensor of a family (--family). The default, a rig serial "
                    "sensor, with --port pty (the default) makes a new pseudo-terminal and "
                    "prints its path; open it with any serial program or 'rig monitor PATH'; "
                    "it streams when the host sends START. One JSON object per line goes to "
                    "stdout: {\"event\": \"ready\", \"device\": PATH} first, a summary at "
                    "the end. Each family has flags of its own: 'rig emulate --family NAME "
                    "--help' lists them.")
    p.add_argument("--port", default="pty", metavar="PTY|URL",
                   help="'pty' for a new pseudo-terminal (default), a serial port / "
                        "pyserial URL to serve on, or (serial-sensor) tcp:PORT to serve the "
                        "line on TCP for socket:// or, with --rfc2217, rfc2217:// hosts")
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
    p.add_argument("--frame-phase", type=float, default=0.0, metavar="F",
                   help="shift the frames by F (0 to 1) of the frame interval, so that the "
                        "emulators of one run (sharing --start-at) do not all wake at once "
                        "(default 0)")
    p.add_argument("--clock-offset", type=float, default=0.0, metavar="S",
                   help="sensor clock offset from true time (default 0)")
    p.add_argument("--clock-drift", type=float, default=0.0, metavar="PPM",
                   help="sensor clock drift (default 0)")
    p.add_argument("--no-range-rate", action="store_true", help="plots without range rate")
    p.add_argument("--stamp", choices=("detect", "transmit"), default="detect",
                   help="plot time: when detected (default), or when framed and written "
                        "(to measure the line's latency alone)")
    p.add_argument("--family", choices=list(available_families()), default=DEFAULT_FAMILY,
                   help="sensor hardware family (default serial-sensor). asterix-cat048: "
                        "CAT048 over UDP, --port udp://HOST:PORT is where it sends (default "
                        "udp://127.0.0.1:8600). scpi-sensor: a SCPI instrument on a TCP port "
                        "(--port N, 0 picks a free one; default 5025), announced as a VISA "
                        "resource string. esm-sensor: bearings over UDP, --port udp://HOST:PORT "
                        "(default udp://127.0.0.1:8640). cat062-tracks: a track-level "
                        "partner's tracker on a scenario's radar (--scenario, --sensor), CAT062 "
                        "tracks over UDP, --port udp://HOST:PORT (default udp://127.0.0.1:8620)")
    p.add_argument("--scenario", default=None, metavar="FILE|builtin",
                   help="stream what a radar of this scenario reports (a YAML scenario file, "
                        "or 'builtin' for the default two-partner scenario) instead of random "
                        "plots, stamped by that radar's own offset and drifting clock "
                        "(--clock-offset/--clock-drift add to them); stops when the scenario "
                        "ends unless --duration is given")
    p.add_argument("--sensor", default=None, metavar="ID",
                   help="with --scenario: the radar to emulate (default: the first)")
    p.add_argument("--variant", default=None, metavar="NAME",
                   help="with --scenario: add the scenario's variant NAME (the built-in "
                        "scenario's 'passive', 'tracks' or 'passive+tracks'), so that its "
                        "sensors (AP1, BP1, C1) can be emulated")
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
    p.set_defaults(func=run)
    family = _family_named(argv) if argv is not None else None
    if family in available_families():
        from rig.firmware import get_interface

        group = _FamilyGroup(p.add_argument_group(f"{family} options"))
        get_interface(family).add_emulator_arguments(group)
        p.set_defaults(family_flags=group.dests)


class _FamilyGroup:
    """An argument group that remembers the destinations of the flags a family adds."""

    def __init__(self, group):
        self._group = group
        self.dests: list[str] = []

    def add_argument(self, *names, **kwargs):
        action = self._group.add_argument(*names, **kwargs)
        self.dests.append(action.dest)
        return action


def _family_named(argv: list[str]) -> str:
    """The ``--family`` of an ``rig emulate`` command line (its default when not given)."""
    for i, word in enumerate(argv):
        if word == "--family" and i + 1 < len(argv):
            return argv[i + 1]
        if word.startswith("--family="):
            return word.partition("=")[2]
    return DEFAULT_FAMILY


def _positive(name: str, value: float | None, most: float) -> None:
    from rig.errors import UsageError

    if value is not None and not 0 < value <= most:
        raise UsageError(f"--{name} must be positive and at most {most:g}, not {value}")


def plot_source(args):
    """(source, clock) of the emulated sensor: a scenario's radar, or random plots.

    With ``--scenario`` the duration defaults to the scenario's; ``args`` is updated."""
    from rig.emulation import RandomPlotSource, SensorClock

    if args.scenario is not None:
        from rig.emulation.scenario_source import scenario_emulation

        run_ = scenario_emulation(args.scenario, args.sensor, speed=args.speed,
                                  variant=args.variant,
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
    from rig.firmware import EmulatorSettings, get_interface

    _positive("rate", args.rate, 1e7)                      # plots a second
    _positive("duration", args.duration, 1e7)              # seconds: about 115 days
    _positive("scan-period", args.scan_period, 3600)
    _positive("frame-interval", args.frame_interval, 60)
    if not 0.0 <= args.frame_phase < 1.0:
        raise UsageError(f"--frame-phase must be at least 0 and below 1, not {args.frame_phase}")
    family = get_interface(args.family)
    if not family.emulator_runner:
        raise UsageError(f"family {args.family} has no emulator")
    source, clock = plot_source(args)
    settings = EmulatorSettings(
        source=source, clock=clock, port=args.port, rate=args.rate, duration_s=args.duration,
        start_at_ns=args.start_at, frame_interval_s=args.frame_interval,
        frame_phase=args.frame_phase,
        faults=fault_schedule(args), emit=_emit, from_scenario=args.scenario is not None,
        clock_given=(args.scenario is not None or args.start_at is not None
                     or bool(args.clock_offset or args.clock_drift)))
    module, _, function = family.emulator_runner.partition(":")
    return getattr(importlib.import_module(module), function)(settings, _family_options(args))


def _family_options(args) -> argparse.Namespace:
    """The values of the family's own flags."""
    names = getattr(args, "family_flags", [])
    return argparse.Namespace(**{name: getattr(args, name) for name in names})


def _emit(event: dict) -> None:
    print(json.dumps(event), flush=True)
