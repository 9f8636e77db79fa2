"""The sensor table the engine works from: geometry, partner, noise, scan period, detection
probability and coverage per sensor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rig.errors import ConfigError
from rig.geodesy import site_transform
from rig.radar import NominalRadar
from rig.records import MAX_PARTNERS

if TYPE_CHECKING:                       # pandas only where tables are read
    import pandas


@dataclass(frozen=True)
class SensorTable:
    """Arrays indexed by sensor index (the plot's ``sensor_id``).

    ``M, t``: ``p_origin = M @ p_site + t`` (rig.geodesy.site_transform). ``partner``: index
    into ``partner_names`` (a bit of a track's ``partners`` mask). ``pd`` (NaN where unknown)
    and the coverage (slant range in ``[range_min_m, range_max_m]``, elevation up to
    ``el_max_rad``) tell the engine where a sensor should have seen a track: a look without
    a plot there counts against the track's existence; ``clutter_per_scan`` is the sensor's
    mean number of false plots a scan. ``ranged``: 1 for a sensor that measures range, 0 for
    a passive (angle-only) one, whose plots are bearings (azimuth and elevation only).
    """

    names: tuple[str, ...]
    partner_names: tuple[str, ...]
    partner: np.ndarray          # (n,) int
    M: np.ndarray                # (n, 3, 3)
    t: np.ndarray                # (n, 3) m
    sigma_range_m: np.ndarray    # (n,)
    sigma_az_rad: np.ndarray     # (n,)
    sigma_el_rad: np.ndarray     # (n,)
    scan_period_s: np.ndarray    # (n,)
    sigma_range_rate_mps: np.ndarray | None = None   # (n,), NaN where not given
    pd: np.ndarray | None = None                     # (n,), NaN where not known
    range_min_m: np.ndarray | None = None            # (n,), default 0
    range_max_m: np.ndarray | None = None            # (n,), default unlimited
    el_max_rad: np.ndarray | None = None             # (n,), default π/2
    clutter_per_scan: np.ndarray | None = None       # (n,), default 0
    ranged: np.ndarray | None = None                 # (n,) uint8, default 1 (a radar)

    #: Value of each optional column where it is not given.
    OPTIONAL = {"sigma_range_rate_mps": np.nan, "pd": np.nan, "range_min_m": 0.0,
                "range_max_m": np.inf, "el_max_rad": np.pi / 2, "clutter_per_scan": 0.0}

    def __post_init__(self):
        n = len(self.names)
        ranged = np.ones(n) if self.ranged is None else np.asarray(self.ranged)
        object.__setattr__(self, "ranged", np.ascontiguousarray(ranged != 0, np.uint8))
        for name, default in self.OPTIONAL.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, np.full(n, default))
            else:
                object.__setattr__(self, name, np.asarray(getattr(self, name), float))
        for name in ("partner", "sigma_range_m", "sigma_az_rad", "sigma_el_rad",
                     "scan_period_s", "ranged", *self.OPTIONAL):
            if getattr(self, name).shape != (n,):
                raise ConfigError(f"sensor table: {name} must have one value per sensor")
        if self.M.shape != (n, 3, 3) or self.t.shape != (n, 3):
            raise ConfigError("sensor table: M must be (n, 3, 3) and t (n, 3)")
        if len(self.partner_names) > MAX_PARTNERS:
            raise ConfigError(f"{len(self.partner_names)} partners; at most {MAX_PARTNERS}")
        if n > 64:
            raise ConfigError(f"{n} sensors; the engine handles at most 64")

    def __len__(self) -> int:
        return len(self.names)

    @property
    def R_diag(self) -> np.ndarray:
        """(n, 3) measurement variances (range m², az rad², el rad²)."""
        return np.stack([self.sigma_range_m, self.sigma_az_rad, self.sigma_el_rad], 1) ** 2

    @classmethod
    def of_radars(cls, radars, origin) -> "SensorTable":
        """From :class:`rig.radar.NominalRadar` specs (what a radar's operator says of it)
        and the fusion origin (a :class:`rig.geodesy.Geodetic`). A modelled radar with its
        ground-truth errors is refused: pass ``radar.nominal()``."""
        for radar in radars:
            if type(radar) is not NominalRadar:
                raise TypeError(f"sensor {getattr(radar, 'id', radar)!r}: the fuser takes "
                                f"NominalRadar, not {type(radar).__name__} (use .nominal())")
        partners = tuple(dict.fromkeys(r.partner for r in radars))
        transforms = [site_transform(r.site.geodetic(), origin) for r in radars]
        return cls(
            names=tuple(r.id for r in radars), partner_names=partners,
            partner=np.array([partners.index(r.partner) for r in radars], dtype=np.int64),
            M=np.array([m for m, _ in transforms]), t=np.array([t for _, t in transforms]),
            sigma_range_m=np.array([r.sigma_range_m or 0.0 for r in radars], float),
            sigma_az_rad=np.array([r.sigma_az_rad for r in radars], float),
            sigma_el_rad=np.array([r.sigma_el_rad for r in radars], float),
            scan_period_s=np.array([r.scan_period_s for r in radars], float),
            sigma_range_rate_mps=np.array([np.nan if r.sigma_range_rate_mps is None
                                           else r.sigma_range_rate_mps for r in radars], float),
            ranged=np.array([getattr(r, "measures_range", True) for r in radars], np.uint8),
            **{name: np.array([getattr(r, name) for r in radars], float)
               for name in ("pd", "range_min_m", "range_max_m", "el_max_rad",
                            "clutter_per_scan")})

    @classmethod
    def from_frame(cls, sensors: "pandas.DataFrame", M: np.ndarray,
                   t: np.ndarray) -> "SensorTable":
        """From an interchange ``sensors.csv`` frame and rig.interchange.sensor_transforms
        (the optional columns are read where the frame has them)."""
        partner_names = tuple(dict.fromkeys(str(p) for p in sensors["partner"]))
        index = {p: i for i, p in enumerate(partner_names)}
        return cls(
            names=tuple(str(s) for s in sensors["sensor_id"]),
            partner_names=partner_names,
            partner=np.array([index[str(p)] for p in sensors["partner"]], dtype=np.int64),
            M=np.ascontiguousarray(M, float), t=np.ascontiguousarray(t, float),
            sigma_range_m=sensors["sigma_range_m"].fillna(0.0).to_numpy(float),
            sigma_az_rad=sensors["sigma_az_rad"].to_numpy(float),
            sigma_el_rad=sensors["sigma_el_rad"].to_numpy(float),
            scan_period_s=sensors["scan_period_s"].to_numpy(float),
            ranged=(sensors["kind"].astype(str) != "passive").to_numpy(np.uint8)
            if "kind" in sensors else None,
            **{name: sensors[name].to_numpy(float) for name in cls.OPTIONAL
               if name in sensors},
        )
