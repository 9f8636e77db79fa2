"""Random systematic errors for a sensor: biases, clock offset and drift (seeded)."""

from __future__ import annotations

import numpy as np

from .spec import RadarSpec

#: Magnitude ranges of injected errors; the sign of each is random.
ERROR_RANGES = {
    "range_bias_m": (20.0, 150.0),
    "az_bias_rad": (1e-3, 5e-3),
    "el_bias_rad": (3e-4, 2e-3),
    "clock_offset_s": (0.05, 0.5),
    "clock_drift_ppm": (1.0, 50.0),
}


#: The errors of a sensor's clock alone.
CLOCK_ERRORS = ("clock_offset_s", "clock_drift_ppm")


def with_random_errors(spec: RadarSpec, rng: np.random.Generator,
                       names=tuple(ERROR_RANGES)) -> RadarSpec:
    """A copy of ``spec`` with the errors ``names`` (default: every one of
    :data:`ERROR_RANGES`) drawn at random. Every error is drawn whichever are kept, so the
    clock errors of a seed are the same with or without the biases; a passive sensor keeps
    no range bias (it measures no range)."""
    update = {name: float(rng.choice([-1.0, 1.0]) * rng.uniform(lo, hi))
              for name, (lo, hi) in ERROR_RANGES.items()}
    if not spec.measures_range:
        names = [name for name in names if name != "range_bias_m"]
    return spec.model_copy(update={k: v for k, v in update.items() if k in names})
