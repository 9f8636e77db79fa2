"""Device side of a track-level partner: its own tracker on its radar, sending CAT062 over UDP.

The emulator stands in for a partner that shares tracks, not plots. It takes the plots of the
partner's radar as they leave the radar (its plot source, released in real time), fuses them
with a tracker of its own (:class:`PartnerTracker`: rig's fusion engine on that one radar,
as the partner's operator describes it) and every ``period_s`` sends the tracker's confirmed
and coasting tracks, extrapolated to that moment, as CAT062 datagrams to one UDP address
(``udp://HOST:PORT``, the host's listening socket): WGS-84 position, altitude, velocity, rate
of climb and the accuracies of I062/500 from each track's covariance, its track number and
status (:class:`rig.publish.cat062.Cat062Encoder`, the encoder rig publishes with).

Time. The tracker runs on the partner's clock without its epoch: the radar's offset and
drift (and ``--speed``), continuous, so that midnight never steps it. I062/070 is that clock
with its epoch as UTC time of day: the UTC time of day at the start unless the clock says
otherwise, as for the CAT048 radar. Faults (:mod:`rig.emulation.faults`) act on what is sent,
as they do for the other emulators: a clock jump or drift change moves I062/070 only (the
partner's system clock stepped; its tracker goes on), datagrams are dropped, doubled,
reordered, damaged or delayed, garbage goes out; while ``silent`` its radar detects nothing
and nothing is sent; while ``disconnect`` the tracker goes on fusing and nothing is sent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rig.emulation import PlotSource, SensorClock
from rig.emulation.udp_sender import UdpSender
from rig.emulation.faults import FaultSchedule
from rig.fusion import FusionEngine, FusionParams, SensorTable
from rig.publish.cat062 import Cat062Encoder
from rig.records import empty_plots, empty_tracks

from . import protocol as P

#: The partner's tracker takes plots as they arrive, like rig's own live loop
#: (bench_configs/emulated.yaml): windows shorter than any latency and no hold-back, so each
#: picture it sends holds every plot its radar has reported by then; a plot that left the
#: radar late (its latency and jitter, tenths of a second) is still fused by retrodiction.
#: The offline settings (1 s windows held back 1 s) would leave the newest second or two of
#: plots out of every picture.
TRACKER_PARAMS = FusionParams(window_s=0.01, hold_back_s=0.0, oos_tolerance_s=1.5)


class PartnerTracker:
    """A partner's own tracker: rig's fusion engine on one radar.

    ``radar``: the radar as its operator describes it (a :class:`rig.radar.NominalRadar`, or a
    modelled radar, whose ground-truth errors are dropped); ``origin``: the partner's system
    reference point (a :class:`rig.geodesy.Geodetic`), the ENU frame of its tracks."""

    def __init__(self, radar, origin, params: FusionParams = TRACKER_PARAMS):
        nominal = radar.nominal() if hasattr(radar, "nominal") else radar
        self.origin = origin
        self.engine = FusionEngine(origin, SensorTable.of_radars([nominal], origin), params)
        self._none = empty_plots(0)

    def fuse(self, plots: np.ndarray, t_s: float) -> None:
        """Take the radar's plots (``t_sensor`` on the tracker's time line) and fuse all up to
        ``t_s``."""
        if len(plots):
            plots["sensor_id"] = 0
        self.engine.process(plots if len(plots) else self._none, until_s=t_s)

    def tracks(self, t_s: float) -> np.ndarray:
        """Confirmed and coasting tracks extrapolated to ``t_s`` (TRACK_DTYPE)."""
        return self.engine.tracks(t_s)


@dataclass
class EmulatorStats:
    pictures_sent: int = 0           # updates with at least one track sent
    datagrams_sent: int = 0
    tracks_sent: int = 0
    tracks_unencodable: int = 0      # beyond what CAT062 carries (left out)
    plots_fused: int = 0             # radar plots the tracker took
    send_errors: int = 0
    plots_silenced: int = 0          # detected while a 'silent' fault held the radar quiet
    pictures_unplugged: int = 0      # updates not sent while a 'disconnect' fault held


class Cat062TracksEmulator(UdpSender):
    """One emulated track-level partner sending to ``url`` (``udp://HOST:PORT``).

    ``source``: its radar's plots (``take_until``, ``next_release_s``); ``radar`` and
    ``origin``: as for :class:`PartnerTracker`; ``sac``, ``sic``: its system's I062/010;
    ``period_s``: host seconds between pictures."""

    aim_at_plots = False                # a picture every period, plots due or not

    def __init__(self, source: PlotSource, *, radar, origin,
                 url: str = f"udp://127.0.0.1:{P.DEFAULT_PORT}", sac: int = 0, sic: int = 1,
                 period_s: float = P.DEFAULT_PERIOD_S, clock: SensorClock | None = None,
                 faults: FaultSchedule | None = None, on_event=None, frame_phase: float = 0.0):
        self.source = source
        self.tracker = PartnerTracker(radar, origin)
        self.encoder = Cat062Encoder(origin, sac, sic)
        super().__init__(url, clock=clock, faults=faults, on_event=on_event)
        self.period_s = self.interval_s = period_s
        self.frame_phase = frame_phase
        self.stats = EmulatorStats()

    def system_time(self, t_true_s):
        """The tracker's time line at host seconds ``t_true_s``: the partner's clock without
        its epoch."""
        return self._base_clock.sensor_time(t_true_s) - self._base_clock.epoch_s

    def _tick(self, t_true_s: float) -> None:
        """Fuse what the radar reported by ``t_true_s`` and send the picture."""
        plots = self.source.take_until(t_true_s)
        connected = self._link_up(t_true_s) if self.faults else True
        silent = self.faults.silent(t_true_s)
        if silent:
            self.stats.plots_silenced += len(plots)
            plots = plots[:0]
        t_sys = self.system_time(t_true_s)
        if len(plots):
            plots["t_sensor"] = self.system_time(plots["t_sensor"])
        self.tracker.fuse(plots, t_sys)
        self.stats.plots_fused += len(plots)
        if not connected:
            self.stats.pictures_unplugged += 1
            return
        tracks = empty_tracks(0) if silent else self.tracker.tracks(t_sys)
        datagrams: list[bytes] = []
        if len(tracks):
            left_out = self.encoder.tracks_not_encodable
            datagrams = self.encoder.encode(tracks, self.clock.sensor_time(t_true_s) % P.DAY_S)
            left_out = self.encoder.tracks_not_encodable - left_out
            self.stats.tracks_unencodable += left_out
            self.stats.tracks_sent += len(tracks) - left_out
            self.stats.pictures_sent += 1
        if self.faults:
            datagrams = self.faults.frames(datagrams, t_true_s)
        for datagram in datagrams:
            self._write(datagram)

