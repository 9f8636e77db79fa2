"""One offline run, in its own process: ``python -m rig.campaign.offline FOLDER``.

Reads FOLDER/offline.json (the resolved offline config and the seed), writes the scenario's
interchange folder (as ``rig scenario``), fuses it (as ``rig fuse``), scores the tracks (as
``rig score``) and writes FOLDER/tracks.csv and FOLDER/figures.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def offline_figures(config: dict, seed: int, folder: Path) -> dict:
    from rig.campaign.spec import OfflineSpec
    from rig.fusion.offline import fuse
    from rig.interchange import read_interchange, read_truth, write_tracks
    from rig.scenario import load_scenario, write_scenario_folder
    from rig.scoring import score

    spec = OfflineSpec.model_validate(config)
    s = spec.scenario
    scenario = load_scenario(s.source, seed=seed, targets=s.targets, duration_s=s.duration_s,
                             biased=s.biased, clock_errors=s.clock_errors)
    data = folder / "scenario"
    write_scenario_folder(scenario, data)
    result = fuse(read_interchange(data), dt_s=spec.dt_s, params=spec.fusion)
    write_tracks(folder / "tracks.csv", result.tracks)
    scored = score(read_truth(data / "truth.csv"), result.tracks, cutoff_m=spec.score.cutoff_m,
                   order=spec.score.order).summary()
    return {"ospa_m": scored["ospa_mean_m"], "gospa_m": scored["gospa_mean_m"],
            "false_tracks": scored["false_tracks"],
            "identity_switches": scored["identity_switches"],
            "missed_targets": scored["missed_targets"], "track_breaks": scored["track_breaks"],
            "position_rmse_m": scored["position_rmse_m"], "fuse_cpu_s": result.cpu_s,
            "verdict": "done"}


def main(argv: list[str]) -> int:
    folder = Path(argv[0])
    job = json.loads((folder / "offline.json").read_text())
    figures = offline_figures(job["config"], int(job["seed"]), folder)
    (folder / "figures.json").write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
