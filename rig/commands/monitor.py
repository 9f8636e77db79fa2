"""``rig monitor [FAMILY] [URL]``: watch a sensor of any family, or a partner's CAT062 feed,
with live counters; the sensor is told to stop streaming when the monitor ends."""

from __future__ import annotations

import json
import sys

LAST_ROWS = 8


def add_parser(sub) -> None:
    p = sub.add_parser(
        "monitor", help="watch a sensor (any family) or a partner's CAT062 feed live",
        description="Open a sensor through its family's driver and show plots, rates, "
                    "decoder counters and latency while it streams; or listen to a partner's "
                    "CAT062 feed (FAMILY cat062) and show its tracks. FAMILY is a sensor "
                    "family (serial-sensor, asterix-cat048, scpi-sensor, esm-sensor, or a "
                    "plug-in) or cat062; without it the family follows from URL: udp:// is "
                    "asterix-cat048, a VISA resource string (TCPIP::HOST::PORT::SOCKET) is "
                    "scpi-sensor, anything else serial-sensor. Without URL (or with "
                    "--emulate) the family's emulator is started in its own process. Ends "
                    "after --duration, at Ctrl-C or SIGTERM; then the sensor is told to stop "
                    "streaming (serial STOP, SCPI ABORt; CAT048 over UDP has no control "
                    "channel). On a terminal a live table; otherwise one key=value line a "
                    "second on stdout and a summary on stderr. Exit code 3 when the port or "
                    "instrument cannot be opened, 2 for usage errors.")
    p.add_argument("source", nargs="?", metavar="FAMILY",
                   help="sensor family or cat062 (default: from URL, else serial-sensor)")
    p.add_argument("url", nargs="?", metavar="URL",
                   help="serial port or pyserial URL, udp://@HOST:PORT, VISA resource "
                        "(default: emulate)")
    p.add_argument("--emulate", action="store_true", help="start an emulated sensor")
    p.add_argument("--rate", type=float, default=20000.0, metavar="PLOTS_PER_S",
                   help="plot rate of the emulated sensor (default 20000)")
    p.add_argument("--duration", type=float, default=10.0, metavar="S",
                   help="seconds to run (default 10)")
    p.add_argument("--baudrate", type=int, default=None,
                   help="serial baud rate (a family option; serial-sensor default 921600)")
    p.add_argument("--last", type=int, default=LAST_ROWS, metavar="N",
                   help=f"rows of the table of the last items received (default {LAST_ROWS})")
    p.set_defaults(func=run)


def run(args) -> int:
    from rig.errors import TransportError, UsageError
    from rig.monitor.tally import Tally
    from rig.monitor.target import resolve

    if not 0 < args.duration <= 1e7:
        raise UsageError(f"--duration must be positive and at most 1e7 s, not {args.duration}")
    if not 0 < args.rate <= 1e7:
        raise UsageError(f"--rate must be positive and at most 1e7, not {args.rate}")
    if args.baudrate is not None and not args.baudrate > 0:
        raise UsageError(f"--baudrate must be positive, not {args.baudrate}")
    if not 0 <= args.last <= 1000:
        raise UsageError(f"--last must be 0 to 1000, not {args.last}")
    target = resolve(args.source, args.url, emulate=args.emulate)
    source = _open(target, args)
    print(f"rig monitor: {source.title}", file=sys.stderr, flush=True)
    tally = Tally()
    try:
        _watch(source, tally, args)
    finally:
        _summary(source, tally, args.duration)
    if source.stop_error:
        raise TransportError(f"could not stop {source.title} streaming: {source.stop_error}")
    return 0


def _watch(source, tally, args) -> None:
    """Read and show until the duration ends or Ctrl-C / SIGTERM; then stop and close the
    source. A signal is taken as a request, seen between reads (at most 0.25 s later), so
    that no batch already read goes uncounted; it then ends the command as usual (130, 143)."""
    import signal

    from rig.errors import Terminated
    from rig.monitor.view import MonitorView, shown

    asked: list[int] = []
    previous = {s: signal.signal(s, lambda signum, _frame: asked.append(signum))
                for s in (signal.SIGINT, signal.SIGTERM)}

    with MonitorView(f"rig monitor {source.title}", source.columns) as view:
        def show(**extra) -> None:
            last = tally.last[-args.last:] if tally.last is not None and args.last else []
            values = {"state": source.state, "elapsed_s": f"{tally.elapsed_s:.1f}",
                      source.what: tally.total, "rate_per_s": f"{tally.rate_per_s():.0f}",
                      **{k: v for k, v in source.counters().items() if k != "crc_errors"},
                      "latency_ms_p50": tally.latency_ms(50),
                      "latency_ms_p99": tally.latency_ms(99), **extra}
            view.show({k: shown(v) for k, v in values.items()}, source.rows(last))

        try:
            while not asked and (left := args.duration - tally.elapsed_s) > 0:
                items = source.read(min(0.25, left))
                tally.add(items, source.latency_s(items))
                show()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            tally.add(source.finish())
            show(stop="failed" if source.stop_error else source.stop_sent or "none")
    if asked:
        raise KeyboardInterrupt() if asked[0] == signal.SIGINT else Terminated()


def _open(target, args):
    from pydantic import ValidationError

    from rig.errors import UsageError
    from rig.firmware import get_interface
    from rig.monitor.feed import Cat062Feed
    from rig.monitor.sensor import SensorMonitor

    if target.is_feed:
        return Cat062Feed(target.url, baudrate=args.baudrate)
    interface = get_interface(target.source)
    given = {} if args.baudrate is None else {"baudrate": args.baudrate}
    for key in given:
        if key not in interface.options.model_fields:
            raise UsageError(f"--{key}: family {interface.name} has no {key} option")
    try:
        options = interface.options(**given)
    except ValidationError as e:
        raise UsageError(f"family {interface.name}: {e.errors()[0]['msg']}") from None
    return SensorMonitor(interface, target.url, options, rate=args.rate,
                         duration_s=args.duration)


def _summary(source, tally, duration_s: float) -> None:
    """What was received, and whether the sensor was stopped, on stderr (last line)."""
    c = source.counters()
    if source.emulator_summary is not None:
        print(f"rig monitor: emulator: {json.dumps(source.emulator_summary)}", file=sys.stderr)
    if source.stop_error:
        stopped = f"stop failed: {source.stop_error}"
    elif source.stop_sent:
        stopped = f"{source.stop_sent} acknowledged: streaming stopped"
    elif source.emulator_summary is not None:
        stopped = "no stop sent: no control channel (its emulator was ended)"
    else:
        stopped = "no stop sent: no control channel, the source goes on sending"
    parts = [f"sequence gaps {shown_count(c['seq_gaps'])}"]
    if c.get("crc_errors") is not None:
        parts.append(f"CRC errors {c['crc_errors']}")
    parts += [f"decoder errors {c['decoder_errors']}",
              f"bytes skipped {shown_count(c['bytes_skipped'])}"]
    print(f"received {tally.total} {source.what} in {min(tally.elapsed_s, duration_s):.1f} s; "
          f"{', '.join(parts)}; {stopped}", file=sys.stderr, flush=True)


def shown_count(value) -> str:
    return "-" if value is None else str(value)
