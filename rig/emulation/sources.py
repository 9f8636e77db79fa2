"""Plot sources: what an emulated sensor detects, as PLOT_DTYPE arrays."""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from rig.records import empty_plots


class PlotSource(Protocol):
    """Gives the plots a sensor detects, in time order.

    :meth:`take_until` returns every plot detected at true time ``<= t_s`` (seconds since the
    emulation's epoch) not returned before, with ``t_sensor`` holding that **true** detection
    time; the emulator maps it to the sensor's clock. ``scan_period_s`` may be changed by the
    host (SET_SCAN_PERIOD) at any time.

    :meth:`next_release_s` is the time (same seconds) at which the next plot will be due, or
    ``inf`` when none will: an emulator sleeps until then instead of looking every frame.
    """

    scan_period_s: float

    def take_until(self, t_s: float) -> np.ndarray: ...

    def next_release_s(self) -> float: ...


class RandomPlotSource:
    """Plausible plots at a fixed rate, with no scenario behind them.

    Azimuths follow the antenna's rotation (one turn per ``scan_period_s``) with a little
    spread; range, elevation, range rate and amplitude are drawn from broad distributions.
    Seeded: the same seed and calls give the same plots.

    With ``stamp_at_take`` every plot is stamped with the time of the :meth:`take_until` call
    that returns it (the moment the emulator frames and writes it) instead of its detection
    time, so that arrival minus plot time measures the line alone.
    """

    def __init__(self, rate_plots_per_s: float, *, scan_period_s: float = 4.0, seed: int = 0,
                 range_max_m: float = 300_000.0, range_rate: bool = True,
                 stamp_at_take: bool = False):
        if rate_plots_per_s <= 0:
            raise ValueError("rate_plots_per_s must be positive")
        self.rate = float(rate_plots_per_s)
        self.scan_period_s = scan_period_s
        self.range_max_m = range_max_m
        self.range_rate = range_rate
        self.stamp_at_take = stamp_at_take
        self._rng = np.random.default_rng(seed)
        self._n_taken = 0
        self._scan_phase = 0.0        # antenna azimuth (turns) at _t_phase
        self._t_phase = 0.0

    def next_release_s(self) -> float:
        return self._n_taken / self.rate

    def take_until(self, t_s: float) -> np.ndarray:
        n_due = math.floor(t_s * self.rate) + 1 - self._n_taken
        if n_due <= 0:
            return empty_plots(0)
        idx = np.arange(self._n_taken, self._n_taken + n_due, dtype=np.float64)
        self._n_taken += n_due
        t = idx / self.rate
        rng = self._rng
        plots = empty_plots(n_due)
        plots["t_sensor"] = t_s if self.stamp_at_take else t
        turns = self._scan_phase + (t - self._t_phase) / self.scan_period_s
        self._scan_phase = float(turns[-1])
        self._t_phase = float(t[-1])
        plots["az_rad"] = np.mod(2 * np.pi * turns + rng.normal(0.0, 0.002, n_due), 2 * np.pi)
        plots["range_m"] = rng.uniform(1_000.0, self.range_max_m, n_due)
        plots["el_rad"] = rng.uniform(0.0, 0.35, n_due)
        if self.range_rate:
            plots["range_rate_mps"] = rng.normal(0.0, 150.0, n_due)
        plots["amplitude_db"] = rng.uniform(8.0, 60.0, n_due)
        return plots
