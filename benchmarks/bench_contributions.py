"""What each kind of input adds to the picture: passive sensors, and a partner's tracks
against its plots.

    python benchmarks/bench_contributions.py [--seeds 101,102,103] [--duration 180]

On the built-in scenario's ``passive`` variant (four radars, one passive ESM-like receiver per
partner; seeds never tuned on), fused offline as ``rig fuse`` does (1 s windows, 1 s ticks):

- **radars**: the radars' plots alone; **radars + passive**: every plot. Time to first
  track, OSPA, false tracks (the bearing ghosts would be here), missed targets; and the
  passive sensors' own share: tracks started by crossing bearings.
- **A + B plots** against **A plots + B tracks**: partner B shares only its tracks
  (``rig fuse --tracks-from B``, :class:`rig.fusion.offline.TrackPartner`). B's own engine
  fuses B's radars each second; its picture goes through rig's CAT062 encoder (with I062/500
  accuracies) and decoder and :class:`rig.fusion.track_input.TrackInput` into the centre's
  engine (:meth:`FusionEngine.process_tracks`), beside A's plots; and the track input's
  counters (what CAT062 carried and what was refused). Both sides run rig's engine
  with its default (IMM) settings; and again with registration off on both sides
  (**... no registration**): the scenario has no sensor biases, and a partner that shares
  tracks registers its two radars alone, which the centre does far better with every plot.
  That pair isolates the fusion rule from what the partner's own tracker does. Each
  picture of a pair comes with the NEES of its confirmed tracks (6 dof): the mean and the
  share above the chi² 99 % quantile (1 % if consistent), of all and of those both partners
  fed, where the fusion rule acts (double counting would show there first).

Scored by ``rig.scoring.score`` (OSPA c = 1000 m, p = 1, 1 s grid). CPU seconds of each
fusion loop. The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy.stats import chi2

from rig.fusion import FusionParams
from rig.fusion.offline import fuse
from rig.interchange import read_interchange, read_truth
from rig.records import TRACK_STATUS_TENTATIVE
from rig.scenario import load_scenario, write_scenario_folder
from rig.scoring import score

SCORED = ("ospa_mean_m", "position_rmse_m", "false_tracks", "missed_targets", "coverage",
          "time_to_first_track_mean_s", "identity_switches")


def folder_for(seed: int, duration_s: float, targets: int, work: Path) -> Path:
    out = work / f"passive-seed{seed}"
    if not (out / "plots.csv").exists():
        write_scenario_folder(load_scenario(None, seed=seed, duration_s=duration_s,
                                            targets=targets, variant="passive"), out)
    return out


def scored(truth, tracks) -> dict:
    s = score(truth, tracks, cutoff_m=1000.0, order=1.0).summary()
    return {k: s[k] for k in SCORED}


def passive_sensors(sensors) -> np.ndarray:
    """Per row of sensors.csv: a passive sensor (no ``kind`` column: none is)."""
    if "kind" not in sensors:
        return np.zeros(len(sensors), bool)
    return (sensors["kind"].astype(str) == "passive").to_numpy()


def without_passive(ic):
    """The folder with the passive sensors' plots left out (same sensor table)."""
    passive = set(ic.sensors["sensor_id"][passive_sensors(ic.sensors)].astype(str))
    plots = ic.plots[~ic.plots["sensor_id"].astype(str).isin(passive)]
    return type(ic)(ic.folder, ic.scenario, ic.sensors, plots.reset_index(drop=True))


#: a consistent track's NEES (6 dof) exceeds this one time in a hundred
NEES_99 = float(chi2.ppf(0.99, 6))
#: partners bits of a track both A's plots and B (plots or tracks) fed
BOTH_PARTNERS = 0b11


def nees_figures(truth, tracks: np.ndarray, gate_m: float = 1000.0) -> dict:
    """NEES (6 dof: 6 on average if consistent) of the confirmed tracks (TRACK_DTYPE, every
    picture) within ``gate_m`` of a target, each against its nearest target: the mean and the
    share above the chi² 99 % quantile, of every such track and of those both partners fed
    (where the partner-track fusion rule acts)."""
    by_t = {float(t): g[["east_m", "north_m", "up_m", "ve", "vn", "vu"]].to_numpy()
            for t, g in truth.groupby("t")}
    tracks = tracks[tracks["status"] != TRACK_STATUS_TENTATIVE]
    nees, both = [], []
    for t in np.unique(tracks["t"]):
        if float(t) not in by_t:
            continue
        picture, targets = tracks[tracks["t"] == t], by_t[float(t)]
        est = np.stack([picture[k] for k in ("east", "north", "up", "v_east", "v_north",
                                             "v_up")], 1)
        d = np.linalg.norm(est[:, None, :3] - targets[None, :, :3], axis=2)
        for i in np.flatnonzero(d.min(axis=1) < gate_m):
            e = est[i] - targets[d[i].argmin()]
            nees.append(e @ np.linalg.solve(picture["covariance"][i], e))
            both.append(picture["partners"][i] == BOTH_PARTNERS)
    nees, both = np.array(nees), np.array(both, bool)
    share = lambda v: float(np.mean(v > NEES_99)) if len(v) else float("nan")  # noqa: E731
    mean = lambda v: float(np.mean(v)) if len(v) else float("nan")           # noqa: E731
    return {"nees": mean(nees), "nees_above_99": share(nees),
            "nees_both_partners": mean(nees[both]),
            "nees_both_partners_above_99": share(nees[both])}


def centre_scored(truth, ic, params, tracks_from: str | None) -> dict:
    """The picture of every radar's plots, or with partner ``tracks_from`` sharing its own
    tracks over CAT062 instead (``rig fuse --tracks-from``): scores, NEES, the centre's CPU
    seconds and, for the track partner, its input's counters."""
    done = fuse(ic, params=params, tracks_from=[tracks_from] if tracks_from else None)
    out = {**scored(truth, done.tracks),
           **{k: round(v, 3) for k, v in nees_figures(truth, done.track_array).items()},
           "cpu_s": round(done.cpu_s, 3)}
    if tracks_from is not None:
        out.update(**done.engine.partner_tracks.counters,
                   track_input=done.track_input[tracks_from])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="101,102,103")
    ap.add_argument("--duration", type=float, default=180.0)
    ap.add_argument("--targets", type=int, default=40)
    ap.add_argument("--work", default=None, help="folder for the scenarios (default: temporary)")
    args = ap.parse_args(argv)
    params = FusionParams()
    unregistered = FusionParams(registration_on=False)
    seeds = [int(s) for s in args.seeds.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        rows = []
        for seed in seeds:
            folder = folder_for(seed, args.duration, args.targets, work)
            ic = read_interchange(folder)
            truth = read_truth(folder / "truth.csv")
            row = {"seed": seed}
            radars = without_passive(ic)
            for label, data in (("radars", radars), ("radars + passive", ic)):
                done = fuse(data, params=params)
                row[label] = {**scored(truth, done.tracks), "cpu_s": round(done.cpu_s, 3),
                              "crossings": done.engine.bearings.crossings}
            # both partners' radar plots (the "radars" picture), the baseline of B's tracks
            for suffix, p in (("", params), (", no registration", unregistered)):
                row["A + B plots" + suffix] = centre_scored(truth, radars, p, None)
                row["A plots + B tracks" + suffix] = centre_scored(truth, radars, p, "B")
            rows.append(row)
            print(f"seed {seed}: " + "; ".join(
                f"{k}: OSPA {v['ospa_mean_m']:.1f} m, first track {v['time_to_first_track_mean_s']:.2f} s, "
                f"false {v['false_tracks']}, missed {v['missed_targets']}"
                for k, v in row.items() if k != "seed"), flush=True)
    mean = lambda label, key: float(np.mean([r[label][key] for r in rows]))  # noqa: E731
    labels = ("radars", "radars + passive", "A + B plots", "A plots + B tracks",
              "A + B plots, no registration", "A plots + B tracks, no registration")
    summary = {"seeds": seeds,
               **{f"{label}": {k: round(mean(label, k), 3) for k in SCORED + ("cpu_s",)}
                  for label in labels},
               **{f"{label} {k}": round(mean(label, k), 3) for label in labels[2:]
                  for k in ("nees", "nees_above_99", "nees_both_partners",
                            "nees_both_partners_above_99")},
               "passive_lowers_ospa": mean("radars + passive", "ospa_mean_m")
               < mean("radars", "ospa_mean_m"),
               "passive_first_track_earlier": mean("radars + passive",
                                                   "time_to_first_track_mean_s")
               < mean("radars", "time_to_first_track_mean_s"),
               "passive_false_tracks_added": mean("radars + passive", "false_tracks")
               - mean("radars", "false_tracks"),
               "tracks_over_plots_ospa_ratio": mean("A plots + B tracks", "ospa_mean_m")
               / mean("A + B plots", "ospa_mean_m"),
               "tracks_over_plots_ospa_ratio_no_registration": mean(
                   "A plots + B tracks, no registration", "ospa_mean_m")
               / mean("A + B plots, no registration", "ospa_mean_m")}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
