"""Fusing an interchange folder offline: CSV plots into PLOT_DTYPE, the engine over them,
tracks at each output tick."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rig.errors import UsageError
from rig.fusion.engine import FusionEngine
from rig.fusion.params import FusionParams
from rig.fusion.sensor_table import SensorTable
from rig.interchange import Interchange, TRACK_COLUMNS, sensor_transforms
from rig.progress import Stages, silent
from rig.records import empty_plots

UNKNOWN_SENSOR = np.iinfo(np.uint16).max
#: the most pictures one offline fusion makes (a day at 0.1 s is 864,000)
MAX_PICTURES = 1_000_000
#: why a plot later than the scenario's end by more than ``max_time_jump_s`` is not fused
AFTER_THE_END = "after the scenario's end"
#: why a plot earlier than the scenario's start by more than ``max_time_jump_s`` is not fused
BEFORE_THE_START = "before the scenario's start"
#: why a row of plots.csv with more fields than its header is not fused
MALFORMED_ROW = "malformed row"


def plots_from_frame(plots: pd.DataFrame, sensor_ids) -> np.ndarray:
    """``plots.csv`` rows as a PLOT_DTYPE array; ``sensor_id`` is the row of the sensor in
    ``sensors.csv`` (an id not there becomes UNKNOWN_SENSOR, which the engine rejects)."""
    index = {str(s): i for i, s in enumerate(sensor_ids)}
    out = empty_plots(len(plots))
    out["t_sensor"] = plots["t"].to_numpy(float)
    out["range_m"] = plots["range_m"].to_numpy(float)
    out["az_rad"] = plots["azimuth_rad"].to_numpy(float)
    out["el_rad"] = plots["elevation_rad"].to_numpy(float)
    out["range_rate_mps"] = plots["range_rate_mps"].to_numpy(float)
    out["sensor_id"] = plots["sensor_id"].astype(str).map(index).fillna(UNKNOWN_SENSOR) \
        .to_numpy().astype(np.uint16)
    out["seq"] = np.arange(len(plots), dtype=np.uint32)
    return out


def engine_for(ic: Interchange, params: FusionParams | None = None) -> FusionEngine:
    M, t = sensor_transforms(ic.scenario, ic.sensors)
    return FusionEngine(ic.scenario.origin, SensorTable.from_frame(ic.sensors, M, t), params)


@dataclass
class FuseResult:
    tracks: pd.DataFrame            # tracks.csv columns (+ status, n_updates, partners, ...)
    engine: FusionEngine
    plots_not_selected: int
    elapsed_s: float                # wall-clock seconds of the fusion loop
    cpu_s: float                    # CPU seconds of the fusion loop (not the track partners'
                                    # own trackers and encoders)
    track_array: np.ndarray         # the same tracks as TRACK_DTYPE (with covariances)
    #: per partner that shared tracks: what its CAT062 carried and what was refused
    track_input: dict[str, dict] = field(default_factory=dict)


class TrackPartner:
    """A partner that shares its own tracker's tracks instead of its plots: its sensors'
    plots fused by an engine of its own, its picture at each tick sent as CAT062 with
    I062/500 accuracies and read back through :class:`TrackInput`, as the centre would
    receive it from a live partner (family ``cat062-tracks``)."""

    def __init__(self, ic: Interchange, name: str, plots: np.ndarray, params, partner: int):
        from rig.fusion.track_input import TrackInput
        from rig.publish.cat062 import Cat062Decoder, Cat062Encoder

        self.name, self.partner = name, partner
        self.engine = engine_for(ic, params)
        self.plots = plots
        self._cut = 0
        self._encoder = Cat062Encoder(ic.scenario.origin, sac=0, sic=partner + 1)
        self._decoder = Cat062Decoder()
        self.input = TrackInput(ic.scenario.origin)

    def send(self, tick: float) -> list[bytes]:
        """The partner's side: its picture at ``tick`` as CAT062 datagrams."""
        nxt = int(np.searchsorted(self.plots["t_sensor"], tick, side="right"))
        if nxt > self._cut:
            self.engine.process(self.plots[self._cut:nxt])
            self._cut = nxt
        self.engine.flush(tick)
        return list(self._encoder.encode(self.engine.tracks(tick), tick))

    def receive(self, datagrams: list[bytes]) -> list[np.ndarray]:
        """The centre's side: the datagrams decoded and validated (one array of partner
        tracks per datagram)."""
        out = []
        for datagram in datagrams:
            tracks, info = self._decoder.feed(datagram)
            out.append(self.input.take(tracks, info, self.partner))
        return out


def fuse(ic: Interchange, *, partners: list[str] | None = None, dt_s: float = 1.0,
         params: FusionParams | None = None, progress: Stages | None = None,
         tracks_from: list[str] | None = None) -> FuseResult:
    """Fuse a folder's plots (only ``partners``' sensors if given), tracks every ``dt_s``;
    the partners ``tracks_from`` share their own tracks instead of their plots
    (:class:`TrackPartner`, one picture a tick); ``progress`` shows the time steps done."""
    progress = progress or silent()
    if not dt_s > 0:
        raise UsageError(f"--dt must be positive, not {dt_s}")
    sensor_ids = list(ic.sensors["sensor_id"])
    plots = plots_from_frame(ic.plots, sensor_ids)
    not_selected = 0
    if partners:
        known = set(ic.sensors["partner"].astype(str))
        unknown = [p for p in partners if p not in known]
        if unknown:
            raise UsageError(f"unknown partner(s) {', '.join(unknown)}; the folder has "
                             f"{', '.join(sorted(known))}")
        chosen = np.flatnonzero(ic.sensors["partner"].astype(str).isin(partners).to_numpy())
        keep = np.isin(plots["sensor_id"], chosen) | (plots["sensor_id"] == UNKNOWN_SENSOR)
        not_selected = int((~keep).sum())
        plots = plots[keep]
    engine = engine_for(ic, params)
    sharing, plots = _track_partners(ic, plots, tracks_from or [], partners, engine, params)
    malformed = int(ic.plots.attrs.get("malformed_rows", 0))
    if malformed:                      # rows with more fields than the header: not plots
        engine.counters.rejected[MALFORMED_ROW] = malformed
        engine.counters.plots_in += malformed
    finite = np.isfinite(plots["t_sensor"])
    bad, plots = plots[~finite], plots[finite]
    plots = plots[np.argsort(plots["t_sensor"], kind="stable")]
    duration = float(ic.scenario.duration_s)
    if duration > 0:                   # a plot far beyond the scenario's end is a stray
        horizon = duration + engine.params.max_time_jump_s
        stray = int(len(plots) - np.searchsorted(plots["t_sensor"], horizon, side="right"))
        if stray:
            plots = plots[:len(plots) - stray]
            engine.counters.rejected[AFTER_THE_END] = stray
            engine.counters.plots_in += stray
    early = int(np.searchsorted(plots["t_sensor"], -engine.params.max_time_jump_s))
    if early:                          # as far before the start: a stray too
        plots = plots[early:]
        engine.counters.rejected[BEFORE_THE_START] = early
        engine.counters.plots_in += early
    t_plot = plots["t_sensor"]
    t0 = float(t_plot[0]) if len(plots) else 0.0
    t_end = max(duration, float(t_plot[-1]) if len(plots) else 0.0)
    first = np.ceil(t0 / dt_s) * dt_s
    n_ticks = int((t_end - first) / dt_s + 1e-9) + 1 if t_end >= first else 0
    if n_ticks > MAX_PICTURES:
        raise UsageError(f"pictures every {dt_s:g} s from {t0:g} s to {t_end:g} s would be "
                         f"{n_ticks:,}, more than {MAX_PICTURES:,}: give a larger --dt")
    ticks = first + dt_s * np.arange(n_ticks)
    frames, masks = [], []
    progress.stage("fusing", total=n_ticks, unit="time steps")
    start, start_cpu = time.perf_counter(), time.process_time()
    if len(bad):
        engine.process(bad)                      # counted as rejected (not a number)
    cut = 0
    partner_cpu = 0.0
    for tick in ticks:
        before = time.process_time()
        sent = [partner.send(float(tick)) for partner in sharing]
        partner_cpu += time.process_time() - before
        received = [a for partner, datagrams in zip(sharing, sent)
                    for a in partner.receive(datagrams)]
        nxt = int(np.searchsorted(t_plot, tick, side="right"))
        if nxt > cut:
            engine.process(plots[cut:nxt])
            cut = nxt
        engine.flush(tick)
        for accepted in received:
            engine.process_tracks(accepted)
        rows = engine.track_rows()
        if len(rows):
            frames.append(engine.tracks(tick, rows=rows))
            masks.append(engine.store.sensors[rows])
        progress.advance()
    if cut < len(plots):
        engine.process(plots[cut:])
    engine.flush()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu - partner_cpu
    tracks = np.concatenate(frames) if frames else engine.tracks(0.0)[:0]
    sensors = np.concatenate(masks) if masks else np.zeros(0, np.uint64)
    return FuseResult(tracks_frame(tracks, sensor_names(sensors, engine.sensors.names)),
                      engine, not_selected, elapsed, cpu, tracks,
                      {p.name: dict(p.input.counters) for p in sharing})


def _track_partners(ic: Interchange, plots: np.ndarray, names: list[str],
                    selected: list[str] | None, engine: FusionEngine, params
                    ) -> tuple[list[TrackPartner], np.ndarray]:
    """The :class:`TrackPartner` of each partner ``names`` (their sensors' plots, in time
    order), and the plots left for the centre."""
    known = list(dict.fromkeys(ic.sensors["partner"].astype(str)))
    for name in names:
        if name not in known:
            raise UsageError(f"--tracks-from {name}: no such partner; the folder has "
                             f"{', '.join(known)}")
        if selected and name not in selected:
            raise UsageError(f"--tracks-from {name}: not among --partners "
                             f"{','.join(selected)}")
    partner_of = ic.sensors["partner"].astype(str).to_numpy()
    known_sensor = plots["sensor_id"] < len(partner_of)
    of_sensor = np.where(known_sensor, plots["sensor_id"], 0)
    sharing = []
    for name in dict.fromkeys(names):
        theirs = known_sensor & (partner_of[of_sensor] == name)
        mine = plots[theirs]
        mine = mine[np.isfinite(mine["t_sensor"])]
        sharing.append(TrackPartner(ic, name, mine[np.argsort(mine["t_sensor"], kind="stable")],
                                    params, engine.partner_names.index(name)))
        plots = plots[~theirs]
    return sharing, plots


def sensor_names(masks: np.ndarray, names) -> np.ndarray:
    """Bit masks of sensors (bit i: ``names[i]``) as text, ``"A1+B2"``."""
    unique, inverse = np.unique(masks, return_inverse=True)
    text = ["+".join(n for i, n in enumerate(names) if int(m) >> i & 1) for m in unique]
    return np.array(text, dtype=object)[inverse.ravel()] if len(masks) else np.zeros(0, object)


def tracks_frame(tracks: np.ndarray, sensors: np.ndarray | None = None) -> pd.DataFrame:
    """A TRACK_DTYPE array as ``tracks.csv`` columns (+ status, n_updates, partners, the
    position sigma and, given, the sensors whose plots updated each track)."""
    cols = dict(zip(TRACK_COLUMNS, (tracks["t"], tracks["track_id"], tracks["east"],
                                    tracks["north"], tracks["up"], tracks["v_east"],
                                    tracks["v_north"], tracks["v_up"])))
    df = pd.DataFrame(cols)
    df["status"] = tracks["status"]
    df["n_updates"] = tracks["n_updates"]
    df["partners"] = tracks["partners"]
    sd = np.sqrt(np.trace(tracks["covariance"][:, :3, :3], axis1=1, axis2=2))
    df["sigma_pos_m"] = sd
    if sensors is not None:
        df["sensors"] = sensors
    return df
