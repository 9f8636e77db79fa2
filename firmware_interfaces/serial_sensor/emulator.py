"""Device side of the serial sensor protocol: an emulated plot extractor.

The emulator serves one serial line (a new pseudo-terminal by default, any pyserial URL, or a
TCP port as a terminal server does: raw bytes or RFC 2217), answers the control messages of ``protocol.py`` and, once started, streams the plots of its
plot source in frames, paced by the monotonic clock (a pty ignores the baud rate). Plot times
are stamped by the sensor's own clock (:class:`rig.emulation.SensorClock`).

Like real hardware it never blocks on the line: frames go into a bounded transmit buffer, and
when the host does not read fast enough and the buffer is full, whole frames are dropped and
counted as overruns (their sequence numbers are used, so the host sees the gap).
"""

from __future__ import annotations

import logging
import os
import select
import time
from dataclasses import dataclass, field
from pathlib import Path

from rig.emulation import Pacer, PlotSource, SensorClock
from rig.emulation.faults import FaultSchedule
from rig.emulation.pacing import MAX_WAIT_S, ns_after

from . import protocol as P
from .codec import SerialFrameDecoder, encode_frame, encode_plots
from .device_port import open_device_port

log = logging.getLogger(__name__)


@dataclass
class EmulatorStats:
    frames_sent: int = 0
    plots_sent: int = 0
    overrun_frames: int = 0
    overrun_plots: int = 0
    rx_errors: int = 0
    commands: dict = field(default_factory=dict)
    first_seq: int | None = None
    last_seq: int | None = None
    last_plot_seq: int | None = None
    unsent_bytes: int = 0
    plots_silenced: int = 0          # detected while a 'silent' fault held the sensor quiet
    plots_unplugged: int = 0         # detected while a 'disconnect' fault had the line away
    bytes_lost_unplugged: int = 0    # queued for the line when it went away


class SerialSensorEmulator:
    """One emulated sensor on one serial line.

    ``port``: ``"pty"`` (a new pseudo-terminal; its path is :attr:`device_path`), a pyserial
    URL, or ``"tcp:PORT"``: a TCP server on ``bind`` (loopback unless given; port 0 picks a
    free one), speaking RFC 2217 with ``rfc2217``; :attr:`device_path` is then the URL a host
    opens (``socket://HOST:PORT``, ``rfc2217://HOST:PORT``). ``frame_interval_s``: how often
    pending plots are framed and sent (ticks at which no plot is due are slept through;
    ``frame_phase``, 0 to 1, shifts the ticks by that fraction of the interval).
    ``status_period_s``: period of unsolicited STATUS messages (0 turns them off).
    ``faults``: a :class:`FaultSchedule` applied to what goes on the line; ``link``: a path
    kept as a symbolic link to the current pty (and announced as the device), so a host can
    reopen the line after a 'disconnect' fault has closed the pty and made a new one;
    ``on_event``: called with each fault's start and end, and a TCP line's connections and
    line settings (dicts).
    """

    def __init__(self, source: PlotSource, *, port: str = "pty", clock: SensorClock | None = None,
                 frame_interval_s: float = 0.002, status_period_s: float = 1.0,
                 tx_buffer_bytes: int = 262144, autostart: bool = False,
                 max_plots_per_frame: int = P.MAX_PLOTS_PER_FRAME,
                 faults: FaultSchedule | None = None, link: str | None = None, on_event=None,
                 bind: str = "127.0.0.1", rfc2217: bool = False, frame_phase: float = 0.0):
        if not 1 <= max_plots_per_frame <= P.MAX_PLOTS_PER_FRAME:
            raise ValueError(f"max_plots_per_frame must be 1..{P.MAX_PLOTS_PER_FRAME}")
        self.source = source
        self.on_event = on_event
        self._port_options = dict(bind=bind, rfc2217=rfc2217, on_event=self._event)
        self.port = open_device_port(port, **self._port_options)
        self.port_spec = self.port.spec          # the same line again after a disconnect
        self.link = Path(link) if link else None
        if self.link is not None:
            _point_link(self.link, self.port.path)
        self.device_path = str(self.link) if self.link else self.port.path
        self.faults = faults or FaultSchedule([])
        self.frame_interval_s = frame_interval_s
        self.frame_phase = frame_phase
        self.status_period_s = status_period_s
        self.tx_buffer_bytes = tx_buffer_bytes
        self.max_plots_per_frame = max_plots_per_frame
        self.streaming = autostart
        self.stats = EmulatorStats()
        self._clock_template = clock or SensorClock()
        self.clock = self._clock_template
        self._decoder = SerialFrameDecoder(sensor_id=0)
        self._tx = bytearray()
        self._seq = 0
        self._overrun_since_status = False
        self._stop = False
        self._start_ns = 0

    # --- public ------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask :meth:`serve` to return (safe from a signal handler)."""
        self._stop = True

    def serve(self, duration_s: float | None = None, *, start_ns: int | None = None) -> EmulatorStats:
        """Run until :meth:`stop` or ``duration_s`` seconds after the start; returns the
        statistics.

        ``start_ns`` (host monotonic) is emulation time 0, shared by the emulators of one run;
        the sensor clock then reads emulation time plus its offset and drift. Without it the
        start is now and a clock without an epoch reads the host's monotonic clock."""
        synchronised = start_ns is not None
        self._start_ns = start_ns if synchronised else time.monotonic_ns()
        clock = self._clock_template
        epoch_s = clock.epoch_s or (0.0 if synchronised else self._start_ns * 1e-9)
        self.clock = base_clock = SensorClock(clock.offset_s, clock.drift_ppm, epoch_s)
        end_ns = None if duration_s is None else self._start_ns + round(duration_s * 1e9)
        frames = Pacer(self.frame_interval_s, start_ns=self._start_ns, phase=self.frame_phase)
        status = Pacer(self.status_period_s, start_ns=self._start_ns) if self.status_period_s > 0 else None
        while not self._stop:
            now = time.monotonic_ns()
            if end_ns is not None and now >= end_ns:
                break
            t_s = (now - self._start_ns) * 1e-9
            if self.faults:
                self._apply_faults(t_s, base_clock)
            else:                       # no frame to make before the next plot is due
                frames.aim_at(ns_after(self._start_ns, self.source.next_release_s()))
            wait_s = frames.remaining_s(now)
            if status is not None:
                wait_s = min(wait_s, status.remaining_s(now))
            if end_ns is not None:
                wait_s = min(wait_s, (end_ns - now) * 1e-9)
            wait_s = min(wait_s, MAX_WAIT_S)        # a signal does not cut a wait short
            if self.port is None:                   # unplugged by a fault
                time.sleep(wait_s)
                now = time.monotonic_ns()
                if frames.due(now):
                    self.stats.plots_unplugged += len(self.source.take_until(
                        (now - self._start_ns) * 1e-9))
                continue
            self._wait_io(self._fileno(), wait_s)
            self._handle_input()
            now = time.monotonic_ns()
            if frames.due(now):
                self._emit_plots(now)
            if status is not None and status.due(now):
                self._queue_frame(P.MSG_STATUS, self._status().pack())
            if self.faults:
                self._tx += b"".join(self.faults.release((now - self._start_ns) * 1e-9))
            self._flush()
        if self.port is not None and not self._stop:    # a stop asked for: the host is gone
            self._flush_for(2.0)
        self.stats.unsent_bytes = len(self._tx)
        return self.stats

    def close(self) -> None:
        if self.port is not None:
            self.port.close()
        if self.link is not None:
            self.link.unlink(missing_ok=True)

    # --- faults --------------------------------------------------------------------------
    def _apply_faults(self, t_s: float, base_clock: SensorClock) -> None:
        for event in self.faults.events(t_s):
            if self.on_event is not None:
                self.on_event(event)
        self.clock = self.faults.clock(base_clock, t_s)
        unplugged = self.faults.disconnected(t_s)
        if unplugged and self.port is not None:
            self.stats.bytes_lost_unplugged += len(self._tx)
            self._tx.clear()
            self.port.close()
            self.port = None
        elif not unplugged and self.port is None:
            self.port = open_device_port(self.port_spec, **self._port_options)
            if self.link is not None:
                _point_link(self.link, self.port.path)

    def _event(self, event: dict) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _fileno(self) -> int | None:
        try:
            return self.port.fileno()
        except NotImplementedError:
            return None

    # --- internals -----------------------------------------------------------------------
    def _sensor_ns(self, host_ns: int) -> int:
        t_true = (host_ns - self._start_ns) * 1e-9
        return round(self.clock.sensor_time(t_true) * 1e9)

    def _wait_io(self, fd: int | None, timeout_s: float) -> None:
        if fd is None:
            time.sleep(min(timeout_s, 0.001))
            return
        wants_write = [fd] if self._tx else []
        try:
            select.select([fd], wants_write, [], timeout_s)
        except InterruptedError:
            pass

    def _handle_input(self) -> None:
        data = self.port.read()
        if not data:
            return
        before = self._decoder.header_errors + self._decoder.crc_errors + self._decoder.bad_frames
        self._decoder.feed(data)
        after = self._decoder.header_errors + self._decoder.crc_errors + self._decoder.bad_frames
        self.stats.rx_errors += after - before
        for msg_type, seq, _t, payload in self._decoder.messages():
            name = P.MESSAGE_NAMES.get(msg_type, f"0x{msg_type:02x}")
            self.stats.commands[name] = self.stats.commands.get(name, 0) + 1
            self._handle_command(msg_type, seq, payload)

    def _handle_command(self, msg_type: int, seq: int, payload: bytes) -> None:
        rx_ns = self._sensor_ns(time.monotonic_ns())
        result = P.ACK_OK
        if msg_type == P.MSG_START:
            self.streaming = True
        elif msg_type == P.MSG_STOP:
            self.streaming = False
        elif msg_type == P.MSG_SET_SCAN_PERIOD:
            if len(payload) != P.SCAN_PERIOD.size:
                result = P.ACK_BAD_LENGTH
            else:
                (period_us,) = P.SCAN_PERIOD.unpack(payload)
                if P.SCAN_PERIOD_MIN_US <= period_us <= P.SCAN_PERIOD_MAX_US:
                    self.source.scan_period_s = period_us * 1e-6
                else:
                    result = P.ACK_BAD_PARAMETER
        elif msg_type == P.MSG_GET_STATUS:
            self._queue_frame(P.MSG_STATUS, self._status().pack())
            return
        elif msg_type == P.MSG_PING:
            if len(payload) == P.PING.size:
                (host_t_ns,) = P.PING.unpack(payload)
                self._queue_frame(P.MSG_TIME_ECHO, P.TIME_ECHO.pack(host_t_ns, rx_ns))
                return
            result = P.ACK_BAD_LENGTH
        else:
            result = P.ACK_UNSUPPORTED
        self._queue_frame(P.MSG_ACK, P.ACK.pack(msg_type, result, 0, seq))

    def _status(self) -> P.Status:
        health = (P.HEALTH_STREAMING if self.streaming else 0) | (
            P.HEALTH_OVERRUN if self._overrun_since_status else 0)
        self._overrun_since_status = False
        return P.Status(health=health, scan_period_s=self.source.scan_period_s,
                        frames_sent=self.stats.frames_sent, plots_sent=self.stats.plots_sent,
                        overrun_frames=self.stats.overrun_frames,
                        rx_errors=self.stats.rx_errors,
                        uptime_s=(time.monotonic_ns() - self._start_ns) // 1_000_000_000,
                        temperature_c=41.5)

    def _next_seq(self) -> int:
        seq = self._seq
        self._seq = (self._seq + 1) & 0xFFFFFFFF
        if self.stats.first_seq is None:
            self.stats.first_seq = seq
        self.stats.last_seq = seq
        return seq

    def _queue_frame(self, msg_type: int, payload: bytes = b"") -> None:
        now = time.monotonic_ns()
        self._push(encode_frame(msg_type, self._next_seq(), self._sensor_ns(now), payload), 0)

    def _push(self, frame: bytes, n_plots: int) -> bool:
        if len(self._tx) + len(frame) > self.tx_buffer_bytes:
            self.stats.overrun_frames += 1
            self.stats.overrun_plots += n_plots
            self._overrun_since_status = True
            return False
        if self.faults:
            t_s = (time.monotonic_ns() - self._start_ns) * 1e-9
            self._tx += b"".join(self.faults.frames([frame], t_s, [n_plots]))
        else:
            self._tx += frame
        self.stats.frames_sent += 1
        self.stats.plots_sent += n_plots
        return True

    def _emit_plots(self, now_ns: int) -> None:
        t_s = (now_ns - self._start_ns) * 1e-9
        plots = self.source.take_until(t_s)
        if not self.streaming or not len(plots):
            return
        if self.faults.silent(t_s):
            self.stats.plots_silenced += len(plots)
            return
        plots["t_sensor"] = self.clock.sensor_time(plots["t_sensor"])
        t_frame_ns = self._sensor_ns(now_ns)
        for i in range(0, len(plots), self.max_plots_per_frame):
            chunk = plots[i:i + self.max_plots_per_frame]
            seq = self._next_seq()
            if self._push(encode_plots(chunk, seq, t_frame_ns), len(chunk)):
                self.stats.last_plot_seq = seq

    def _flush(self) -> None:
        while self._tx:
            n = self.port.write(self._tx)
            if not n:
                return
            del self._tx[:n]

    def _flush_for(self, timeout_s: float, settle_s: float = 0.05) -> None:
        """At the end: give the host a moment to take what is still buffered, in our
        transmit buffer and in the line, before the line is closed. The line counts as
        drained once it has stayed empty for ``settle_s`` (bytes written to a pty reach the
        host's input queue a little after the write returns)."""
        deadline = time.monotonic() + timeout_s
        empty_since = None
        while time.monotonic() < deadline:
            self._flush()
            if self._tx or self.port.unread_bytes():
                empty_since = None
            elif empty_since is None:
                empty_since = time.monotonic()
            elif time.monotonic() - empty_since >= settle_s:
                return
            time.sleep(0.002)


def _point_link(link: Path, target: str) -> None:
    """Make ``link`` a symbolic link to ``target``, replacing any old one atomically."""
    tmp = link.with_name(link.name + ".new")
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    os.replace(tmp, link)
