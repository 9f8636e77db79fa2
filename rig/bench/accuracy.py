"""Accuracy of a run: the published picture against the truth, each partner alone, and the
picture without each kind of input.

The joint picture is the one the run published. For "what sharing gains", each partner's
plots of the same run are fused again, alone, by a fresh engine with the same parameters,
fed in the same arrival order and cut into the same pictures at the same ticks, and scored
the same way. For "what each kind of sensor gives", the same is done with the radars' plots
alone when the run had passive (angle-only) sensors: the joint picture is then "radars +
passive". In bench and mixed modes nothing is known of the targets: the figures that need
truth are reported as not measurable.
"""

from __future__ import annotations

import numpy as np

from rig.fusion import FusionEngine
from rig.interchange import pictures_table
from rig.scoring import score

from .loop import LoopResult


def pictures_of(result: LoopResult, engine_factory, sensors_kept: np.ndarray,
                tick_times_s: np.ndarray, t0_ns: int) -> list:
    """The pictures the sensors ``sensors_kept`` (a bool per sensor) alone would have given
    at the run's ticks."""
    engine: FusionEngine = engine_factory()
    plots = result.plots[sensors_kept[result.plots["sensor_id"]]]
    plots = plots[np.argsort(plots["t_arrival_ns"], kind="stable")]
    arrivals = plots["t_arrival_ns"]
    pictures, start = [], 0
    for t in tick_times_s:
        end = int(np.searchsorted(arrivals, t0_ns + t * 1e9, side="right"))
        if end > start:
            engine.process(plots[start:end])
            start = end
        engine.flush(float(t))
        pictures.append(engine.tracks(float(t)))
    return pictures


def explained_with_partners(sc, tracks, partner_names) -> dict:
    """``sc.explain()`` with, for every track it lists, the partners whose plots updated it
    (from the ``partners`` mask of its last row in ``tracks``)."""
    out = sc.explain()
    if len(tracks) and "partners" in tracks:
        last = tracks.sort_values("t", kind="stable").groupby("track_id")["partners"].last()
        for t in out["tracks_explained"]:
            mask = int(last.get(t["track_id"], 0))
            t["partners"] = [n for i, n in enumerate(partner_names) if mask >> i & 1]
    return out


def accuracy(result: LoopResult, truth, joint_tracks, *, engine_factory, partner_names,
             partner_of_sensor, t0_ns: int, cutoff_m: float, order: float,
             warmup_s: float = 0.0, ranged: np.ndarray | None = None,
             track_sensors: np.ndarray | None = None) -> dict:
    """Scores of the joint picture (``joint_tracks``, rows of tracks.csv), of every partner
    alone, when ``ranged`` (per sensor) marks passive sensors of the radars alone, and when
    ``track_sensors`` (per sensor) marks track-level partners of the plots alone (from
    ``warmup_s`` on), and the OSPA curves. A partner that shares tracks only has no "alone"
    picture."""
    end_s = result.elapsed_s
    truth = truth[truth["t"] <= end_s]
    if len(truth) == 0 or not len(result.tick_times_s):
        return {"summary": {"not_measurable": "no truth or no picture in the run"},
                "joint": None, "curves": {}}
    if end_s <= warmup_s:
        return {"summary": {"not_measurable": f"the run ended at {end_s:.1f} s, before the "
                            f"accuracy warm-up of {warmup_s:g} s was over: nothing scored"},
                "joint": None, "curves": {}}
    tables = {"joint": joint_tracks}
    plot_sensors = ~np.asarray(track_sensors, bool) if track_sensors is not None \
        else np.ones(len(partner_of_sensor), bool)
    for p, name in enumerate(partner_names):
        if not np.any(plot_sensors & (partner_of_sensor == p)):
            continue
        tables[f"partner {name} alone"] = pictures_table(pictures_of(
            result, engine_factory, partner_of_sensor == p, result.tick_times_s, t0_ns))
    if ranged is not None and not np.all(ranged) and np.any(ranged):
        tables["radars only"] = pictures_table(pictures_of(
            result, engine_factory, np.asarray(ranged) != 0, result.tick_times_s, t0_ns))
    if not np.all(plot_sensors):         # the re-fusions take plots: no partner's tracks
        tables["plots only"] = pictures_table(pictures_of(
            result, engine_factory, plot_sensors, result.tick_times_s, t0_ns))
    scores, curves = {}, {}
    for label, tracks in tables.items():
        sc = score(truth, tracks, cutoff_m=cutoff_m, order=order,
                   t_start_s=min(warmup_s, end_s), t_end_s=end_s)
        scores[label] = sc
        curves[label] = (sc.times_s, sc.ospa_m)
    out = {"pictures": {label: sc.summary() for label, sc in scores.items()}}
    joint = scores.get("joint")
    if joint is not None:
        out["joint_explained"] = explained_with_partners(joint, joint_tracks, partner_names)
    partners = [sc for label, sc in scores.items() if label.startswith("partner ")]
    if joint is not None and partners:
        best = min(sc.summary()["ospa_mean_m"] for sc in partners)
        out["joint_vs_best_partner_ospa_ratio"] = (joint.summary()["ospa_mean_m"] / best
                                                   if best else None)
    return {"summary": out, "joint": joint, "curves": curves}
