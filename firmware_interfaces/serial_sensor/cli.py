"""``rig emulate`` (family serial-sensor): an emulated serial sensor in this process."""

from __future__ import annotations

import signal
import sys

from .emulator import SerialSensorEmulator


def run_emulator(args, source, clock, emit) -> int:
    """Serve until the duration ends or a signal stops it; ``emit`` prints one JSON event."""
    emulator = SerialSensorEmulator(
        source, port=args.port, clock=clock, frame_interval_s=args.frame_interval,
        status_period_s=args.status_period, autostart=args.autostart,
        faults=args.fault_schedule, link=args.link, on_event=emit)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: emulator.stop())
    emit({"event": "ready", "device": emulator.device_path, "family": "serial-sensor",
          "rate": args.rate})
    print(f"rig emulate: serial sensor on {emulator.device_path}", file=sys.stderr, flush=True)
    try:
        stats = emulator.serve(args.duration, start_ns=args.start_at)
    finally:
        emulator.close()
    emit({"event": "done", "frames_sent": stats.frames_sent, "plots_sent": stats.plots_sent,
          "overrun_frames": stats.overrun_frames, "overrun_plots": stats.overrun_plots,
          "first_seq": stats.first_seq, "last_seq": stats.last_seq,
          "last_plot_seq": stats.last_plot_seq, "unsent_bytes": stats.unsent_bytes,
          "rx_errors": stats.rx_errors, "commands": stats.commands,
          "plots_silenced": stats.plots_silenced, "plots_unplugged": stats.plots_unplugged,
          "bytes_lost_unplugged": stats.bytes_lost_unplugged,
          "faults": emulator.faults.counts})
    return 0
