"""A sensor of any family for ``rig monitor``: its driver on a port, URL or resource, or on
an emulator started in its own process; told to stop streaming at the end.

Everything family-specific is asked of the family's :class:`rig.firmware.FirmwareInterface`
(``open_monitor``, ``open_monitor_early``, ``monitor_emulator_args``,
``monitor_clock_shift_s``, ``stop_streaming``).
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from rig.emulation.process import EmulatorProcess
from rig.errors import RigError
from rig.firmware import FRAME_OK_KEYS, decoder_errors

from .tally import wrapped_to_day

log = logging.getLogger(__name__)

EMULATOR_SPARE_S = 5.0        # an emulator outlives the monitor's duration by this, at most
DRAIN_QUIET_S = 0.1           # the end: plots still on their way, until quiet this long
DRAIN_MAX_S = 1.0


class SensorMonitor:
    """The driver of one sensor of ``interface`` on ``url``, or with ``url`` None on an
    emulator sending ``rate`` plots a second; ``options``: the family's keys."""

    what = "plots"
    columns = ("seq", "t_sensor_s", "range_km", "az_deg", "el_deg", "range_rate_mps",
               "amplitude_db")

    def __init__(self, interface, url: str | None, options, *, rate: float,
                 duration_s: float):
        self.interface = interface
        self.emulator: EmulatorProcess | None = None
        self.driver = None
        self.stop_sent: str | None = None
        self.stop_error: str | None = None
        self.emulator_summary: dict | None = None
        try:
            if url is None:
                self.driver = interface.open_monitor_early(options)
                args = ["emulate", "--family", interface.name, "--rate", f"{rate:g}",
                        "--duration", f"{duration_s + EMULATOR_SPARE_S:g}",
                        *interface.monitor_emulator_args(self.driver)]
                self.emulator = EmulatorProcess(args, name=f"emulated {interface.name}")
                url = self.emulator.device
            if self.driver is None:
                self.driver = interface.open_monitor(url, options)
            self.shift_s = interface.monitor_clock_shift_s(self.driver)
        except BaseException:
            self._close()
            raise
        self.url = url

    @property
    def title(self) -> str:
        emulated = " (emulated)" if self.emulator is not None else ""
        return f"{self.interface.name} on {self.url}{emulated}"

    @property
    def state(self) -> str:
        return str(getattr(self.driver, "state", "open"))

    def read(self, timeout_s: float) -> np.ndarray:
        return self.driver.read_plots(timeout_s=timeout_s)

    def latency_s(self, plots: np.ndarray) -> np.ndarray | None:
        """Arrival minus the plot's time on the host's clock, where the family places its
        clock (``monitor_clock_shift_s``)."""
        if self.shift_s is None or not len(plots):
            return None
        latency = plots["t_arrival_ns"] * 1e-9 - (plots["t_sensor"] - self.shift_s)
        return wrapped_to_day(latency) if self.interface.time_of_day else latency

    def counters(self) -> dict:
        """The driver's counters under common names (None where the family has none)."""
        c = self.driver.counters()
        frames = next((c[k] for k in FRAME_OK_KEYS if k in c), None)
        return {"frames_ok": frames,
                "decoder_errors": decoder_errors(c),
                "bytes_skipped": c.get("bytes_skipped"), "seq_gaps": c.get("seq_gaps"),
                "dropped": c.get("plots_dropped"), "crc_errors": c.get("crc_errors")}

    @staticmethod
    def rows(plots: np.ndarray) -> list[tuple]:
        return [(int(p["seq"]), f"{p['t_sensor']:.3f}", f"{p['range_m'] / 1e3:.3f}",
                 f"{math.degrees(p['az_rad']):.2f}", f"{math.degrees(p['el_rad']):.2f}",
                 f"{p['range_rate_mps']:.1f}", f"{p['amplitude_db']:.1f}") for p in plots]

    # --- the end ---------------------------------------------------------------------------
    def finish(self) -> np.ndarray:
        """Stop the sensor streaming, close the driver, stop the emulator; the plots that
        arrived meanwhile. Never raises a rig error: a failed stop is kept in
        :attr:`stop_error`."""
        try:
            self.stop_sent = self.interface.stop_streaming(self.driver)
        except (RigError, OSError) as e:
            self.stop_error = str(e)
        batches = []
        if self.stop_sent is not None:
            # the sensor has stopped: what it sent has arrived; its emulator ends afterwards
            batches += self._drain()
            self._close_driver(batches)
            self._stop_emulator()
        else:
            # nothing could stop it: its emulator ends first, then the rest is read
            self._stop_emulator()
            batches += self._drain()
            self._close_driver(batches)
        return np.concatenate(batches)

    def _drain(self) -> list[np.ndarray]:
        batches = []
        deadline = time.monotonic() + DRAIN_MAX_S
        while time.monotonic() < deadline:
            plots = self.driver.read_plots(timeout_s=DRAIN_QUIET_S)
            if not len(plots):
                break
            batches.append(plots)
        return batches

    def _close_driver(self, batches: list) -> None:
        try:
            self.driver.close()
        except (RigError, OSError) as e:
            log.warning("%s: close failed: %s", self.url, e)
        batches.append(self.driver.read_plots(timeout_s=0))

    def _stop_emulator(self) -> None:
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator_summary = self.emulator.summary

    def _close(self) -> None:
        if self.driver is not None:
            try:
                self.driver.close()
            except (RigError, OSError):
                pass
        if self.emulator is not None:
            self.emulator.stop()
