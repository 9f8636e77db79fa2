"""The fusion engine on folders an independent generator wrote (tests/data/interchange-*):
filter consistency and the shape of the picture, on data rig did not make."""

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import chi2

from rig.fusion.offline import fuse
from rig.interchange import read_interchange, read_truth
from rig.scoring import score
from rig.scoring.consistency import position_nees

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module", params=["interchange-flat", "interchange-wgs84"])
def fused(request):
    folder = DATA / request.param
    return request.param, folder, fuse(read_interchange(folder))


def test_innovations_are_consistent(fused):
    name, _, result = fused
    c = result.engine.counters
    assert c.nis_count > 100, name
    # the mean NIS per degree of freedom inside its 99.9 % chi-square interval
    lo, hi = chi2.ppf([0.0005, 0.9995], c.nis_dof) / c.nis_dof
    assert lo < c.nis_per_dof < hi, (name, c.nis_per_dof, lo, hi)


def test_position_errors_match_the_covariances(fused):
    name, folder, result = fused
    nees = position_nees(read_truth(folder / "truth.csv"), result.track_array)
    assert len(nees) > 50, name
    # within a factor of two of consistent (1 per dof): the independent targets turn at
    # 3-4 g, which no covariance of a one-plot-a-second filter foresees exactly
    assert 0.5 < nees.mean() / 3.0 < 2.0, (name, nees.mean() / 3.0)
    # and no wild outliers: 99 % of the samples below chi-square(3) at 1e-6
    assert np.percentile(nees, 99) < chi2.ppf(1 - 1e-6, 3), name


def test_one_clean_track_per_target(fused):
    name, folder, result = fused
    s = score(read_truth(folder / "truth.csv"), result.tracks, order=1.0).summary()
    assert s["false_tracks"] == 0 and s["mostly_false_tracks"] == 0, name
    assert s["identity_switches"] == 0, name
    assert s["tracks_per_target"] <= 1.0, name
