"""Named measurements with units, and their summary statistics.

A measurement is either a series of samples (latencies, errors over time) or one number
(a count). Limits in bench configs name a measurement and one of its statistics:
``processing_latency_ms: {p99: 5}``. Percentiles are always reported with p50, p99 and max,
never a lone mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Statistics a limit may name. ``p99_9`` is the 99.9th percentile.
STATISTICS = ("mean", "min", "max", "p50", "p90", "p95", "p99", "p99_9", "count", "value")
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0, "p99_9": 99.9}


@dataclass(frozen=True)
class MeasurementSpec:
    """What a measurement is: its unit, what it means, and whether it is a series."""

    unit: str
    description: str
    series: bool = True
    needs_truth: bool = False


#: Every measurement the harness takes; limits may name only these.
MEASUREMENTS: dict[str, MeasurementSpec] = {
    # timing
    "processing_latency_ms": MeasurementSpec(
        "ms", "per plot: publication of the picture holding it minus its arrival"),
    "transport_latency_ms": MeasurementSpec(
        "ms", "per plot: arrival minus its sensor time on the run's time line"),
    "tick_lateness_ms": MeasurementSpec("ms", "per output tick: start minus its schedule"),
    "tick_jitter_ms": MeasurementSpec(
        "ms", "per output tick: |interval between ticks minus the configured period|"),
    "cycle_time_ms": MeasurementSpec("ms", "per fusion cycle: processing time"),
    "deadline_misses": MeasurementSpec("count", "output ticks later than their deadline",
                                       series=False),
    "queue_depth": MeasurementSpec("batches", "per cycle: plot batches waiting in readers"),
    # counts
    "plots_received": MeasurementSpec("count", "plots decoded from every sensor", series=False),
    "dropped_plots": MeasurementSpec(
        "count", "plots lost inside the rig (reader queues full)", series=False),
    "decoder_errors": MeasurementSpec(
        "count", "frames rejected by decoders (CRC, header, bad length)", series=False),
    "sequence_gaps": MeasurementSpec("count", "frames missing by sequence number",
                                     series=False),
    "foreign_records": MeasurementSpec(
        "count", "records refused because their sender is not the configured sensor (an "
        "ASTERIX SAC/SIC the config does not name, a datagram from outside allow_from)",
        series=False),
    "stale_sensors": MeasurementSpec("count", "sensors silent at the end of the run",
                                     series=False),
    "losses_outside_faults": MeasurementSpec(
        "count", "decoder errors and sequence gaps that no injected fault explains",
        series=False),
    "tracks_published": MeasurementSpec("count", "confirmed tracks at the last output tick",
                                        series=False),
    "feed_send_errors": MeasurementSpec(
        "count", "CAT062 datagrams or frames a partner feed could not send, summed over feeds",
        series=False),
    "recording_lost_records": MeasurementSpec(
        "count", "records the recording could not keep (its queue full, or a write error); "
        "a limit of every recording run, max 0, unless the config sets its own", series=False),
    # soak
    "rss_growth_mb": MeasurementSpec(
        "MB", "resident memory of the rig process at the end minus after the first quarter",
        series=False),
    "emulator_rss_growth_mb": MeasurementSpec(
        "MB", "the largest such growth among the emulator processes", series=False),
    "latency_drift_ratio": MeasurementSpec(
        "ratio", "processing latency p99 of the last quarter of the run over the first's",
        series=False),
    # accuracy against truth
    "ospa_m": MeasurementSpec("m", "OSPA distance over time", needs_truth=True),
    "gospa_m": MeasurementSpec("m", "GOSPA distance over time", needs_truth=True),
    "position_rmse_m": MeasurementSpec("m", "position RMSE of assigned tracks", series=False,
                                       needs_truth=True),
    "velocity_rmse_mps": MeasurementSpec("m/s", "velocity RMSE of assigned tracks",
                                         series=False, needs_truth=True),
    "false_tracks": MeasurementSpec("count", "tracks never assigned to a target",
                                    series=False, needs_truth=True),
    "missed_targets": MeasurementSpec("count", "targets never tracked", series=False,
                                      needs_truth=True),
    "track_breaks": MeasurementSpec("count", "times a target's track was lost and resumed",
                                    series=False, needs_truth=True),
    "identity_switches": MeasurementSpec("count", "times a target changed track",
                                         series=False, needs_truth=True),
    # rig's own figures against the emulation's truth (rig.harness.truth_check)
    "latency_truth_violations": MeasurementSpec(
        "count", "plots whose transport latency lies outside their sensor's true latency band",
        series=False, needs_truth=True),
    "registration_range_error_m": MeasurementSpec(
        "m", "largest |estimated minus true range bias| over sensors", series=False,
        needs_truth=True),
    "registration_az_error_mrad": MeasurementSpec(
        "mrad", "largest |estimated minus true azimuth bias| over sensors", series=False,
        needs_truth=True),
    "registration_el_error_mrad": MeasurementSpec(
        "mrad", "largest |estimated minus true elevation bias| over sensors (both relative "
        "to the sensors' average)", series=False, needs_truth=True),
    "registration_clock_error_ms": MeasurementSpec(
        "ms", "largest |estimated minus true clock offset| over sensors (both relative to "
        "the sensors' average)", series=False, needs_truth=True),
}


def transport_latency_ms(plots: np.ndarray, t0_ns: int) -> np.ndarray:
    """Per plot: arrival minus its sensor time on the run's time line (the sensor's clock as
    the host placed it at the start: PING, SYSTem:CLOCk? or UTC; emulated sensors share the
    run's clock, plus their scenario's clock error), ms."""
    return (plots["t_arrival_ns"] - t0_ns) * 1e-6 - plots["t_sensor"] * 1e3


def summarize(samples) -> dict[str, float | int | None]:
    """count, mean, min, max and the percentiles of a series (None where empty)."""
    x = np.asarray(samples, dtype=float)
    x = x[np.isfinite(x)]
    if not len(x):
        return {"count": 0, **{k: None for k in ("mean", "min", "max", *PERCENTILES)}}
    out: dict[str, float | int | None] = {"count": int(len(x)), "mean": float(x.mean()),
                                          "min": float(x.min()), "max": float(x.max())}
    values = np.percentile(x, list(PERCENTILES.values()))
    out.update({k: float(v) for k, v in zip(PERCENTILES, values)})
    return out


def statistic(summary_or_value, name: str):
    """One statistic of a summary dict, or the value itself for a one-number measurement."""
    if isinstance(summary_or_value, dict):
        return summary_or_value.get(name)
    return summary_or_value
