"""Real-time fusion benchmark: what one cycle of the live loop's fusion costs, on a recorded run.

    python benchmarks/bench_realtime.py [--config FILE] [--duration S] [--recording FILE]
                                        [--repeat N] [--work DIR]

Records a short run of the default bench config (``rig run --record``: the emulators, the
live loop, about ``--duration`` plus start-up), or takes ``--recording``, then replays it in
this process through ``rig replay``'s own code, timing every ``FusionStep.cycle`` (the plots
of one loop cycle fused up to the cycle's run time, the tracks they updated predicted) with
``time.perf_counter_ns``, garbage collection frozen as in the loop:

- ``rig``: the engine as the loop runs it (``--repeat`` replays, each percentile the median);
- ``every_window``: the same engine with ``manage_period_s = 0``, deletion and merging after
  every 10 ms window as the engine did before that period existed;
- ``reference``: the same cycles on the NumPy reference kernels (``rig/fusion/reference/``,
  what the compiled kernels are held to), the baseline of the compiled path.

Replays are deterministic, so every variant sees exactly the same cycles, and the replay of
``rig`` must give the live run's ``tracks.csv`` bit for bit (``replay_identical``). The live
run's own figures (processing latency: publication minus arrival, per plot; cycle time) come
from its ``report.json``. Timing depends on the machine and its load; run it on an idle one.
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from rig.bench import loop
from rig.bench import replay as replay_mod
from rig.fusion import FusionEngine, kernels
from rig.launch import rig_command

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "bench_configs" / "emulated.yaml"
QUANTILES = (50, 90, 99, 99.9)


def record(config: Path, duration_s: float, out: Path) -> tuple[Path, dict]:
    """A live run with its recording: ``(recording, report)``."""
    cmd = rig_command("run", str(config), "--duration", str(duration_s), "--out", str(out),
                      "--record", "run.rigrec", "--no-live")
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode not in (0, 1):                 # 1: a limit failed, the run is whole
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"rig run exited {done.returncode}")
    return out / "run.rigrec", json.loads((out / "report.json").read_text())


def timed_replay(recording: Path, out: Path, engine_factory) -> np.ndarray:
    """Replay ``recording`` into ``out`` with ``engine_factory`` as the replay's engine;
    the time of every fusion cycle, ms."""
    samples: list[int] = []
    cycle = loop.FusionStep.cycle

    def timed(self, plots, until_s, t_update_s):
        t0 = time.perf_counter_ns()
        result = cycle(self, plots, until_s, t_update_s)
        samples.append(time.perf_counter_ns() - t0)
        return result

    loop.FusionStep.cycle, replay_mod.FusionEngine = timed, engine_factory
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        replay_mod.replay(recording, out)
    finally:
        gc.enable()
        gc.unfreeze()
        loop.FusionStep.cycle, replay_mod.FusionEngine = cycle, FusionEngine
    return np.array(samples, float) * 1e-6


def figures(ms: np.ndarray) -> dict:
    out = {f"p{q:g}".replace(".", "_"): float(np.percentile(ms, q)) for q in QUANTILES}
    out.update(max=float(ms.max()), mean=float(ms.mean()), cycles=int(len(ms)))
    return out


def every_window(origin, sensors, params, **kw):
    """The engine with deletion and merging after every window (``manage_period_s = 0``)."""
    return FusionEngine(origin, sensors, params.model_copy(update={"manage_period_s": 0.0}),
                        **kw)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=DEFAULT_CONFIG,
                    help="bench config to record (default: bench_configs/emulated.yaml)")
    ap.add_argument("--duration", type=float, default=30.0, help="run length, s (default 30)")
    ap.add_argument("--recording", type=Path, default=None,
                    help="replay this recording instead of making one")
    ap.add_argument("--repeat", type=int, default=3, help="replays of rig (default 3)")
    ap.add_argument("--work", type=Path, default=None, help="folder for the runs")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_realtime_"))
    work.mkdir(parents=True, exist_ok=True)
    live = None
    if args.recording is None:
        print(f"recording {args.config.name} for {args.duration:g} s in {work / 'live'} ...")
        recording, live = record(args.config, args.duration, work / "live")
    else:
        recording = args.recording

    runs = {"rig": [], "every_window": []}
    for i in range(max(1, args.repeat)):
        runs["rig"].append(figures(timed_replay(recording, work / f"rig{i}", FusionEngine)))
        runs["every_window"].append(figures(timed_replay(recording, work / f"every{i}",
                                                         every_window)))
    result = {name: {key: type(rs[0][key])(np.median([r[key] for r in rs])) for key in rs[0]}
              for name, rs in runs.items()}
    reference_engine = functools.partial(FusionEngine, kernels=kernels.reference())
    result["reference"] = figures(timed_replay(recording, work / "reference", reference_engine))
    live_tracks = recording.parent / "tracks.csv"
    identical = (live_tracks.read_bytes() == (work / "rig0" / "tracks.csv").read_bytes()
                 if live_tracks.is_file() else None)

    print(f"{'fusion cycle, ms':22s}" + "".join(f"{k:>9s}" for k in
                                                ("p50", "p90", "p99", "p99_9", "max", "mean")))
    for name in ("rig", "every_window", "reference"):
        f = result[name]
        print(f"{name:22s}" + "".join(f"{f[k]:9.3f}" for k in
                                      ("p50", "p90", "p99", "p99_9", "max", "mean")))
    print(f"cycles replayed: {result['rig']['cycles']:.0f}; replay of rig bit-identical to "
          f"the live run: {identical}")
    out = {
        "cycle_ms": {name: {k: round(v, 4) for k, v in f.items()} for name, f in result.items()},
        "speedup_p50_vs_reference": round(result["reference"]["p50"] / result["rig"]["p50"], 1),
        "speedup_p99_vs_reference": round(result["reference"]["p99"] / result["rig"]["p99"], 1),
        "speedup_p99_vs_every_window": round(result["every_window"]["p99"]
                                             / result["rig"]["p99"], 2),
        "replay_identical": identical,
        "recording": str(recording),
    }
    if live is not None:
        timing = live["timing"]
        out["live"] = {
            "processing_latency_ms": {k: round(timing["processing_latency_ms"][k], 3)
                                      for k in ("p50", "p99", "max")},
            "cycle_time_ms": {k: round(timing["cycle_time_ms"][k], 3)
                              for k in ("p50", "p99", "max")},
            "outcome": live.get("outcome"),
        }
        print(f"live run: processing latency ms p50 {out['live']['processing_latency_ms']['p50']}"
              f" p99 {out['live']['processing_latency_ms']['p99']}; loop cycle ms p50 "
              f"{out['live']['cycle_time_ms']['p50']} p99 {out['live']['cycle_time_ms']['p99']}")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
