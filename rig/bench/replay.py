"""``rig replay``: a recorded run fed again through the same codecs and the same fusion.

The raw chunks of every sensor are decoded by fresh decoders of the same families, in the
order they were read, and the loop's cycle markers say which plots each cycle fused and at
which run times: so the fusion sees exactly what it saw live, and its output is identical bit
for bit. Timing figures are the ones the live run measured (its arrival and publication
stamps are in the recording); accuracy and limits are computed again. Pace: as fast as
possible, or as recorded (``pace="recorded"``).
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from pathlib import Path

import numpy as np

from rig.errors import CodecError, ConfigError
from rig.fusion import FusionEngine
from rig.firmware import get_interface
from rig.harness.limits import parse_limits
from rig.harness.measurements import transport_latency_ms
from rig.interchange import TracksCsvWriter
from rig.outfiles import output_folder
from rig.progress import Stages, silent
from rig.record import Kind, RecordingReport
from rig.record import iter_recording
from rig.records import PLOT_DTYPE, empty_plots
from rig.scenario import ScenarioSpec, build_scenario
from rig.validation import validate

from .config import BenchConfig, LoadedConfig, family_keys_only
from .loop import FusionStep, LoopResult, SampleBuffer
from .report import sensor_row, write_reports
from .run import sensor_table
from .sensor_handles import SensorHandle, to_run_time

log = logging.getLogger(__name__)


class _Decoder:
    """A fresh decoder of one sensor's family, as its driver made it, and its plot count."""

    def __init__(self, info: dict):
        self.info = info
        self.plots = 0
        self.bad_chunks = 0
        self._d = get_interface(info["family"]).replay_decoder(info)

    def feed(self, chunk: bytes, t_arrival_ns: int) -> np.ndarray:
        try:
            return self._d.feed(chunk, t_arrival_ns)
        except CodecError:          # the driver counted it and went on: so does the replay
            self.bad_chunks += 1
            return empty_plots(0)

    def reset(self) -> None:
        self._d.reset()

    def counters(self) -> dict:
        c = self._d.counters()
        if self.bad_chunks:
            c["bad_blocks"] = c.get("bad_blocks", 0) + self.bad_chunks
        return c

    def foreign_sources(self) -> list[str]:
        """As the live run reports them: the first few addresses of refused records."""
        found = getattr(self._d, "foreign_sources", None)
        return [f"{sac}/{sic}" for sac, sic in found()] if found is not None else []


def record_json(rec, path: Path) -> dict:
    """A META, EVENT or CYCLE record's JSON object; anything else is a ConfigError."""
    try:
        value = rec.json()
    except (ValueError, UnicodeDecodeError) as e:
        raise ConfigError(f"{rec.kind.name} record is not JSON: {e}", file=str(path)) from e
    if not isinstance(value, dict):
        raise ConfigError(f"{rec.kind.name} record is not a JSON object", file=str(path))
    return value


def load_recorded_config(meta: dict, path: Path) -> LoadedConfig:
    """The run's config and scenario, exactly as recorded."""
    for key in ("config", "scenario", "t0_ns", "utc_tod_at_t0_s"):
        if key not in meta:
            raise ConfigError("not a recording of rig run (META lacks it)", file=str(path),
                              key=key)
    for key, kind in (("config", dict), ("t0_ns", int), ("utc_tod_at_t0_s", (int, float))):
        if not isinstance(meta[key], kind) or isinstance(meta[key], bool):
            raise ConfigError(f"META has {type(meta[key]).__name__} {meta[key]!r}",
                              file=str(path), key=key, expected="what rig run records")
    config = validate(BenchConfig, family_keys_only(meta["config"]), file=path,
                      prefix=("config",))
    spec = validate(ScenarioSpec, meta["scenario"], file=path, prefix=("scenario",))
    scenario = build_scenario(spec)
    radars = [scenario.sensor(e.id) for e in config.sensors]
    limits = parse_limits(config.limits, file=str(path))
    return LoadedConfig(Path(meta.get("config_file", path)), config, spec, scenario, radars,
                        limits)


def replay(path: str | Path, out_dir: Path, *, pace: str = "fast",
           progress: Stages | None = None) -> dict:
    """Replay the recording at ``path`` into ``out_dir``; returns the report. ``progress``
    shows the pictures replayed, then the writing of the reports."""
    progress = progress or silent()
    path = Path(path)
    rec_report = RecordingReport()
    records = iter_recording(path, rec_report)
    next(records, None)                       # the META record: the run's config and time line
    meta = rec_report.meta
    loaded = load_recorded_config(meta, path)
    cfg = loaded.config
    out_dir = output_folder(out_dir)
    engine = FusionEngine(loaded.scenario.origin, sensor_table(loaded), cfg.fusion)
    fusion = FusionStep(engine, updates=cfg.outputs.updates)
    t0_ns = int(meta["t0_ns"])
    n = len(cfg.sensors)
    table = engine.sensors
    timeline = [SensorHandle(i, e, r, origin=loaded.scenario.origin,
                             partner_index=int(table.partner[i])).timeline()
                for i, (e, r) in enumerate(zip(cfg.sensors, loaded.radars))]
    decoders = [_Decoder(info) for info in timeline]
    pending = [deque() for _ in range(n)]
    processing, transport = SampleBuffer(), SampleBuffer()
    lateness, jitter = SampleBuffer(), SampleBuffer()
    pictures = TracksCsvWriter(out_dir / "tracks.csv")
    tick_times, fused, snapshots = [], [], []
    last_start, deadline_misses, cycles = None, 0, 0
    period_ns = round(cfg.outputs.period_s * 1e9)
    deadline_ns = round(cfg.outputs.deadline_s * 1e9)
    t_wall0, t_rec0 = time.monotonic_ns(), None
    last_tick_sched = None
    lost_to_damage = 0
    fault_events: dict[str, list[dict]] = {}
    progress.stage(f"replaying {path.name}", unit="pictures",
                   total=int(cfg.duration_s / cfg.outputs.period_s + 1e-9))
    for rec in records:
        if pace == "recorded":
            t_rec0 = rec.t_ns if t_rec0 is None else t_rec0
            wait = (rec.t_ns - t_rec0) - (time.monotonic_ns() - t_wall0)
            if wait > 0:
                time.sleep(wait * 1e-9)
        if rec.kind == Kind.RAW:
            if rec.stream >= n:
                raise ConfigError(f"raw data of sensor {rec.stream}; the run had {n}",
                                  file=str(path))
            plots = decoders[rec.stream].feed(rec.data, rec.t_ns)
            if len(plots):
                pending[rec.stream].append(plots)
        elif rec.kind == Kind.EVENT:
            event = record_json(rec, path)
            if event.get("event") == "fault":
                fault_events.setdefault(event["sensor"], []).append(event)
            elif "timeline" in event:
                timeline = event["timeline"]      # where each sensor's clock sits
            elif "reset" in event:
                decoders[event["reset"]].reset()
        elif rec.kind == Kind.CYCLE:
            marker = record_json(rec, path)
            if "snap" in marker:
                snapshots.append((marker["snap"], [tuple(r) for r in marker["rows"]]))
                continue
            if "tick" in marker:
                pictures.add(fusion.picture(marker["t"]))
                tick_times.append(marker["t"])
                progress.advance()
                lateness.append((marker["start"] - marker["sched"]) * 1e-6)
                if last_start is not None:
                    jitter.append(abs(marker["start"] - last_start - period_ns) * 1e-6)
                last_start = marker["start"]
                if marker["done"] - marker["sched"] > deadline_ns:
                    deadline_misses += 1
                if last_tick_sched is not None:
                    deadline_misses += max(0, round((marker["sched"] - last_tick_sched)
                                                    / period_ns) - 1)
                last_tick_sched = marker["sched"]
                continue
            batches, track_batches = [], []
            for k, count in enumerate(marker["n"]):
                if count:
                    # after a damaged chunk a cycle may name plots whose bytes were lost
                    plots, missing = _take(pending[k], count, path,
                                           lenient=bool(rec_report.damaged))
                    lost_to_damage += missing
                    if not len(plots):
                        continue
                    info = timeline[k]
                    decoders[k].plots += len(plots)
                    if info.get("delivers") == "tracks":     # a track-level partner's
                        plots["t"] = to_run_time(plots["t"], info["shift_s"], info["tod"])
                        plots["partner"] = info["partner_index"]
                        track_batches.append(plots)
                        continue
                    plots["t_sensor"] = to_run_time(plots["t_sensor"], info["shift_s"], info["tod"])
                    batches.append(plots)
            if not batches and not track_batches:
                continue
            plots = (np.concatenate(batches) if len(batches) > 1 else batches[0]) if batches \
                else empty_plots(0)
            cycles += 1
            fused.append(plots)
            fusion.cycle(plots, marker["until"], marker["t_update"],
                         np.concatenate(track_batches) if track_batches else None)
            transport.extend(transport_latency_ms(plots, t0_ns))
            if marker["done"] is not None:
                processing.extend((marker["done"] - plots["t_arrival_ns"]) * 1e-6)
    pictures.close()
    elapsed = (tick_times[-1] if tick_times else 0.0)
    result = LoopResult(
        processing_latency_ms=processing.values(), transport_latency_ms=transport.values(),
        tick_lateness_ms=lateness.values(), tick_jitter_ms=jitter.values(),
        cycle_time_ms=np.zeros(0), queue_depth=np.zeros(0), deadline_misses=deadline_misses,
        ticks=pictures.count, cycles=cycles, pictures=pictures,
        tick_times_s=np.array(tick_times), plots=np.concatenate(fused) if fused else empty_plots(0),
        stopped_by="replay", elapsed_s=elapsed, snapshots=snapshots)
    rows = [sensor_row(entry.id, radar.partner, entry.family, entry.transport,
                       "ok" if info.get("opened", True) else "failed",
                       0 if info.get("delivers") == "tracks" else d.plots, d.counters(),
                       elapsed, foreign_sources=d.foreign_sources(),
                       tracks=d.plots if info.get("delivers") == "tracks" else None)
            for entry, radar, info, d in zip(cfg.sensors, loaded.radars, timeline, decoders)]
    if rec_report.damaged or rec_report.torn_tail:
        log.warning("%s: %d damaged chunk(s), torn tail %s: replayed every complete chunk",
                    path, len(rec_report.damaged), bool(rec_report.torn_tail))
    recording = rec_report.to_json()
    recording["plots_lost_to_damage"] = lost_to_damage
    progress.stage("writing reports (accuracy, figures)")
    return write_reports(loaded, rows, engine, result, out_dir, t0_ns=t0_ns, extra={
        "replay_of": str(path), "recording": recording, "pace": pace,
        "fault_events": fault_events})


def _take(queue: deque, count: int, path: Path, *,
          lenient: bool = False) -> tuple[np.ndarray, int]:
    """The next ``count`` decoded plots of one sensor, across decoded batches, and how many
    were missing (``lenient``: a recording with damaged chunks; else an error)."""
    out, need = [], count
    while need:
        if not queue:
            if lenient:
                break
            raise ConfigError(f"the recording's cycles take more plots than its raw data "
                              f"decodes to ({need} missing)", file=str(path))
        head = queue[0]
        if len(head) <= need:
            out.append(queue.popleft())
            need -= len(head)
        else:
            out.append(head[:need].copy())
            queue[0] = head[need:]
            need = 0
    if not out:
        return empty_plots(0), need
    return (np.concatenate(out) if len(out) > 1 else out[0].copy()), need


def recording_summary(path: str | Path) -> dict:
    """What ``rig record-info`` prints: the recording's health and content."""
    report = RecordingReport()
    plots = outputs = 0
    for rec in iter_recording(path, report):
        if rec.kind == Kind.PLOTS:
            plots += len(rec.data) // PLOT_DTYPE.itemsize
        elif rec.kind == Kind.OUTPUT:
            outputs += 1
    out = report.to_json()
    meta = report.meta or {}
    cfg = meta.get("config")
    cfg = cfg if isinstance(cfg, dict) else {}
    sensors = cfg.get("sensors")
    out["run"] = {"name": cfg.get("name"), "mode": cfg.get("mode"),
                  "config_file": meta.get("config_file"), "rig_version": meta.get("rig_version"),
                  "sensors": [s.get("id") for s in sensors if isinstance(s, dict)]
                  if isinstance(sensors, list) else []}
    out["plots_recorded"] = plots
    out["outputs_recorded"] = outputs
    return json.loads(json.dumps(out))
