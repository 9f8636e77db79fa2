"""Device side of the ASTERIX radar: an emulated plot extractor sending CAT048 over UDP.

The emulator sends the plots of its plot source to one UDP address (``udp://HOST:PORT``, the
host's listening socket), at each ``frame_interval_s`` at which a plot is due, as CAT048
datagrams of at most ``max_datagram_bytes``, paced by the monotonic clock. Like a real radar it needs no host to
start it and keeps no state about receivers. Plots are stamped by the sensor's own clock
(:class:`rig.emulation.SensorClock`), whose epoch is the UTC time of day at the start unless the
clock says otherwise. Plots the wire cannot carry (beyond 474 km or 62 km height) are left out
and counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from rig.emulation import PlotSource, SensorClock
from rig.emulation.udp_sender import UdpSender
from rig.emulation.faults import FaultSchedule

from . import protocol as P
from .codec import encode


@dataclass
class EmulatorStats:
    datagrams_sent: int = 0
    plots_sent: int = 0
    plots_unencodable: int = 0
    send_errors: int = 0
    last_seq: int | None = None      # number of the last datagram sent (the host's plot seq)
    plots_silenced: int = 0          # detected while a 'silent' fault held the radar quiet
    plots_unplugged: int = 0         # detected while a 'disconnect' fault had the source gone


class AsterixRadarEmulator(UdpSender):
    """One emulated CAT048 radar sending to ``url`` (``udp://HOST:PORT``)."""

    def __init__(self, source: PlotSource, *, url: str = f"udp://127.0.0.1:{P.DEFAULT_PORT}",
                 sac: int = 0, sic: int = 1, site_alt_m: float = 0.0,
                 clock: SensorClock | None = None, frame_interval_s: float = 0.01,
                 max_datagram_bytes: int = P.MAX_DATAGRAM_BYTES,
                 faults: FaultSchedule | None = None, on_event=None, frame_phase: float = 0.0):
        self.source = source
        super().__init__(url, clock=clock, faults=faults, on_event=on_event)
        self.sac = sac
        self.sic = sic
        self.site_alt_m = site_alt_m
        self.frame_interval_s = self.interval_s = frame_interval_s
        self.frame_phase = frame_phase
        self.max_datagram_bytes = max_datagram_bytes
        self.stats = EmulatorStats()

    def _tick(self, t_true_s: float) -> None:
        plots = self._plots_due(t_true_s)
        if plots is None:
            return
        ok = P.encodable(plots, self.site_alt_m)
        self.stats.plots_unencodable += int((~ok).sum())
        plots = plots[ok]
        datagrams = encode(plots, sac=self.sac, sic=self.sic, site_alt_m=self.site_alt_m,
                           max_datagram_bytes=self.max_datagram_bytes)
        if self.faults:
            datagrams = self.faults.frames(datagrams, t_true_s)
        for datagram in datagrams:
            self._write(datagram)
        self.stats.plots_sent += len(plots)

    def _write(self, datagram: bytes) -> None:
        super()._write(datagram)
        if self.stats.datagrams_sent:
            self.stats.last_seq = self.stats.datagrams_sent - 1
