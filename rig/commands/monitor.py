"""``rig monitor``: open a serial sensor and show its decoded plots with live counters."""

from __future__ import annotations

import sys
import time


def add_parser(sub) -> None:
    p = sub.add_parser(
        "monitor", help="stream a serial sensor's plots with live counters",
        description="Open a rig serial sensor with the host driver and show plot rate, "
                    "decoder counters and latency while it streams. Without URL (or with "
                    "--emulate) an emulated sensor is started in its own process on a new "
                    "pseudo-terminal. Ends after --duration or at Ctrl-C; exit code 3 when "
                    "the port cannot be opened.")
    p.add_argument("url", nargs="?", help="serial port or pyserial URL (default: emulate)")
    p.add_argument("--emulate", action="store_true", help="start an emulated sensor")
    p.add_argument("--rate", type=float, default=20000.0, metavar="PLOTS_PER_S",
                   help="plot rate of the emulated sensor (default 20000)")
    p.add_argument("--duration", type=float, default=10.0, metavar="S",
                   help="seconds to run (default 10)")
    p.add_argument("--baudrate", type=int, default=921600, help="serial baud rate (default 921600)")
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np

    from firmware_interfaces.serial_sensor import SerialSensorDriver
    from rig.emulation.process import EmulatorProcess
    from rig.errors import UsageError
    from rig.live import LiveTable

    if args.url and args.emulate:
        raise UsageError("give a URL or --emulate, not both")
    if not args.duration > 0:
        raise UsageError(f"--duration must be positive, not {args.duration}")
    if not args.baudrate > 0:
        raise UsageError(f"--baudrate must be positive, not {args.baudrate}")
    emulator = None
    if not args.url:
        emulator = EmulatorProcess(["emulate", "--rate", str(args.rate),
                                    "--duration", str(args.duration + 5)], name="emulated sensor")
    try:
        url = args.url or emulator.device
        latencies_ms: list[np.ndarray] = []
        received = 0
        t0 = time.monotonic()
        with SerialSensorDriver(url, baudrate=args.baudrate) as sensor, LiveTable(
                f"rig monitor {url}") as live:
            sync = sensor.ping()
            offset_ns = sync.offset_ns
            while (elapsed := time.monotonic() - t0) < args.duration:
                plots = sensor.read_plots(timeout_s=0.25)
                received += len(plots)
                if len(plots):
                    lat = (plots["t_arrival_ns"] - (plots["t_sensor"] * 1e9 - offset_ns)) / 1e6
                    latencies_ms.append(lat)
                lat_all = np.concatenate(latencies_ms[-50:]) if latencies_ms else np.zeros(0)
                c = sensor.counters()
                live.update({
                    "state": sensor.state,
                    "plots received": received,
                    "plot rate /s": f"{received / max(elapsed, 1e-9):,.0f}",
                    "frames ok": c["frames_ok"],
                    "crc / header errors": f"{c['crc_errors']} / {c['header_errors']}",
                    "bytes skipped": c["bytes_skipped"],
                    "sequence gaps": c["seq_gaps"],
                    "plots dropped (queue)": c["plots_dropped"],
                    "clock offset ms": f"{offset_ns / 1e6:+.3f} (rtt {sync.rtt_ns / 1e6:.3f})",
                    "latency ms p50/p99": (f"{np.percentile(lat_all, 50):.3f} / "
                                           f"{np.percentile(lat_all, 99):.3f}"
                                           if len(lat_all) else "-"),
                })
            counters = sensor.counters()
        print(f"received {received} plots in {args.duration:g} s; sequence gaps "
              f"{counters['seq_gaps']}, CRC errors {counters['crc_errors']}, bytes skipped "
              f"{counters['bytes_skipped']}", file=sys.stderr)
    finally:
        if emulator is not None:
            emulator.stop()
    return 0
