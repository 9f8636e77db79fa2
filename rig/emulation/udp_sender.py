"""What every emulated sensor that sends datagrams over UDP shares (the CAT048 radar, the ESM
receiver, the track-level partner's tracker): the sending socket, the link faults, the paced
loop and the count of what was sent.

A subclass makes its datagrams in :meth:`UdpSender._tick` (called every ``interval_s`` with
the true time in seconds since emulation time 0, and once more at the end) and writes them
with :meth:`UdpSender._write`; its ``stats`` has ``datagrams_sent`` and ``send_errors``. Ticks
before the plot ``source``'s next plot are slept through (unless faults are scheduled, or the
subclass sets ``aim_at_plots`` False).
"""

from __future__ import annotations

import time

from rig.errors import TransportError
from rig.transport.udp import UdpTransport

from .clock import SensorClock
from .faults import FaultSchedule
from .pacing import MAX_WAIT_S, Pacer, ns_after

DAY_S = 86400.0


class UdpSender:
    """Sends to ``url`` (``udp://HOST:PORT``: the host's listening socket)."""

    stats: object                   # the subclass's statistics
    interval_s: float               # between ticks
    frame_phase: float = 0.0        # of interval_s: where the ticks fall
    source = None                   # its plot source
    #: ticks before the source's next plot are slept through (else every tick is taken)
    aim_at_plots = True
    #: an unset clock's epoch: UTC time of day (else UTC seconds)
    time_of_day = True

    def __init__(self, url: str, *, clock: SensorClock | None, faults: FaultSchedule | None,
                 on_event=None):
        self.transport = UdpTransport(url)
        if self.transport.listen:
            raise TransportError(f"{url}: the emulator sends; give the host's address "
                                 f"(udp://HOST:PORT), not a listening one")
        self.transport.open()
        self.url = url
        self._clock_template = clock
        self.clock = clock or SensorClock()
        self._base_clock = self.clock
        self.faults = faults or FaultSchedule([])
        self.on_event = on_event
        self._stop = False

    @property
    def source_address(self) -> tuple[str, int]:
        """The (host, port) the datagrams come from."""
        return self.transport.local_address

    def stop(self) -> None:
        """Ask the sending loop to return (safe from a signal handler)."""
        self._stop = True

    def close(self) -> None:
        self.transport.close()

    def serve(self, duration_s: float | None = None, *, start_ns: int | None = None):
        """Send until :meth:`stop` or ``duration_s`` seconds after the start (``start_ns``,
        host monotonic: emulation time 0 shared by the emulators of one run; default now);
        returns the statistics."""
        start_ns = time.monotonic_ns() if start_ns is None else start_ns
        if self._clock_template is None:
            utc_at_start = time.time() - (time.monotonic_ns() - start_ns) * 1e-9
            self.clock = SensorClock(epoch_s=utc_at_start % DAY_S if self.time_of_day
                                     else utc_at_start)
        self._base_clock = self.clock
        end_ns = None if duration_s is None else start_ns + round(duration_s * 1e9)
        pacer = Pacer(self.interval_s, start_ns=start_ns, phase=self.frame_phase)
        last_ns = self._run(pacer, start_ns, end_ns,
                            source=self.source if self.aim_at_plots else None)
        end_ns = end_ns or time.monotonic_ns()
        if not self._stop and end_ns > last_ns:     # what is left at the end, unless just sent
            self._tick((end_ns - start_ns) * 1e-9)
        return self.stats

    # --- for subclasses ------------------------------------------------------------------
    def _run(self, pacer: Pacer, start_ns: int, end_ns: int | None, *,
             source=None) -> int:
        """Call :meth:`_tick` at each due tick of ``pacer`` until :meth:`stop` or ``end_ns``;
        with a plot ``source`` and no faults, ticks before its next plot are slept through.
        Returns the host time of the last tick."""
        last_ns = start_ns
        while not self._stop:
            now = time.monotonic_ns()
            if end_ns is not None and now >= end_ns:
                break
            if source is not None and not self.faults:
                pacer.aim_at(ns_after(start_ns, source.next_release_s()))
            wait_s = pacer.remaining_s(now)
            if end_ns is not None:
                wait_s = min(wait_s, (end_ns - now) * 1e-9)
            time.sleep(min(wait_s, MAX_WAIT_S))
            now = time.monotonic_ns()
            if pacer.due(now):
                last_ns = now
                self._tick((now - start_ns) * 1e-9)
        return last_ns

    def _tick(self, t_true_s: float) -> None:
        raise NotImplementedError

    def _plots_due(self, t_true_s: float):
        """The source's plots due by ``t_true_s``, stamped by the sensor's clock, or None when
        nothing is to be framed: the link unplugged or the sensor silenced by a fault (their
        plots counted in ``stats.plots_unplugged``, ``stats.plots_silenced``), or no plot
        (then what a fault held back is released)."""
        plots = self.source.take_until(t_true_s)
        if self.faults and not self._link_up(t_true_s):
            self.stats.plots_unplugged += len(plots)
            return None
        if self.faults.silent(t_true_s):
            self.stats.plots_silenced += len(plots)
            plots = plots[:0]
        if not len(plots):
            for datagram in self.faults.release(t_true_s):
                self._write(datagram)
            return None
        plots["t_sensor"] = self.clock.sensor_time(plots["t_sensor"])
        return plots

    def _link_up(self, t_true_s: float) -> bool:
        """Apply the fault schedule at ``t_true_s`` (events reported, the clock's faults, the
        link unplugged and back from a new port); False while it is unplugged."""
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

    def _write(self, datagram: bytes) -> None:
        try:
            self.transport.write(datagram)
        except TransportError:
            self.stats.send_errors += 1
            return
        self.stats.datagrams_sent += 1
