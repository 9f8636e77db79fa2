"""One handle per sensor of a run: an emulator subprocess (when emulated) and the real driver.

Whatever the family, a handle gives the loop the same things: ``read_plots()`` (PLOT_DTYPE,
``t_sensor`` already moved onto the run's time line), counters, a state, and whether the
sensor has gone silent. Emulated sensors run ``rig emulate`` in their own process, streaming
the scenario's radar, all started on one shared emulation time (``--start-at``), so their
clocks read run time plus their own offset and drift. Real sensors keep their own clocks;
the handle asks the family where their time line sits at the start (PING for the serial
protocol, ``SYSTem:CLOCk?`` for SCPI, UTC time of day for ASTERIX), and registration in the
fusion engine estimates what is left. Everything family-specific is the family's
:class:`rig.firmware.FirmwareInterface`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from rig.emulation.process import EmulatorProcess
from rig.firmware import decoder_errors, get_interface
from rig.sensor_models.spec import RadarSpec

from .config import SensorEntry

log = logging.getLogger(__name__)

DAY_S = 86400.0
def to_run_time(t_sensor: np.ndarray, shift_s: float, tod: bool) -> np.ndarray:
    """Sensor times onto the run's time line; a time of day is taken to the nearest day."""
    t = t_sensor - shift_s
    return np.mod(t + DAY_S / 2, DAY_S) - DAY_S / 2 if tod else t


#: successive multiples of it, modulo 1, spread evenly however many there are: the frame
#: phases of a run's emulators, so that they do not all wake at once
GOLDEN_FRACTION = 0.6180339887


class SensorHandle:
    """One sensor: its config entry, radar model, index in the run, and its driver."""

    def __init__(self, index: int, entry: SensorEntry, radar: RadarSpec, *, origin=None,
                 partner_index: int = 0):
        self.index = index
        self.origin = origin                 # the run's origin (rig.geodesy.Geodetic)
        self.partner_index = partner_index   # the partner's index in the engine (its bit)
        self.entry = entry
        self.radar = radar
        self.id = entry.id
        self.partner = radar.partner
        self.family = entry.family
        self.interface = get_interface(entry.family)
        self.emulator: EmulatorProcess | None = None
        self.driver = None
        self.state = "not started"
        self.error: str | None = None
        self.shift_s = 0.0               # t_run = t_sensor - shift_s (modulo a day for ToD)
        self.tod = self.interface.time_of_day
        self.delivers_tracks = self.interface.delivers == "tracks"
        self.tracks_received = 0
        self.plots_received = 0
        self.t_first_plot_ns: int | None = None
        self.t_last_plot_ns: int | None = None
        self.stale_after_s = entry.stale_after_s or 2.5 * radar.scan_period_s + 1.0
        self.stale_events = 0
        self.stale = False
        self.tap = None

    # --- start -------------------------------------------------------------------------
    def start_emulator(self, scenario_file: Path, start_ns: int, duration_s: float,
                       faults: list[dict] | None = None) -> None:
        """Start ``rig emulate`` for this sensor (call :meth:`open` once it is ready)."""
        args = ["emulate", "--family", self.family, "--scenario", str(scenario_file),
                "--sensor", self.id, "--start-at", str(start_ns), "--duration", f"{duration_s:.6f}",
                "--frame-phase", f"{(self.index * GOLDEN_FRACTION) % 1.0:.4f}"]
        if faults:
            args += ["--faults", json.dumps(faults)]
        args += self.interface.emulator_args(self, scenario_file.parent, self.driver)
        self.emulator = EmulatorProcess(args, name=f"emulated sensor {self.id}")
        self.state = "starting"

    @property
    def sic(self) -> int:
        return self.entry.sic if self.entry.sic is not None else (1 + self.index) % 256

    def prepare(self, tap=None) -> None:
        """Open what the family needs before an emulator starts (the ASTERIX listening
        socket). ``tap`` sees every raw chunk the driver reads (for recording)."""
        self.tap = tap
        self.driver = self.interface.open_early(self, tap)

    def open(self, wakeup, t0_ns: int) -> None:
        """Open the driver (on the emulator's device when emulated) and place its time line."""
        target = self.entry.transport
        if self.emulator is not None:
            target = self.emulator.wait_ready()["device"]
        if self.driver is None:
            self.driver = self.interface.open_driver(self, target, self.tap)
        if self.emulator is None:
            self.shift_s = self.interface.clock_shift_s(self, self.driver, t0_ns)
        self.driver.set_wakeup(wakeup)
        self.state = "open"

    def timeline(self) -> dict:
        """How this sensor's plots reach the run's time line, and what decodes them (replay)."""
        out = {"index": self.index, "id": self.id, "family": self.family,
               "shift_s": self.shift_s, "tod": self.tod, "sac": self.entry.sac, "sic": self.sic,
               "site_alt_m": self.radar.site.alt_m, "opened": self.driver is not None}
        if self.delivers_tracks:             # a track-level partner's tracks are in rig's frame
            o = self.origin
            out.update(origin={"lat_deg": o.lat_deg, "lon_deg": o.lon_deg, "alt_m": o.alt_m},
                       partner_index=self.partner_index, delivers="tracks")
        return out

    # --- running -----------------------------------------------------------------------
    def read_plots(self, now_ns: int) -> np.ndarray:
        plots = self.driver.read_plots(timeout_s=0)
        if len(plots):
            plots["t_sensor"] = to_run_time(plots["t_sensor"], self.shift_s, self.tod)
            self.plots_received += len(plots)
            self._heard(now_ns, "plots")
        return plots

    def read_tracks(self, now_ns: int) -> np.ndarray:
        """A track-level partner's validated tracks (PARTNER_TRACK_DTYPE), ``t`` on the run's
        time line and ``partner`` its index in the engine."""
        tracks = self.driver.read_tracks(timeout_s=0)
        if len(tracks):
            tracks["t"] = to_run_time(tracks["t"], self.shift_s, self.tod)
            tracks["partner"] = self.partner_index
            self.tracks_received += len(tracks)
            self._heard(now_ns, "tracks")
        return tracks

    def _heard(self, now_ns: int, what: str) -> None:
        """The sensor delivered (``what``: plots or tracks) at ``now_ns``: no longer stale."""
        self.t_last_plot_ns = now_ns
        if self.t_first_plot_ns is None:
            self.t_first_plot_ns = now_ns
        if self.stale:
            log.warning("sensor %s: %s again", self.id, what)
        self.stale = False

    def check_stale(self, now_ns: int, t0_ns: int) -> bool:
        """Mark the sensor stale once it has been silent (no plots, or no tracks from a
        track-level partner) ``stale_after_s``."""
        last = self.t_last_plot_ns or t0_ns
        stale = now_ns - last > self.stale_after_s * 1e9
        if stale and not self.stale:
            self.stale_events += 1
            log.warning("sensor %s: no plots for %.1f s: stale", self.id, (now_ns - last) * 1e-9)
        self.stale = stale
        return stale

    @property
    def driver_state(self) -> str:
        if self.driver is None:
            return self.state
        return "stale" if self.stale else getattr(self.driver, "state", self.state)

    def counters(self) -> dict:
        return self.driver.counters() if self.driver is not None else {}

    def foreign_sources(self) -> list[str]:
        """The first few addresses of records the driver refused as not this sensor's."""
        found = getattr(self.driver, "foreign_sources", None)
        return [f"{sac}/{sic}" for sac, sic in found()] if found is not None else []

    def snapshot(self) -> tuple:
        """(plots, decoder errors, sequence gaps, disconnects, reconnects, stale) now."""
        c = self.counters()
        return (self.plots_received, decoder_errors(c), int(c.get("seq_gaps", 0)),
                int(c.get("disconnects", 0)), int(c.get("reconnects", 0)),
                int(self.stale))

    def queued_batches(self) -> int:
        """Batches of plots waiting in the driver's queue."""
        return self.driver.queued_batches if self.driver is not None else 0

    # --- stop --------------------------------------------------------------------------
    def close_driver(self) -> None:
        """Close the driver (first, for every sensor: an emulator that ends afterwards is
        then no disconnect)."""
        if self.driver is not None and self.state != "closed":
            try:
                self.driver.close()
            except Exception as e:  # closing must never keep the others from closing
                log.warning("sensor %s: close failed: %s", self.id, e)
        self.state = "closed"

    def close(self, timeout_s: float = 5.0) -> dict | None:
        """Close the driver and stop the emulator (killed if it has not ended ``timeout_s``
        after SIGTERM); the emulator's summary if there was one."""
        self.close_driver()
        summary = None
        if self.emulator is not None:
            self.emulator.stop(timeout_s)
            summary = self.emulator.summary
        return summary
