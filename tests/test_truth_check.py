"""rig's transport latency and registration checked against an emulation's truth."""

from types import SimpleNamespace

import numpy as np
import pytest

from rig.fusion.registration import REGISTRATION_DTYPE
from rig.harness.truth_check import (LATENCY_ABOVE_MS, LATENCY_BELOW_MS, latency_truth,
                                     latency_truth_violations, registration_errors,
                                     registration_truth)
from rig.records import empty_plots

T0_NS = 5_000_000_000


def radar(id, latency_s=0.1, jitter_s=0.02, clock_offset_s=0.0, drift_ppm=0.0, **biases):
    return SimpleNamespace(id=id, latency_s=latency_s, latency_jitter_s=jitter_s,
                           clock_offset_s=clock_offset_s, clock_drift_ppm=drift_ppm,
                           range_bias_m=biases.get("range_m", 0.0),
                           az_bias_rad=biases.get("az_rad", 0.0),
                           el_bias_rad=biases.get("el_rad", 0.0))


def plots_of(spec, index, t_true_s, transport_s, rng):
    """Plots as a sensor with ``spec``'s clock stamps them and the host receives them."""
    n = len(t_true_s)
    p = empty_plots(n)
    p["sensor_id"] = index
    p["t_sensor"] = t_true_s + spec.clock_offset_s + spec.clock_drift_ppm * 1e-6 * t_true_s
    sent = t_true_s + spec.latency_s + rng.uniform(0, spec.latency_jitter_s, n)
    p["t_arrival_ns"] = T0_NS + np.round((sent + transport_s) * 1e9).astype(np.int64)
    return p


def test_latencies_inside_the_true_band_pass_whatever_the_sensor_clock():
    rng = np.random.default_rng(1)
    specs = [radar("A", clock_offset_s=0.3, drift_ppm=50.0), radar("B", latency_s=0.05)]
    t = np.linspace(1, 60, 200)
    plots = np.concatenate([plots_of(specs[0], 0, t, 0.002, rng),
                            plots_of(specs[1], 1, t, 0.001, rng)])
    rows = latency_truth(plots, T0_NS, specs)
    assert latency_truth_violations(rows) == 0
    # sensor A's clock runs 300 ms ahead: its raw latency is negative, the corrected one not
    assert 100 <= rows[0]["latency_ms"]["min"] and rows[0]["latency_ms"]["max"] <= 123
    assert rows[1]["allowed_ms"] == [50 - LATENCY_BELOW_MS, 70 + LATENCY_ABOVE_MS]


def test_a_wrong_clock_mapping_is_a_violation():
    rng = np.random.default_rng(2)
    spec = radar("A")
    plots = plots_of(spec, 0, np.linspace(1, 30, 100), 0.001, rng)
    plots["t_sensor"][:10] += 0.2              # ten plots placed 200 ms late: latency < 0
    plots["t_arrival_ns"][10:15] += 80_000_000   # five held 80 ms on the way
    rows = latency_truth(plots, T0_NS, [spec])
    assert (rows[0]["below"], rows[0]["above"]) == (10, 5)
    assert latency_truth_violations(rows) == 15


def test_a_sensor_with_a_latency_fault_is_not_checked():
    rng = np.random.default_rng(3)
    spec = radar("A")
    plots = plots_of(spec, 0, np.linspace(1, 30, 50), 0.5, rng)      # every plot 500 ms late
    fault = SimpleNamespace(sensor="A", kind="latency_spike")
    rows = latency_truth(plots, T0_NS, [spec], [fault])
    assert rows[0]["below"] is None and "latency_spike" in rows[0]["not_checked"]
    assert latency_truth_violations(rows) == 0
    assert latency_truth_violations(latency_truth(plots, T0_NS, [spec])) == 50


def test_registration_errors_are_absolute_for_range_and_azimuth_relative_for_el_and_clock():
    specs = [radar("A", clock_offset_s=0.4, range_m=100.0, az_rad=0.002, el_rad=0.001),
             radar("B", clock_offset_s=0.0), radar("C", clock_offset_s=-0.1)]
    reg = np.zeros(3, REGISTRATION_DTYPE)
    reg["sensor"] = ["A", "B", "C"]
    reg["range_bias_m"] = [90.0, 5.0, 0.0]
    reg["az_bias_rad"] = [0.002, 0.0, -0.0005]
    reg["el_bias_rad"] = [0.001 - 0.001 / 3, -0.001 / 3, -0.001 / 3]   # truth minus its mean
    reg["clock_offset_s"] = [0.3, -0.1, -0.2]      # truth minus its mean 0.1, exactly
    for name in ("range_bias_sigma_m", "az_bias_sigma_rad", "el_bias_sigma_rad",
                 "clock_offset_sigma_s"):
        reg[name] = 1.0
    reg["range_bias_sigma_m"] = 5.0
    rows = registration_truth(reg, specs)
    assert [r["sensor"] for r in rows] == ["A", "B", "C"]
    assert rows[0]["range_bias"]["error"] == pytest.approx(-10.0)
    assert rows[0]["range_bias"]["z"] == pytest.approx(-2.0)
    assert rows[2]["az_bias"]["error"] == pytest.approx(-0.5)           # mrad
    assert all(r["clock_offset"]["error"] == pytest.approx(0.0, abs=1e-9) for r in rows)
    assert all(r["el_bias"]["error"] == pytest.approx(0.0, abs=1e-9) for r in rows)
    worst = registration_errors(rows)
    assert worst["registration_range_error_m"] == pytest.approx(10.0)
    assert worst["registration_az_error_mrad"] == pytest.approx(0.5)
    assert worst["registration_clock_error_ms"] == pytest.approx(0.0, abs=1e-6)
