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
    first_seq: int | None = None     # sequence number of the first message made
    last_seq: int | None = None      # and of the last
    plots_silenced: int = 0          # detected while a 'silent' fault held the receiver quiet
    plots_unplugged: int = 0         # detected while a 'disconnect' fault had the source gone


class EsmSensorEmulator(UdpSender):
    """One emulated ESM receiver sending to ``url`` (``udp://HOST:PORT``)."""

    time_of_day = False                 # its clock reads UTC seconds

    def __init__(self, source: PlotSource, *, url: str = f"udp://127.0.0.1:{P.DEFAULT_PORT}",
                 receiver_id: int = 1, clock: SensorClock | None = None,
                 frame_interval_s: float = 0.01, max_records: int = P.MAX_RECORDS,
                 faults: FaultSchedule | None = None, on_event=None, frame_phase: float = 0.0):
        self.source = source
        super().__init__(url, clock=clock, faults=faults, on_event=on_event)
        self.receiver_id = receiver_id
        self.frame_interval_s = self.interval_s = frame_interval_s
        self.frame_phase = frame_phase
        self.max_records = max_records
        self.stats = EmulatorStats()
        self._seq = 0

    def _tick(self, t_true_s: float) -> None:
        plots = self._plots_due(t_true_s)
        if plots is None:
            return
        ok = P.encodable(plots)             # range and range rate are not sent
        self.stats.plots_unencodable += int((~ok).sum())
        plots = plots[ok]
        datagrams: list[bytes] = []
        if len(plots):
            datagrams = encode(plots, receiver_id=self.receiver_id, seq=self._seq,
                               t_sensor_ns=round(self.clock.sensor_time(t_true_s) * 1e9),
                               max_records=self.max_records)
            if self.stats.first_seq is None:
                self.stats.first_seq = self._seq
            self._seq = (self._seq + len(datagrams)) & 0xFFFFFFFF
            self.stats.last_seq = (self._seq - 1) & 0xFFFFFFFF
        if self.faults:
            sizes = [min(self.max_records, len(plots) - i)      # bearings per datagram
                     for i in range(0, len(plots), self.max_records)]
            datagrams = self.faults.frames(datagrams, t_true_s, sizes)
        for datagram in datagrams:
            self._write(datagram)
        self.stats.plots_sent += len(plots)

