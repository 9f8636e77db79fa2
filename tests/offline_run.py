"""What a bench run does with a config's numbers, without hardware and without waiting.

:func:`offline_run` loads a bench config and goes through the parts of ``rig run`` that
depend only on it: the scenario written for the emulators and read back as they read it,
their plot sources, the loop's timing, the fusion engine stepped tick by tick over the
first ``span_s`` seconds (every plot fused at its tick, as if it arrived then), the
accuracy scoring against the truth and the verdict on the limits, and the report's JSON.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from rig import strict_json
from rig.bench.config import load_bench_config
from rig.bench.loop import FusionStep, LoopTiming
from rig.bench.run import sensor_table
from rig.emulation.scenario_source import ScenarioPlotSource
from rig.fusion import FusionEngine
from rig.harness.limits import check_limits, verdict
from rig.harness.measurements import summarize
from rig.interchange import pictures_table
from rig.scenario import load_scenario
from rig.scoring import score


def offline_run(path: Path, *, span_s: float = 10.0) -> dict:
    loaded = load_bench_config(path)
    return run_loaded(loaded, span_s=span_s)


def run_loaded(loaded, *, span_s: float = 10.0) -> dict:
    cfg = loaded.config
    written = loaded.write_scenario(Path(loaded.path).with_name("scenario.yaml"))
    scenario = load_scenario(str(written))
    assert scenario.duration_s == loaded.scenario.duration_s
    sources = [ScenarioPlotSource(scenario, radar.id) for radar in loaded.radars]
    timing = LoopTiming.of(cfg, 0)
    assert timing.period_ns > 0
    end_ns = timing.end_ns if timing.end_ns < span_s * 1e9 else round(span_s * 1e9)
    engine = FusionEngine(loaded.scenario.origin, sensor_table(loaded), cfg.fusion)
    step = FusionStep(engine, updates=cfg.outputs.updates)
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(timing.switch_interval_s)
    try:
        pictures, fused = [], 0
        tick_ns = timing.period_ns
        while tick_ns <= end_ns:
            t_s = tick_ns * 1e-9
            batches = []
            for index, source in enumerate(sources):
                plots = source.take_until(t_s)
                plots["sensor_id"] = index
                batches.append(plots)
            plots = np.concatenate(batches)
            fused += len(plots)
            step.cycle(plots, t_s, t_s)
            pictures.append(step.picture(t_s))
            tick_ns += timing.period_ns
    finally:
        sys.setswitchinterval(switch_interval)
    end_s = end_ns * 1e-9
    ticks = np.zeros(len(pictures))
    per_plot = np.zeros(fused)
    measured = {"plots_received": fused, "dropped_plots": 0, "decoder_errors": 0,
                "tracks_published": len(pictures[-1]) if pictures else 0,
                "deadline_misses": 0, "tick_lateness_ms": summarize(ticks),
                "processing_latency_ms": summarize(per_plot)}
    samples = {"tick_lateness_ms": ticks, "processing_latency_ms": per_plot}
    truth = loaded.scenario.truth()
    truth = truth[truth["t"] <= end_s]
    warmup = cfg.accuracy.warmup_s
    if loaded.has_truth and len(truth) and pictures and end_s > warmup:
        sc = score(truth, pictures_table(pictures), cutoff_m=cfg.accuracy.cutoff_m,
                   order=cfg.accuracy.order, t_start_s=warmup, t_end_s=end_s)
        measured["ospa_m"] = summarize(sc.ospa_m)
        measured["gospa_m"] = summarize(sc.gospa_m)
        samples.update(ospa_m=sc.ospa_m, gospa_m=sc.gospa_m)
    results = check_limits(loaded.limits, measured, samples=samples,
                           has_truth=loaded.has_truth)
    outcome, exit_code = verdict(results)
    strict_json.dumps({"config": cfg.model_dump(mode="json"), "counts": measured,
                       "engine": engine.counters.as_dict(),
                       "limits": [r.to_json() for r in results]})
    return {"outcome": outcome, "exit_code": exit_code, "pictures": len(pictures),
            "plots": fused, "engine": engine.counters.as_dict()}
