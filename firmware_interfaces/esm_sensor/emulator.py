"""Device side of the ESM sensor: an emulated passive receiver sending bearings over UDP.

The emulator sends the plots of its plot source to one UDP address (``udp://HOST:PORT``, the
host's listening socket) as bearings: range and range rate are dropped (a passive receiver
measures neither). At each ``frame_interval_s`` at which a plot is due it sends them in
datagrams of at most ``max_records`` bearings, paced by the monotonic clock. Like a real
receiver it needs no host to start it and keeps no state about receivers. Bearings are
stamped by the sensor's own clock (:class:`rig.emulation.SensorClock`), which reads UTC at the
start unless the clock says otherwise. Bearings the wire cannot carry (an impossible angle) are
left out and counted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from rig.emulation import Pacer, PlotSource, SensorClock
from rig.emulation.faults import FaultSchedule
from rig.emulation.pacing import ns_after
from rig.errors import TransportError
from rig.transport.udp import UdpTransport

from . import protocol as P
from .codec import encode

#: the longest wait between looks at the stop flag (a signal does not cut a sleep short)
MAX_WAIT_S = 0.1


@dataclass
class EmulatorStats:
    datagrams_sent: int = 0
    plots_sent: int = 0
    plots_unencodable: int = 0
    send_errors: int = 0
    first_seq: int | None = None     # sequence number of the first message made
    last_seq: int | None = None      # and of the last
    plots_silenced: int = 0          # detected while a 'silent' fault held the receiver quiet
    plots_unplugged: int = 0         # detected while a 'disconnect' fault had the source gone


class EsmSensorEmulator:
    """One emulated ESM receiver sending to ``url`` (``udp://HOST:PORT``)."""

    def __init__(self, source: PlotSource, *, url: str = f"udp://127.0.0.1:{P.DEFAULT_PORT}",
                 receiver_id: int = 1, clock: SensorClock | None = None,
                 frame_interval_s: float = 0.01, max_records: int = P.MAX_RECORDS,
                 faults: FaultSchedule | None = None, on_event=None, frame_phase: float = 0.0):
        self.source = source
        self.transport = UdpTransport(url)
        if self.transport.listen:
            raise TransportError(f"{url}: the emulator sends; give the host's address "
                                 f"(udp://HOST:PORT), not a listening one")
        self.transport.open()
        self.url = url
        self.receiver_id = receiver_id
        self.frame_interval_s = frame_interval_s
        self.frame_phase = frame_phase
        self.max_records = max_records
        self._clock_template = clock
        self.clock = clock or SensorClock()
        self.stats = EmulatorStats()
        self.faults = faults or FaultSchedule([])
        self.on_event = on_event
        self._seq = 0
        self._stop = False

    @property
    def source_address(self) -> tuple[str, int]:
        """The (host, port) the datagrams come from."""
        return self.transport.local_address

    def stop(self) -> None:
        """Ask :meth:`serve` to return (safe from a signal handler)."""
        self._stop = True

    def serve(self, duration_s: float | None = None, *, start_ns: int | None = None) -> EmulatorStats:
        """Send until :meth:`stop` or ``duration_s`` seconds after the start (``start_ns``,
        host monotonic: emulation time 0 shared by the emulators of one run; default now)."""
        start_ns = time.monotonic_ns() if start_ns is None else start_ns
        if self._clock_template is None:
            self.clock = SensorClock(epoch_s=time.time() - (time.monotonic_ns() - start_ns) * 1e-9)
        self._base_clock = self.clock
        end_ns = None if duration_s is None else start_ns + round(duration_s * 1e9)
        pacer = Pacer(self.frame_interval_s, start_ns=start_ns, phase=self.frame_phase)
        while not self._stop:
            now = time.monotonic_ns()
            if end_ns is not None and now >= end_ns:
                break
            if not self.faults:         # nothing to send before the next plot is due
                pacer.aim_at(ns_after(start_ns, self.source.next_release_s()))
            wait_s = pacer.remaining_s(now)
            if end_ns is not None:
                wait_s = min(wait_s, (end_ns - now) * 1e-9)
            time.sleep(min(wait_s, MAX_WAIT_S))
            now = time.monotonic_ns()
            if pacer.due(now):
                self._send((now - start_ns) * 1e-9)
        if not self._stop:
            self._send(((end_ns or time.monotonic_ns()) - start_ns) * 1e-9)
        return self.stats

    def _faults(self, t_true_s: float) -> bool:
        """Apply the fault schedule at ``t_true_s``; False while the source is unplugged."""
        for event in self.faults.events(t_true_s):
            if self.on_event is not None:
                self.on_event(event)
        self.clock = self.faults.clock(self._base_clock, t_true_s)
        unplugged = self.faults.disconnected(t_true_s)
        if unplugged and self.transport.is_open:
            self.transport.close()                  # the source address goes away
        elif not unplugged and not self.transport.is_open:
            self.transport.open()                   # and comes back from a new port
        return not unplugged

    def _send(self, t_true_s: float) -> None:
        plots = self.source.take_until(t_true_s)
        if self.faults and not self._faults(t_true_s):
            self.stats.plots_unplugged += len(plots)
            return
        if self.faults.silent(t_true_s):
            self.stats.plots_silenced += len(plots)
            plots = plots[:0]
        if not len(plots):
            for datagram in self.faults.release(t_true_s):
                self._write(datagram)
            return
        plots["t_sensor"] = self.clock.sensor_time(plots["t_sensor"])
        plots["range_m"] = np.nan                   # a passive receiver measures no range
        plots["range_rate_mps"] = np.nan
        ok = P.encodable(plots)
        self.stats.plots_unencodable += int((~ok).sum())
        plots = plots[ok]
        datagrams: list[bytes] = []
        sizes: list[int] = []
        if len(plots):
            datagrams = encode(plots, receiver_id=self.receiver_id, seq=self._seq,
                               t_sensor_ns=round(self.clock.sensor_time(t_true_s) * 1e9),
                               max_records=self.max_records)
            sizes = [min(self.max_records, len(plots) - i)
                     for i in range(0, len(plots), self.max_records)]
            if self.stats.first_seq is None:
                self.stats.first_seq = self._seq
            self._seq = (self._seq + len(datagrams)) & 0xFFFFFFFF
            self.stats.last_seq = (self._seq - 1) & 0xFFFFFFFF
        if self.faults:
            datagrams = self.faults.frames(datagrams, t_true_s, sizes)
        for datagram in datagrams:
            self._write(datagram)
        self.stats.plots_sent += len(plots)

    def _write(self, datagram: bytes) -> None:
        try:
            self.transport.write(datagram)
        except TransportError:
            self.stats.send_errors += 1
            return
        self.stats.datagrams_sent += 1

    def close(self) -> None:
        self.transport.close()
