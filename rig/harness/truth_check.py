"""rig's own figures checked against the emulation's truth.

An emulated sensor's true latency, biases and clock error are in the scenario, so in
emulated mode the harness can say how far what rig measured or estimated lies from them:

- **transport latency**: a plot leaves the radar model ``latency_s + U(0, latency_jitter_s)``
  after its detection and then crosses the transport, the decoder and the loop's wake-up.
  Measured latency (arrival minus the sensor time stamp) plus the sensor's true clock error
  at that moment must lie in ``[latency_s − LATENCY_BELOW_MS, latency_s + latency_jitter_s +
  LATENCY_ABOVE_MS]``. Below: half of CAT048's time-of-day unit (1/128 s, rounded). Above:
  the transport itself (a pty or a UDP datagram: about a millisecond; the SCPI sensor is
  polled, each fetch a VISA round trip: up to about 25 ms on an idle 2-core machine) and the
  reader's wake-up on a loaded machine. A plot outside is a truth violation.
- **registration**: the engine's bias and clock estimates minus the true ones, per sensor.
  Range and azimuth bias are absolute; elevation bias and clock offset are estimated only
  relative to the sensors' average (their common part cannot be seen in plots), so the
  truth is taken relative to its own average before comparing.
"""

from __future__ import annotations

import numpy as np

from .measurements import summarize, transport_latency_ms

LATENCY_BELOW_MS = 4.0
LATENCY_ABOVE_MS = 50.0

#: Injected faults that change what a sensor's latency or clock truly is.
LATENCY_FAULTS = frozenset({"latency_spike", "reorder_frames", "clock_jump", "drift_change"})


def latency_truth(plots: np.ndarray, t0_ns: int, radars, faults=()) -> list[dict]:
    """Per sensor (``radars[i]`` is sensor index ``i``'s RadarSpec): the measured transport
    latency corrected by the true clock error, the band the truth allows, and how many plots
    fell outside it. A sensor with a fault from :data:`LATENCY_FAULTS` is not checked."""
    faulty = {f.sensor: f.kind for f in faults if f.kind in LATENCY_FAULTS}
    measured = transport_latency_ms(plots, t0_ns)
    rows = []
    for index, radar in enumerate(radars):
        mine = plots["sensor_id"] == index
        t_s = plots["t_sensor"][mine]
        clock_error_ms = (radar.clock_offset_s + radar.clock_drift_ppm * 1e-6 * t_s) * 1e3
        corrected = measured[mine] + clock_error_ms
        low = radar.latency_s * 1e3 - LATENCY_BELOW_MS
        high = (radar.latency_s + radar.latency_jitter_s) * 1e3 + LATENCY_ABOVE_MS
        row = {"sensor": radar.id, "true_min_ms": radar.latency_s * 1e3,
               "true_max_ms": (radar.latency_s + radar.latency_jitter_s) * 1e3,
               "allowed_ms": [low, high], "latency_ms": summarize(corrected),
               "below": int(np.sum(corrected < low)), "above": int(np.sum(corrected > high))}
        if radar.id in faulty:
            row.update(below=None, above=None,
                       not_checked=f"fault {faulty[radar.id]} changes its latency or clock")
        rows.append(row)
    return rows


def latency_truth_violations(rows: list[dict]) -> int:
    """Plots outside their sensor's true latency band, over every checked sensor."""
    return sum(r["below"] + r["above"] for r in rows if r["below"] is not None)


#: quantity -> (field of the registration table and of RadarSpec, scale to the reported
#: unit, unit, estimated relative to the sensors' average)
REGISTRATION_TRUTH = {
    "range_bias": ("range_bias_m", 1.0, "m", False),
    "az_bias": ("az_bias_rad", 1e3, "mrad", False),
    "el_bias": ("el_bias_rad", 1e3, "mrad", True),
    "clock_offset": ("clock_offset_s", 1e3, "ms", True),
}

#: limit measurement -> the registration quantity it takes the largest |error| of
REGISTRATION_LIMITS = {
    "registration_range_error_m": "range_bias",
    "registration_az_error_mrad": "az_bias",
    "registration_el_error_mrad": "el_bias",
    "registration_clock_error_ms": "clock_offset",
}


def registration_truth(registration: np.ndarray, radars) -> list[dict]:
    """Per sensor: estimate, truth and error (estimate minus truth) of each bias and the clock
    offset in m / mrad / ms, with the error over the estimate's sigma (``z``: beyond about 3
    the estimate is overconfident)."""
    rows = [{"sensor": radar.id, "n_pairs": int(n)}
            for radar, n in zip(radars, registration["n_pairs"])]
    for quantity, (field, scale, unit, gauged) in REGISTRATION_TRUTH.items():
        truth = np.array([getattr(r, field) for r in radars], float)
        if gauged:
            truth = truth - truth.mean()
        errors = registration[field] - truth
        for row, estimate, true, error, sigma in zip(
                rows, registration[field], truth, errors, registration[_sigma_name(field)]):
            row[quantity] = {"unit": unit, "estimate": float(estimate) * scale,
                             "truth": float(true) * scale, "error": float(error) * scale,
                             "sigma": float(sigma) * scale,
                             "z": float(error / sigma) if sigma > 0 else None}
    return rows


def _sigma_name(field: str) -> str:
    stem, unit = field.rsplit("_", 1)
    return f"{stem}_sigma_{unit}"


def registration_errors(rows: list[dict]) -> dict[str, float]:
    """The largest |error| over sensors of each registration quantity (the limit values)."""
    return {name: max(abs(r[q]["error"]) for r in rows)
            for name, q in REGISTRATION_LIMITS.items() if rows}
