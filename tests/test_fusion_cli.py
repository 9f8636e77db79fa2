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


def test_fuse_with_a_partner_that_shares_its_tracks(tmp_path, capsys):
    """--tracks-from B: B's plots reach the centre only as B's own tracks over CAT062, every
    received record taken or refused by reason, and the picture holds B's targets."""
    from rig.interchange import read_truth
    from rig.scoring import score

    folder = DATA / "interchange-wgs84"
    plots_out, tracks_out = tmp_path / "plots.csv", tmp_path / "tracks.csv"
    assert main(["fuse", str(folder), "--out", str(plots_out), "--json"]) == 0
    plots_summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main(["fuse", str(folder), "--out", str(tracks_out), "--tracks-from", "B",
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    received = summary["partner_tracks"]["received"]["B"]
    assert received["received"] > 0 and received["received"] == sum(
        n for reason, n in received.items() if reason != "received")
    assert summary["partner_tracks"]["partner_tracks_fused"] > 0
    assert summary["plots_in"] < plots_summary["plots_in"]       # B's plots stayed with B
    tracks = pd.read_csv(tracks_out)
    assert {2, 3} & set(tracks["partners"].unique())                 # B's bit (1 << 1)
    truth = read_truth(folder / "truth.csv")
    with_plots = score(truth, pd.read_csv(plots_out), cutoff_m=1000.0, order=1.0).summary()
    with_tracks = score(truth, tracks, cutoff_m=1000.0, order=1.0).summary()
    alone = tmp_path / "a.csv"
    assert main(["fuse", str(folder), "--out", str(alone), "--partners", "A"]) == 0
    a_alone = score(truth, pd.read_csv(alone), cutoff_m=1000.0, order=1.0).summary()
    assert with_tracks["ospa_mean_m"] < a_alone["ospa_mean_m"], (with_tracks, a_alone)
    assert with_tracks["ospa_mean_m"] < 1.2 * with_plots["ospa_mean_m"], \
        (with_tracks, with_plots)
    capsys.readouterr()
    assert main(["fuse", str(folder), "--out", str(tracks_out), "--tracks-from", "Z"]) == 2
    assert "--tracks-from Z: no such partner" in capsys.readouterr().err
    assert main(["fuse", str(folder), "--out", str(tracks_out), "--tracks-from", "B",
                 "--partners", "A"]) == 2


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
