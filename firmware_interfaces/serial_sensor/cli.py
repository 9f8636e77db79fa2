"""``rig emulate`` (family serial-sensor): an emulated serial sensor in this process, on a
pty, a pyserial URL, or a TCP port (``--port tcp:PORT``, raw or ``--rfc2217``)."""

from __future__ import annotations

import signal
import sys

from rig.errors import UsageError
from rig.firmware import EmulatorSettings

from .device_port import tcp_port_number
from .emulator import SerialSensorEmulator


def run_emulator(run: EmulatorSettings, options) -> int:
    """Serve until the duration ends or a signal stops it; ``options``: the family's flags
    (``status_period``, ``autostart``, ``link``, ``rfc2217``, ``bind``)."""
    emit = run.emit
    tcp = tcp_port_number(run.port) is not None
    if not tcp and (options.rfc2217 or options.bind != "127.0.0.1"):
        raise UsageError("--rfc2217 and --bind serve the line on TCP: give --port tcp:PORT")
    if tcp and options.link:
        raise UsageError("--link names a pty; a TCP line is reached at its URL")
    emulator = SerialSensorEmulator(
        run.source, port=run.port, clock=run.clock, frame_interval_s=run.frame_interval_s,
        frame_phase=run.frame_phase,
        status_period_s=options.status_period, autostart=options.autostart,
        faults=run.faults, link=options.link, on_event=emit, bind=options.bind,
        rfc2217=options.rfc2217)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: emulator.stop())
    emit({"event": "ready", "device": emulator.device_path, "family": "serial-sensor",
          "rate": run.rate})
    print(f"rig emulate: serial sensor on {emulator.device_path}", file=sys.stderr, flush=True)
    try:
        stats = emulator.serve(run.duration_s, start_ns=run.start_at_ns)
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
