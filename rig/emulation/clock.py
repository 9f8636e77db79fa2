"""A sensor's own clock."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SensorClock:
    """``t_sensor = t_true + offset_s + drift_ppm·1e-6·t_true`` (docs/architecture.md).

    ``t_true`` is seconds since the emulation's epoch; ``epoch_s`` is what the sensor clock
    reads at that epoch before offset and drift (for example the host's monotonic time at the
    start, so that an unbiased sensor clock reads the host clock).
    """

    offset_s: float = 0.0
    drift_ppm: float = 0.0
    epoch_s: float = 0.0

    def sensor_time(self, t_true_s):
        """Sensor clock reading(s) at true time(s) ``t_true_s`` (scalar or numpy array)."""
        return self.epoch_s + t_true_s + self.offset_s + self.drift_ppm * 1e-6 * t_true_s
