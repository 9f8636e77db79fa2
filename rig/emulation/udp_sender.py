"""What every emulated sensor that sends datagrams over UDP shares (the CAT048 radar, the ESM
receiver, the track-level partner's tracker): the sending socket, the link faults, the paced
loop and the count of what was sent.

A subclass makes its datagrams in :meth:`UdpSender._tick` (called at each due tick of the
pacer with the true time in seconds since emulation time 0) and writes them with
:meth:`UdpSender._write`; its ``stats`` has ``datagrams_sent`` and ``send_errors``.
"""

from __future__ import annotations

import time

from rig.errors import TransportError
from rig.transport.udp import UdpTransport

from .clock import SensorClock
from .faults import FaultSchedule
from .pacing import MAX_WAIT_S, Pacer, ns_after


class UdpSender:
    """Sends to ``url`` (``udp://HOST:PORT``: the host's listening socket)."""

    stats: object                   # the subclass's statistics

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
