"""The files a run (or a replay) leaves: tracks.csv, truth.csv, report.json, junit.xml and
report.html, and the figures in them."""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import replace
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from rig import __version__, strict_json
from rig.fusion import FusionEngine
from rig.harness.environment import describe_environment
from rig.harness.junit import write_junit
from rig.harness.limits import NO_DATA, Limit, check_limits, verdict
from rig.harness.measurements import summarize, transport_latency_ms
from rig.harness.truth_check import (LATENCY_ABOVE_MS, LATENCY_BELOW_MS, latency_truth,
                                     latency_truth_violations, registration_errors,
                                     registration_truth)
from rig.interchange import write_csv
from rig.outfiles import write_atomic

from .accuracy import accuracy
from .faults_report import fault_rows, losses_outside_faults
from .report_html import write_html
from rig.firmware import decoder_errors, delivers_tracks

#: the version of report.json's layout (rig/schemas/report.schema.json)
REPORT_SCHEMA_VERSION = 1


def sensor_row(sensor_id, partner, family, transport, state, plots, counters, elapsed_s, *,
               stale_events=0, error=None, foreign_sources=(), tracks=None) -> dict:
    """One sensor's line of the report; ``foreign_sources``: the first few addresses (e.g.
    ASTERIX SAC/SIC) of records it refused because the config does not name them;
    ``tracks``: the tracks a track-level partner's sensor delivered (None for plots)."""
    extra = {} if tracks is None else {"tracks": int(tracks)}
    return {**extra, "id": sensor_id, "partner": partner, "family": family, "transport": transport,
            "state": state, "plots": plots, "rate_per_s": plots / max(elapsed_s, 1e-9),
            "stale_events": stale_events, "decoder_errors": decoder_errors(counters),
            "sequence_gaps": int(counters.get("seq_gaps", 0)),
            "dropped_plots": int(counters.get("plots_dropped", 0)),
            "foreign_records": int(counters.get("records_foreign", 0)
                                   + counters.get("datagrams_refused", 0)),
            "foreign_sources": list(foreign_sources), "error": error, "counters": counters}


def soak_figures(result) -> dict:
    """Memory growth after warm-up (the first quarter) and latency drift, for soak limits."""
    out = {}
    mem = result.memory
    if len(mem) >= 4:
        q = len(mem) // 4
        rig = [m for _, m, _ in mem[q:] if m is not None]
        if rig:
            out["rss_growth_mb"] = round(rig[-1] - rig[0], 3)
        growth = []
        for k in range(len(mem[0][2])):
            series = [e[k] for _, _, e in mem[q:] if e[k] is not None]
            if len(series) >= 2:
                growth.append(series[-1] - series[0])
        if growth:
            out["emulator_rss_growth_mb"] = round(max(growth), 3)
    lat = result.processing_latency_ms
    if len(lat) >= 40:
        q = len(lat) // 4
        first, last = np.percentile(lat[:q], 99), np.percentile(lat[-q:], 99)
        out["latency_drift_ratio"] = round(float(last / first), 3) if first > 0 else None
    return out


def write_reports(loaded, sensor_rows: list[dict], engine, result, out_dir: Path, *,
                  t0_ns: int, extra: dict, scored: bool = True, on_verdict=None,
                  page_first: bool = False) -> dict:
    """truth.csv (emulated), report.json, junit.xml and report.html; returns the report with
    its ``outcome`` and ``exit_code`` (1 when a limit failed). Not ``scored``: what was
    measured only (no truth, no accuracy, no figures), quick, for a run stopped by a signal.
    ``page_first``: a report.html without figures is written too, before the figures are
    drawn (they take seconds, which a stopped run may not have). ``on_verdict(report)`` is
    called once report.json and junit.xml (and that page) are written."""
    cfg = loaded.config
    extra = dict(extra)             # what goes into report.json as is; the caller's stays
    registration = engine.registration()
    for row, entry in zip(sensor_rows, cfg.sensors):
        row["required"] = entry.required
    latency = transport_latency_ms(result.plots, t0_ns)
    for index, (row, reg) in enumerate(zip(sensor_rows, registration)):
        row["registration"] = {name: float(reg[name]) for name in registration.dtype.names
                               if registration.dtype[name].kind == "f"}
        row["transport_latency_ms"] = summarize(latency[result.plots["sensor_id"] == index])
    tracks = pd.read_csv(result.pictures.path)
    timing = {
        "processing_latency_ms": summarize(result.processing_latency_ms),
        "transport_latency_ms": summarize(result.transport_latency_ms),
        "tick_lateness_ms": summarize(result.tick_lateness_ms),
        "tick_jitter_ms": summarize(result.tick_jitter_ms),
        "cycle_time_ms": summarize(result.cycle_time_ms),
        "queue_depth": summarize(result.queue_depth),
        "deadline_misses": result.deadline_misses,
    }
    counts = {
        "plots_received": int(sum(r["plots"] for r in sensor_rows)),
        "dropped_plots": int(sum(r["dropped_plots"] for r in sensor_rows)),
        "decoder_errors": int(sum(r["decoder_errors"] for r in sensor_rows)),
        "sequence_gaps": int(sum(r["sequence_gaps"] for r in sensor_rows)),
        "foreign_records": int(sum(r["foreign_records"] for r in sensor_rows)),
        "stale_sensors": int(sum(r["state"] == "stale" for r in sensor_rows)),
        "tracks_published": int(len(result.pictures.last)),
        "ticks": result.ticks, "cycles": result.cycles,
    }
    counts.update(soak_figures(result))
    if extra.get("feeds") is not None:
        counts["feed_send_errors"] = int(sum(f["send_errors"] for f in extra["feeds"]))
    written = extra.get("recording") or {}       # a run's own (a replay's is what it read)
    if "dropped_records" in written:
        counts["recording_lost_records"] = int(written["dropped_records"])
    if result.memory:
        extra["memory_mb"] = [[round(t, 3), m, e] for t, m, e in result.memory]
    events = extra.pop("fault_events", {})
    if result.snapshots:
        names = list(engine.sensors.names)
        faults = loaded.config.faults
        extra["faults"] = fault_rows(faults, names, result.snapshots, events)
        counts["losses_outside_faults"] = losses_outside_faults(faults, names, result.snapshots)
    measured = {**timing, **counts}
    series = {k: getattr(result, k) for k in ("processing_latency_ms", "transport_latency_ms",
                                              "tick_lateness_ms", "tick_jitter_ms")}
    series["tracks"] = tracks
    series["sites"] = site_rows(engine.sensors)
    if loaded.has_truth and scored:
        truth = loaded.scenario.truth()
        write_csv(out_dir / "truth.csv", truth[truth["t"] <= result.elapsed_s])
        partner_names = engine.sensors.partner_names
        acc = accuracy(result, truth, tracks, engine_factory=lambda: FusionEngine(
            engine.origin, engine.sensors, engine.params),
            partner_names=partner_names, partner_of_sensor=engine.sensors.partner,
            t0_ns=t0_ns, cutoff_m=cfg.accuracy.cutoff_m, order=cfg.accuracy.order,
            warmup_s=cfg.accuracy.warmup_s, ranged=engine.sensors.ranged,
            track_sensors=np.array([delivers_tracks(e.family) for e in cfg.sensors]))
        accuracy_json = acc["summary"]
        joint = acc["joint"]
        if joint is not None:
            s = joint.summary()
            measured.update({
                "ospa_m": summarize(joint.ospa_m), "gospa_m": summarize(joint.gospa_m),
                "position_rmse_m": s["position_rmse_m"],
                "velocity_rmse_mps": s["velocity_rmse_mps"],
                "false_tracks": s["false_tracks"], "missed_targets": s["missed_targets"],
                "track_breaks": s["track_breaks"], "identity_switches": s["identity_switches"]})
        series["truth"] = truth[truth["t"] <= result.elapsed_s]
        series["ospa_over_time"] = acc["curves"]
        truth_json = truth_checks(loaded, engine, registration, result.plots, t0_ns)
        measured["latency_truth_violations"] = latency_truth_violations(
            truth_json["transport_latency"])
        measured.update(registration_errors(truth_json["registration"]))
    else:
        truth_json = joint = None
        accuracy_json = {"not_measurable": f"mode {cfg.mode}: the truth of real targets is "
                         "unknown; track counts, consistency and registration are reported"}
        if not scored:
            accuracy_json = {"not_measurable": f"not scored: the run was stopped by "
                             f"{result.stopped_by} and ended before its accuracy against "
                             "truth was scored"}
    accuracy_json["engine"] = engine.counters.as_dict()
    if any(engine.partner_tracks.counters.values()):      # a partner shared its tracks
        accuracy_json["engine"]["partner_tracks"] = dict(engine.partner_tracks.counters)
    samples = {k: getattr(result, k) for k in (
        "processing_latency_ms", "transport_latency_ms", "tick_lateness_ms", "tick_jitter_ms",
        "cycle_time_ms", "queue_depth")}
    if loaded.has_truth and joint is not None:
        samples.update({"ospa_m": joint.ospa_m, "gospa_m": joint.gospa_m})
    platform = extra.pop("platform", None)
    platform_at = platform_lateness(platform, result)
    kept = io.BytesIO()
    np.savez_compressed(kept, **samples, processing_times_s=result.processing_times_s,
                        tick_times_s=result.tick_times_s,
                        **{f"platform_{name}": late for name, late in platform_at.items()})
    write_atomic(out_dir / "timing-samples.npz", kept.getvalue())
    limits = run_limits(loaded, recorded="recording_lost_records" in counts)
    results = check_limits(limits, measured, samples=samples, has_truth=loaded.has_truth,
                           platform=platform_at)
    env = describe_environment()
    env["realtime"] = extra.pop("realtime", None)
    env["fusion_kernels"] = engine.kernels_name
    env["platform_probe"] = platform.summary() if platform is not None else None
    report = {
        **report_head(loaded), "duration_s": result.elapsed_s,
        "stopped_by": result.stopped_by, **extra, "environment": env,
        "sensors": sensor_rows, "timing": timing,
        "timing_platform": {name: summarize(late) for name, late in platform_at.items()},
        "counts": counts,
        "accuracy": accuracy_json, "truth_check": truth_json, "registration": [
            {name: (r[name].item() if hasattr(r[name], "item") else r[name])
             for name in registration.dtype.names} for r in registration],
        "limits": [r.to_json() for r in results],
    }
    report["outcome"], report["exit_code"] = verdict(results)
    written = write_verdict(out_dir, loaded, report, results)   # the page links these files
    if page_first or not scored:
        write_html(out_dir / "report.html", report, series, figures=False)
    if on_verdict is not None:
        on_verdict(written)
    if scored:
        write_html(out_dir / "report.html", report, series)
    return written


def site_rows(sensors) -> list[dict]:
    """Each sensor's partner, site (east, north in the fusion origin's frame, m) and maximum
    range, for the coverage map."""
    return [{"id": name, "partner": sensors.partner_names[partner], "east_m": float(t[0]),
             "north_m": float(t[1]), "range_max_m": float(reach)}
            for name, partner, t, reach in zip(sensors.names, sensors.partner, sensors.t,
                                               sensors.range_max_m)]


#: a run asked to record must keep every record: a limit of its own unless the config sets one
RECORDING_LIMIT = Limit("recording_lost_records", "max", "<=", 0.0)


def run_limits(loaded, recorded: bool) -> list[Limit]:
    """The config's limits, and the recording's integrity when the run recorded."""
    limits = list(loaded.limits)
    if recorded and all(lim.measurement != RECORDING_LIMIT.measurement for lim in limits):
        limits.append(RECORDING_LIMIT)
    return limits


def truth_checks(loaded, engine, registration, plots: np.ndarray, t0_ns: int) -> dict:
    """report.json's ``truth_check``: rig's transport latency and registration against the
    emulated sensors' true latency, biases and clock errors (rig.harness.truth_check)."""
    radars = [loaded.scenario.sensor(name) for name in engine.sensors.names]
    return {"latency_band_ms": {"below": LATENCY_BELOW_MS, "above": LATENCY_ABOVE_MS},
            "transport_latency": latency_truth(plots, t0_ns, radars, loaded.config.faults),
            "registration": registration_truth(registration, radars)}


def write_aborted_reports(loaded, sensors, out_dir: Path, *, error: str, exit_code: int,
                          started_utc: str, stopped_by: str = "error") -> dict:
    """report.json and junit.xml of a run that did not start (a required sensor missing, or
    a stop signal while starting): the sensors as far as they got, every limit ``no data``
    (or ``skipped`` where it needs a truth the run cannot have), the error; returns the
    report."""
    rows = [{"id": s.id, "partner": s.partner, "family": s.family,
             "transport": s.entry.transport, "state": "failed" if s.error else "not started",
             "plots": 0, "error": s.error, "required": s.entry.required} for s in sensors]
    results = [replace(r, reason=f"the run did not start: {error}") if r.outcome == NO_DATA
               else r for r in check_limits(loaded.limits, {}, has_truth=loaded.has_truth)]
    report = {
        **report_head(loaded), "duration_s": 0.0, "stopped_by": stopped_by,
        "started_utc": started_utc, "error": error, "environment": describe_environment(),
        "sensors": rows, "timing": {}, "counts": {},
        "accuracy": {"not_measurable": "the run did not start"},
        "limits": [r.to_json() for r in results], "outcome": "error", "exit_code": exit_code}
    return write_verdict(out_dir, loaded, report, results)


def report_head(loaded) -> dict:
    """What every report.json begins with: its layout version, rig's, and the config."""
    cfg = loaded.config
    return {"schema_version": REPORT_SCHEMA_VERSION, "rig_version": __version__,
            "config_file": str(loaded.path), "name": cfg.name, "mode": cfg.mode,
            "station": cfg.station.model_dump(mode="json"),
            "config": cfg.model_dump(mode="json")}


def write_verdict(out_dir: Path, loaded, report: dict, results) -> dict:
    """junit.xml (one case per sensor and per limit ``results``) and report.json (strict
    JSON) of ``report``; returns the report as written."""
    cfg = loaded.config
    started = report.get("started_utc")
    write_junit(out_dir / "junit.xml", results, suite=cfg.name, duration_s=report["duration_s"],
                started=dt.datetime.fromisoformat(started) if started else None,
                sensors=report["sensors"], error=report.get("error"),
                properties={"config": loaded.path, "mode": cfg.mode})
    report = strict_json.plain(report)
    write_atomic(out_dir / "report.json", json.dumps(report, indent=1, allow_nan=False) + "\n")
    return report


def report_schema() -> dict:
    """The JSON Schema of report.json (``rig/schemas/report.schema.json``)."""
    return json.loads(resources.files("rig.schemas").joinpath("report.schema.json").read_text())


def platform_lateness(platform, result) -> dict:
    """Per timing measurement with sample times: how late the platform itself was while each
    sample was being made (ms), from the probe's record (empty without one). A tick: from a
    millisecond before its schedule to a millisecond after it started; a jitter sample (the
    interval between two ticks): the later of its two ticks'; a processing latency: from the
    plot's arrival to a millisecond after its publication."""
    if platform is None:
        return {}
    out = {}
    ticks = np.asarray(result.tick_times_s, float)
    lateness_s = np.asarray(result.tick_lateness_ms, float) * 1e-3
    if len(ticks) and len(ticks) == len(lateness_s):
        per_tick = platform.late_around(ticks + lateness_s, lateness_s + 1e-3, after_s=1e-3)
        out["tick_lateness_ms"] = per_tick
        if len(result.tick_jitter_ms) == len(ticks) - 1:
            out["tick_jitter_ms"] = np.maximum(per_tick[:-1], per_tick[1:])
    at = np.asarray(result.processing_times_s, float)
    latency = np.asarray(result.processing_latency_ms, float)
    if len(at) and len(at) == len(latency):
        out["processing_latency_ms"] = platform.late_around(at, latency * 1e-3, after_s=1e-3)
    return out
