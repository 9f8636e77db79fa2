"""A scenario-driven plot source for real-time emulation (:class:`rig.emulation.PlotSource`).

An emulated sensor (for example ``firmware_interfaces.serial_sensor``) streams what its
radar model reports for the scenario: each plot is released when it leaves the sensor (its
detection time plus the model's latency), and the emulator stamps it with the sensor's own
offset, drifting clock. Plots are generated a chunk of scenario time ahead, so memory stays
small for long runs.

Faster than real time: with ``speed = F`` the scenario runs F times faster than the host's
clock. The sensor clock then reads scenario time, ``t_sensor = epoch + offset +
(1 + drift·1e-6)·t_scenario``: :func:`emulation_clock` gives the clock the emulator must use
for that, and the source hands out ``t_scenario / F`` as the true time the emulator expects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rig.errors import UsageError
from rig.records import empty_plots
from rig.scenario import load_scenario
from rig.sensor_models.radar import SIM_PLOT_DTYPE, RadarModel
from rig.sensor_models.simulate import sensor_rng
from rig.sensor_models.spec import RadarSpec

from .clock import SensorClock


def emulation_clock(spec: RadarSpec, speed: float = 1.0, *, extra_offset_s: float = 0.0,
                    extra_drift_ppm: float = 0.0) -> SensorClock:
    """The :class:`SensorClock` that makes an emulator running at ``speed`` × real time
    stamp plots with this radar's clock over scenario time."""
    drift = (spec.clock_drift_ppm + extra_drift_ppm) * 1e-6
    return SensorClock(spec.clock_offset_s + extra_offset_s, (speed * (1.0 + drift) - 1.0) * 1e6)


class ScenarioPlotSource:
    """The plots of radar ``sensor_id`` in ``scenario`` (from :mod:`rig.scenario`).

    :meth:`take_until` (host seconds since the start) returns the plots that have left the
    sensor by then, in that order, with ``t_sensor`` holding their true detection time in
    host seconds. Setting :attr:`scan_period_s` (the host's SET_SCAN_PERIOD) changes the
    antenna's rotation from the current time on, keeping its pointing continuous.
    """

    def __init__(self, scenario, sensor_id: str, *, speed: float = 1.0, chunk_s: float = 10.0):
        if not speed > 0:
            raise UsageError(f"the speed must be positive, not {speed}")
        self.scenario = scenario
        self.spec = scenario.sensor(sensor_id)
        self.model = RadarModel(self.spec, scenario.origin)
        self.speed = float(speed)
        self.chunk_s = float(chunk_s)
        self._rng = sensor_rng(scenario.seed, self.spec.id)
        self._generated_until = 0.0
        self._t_now = 0.0
        self._pending = np.zeros(0, SIM_PLOT_DTYPE)
        self._generate(min(self.chunk_s, scenario.duration_s))

    @property
    def scan_period_s(self) -> float:
        return self.model.scan_period_s

    @scan_period_s.setter
    def scan_period_s(self, period_s: float) -> None:
        m, now = self.model, self._t_now
        turns = ((now - m.scan_phase_s) / m.scan_period_s) % 1.0
        m.scan_period_s = float(period_s)
        m.scan_phase_s = now - turns * m.scan_period_s
        self._pending = self._pending[self._pending["t_true_s"] <= now]
        self._generated_until = min(self._generated_until, now)

    @property
    def finished(self) -> bool:
        """True once every plot of the scenario has been taken."""
        return self._generated_until >= self.scenario.duration_s and not len(self._pending)

    def _generate(self, t_until_s: float) -> None:
        parts = [self._pending]
        while self._generated_until < min(t_until_s, self.scenario.duration_s):
            t0 = self._generated_until
            t1 = min(t0 + self.chunk_s, self.scenario.duration_s)
            parts.append(self.model.plots(self.scenario.trajectories, t0, t1, self._rng))
            self._generated_until = t1
        if len(parts) > 1:
            pending = np.concatenate(parts)
            self._pending = pending[np.argsort(pending["t_report_s"], kind="stable")]

    def next_release_s(self) -> float:
        """Host seconds at which the next plot leaves the sensor (``inf``: none will)."""
        while not len(self._pending) and self._generated_until < self.scenario.duration_s:
            self._generate(self._generated_until + self.chunk_s)
        if not len(self._pending):
            return float("inf")
        return float(self._pending["t_report_s"][0]) / self.speed

    def take_until(self, t_s: float) -> np.ndarray:
        now = t_s * self.speed
        self._t_now = max(self._t_now, now)
        self._generate(now)
        n = int(np.searchsorted(self._pending["t_report_s"], now, "right"))
        taken, self._pending = self._pending[:n], self._pending[n:]
        plots = empty_plots(n)
        plots["t_sensor"] = taken["t_true_s"] / self.speed
        plots["range_m"] = taken["range_m"]
        plots["az_rad"] = taken["az_rad"]
        plots["el_rad"] = taken["el_rad"]
        plots["range_rate_mps"] = taken["range_rate_mps"]
        plots["amplitude_db"] = taken["amplitude_db"]
        return plots


@dataclass(frozen=True)
class ScenarioEmulation:
    """What an emulator needs to stream one radar of a scenario."""

    source: ScenarioPlotSource
    clock: SensorClock
    duration_s: float        # host seconds until the scenario's last plot has left the sensor

    @property
    def sensor_id(self) -> str:
        return self.source.spec.id


def scenario_emulation(scenario_file: str | None, sensor_id: str | None = None, *,
                       speed: float = 1.0, seed: int | None = None,
                       extra_offset_s: float = 0.0, extra_drift_ppm: float = 0.0,
                       variant: str | None = None) -> ScenarioEmulation:
    """Source, clock and duration for ``rig emulate --scenario FILE --sensor ID``:
    ``scenario_file`` as for :func:`rig.scenario.load_scenario_spec`, the first sensor when
    ``sensor_id`` is None; ``variant``: the scenario's variant whose sensors join it."""
    if not speed > 0:
        raise UsageError(f"--speed must be positive, not {speed}")
    scenario = load_scenario(scenario_file, seed=seed, variant=variant)
    spec = scenario.sensor(sensor_id) if sensor_id is not None else scenario.sensors[0]
    source = ScenarioPlotSource(scenario, spec.id, speed=speed)
    clock = emulation_clock(spec, speed, extra_offset_s=extra_offset_s,
                            extra_drift_ppm=extra_drift_ppm)
    last_s = scenario.duration_s + spec.latency_s + spec.latency_jitter_s
    return ScenarioEmulation(source, clock, last_s / speed)
