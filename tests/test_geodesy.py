"""Geodesy against pymap3d, and against the independent example folders."""

from pathlib import Path

import numpy as np
import pymap3d
import pytest

from rig.geodesy import (Geodetic, LocalFrame, elevation_from_height, enu_from_polar,
                         geodetic_from_ecef, height_from_elevation, polar_from_enu,
                         site_transform)
from rig.interchange import read_interchange, sensor_transforms

EXAMPLES = Path(__file__).parent / "data"


def test_local_frame_matches_pymap3d_to_the_millimetre(rng):
    frame = LocalFrame(Geodetic(52.0, 21.0, 100.0))
    lat = rng.uniform(48, 56, 200)
    lon = rng.uniform(15, 27, 200)
    alt = rng.uniform(0, 15000, 200)
    ours = frame.enu_from_geodetic(lat, lon, alt)
    e, n, u = pymap3d.geodetic2enu(lat, lon, alt, 52.0, 21.0, 100.0)
    np.testing.assert_allclose(ours, np.stack([e, n, u], -1), atol=1e-3, rtol=0)
    back = frame.geodetic_from_enu(ours)
    np.testing.assert_allclose(back[0], lat, atol=1e-9)
    np.testing.assert_allclose(back[1], lon, atol=1e-9)
    np.testing.assert_allclose(back[2], alt, atol=1e-3)


def test_geodetic_from_ecef_matches_pymap3d_over_the_globe(rng):
    """The closed form, from below sea level to ballistic apogees, at every latitude and at
    the poles themselves."""
    lat = np.concatenate([rng.uniform(-90, 90, 20000), [90.0, -90.0, 0.0, 89.999999]])
    lon = np.concatenate([rng.uniform(-180, 180, 20000), [0.0, 45.0, 0.0, 120.0]])
    alt = np.concatenate([rng.uniform(-1e4, 2e6, 20000), [1000.0, 0.0, 0.0, 30000.0]])
    xyz = np.stack(pymap3d.geodetic2ecef(lat, lon, alt), -1)
    ours = geodetic_from_ecef(xyz)
    theirs = pymap3d.ecef2geodetic(xyz[:, 0], xyz[:, 1], xyz[:, 2])
    # pymap3d's own inverse is good to ~1e-6 degrees; its forward transform is exact, and
    # ours inverts it to 1e-9 degrees (0.1 mm)
    np.testing.assert_allclose(ours[0], theirs[0], atol=1e-6, rtol=0)
    np.testing.assert_allclose(ours[0], lat, atol=1e-9, rtol=0)
    np.testing.assert_allclose(ours[2], alt, atol=1e-6, rtol=0)
    pole = np.abs(lat) == 90.0
    np.testing.assert_allclose(np.angle(np.exp(1j * np.radians(ours[1][~pole] - lon[~pole]))),
                               0, atol=1e-12)
    one = geodetic_from_ecef(xyz[0])
    assert np.shape(one[0]) == () and abs(one[2] - alt[0]) < 1e-6


def test_site_transform_equals_the_path_through_ecef(rng):
    site, origin = Geodetic(50.9, 17.8, 150.0), Geodetic(52.0, 21.0, 100.0)
    m, t = site_transform(site, origin)
    local = rng.uniform(-3e5, 3e5, (100, 3))
    direct = local @ m.T + t
    via_ecef = LocalFrame(origin).enu_from_ecef(LocalFrame(site).ecef_from_enu(local))
    np.testing.assert_allclose(direct, via_ecef, atol=1e-6)
    # sites 300 km apart do not share "up": the frames differ by tens of milliradians
    angle = np.arccos(np.clip((np.trace(m) - 1) / 2, -1, 1))
    assert angle > 0.03


def test_polar_round_trip(rng):
    r = rng.uniform(1, 5e5, 500)
    az = rng.uniform(0, 2 * np.pi, 500)
    el = rng.uniform(-1.5, 1.5, 500)
    r2, az2, el2 = polar_from_enu(enu_from_polar(r, az, el))
    np.testing.assert_allclose(r2, r, rtol=1e-12)
    np.testing.assert_allclose(np.angle(np.exp(1j * (az2 - az))), 0, atol=1e-9)
    np.testing.assert_allclose(el2, el, atol=1e-12)


@pytest.mark.parametrize("k", [1.0, 4 / 3])
def test_height_and_elevation_are_inverse(k, rng):
    r = rng.uniform(1e3, 4e5, 300)
    el = rng.uniform(-0.02, 0.6, 300)
    h = height_from_elevation(r, el, 120.0, k)
    np.testing.assert_allclose(elevation_from_height(r, h, 120.0, k), el, atol=1e-10)


def test_height_matches_the_ellipsoid_within_its_curvature():
    site = Geodetic(52.0, 21.0, 120.0)
    r, az, el = 250_000.0, 1.0, 0.02
    lat, lon, alt = LocalFrame(site).geodetic_from_enu(enu_from_polar(r, az, el))
    assert abs(height_from_elevation(r, el, 120.0) - alt) < 50.0   # sphere vs ellipsoid


@pytest.mark.parametrize("frame", ["wgs84", "flat"])
def test_example_plots_land_on_their_truth(frame):
    """Plots of an independent generator, converted back, land on the truth within noise."""
    x = read_interchange(f"{EXAMPLES}/interchange-{frame}", with_truth=True)
    m, t = sensor_transforms(x.scenario, x.sensors)
    index = {s: i for i, s in enumerate(x.sensors["sensor_id"])}
    plots = x.plots[x.plots["truth_id"] >= 0]
    normalised = []
    for p in plots.itertuples():
        i = index[p.sensor_id]
        pos = m[i] @ enu_from_polar(p.range_m, p.azimuth_rad, p.elevation_rad) + t[i]
        tr = x.truth[x.truth["target_id"] == p.truth_id]
        k = int(np.argmin(np.abs(tr["t"].to_numpy() - p.t)))
        row = tr.iloc[k]
        truth = (np.array([row.east_m, row.north_m, row.up_m])
                 + (p.t - row.t) * np.array([row.ve, row.vn, row.vu]))
        s = x.sensors.iloc[i]
        sigma = np.sqrt(s.sigma_range_m**2 + (p.range_m * s.sigma_az_rad)**2
                        + (p.range_m * s.sigma_el_rad)**2)
        normalised.append(np.linalg.norm(pos - truth) / sigma)
    normalised = np.array(normalised)
    assert len(normalised) > 100
    # a frame error of tens of mrad would put plots kilometres off: many sigmas
    assert np.median(normalised) < 1.5 and np.percentile(normalised, 99) < 4.5
