"""A small, self-contained radar simulator for the fusion tests (numpy only, seeded), and
tests of the simulator itself. Truth moves in the origin's ENU frame; each radar measures
range, azimuth and elevation in its own site's tangent plane (rig.geodesy), with noise,
optional biases and a clock offset, at its own scan period and phase."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from rig.fusion import FusionEngine, FusionParams, SensorTable
from rig.geodesy import Geodetic, LocalFrame, polar_from_enu, site_transform
from rig.records import empty_plots

ORIGIN = Geodetic(52.0, 21.0, 100.0)


@dataclass
class Radar:
    site: tuple                      # (lat_deg, lon_deg, alt_m) or ENU metres in "flat"
    partner: str = "A"
    scan_period_s: float = 2.0
    scan_phase_s: float = 0.0
    sigma_range_m: float = 30.0
    sigma_az_rad: float = 1.5e-3
    sigma_el_rad: float = 1.5e-3
    range_max_m: float = 400e3
    pd: float = 1.0
    range_bias_m: float = 0.0
    az_bias_rad: float = 0.0
    clock_offset_s: float = 0.0
    clutter_per_scan: float = 0.0
    sigma_range_rate_mps: float | None = None     # None: the radar measures no range rate
    passive: bool = False            # angle-only: its plots carry no range (NaN)


@dataclass
class Target:
    p0: np.ndarray                   # ENU m at t = 0 (origin frame)
    v0: np.ndarray                   # m/s
    turn_rad_s: float = 0.0
    t_start_s: float = 0.0
    t_end_s: float = 1e9

    def state(self, t):
        """Position and velocity at times ``t`` (n,) -> (n,3), (n,3)."""
        t = np.asarray(t, float)
        w = self.turn_rad_s
        if w == 0.0:
            p = self.p0 + np.outer(t, self.v0)
            v = np.tile(self.v0, (len(t), 1))
        else:
            s, c = np.sin(w * t), np.cos(w * t)
            ve, vn = self.v0[0], self.v0[1]
            p = np.stack([self.p0[0] + (s * ve - (1 - c) * vn) / w,
                          self.p0[1] + ((1 - c) * ve + s * vn) / w,
                          self.p0[2] + self.v0[2] * t], 1)
            v = np.stack([c * ve - s * vn, s * ve + c * vn, np.full_like(t, self.v0[2])], 1)
        return p, v


@dataclass
class Scenario:
    radars: list
    targets: list
    duration_s: float
    frame: str = "wgs84"
    seed: int = 1
    plots: np.ndarray = field(default=None, repr=False)
    truth_id: np.ndarray = field(default=None, repr=False)

    def transforms(self):
        if self.frame == "flat":
            return (np.tile(np.eye(3), (len(self.radars), 1, 1)),
                    np.array([r.site for r in self.radars], float))
        pairs = [site_transform(Geodetic(*r.site), ORIGIN) for r in self.radars]
        return np.array([m for m, _ in pairs]), np.array([t for _, t in pairs])

    def sensor_table(self) -> SensorTable:
        M, t = self.transforms()
        partners = tuple(dict.fromkeys(r.partner for r in self.radars))
        col = lambda name: np.array([getattr(r, name) or np.nan for r in self.radars],  # noqa: E731
                                    float)
        return SensorTable(tuple(str(i) for i in range(len(self.radars))), partners,
                           np.array([partners.index(r.partner) for r in self.radars]),
                           M, t, col("sigma_range_m"), col("sigma_az_rad"),
                           col("sigma_el_rad"), col("scan_period_s"),
                           col("sigma_range_rate_mps"), pd=col("pd"),
                           range_max_m=col("range_max_m"),
                           clutter_per_scan=np.array([r.clutter_per_scan for r in self.radars],
                                                     float),
                           ranged=np.array([not r.passive for r in self.radars], np.uint8))

    def simulate(self) -> "Scenario":
        rng = np.random.default_rng(self.seed)
        M, T = self.transforms()
        rows, ids = [], []
        for s, radar in enumerate(self.radars):
            scans = np.arange(radar.scan_phase_s, self.duration_s, radar.scan_period_s)
            for k, tgt in enumerate(self.targets):
                p, _ = tgt.state(scans)
                l = (p - T[s]) @ M[s]                        # Mᵀ (p − t) as rows
                r, az, el = polar_from_enu(l)
                # a rotating antenna sees the target when the beam passes its azimuth
                t_meas = scans + az / (2 * np.pi) * radar.scan_period_s
                p, v = tgt.state(t_meas)
                r, az, el = polar_from_enu((p - T[s]) @ M[s])
                rate = np.einsum("ij,ij->i", p - T[s], v) / r      # ṙ = (p − t)·v / r
                ok = ((r < radar.range_max_m) & (el > 0) & (t_meas >= tgt.t_start_s)
                      & (t_meas <= tgt.t_end_s) & (t_meas < self.duration_s)
                      & (rng.random(len(r)) < radar.pd))
                n = int(ok.sum())
                rate = (rate[ok] + rng.normal(0, radar.sigma_range_rate_mps, n)
                        if radar.sigma_range_rate_mps else np.full(n, np.nan))
                rows.append(np.stack([
                    t_meas[ok] + radar.clock_offset_s, np.full(n, s),
                    r[ok] + radar.range_bias_m + rng.normal(0, radar.sigma_range_m, n),
                    np.mod(az[ok] + radar.az_bias_rad + rng.normal(0, radar.sigma_az_rad, n),
                           2 * np.pi),
                    el[ok] + rng.normal(0, radar.sigma_el_rad, n), rate], 1))
                if radar.passive:
                    rows[-1][:, 2] = np.nan
                ids.append(np.full(n, k))
            n_clutter = rng.poisson(radar.clutter_per_scan * len(scans))
            if n_clutter:
                az = rng.uniform(0, 2 * np.pi, n_clutter)
                rows.append(np.stack([
                    rng.uniform(0, self.duration_s, n_clutter) + radar.clock_offset_s,
                    np.full(n_clutter, s), rng.uniform(5e3, radar.range_max_m, n_clutter),
                    az, rng.uniform(0.0, 0.2, n_clutter), np.full(n_clutter, np.nan)], 1))
                if radar.passive:
                    rows[-1][:, 2] = np.nan
                ids.append(np.full(n_clutter, -1))
        data = np.concatenate(rows)
        truth_id = np.concatenate(ids)
        order = np.argsort(data[:, 0], kind="stable")
        data, truth_id = data[order], truth_id[order]
        plots = empty_plots(len(data))
        plots["t_sensor"], plots["sensor_id"] = data[:, 0], data[:, 1].astype(np.uint16)
        plots["range_m"], plots["az_rad"], plots["el_rad"] = data[:, 2], data[:, 3], data[:, 4]
        plots["range_rate_mps"] = data[:, 5]
        plots["seq"] = np.arange(len(data))
        self.plots, self.truth_id = plots, truth_id
        return self


def far_apart_radars(**kw):
    """Two partners, two radars each, sites about 500 km apart (east and west of the origin)."""
    sites = [(51.9, 17.4, 150.0), (52.6, 17.9, 60.0), (51.8, 24.6, 120.0), (52.5, 24.2, 200.0)]
    periods = [2.0, 3.0, 2.5, 4.0]
    return [Radar(site, partner="AB"[i // 2], scan_period_s=periods[i],
                  scan_phase_s=0.3 * i, **kw) for i, site in enumerate(sites)]


def default_targets(n=6, seed=3):
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        heading = rng.uniform(0, 2 * np.pi)
        speed = rng.uniform(150, 300)
        out.append(Target(np.array([rng.uniform(-150e3, 150e3), rng.uniform(-100e3, 100e3),
                                    rng.uniform(3000, 11000)]),
                          np.array([speed * np.sin(heading), speed * np.cos(heading), 0.0])))
    return out


def run_engine(scn: Scenario, params: FusionParams | None = None, dt_s: float = 1.0,
               chunk_s: float = 1.0, **kw):
    """Feed the scenario's plots to a new engine in chunks; tracks at every tick."""
    engine = FusionEngine(ORIGIN, scn.sensor_table(), params, **kw)
    out = []
    t = scn.plots["t_sensor"]
    for tick in np.arange(dt_s, scn.duration_s + 1e-9, dt_s):
        engine.process(scn.plots[(t > tick - chunk_s) & (t <= tick)])
        engine.flush(tick)
        out.append(engine.tracks(tick))
    return engine, out


def match(scn: Scenario, tracks: np.ndarray, t: float, radius_m: float = 2000.0):
    """Assign tracks to the targets present at t: ``(errors_m (matched), n_false, n_missed,
    {track_id: target})``."""
    alive = [k for k, g in enumerate(scn.targets) if g.t_start_s <= t <= g.t_end_s]
    truth = np.array([scn.targets[k].state([t])[0][0] for k in alive]).reshape(-1, 3)
    est = np.stack([tracks["east"], tracks["north"], tracks["up"]], 1)
    d = np.linalg.norm(est[:, None, :] - truth[None, :, :], axis=2)
    a, b = linear_sum_assignment(np.where(d < radius_m, d, 1e9))
    ok = d[a, b] < radius_m
    ids = {int(tracks["track_id"][i]): alive[j] for i, j in zip(a[ok], b[ok])}
    return d[a[ok], b[ok]], len(tracks) - int(ok.sum()), len(alive) - int(ok.sum()), ids


def test_simulator_noise_matches_sigmas():
    radar = Radar((0.0, 0.0, 0.0), sigma_range_m=50.0, scan_period_s=1.0)
    tgt = Target(np.array([50e3, 50e3, 5e3]), np.zeros(3))
    scn = Scenario([radar], [tgt], 400.0, frame="flat").simulate()
    r = np.hypot(np.hypot(50e3, 50e3), 5e3)
    assert abs(np.std(scn.plots["range_m"] - r) / 50.0 - 1) < 0.15
    assert abs(np.mean(scn.plots["range_m"] - r)) < 3 * 50.0 / np.sqrt(len(scn.plots))


def test_simulator_far_site_plot_lands_on_truth():
    radars = far_apart_radars(sigma_range_m=1e-6, sigma_az_rad=1e-12, sigma_el_rad=1e-12)
    tgt = Target(np.array([10e3, 20e3, 8e3]), np.zeros(3))
    scn = Scenario(radars, [tgt], 10.0).simulate()
    M, T = scn.transforms()
    for plot in scn.plots:
        s = plot["sensor_id"]
        ground = plot["range_m"] * np.cos(plot["el_rad"])
        local = np.array([ground * np.sin(plot["az_rad"]), ground * np.cos(plot["az_rad"]),
                          plot["range_m"] * np.sin(plot["el_rad"])])
        assert np.allclose(M[s] @ local + T[s], tgt.p0, atol=1e-3)
    ecef = LocalFrame(ORIGIN).ecef_from_enu(tgt.p0)
    assert np.isfinite(ecef).all()
