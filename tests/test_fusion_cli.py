"""``rig fuse`` on interchange folders: output, partners, summary, bad input, exit codes."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rig.cli import main
from rig.interchange import TRACK_COLUMNS

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("frame", ["wgs84", "flat"])
def test_fuse_writes_tracks_and_a_summary(frame, tmp_path, capsys):
    out = tmp_path / "tracks.csv"
    assert main(["fuse", str(DATA / f"interchange-{frame}"), "--out", str(out)]) == 0
    tracks = pd.read_csv(out)
    assert list(tracks.columns[:len(TRACK_COLUMNS)]) == list(TRACK_COLUMNS)
    assert tracks["track_id"].nunique() >= 3
    assert np.all(np.diff(np.unique(tracks["t"])) > 0)
    text = capsys.readouterr().out
    assert "tracks written" in text and "plots:" in text and "time:" in text


def test_fuse_partners_and_json(tmp_path, capsys):
    out = tmp_path / "tracks.csv"
    folder = str(DATA / "interchange-wgs84")
    assert main(["fuse", folder, "--out", str(out), "--partners", "A", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["plots_not_selected"] > 0
    assert set(pd.read_csv(out)["partners"].unique()) <= {1}
    assert main(["fuse", folder, "--out", str(out), "--partners", "Z"]) == 2


def test_bad_plots_are_rejected_and_counted(tmp_path, capsys):
    folder = tmp_path / "bad"
    shutil.copytree(DATA / "interchange-flat", folder)
    plots = pd.read_csv(folder / "plots.csv", dtype={"sensor_id": str})
    bad = plots.iloc[:5].copy()
    bad["range_m"] = [np.nan, -10.0, 5e4, 5e4, 5e4]
    bad["elevation_rad"] = [0.1, 0.1, 1.7, 0.1, 0.1]
    bad["sensor_id"] = ["0", "0", "0", "no-such-radar", "0"]
    bad["t"] = [1.0, 1.0, 1.0, 1.0, np.inf]
    pd.concat([plots, bad]).to_csv(folder / "plots.csv", index=False)
    assert main(["fuse", str(folder), "--out", str(tmp_path / "t.csv"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["rejected"] == {"unknown sensor": 1, "not a number": 2,
                                   "negative range": 1, "elevation beyond ±90°": 1}
    assert summary["plots_used"] == len(plots)


def test_unreadable_folder_exits_2(tmp_path, capsys):
    assert main(["fuse", str(tmp_path / "missing"), "--out", str(tmp_path / "t.csv")]) == 2
    folder = tmp_path / "nocol"
    shutil.copytree(DATA / "interchange-flat", folder)
    plots = pd.read_csv(folder / "plots.csv").drop(columns=["elevation_rad"])
    plots.to_csv(folder / "plots.csv", index=False)
    assert main(["fuse", str(folder), "--out", str(tmp_path / "t.csv")]) == 2
    err = capsys.readouterr().err
    assert "elevation_rad" in err
    assert main(["fuse", str(DATA / "interchange-flat"), "--out", str(tmp_path / "t.csv"),
                 "--dt", "0"]) == 2
