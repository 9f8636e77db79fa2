"""Fusion benchmark: rig's engine against a careful Stone Soup on the same folders.

    pip install -e '.[bench]'
    python benchmarks/bench_fusion.py [--duration S] [--seed N] [--skip-training] [--work DIR]

Folders (interchange format, read by both sides the same way):

- rig's own scenarios (``rig scenario``, seed ``--seed``, never used for tuning): the default
  two-partner scenario, the same with ``--biased`` (range/azimuth/elevation biases, clock
  offsets and drifts) and with ``--clock-errors`` (the same clock errors alone), and a
  1,000-target scenario over eight radars (rig only: Stone Soup would need hours);
- the independent folders of ``../shared/examples`` (written by a generator that is not
  rig's): ``interchange-flat`` and ``interchange-wgs84``, never tuned on, and the five
  ``training/`` folders, which rig's parameters were tuned on (marked ``tuning``).

Stone Soup is set up as ``stonesoup_baseline.py`` describes (Stone Soup's own
``MultiTargetTracker``, EKF, q = 400 m²/s³, per-sensor polar models in each site's frame,
Mahalanobis GNN, 3-point initiation, fed one sensor scan at a time). On folders whose radars
measure range rate both sides are run twice: without range rate, and with it (Stone Soup's
``CartesianToElevationBearingRangeRate``). rig runs with its offline settings (1 s windows,
1 s hold-back) and with the live settings of ``bench_configs/emulated.yaml`` (10 ms windows,
no hold-back). Stone Soup's figures are kept in ``WORK/cache`` (keyed by the folder's plots,
its sensors and the settings): a second run with the same ``--work`` reuses them. Every run
is scored by ``rig.scoring.score`` (OSPA/GOSPA c = 1000 m at p = 1 and p = 2, 1 s grid;
identity on the sticky assignment), and timed in CPU seconds of its tracking loop only (rig:
the best of three runs). BLAS threads are pinned to one, so CPU
seconds are one core's.

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import yaml  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stonesoup_baseline import StoneSoupSettings, run_stonesoup  # noqa: E402

from rig.fusion import FusionParams  # noqa: E402
from rig.fusion.offline import fuse  # noqa: E402
from rig.interchange import read_interchange, read_truth  # noqa: E402
from rig.launch import rig_command  # noqa: E402
from rig.scoring import score  # noqa: E402
from rig.scoring.consistency import position_nees  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT.parent / "shared" / "examples"
DEFAULT_YAML = ROOT / "rig" / "scenario" / "builtin" / "default.yaml"
LIVE = dict(window_s=0.01, hold_back_s=0.0, oos_tolerance_s=1.5)
FIGURES = ("ospa_mean_m", "ospa_localisation_m", "ospa_missed_m", "ospa_false_m",
           "position_rmse_m", "tracks", "targets", "tracks_per_target", "false_tracks",
           "mostly_false_tracks", "duplicate_tracks", "identity_switches", "track_breaks",
           "time_to_first_track_mean_s")


# --- folders -------------------------------------------------------------------------------
def make_scenario(out: Path, *args: str) -> Path:
    if not (out / "plots.csv").is_file():
        subprocess.run(rig_command("scenario", "--out", str(out), *args),
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return out


def large_yaml(path: Path) -> Path:
    """The default scenario with four more radars between the partners' (eight in all)."""
    spec = yaml.safe_load(DEFAULT_YAML.read_text())
    spec.pop("targets", None)
    extra = []
    for i, (lat, lon) in enumerate(((51.4, 20.0), (52.6, 20.6), (51.5, 22.0), (52.5, 22.4))):
        s = dict(spec["sensors"][i])
        s.update(id=f"{'AB'[i // 2]}{i + 3}", site={"lat_deg": lat, "lon_deg": lon,
                                                     "alt_m": 150.0},
                 scan_phase_s=0.5 + i)
        extra.append(s)
    spec["sensors"] = spec["sensors"] + extra
    spec["name"] = "large-8-sensors"
    path.write_text(yaml.safe_dump(spec))
    return path


@dataclass
class Folder:
    name: str
    path: Path
    kind: str                       # "rig", "independent" or "tuning"
    stonesoup: bool = True
    results: dict = field(default_factory=dict)     # run name -> figures

    @property
    def has_range_rate(self) -> bool:
        plots = read_interchange(self.path).plots
        return bool(np.isfinite(plots["range_rate_mps"]).any())


def folders(work: Path, args) -> list[Folder]:
    seed = ["--seed", str(args.seed)]
    dur = ["--duration", str(args.duration)]
    out = [
        Folder("default", make_scenario(work / "default", *seed, *dur), "rig"),
        Folder("biased", make_scenario(work / "biased", *seed, *dur, "--biased"), "rig"),
        Folder("clock", make_scenario(work / "clock", *seed, *dur, "--clock-errors"), "rig"),
        Folder("large", make_scenario(work / "large", str(large_yaml(work / "large.yaml")),
                                      "--targets", "1000", "--duration",
                                      str(args.large_duration), *seed), "rig", False),
    ]
    for name in ("interchange-flat", "interchange-wgs84"):
        if (EXAMPLES / name / "plots.csv").is_file():
            out.append(Folder(name, EXAMPLES / name, "independent"))
    training = EXAMPLES / "training"
    if not args.skip_training and training.is_dir():
        out += [Folder(p.name, p, "tuning") for p in sorted(training.iterdir())
                if (p / "plots.csv").is_file()]
    return out


# --- runs ----------------------------------------------------------------------------------
def figures_of(folder: Folder, tracks, cpu_s: float, plots: int, **extra) -> dict:
    truth = read_truth(folder.path / "truth.csv")
    out = {"cpu_s": cpu_s, "plots": plots, "plots_per_cpu_s": plots / max(cpu_s, 1e-9), **extra}
    for p in (1.0, 2.0):
        s = score(truth, tracks, order=p).summary()
        suffix = "" if p == 1.0 else "_p2"
        out.update({k + suffix: s[k] for k in FIGURES})
    return out


def run_rig(folder: Folder, params: FusionParams, repeats: int = 3, partners=None) -> dict:
    ic = read_interchange(folder.path)
    best = None
    for _ in range(repeats):
        r = fuse(ic, params=params, partners=partners)
        if best is None or r.cpu_s < best.cpu_s:
            best = r
    c = best.engine.counters
    return figures_of(folder, best.tracks, best.cpu_s, len(ic.plots),
                      nis_per_dof=c.nis_per_dof, nees_per_dof=nees_per_dof(folder, best))


def nees_per_dof(folder: Folder, result) -> float:
    """Mean position NEES per degree of freedom of confirmed tracks against the target
    nearest each (within 500 m) at every output tick (1 if the covariances are honest)."""
    nees = position_nees(read_truth(folder.path / "truth.csv"), result.track_array)
    return float(nees.mean() / 3.0) if len(nees) else float("nan")


def run_stone_soup(folder: Folder, range_rate: bool, cache: Path | None = None) -> dict:
    """Stone Soup's figures on a folder; kept in ``cache`` (keyed by the folder's plots and
    sensors and the settings), since a run takes minutes to an hour."""
    settings = StoneSoupSettings(range_rate=range_rate)
    key = hashlib.sha256(repr(settings).encode() + (folder.path / "plots.csv").read_bytes()
                         + (folder.path / "sensors.csv").read_bytes()).hexdigest()[:16]
    path = cache / f"stonesoup_{folder.name}_{key}.json" if cache else None
    if path is not None and path.is_file():
        return json.loads(path.read_text())
    out = stone_soup_figures(folder, settings)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out))
    return out


def stone_soup_figures(folder: Folder, settings: StoneSoupSettings) -> dict:
    r = run_stonesoup(folder.path, settings)
    truth = read_truth(folder.path / "truth.csv")
    most_alive = int(truth.groupby("t")["target_id"].nunique().max())
    # its deleter works: live tracks stay within reach of the targets alive (clutter's
    # holding tracks are the initiator's, not counted here)
    if r.max_live_tracks > 2 * most_alive + 10:
        raise RuntimeError(f"{folder.name}: Stone Soup held {r.max_live_tracks} live tracks "
                           f"for at most {most_alive} targets: its deletion is broken")
    return figures_of(folder, r.tracks, r.cpu_s, r.plots, max_live_tracks=r.max_live_tracks,
                      most_targets_alive=most_alive)


def runs_of(folder: Folder, cache: Path | None = None) -> dict:
    """Every run of a folder: ``name -> figures``."""
    out = {"rig": run_rig(folder, FusionParams()),
           "rig_live": run_rig(folder, FusionParams(**LIVE), repeats=1)}
    rate = folder.has_range_rate
    if rate:
        out["rig_no_rr"] = run_rig(folder, FusionParams(use_range_rate=False), repeats=1)
    if folder.kind == "rig" and folder.stonesoup:
        for partner in sorted(set(read_interchange(folder.path).sensors["partner"])):
            out[f"rig_{partner}_alone"] = run_rig(folder, FusionParams(), repeats=1,
                                                  partners=[partner])
    if folder.stonesoup:
        out["stonesoup"] = run_stone_soup(folder, range_rate=False, cache=cache)
        if rate:
            out["stonesoup_rr"] = run_stone_soup(folder, range_rate=True, cache=cache)
    return out


# --- report --------------------------------------------------------------------------------
def print_folder(folder: Folder) -> None:
    print(f"\n{folder.name} ({folder.kind})")
    for run, f in folder.results.items():
        print(f"  {run:13s} OSPA {f['ospa_mean_m']:6.1f} m (loc {f['ospa_localisation_m']:5.1f}"
              f" missed {f['ospa_missed_m']:5.1f} false {f['ospa_false_m']:5.1f}; p=2 "
              f"{f['ospa_mean_m_p2']:6.1f})  tracks {f['tracks']:4d}/{f['targets']:<4d} false "
              f"{f['false_tracks']:2d}+{f['mostly_false_tracks']:<2d} switches "
              f"{f['identity_switches']:3d} breaks {f['track_breaks']:3d}  RMSE "
              f"{f['position_rmse_m']:5.1f} m  {f['plots_per_cpu_s']:9.0f} plots/CPU-s",
              flush=True)


def comparisons(folder: Folder) -> list[tuple[str, dict, dict]]:
    """Like against like: ``(label, rig, Stone Soup)``: both without range rate, and where
    the folder has range rate, both with it."""
    r = folder.results
    if "stonesoup" not in r:
        return []
    if "stonesoup_rr" in r:
        return [(folder.name, r["rig_no_rr"], r["stonesoup"]),
                (folder.name + "+rr", r["rig"], r["stonesoup_rr"])]
    return [(folder.name, r["rig"], r["stonesoup"])]


def summary(all_folders: list[Folder]) -> dict:
    compared = [c for f in all_folders for c in comparisons(f)]
    bad = lambda s: s["false_tracks"] + s["mostly_false_tracks"]  # noqa: E731
    ratio = {k: rig["ospa_mean_m"] / ss["ospa_mean_m"] for k, rig, ss in compared}
    ratio_p2 = {k: rig["ospa_mean_m_p2"] / ss["ospa_mean_m_p2"] for k, rig, ss in compared}
    false_diff = {k: bad(rig) - bad(ss) for k, rig, ss in compared}
    switch_diff = {k: rig["identity_switches"] - ss["identity_switches"]
                   for k, rig, ss in compared}
    speed = {k: rig["plots_per_cpu_s"] / ss["plots_per_cpu_s"] for k, rig, ss in compared}
    live = {f.name: f.results["rig_live"]["ospa_mean_m"] / f.results["rig"]["ospa_mean_m"]
            for f in all_folders}
    by = {f.name: f for f in all_folders}
    large_s = float(read_interchange(by["large"].path).scenario.duration_s)

    def rounded(d, n=3):
        return {k: round(v, n) if isinstance(v, float) else v for k, v in d.items()}

    return {
        "ospa_ratio_vs_stonesoup": round(max(ratio.values()), 3),
        "ospa_ratio_worst_folder": max(ratio, key=ratio.get),
        "ospa_ratio_by_folder": rounded(ratio),
        "ospa_ratio_p2_by_folder": rounded(ratio_p2),
        "false_tracks_vs_stonesoup": max(false_diff.values()),
        "false_tracks_diff_by_folder": false_diff,
        "id_switches_vs_stonesoup": max(switch_diff.values()),
        "id_switches_diff_by_folder": switch_diff,
        "tracks_per_target": round(max(f.results["rig"]["tracks_per_target"]
                                       for f in all_folders), 3),
        "tracks_per_target_by_folder": rounded({f.name: f.results["rig"]["tracks_per_target"]
                                                for f in all_folders}),
        "speedup_vs_stonesoup": round(min(speed.values()), 1),
        "speedup_by_folder": rounded(speed, 1),
        "live_vs_offline_ospa_ratio": round(max(live.values()), 3),
        "live_vs_offline_by_folder": rounded(live),
        "biased_ospa_ratio_vs_unbiased": round(by["biased"].results["rig"]["ospa_mean_m"]
                                               / by["default"].results["rig"]["ospa_mean_m"], 3),
        "clock_ospa_ratio_vs_unbiased": round(by["clock"].results["rig"]["ospa_mean_m"]
                                              / by["default"].results["rig"]["ospa_mean_m"], 3),
        "stonesoup_biased_ospa_ratio_vs_unbiased": round(
            by["biased"].results["stonesoup"]["ospa_mean_m"]
            / by["default"].results["stonesoup"]["ospa_mean_m"], 3),
        "large_realtime_factor": round(large_s / by["large"].results["rig_live"]["cpu_s"], 1),
        "large_realtime_factor_offline": round(large_s / by["large"].results["rig"]["cpu_s"], 1),
        "joint_vs_best_partner_ospa_ratio": rounded({
            f.name: f.results["rig"]["ospa_mean_m"] / min(
                v["ospa_mean_m"] for k, v in f.results.items() if k.endswith("_alone"))
            for f in all_folders if any(k.endswith("_alone") for k in f.results)}),
        "nees_per_dof": rounded({f.name: f.results["rig"]["nees_per_dof"]
                                 for f in all_folders}, 2),
        "nis_per_dof": rounded({f.name: f.results["rig"]["nis_per_dof"]
                                for f in all_folders}, 2),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=120.0,
                    help="length of rig's own scenarios (default 120 s)")
    ap.add_argument("--large-duration", type=float, default=120.0,
                    help="length of the 1,000-target scenario (default 120 s)")
    ap.add_argument("--seed", type=int, default=7,
                    help="seed of rig's own scenarios (default 7; tuning used 11 and 12)")
    ap.add_argument("--skip-training", action="store_true",
                    help="leave out the five training folders (the parameters' tuning data)")
    ap.add_argument("--work", default=None, help="folder for the scenarios (default: temporary)")
    args = ap.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="bench_fusion_"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"scenarios in {work}")
    all_folders = folders(work, args)
    for folder in all_folders:
        folder.results = runs_of(folder, cache=work / "cache")
        print_folder(folder)
    print(json.dumps(summary(all_folders)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
