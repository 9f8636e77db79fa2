"""The sensor table the engine works from: geometry, partner, noise, scan period per sensor."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rig.errors import ConfigError
from rig.records import MAX_PARTNERS


@dataclass(frozen=True)
class SensorTable:
    """Arrays indexed by sensor index (the plot's ``sensor_id``).

    ``M, t``: ``p_origin = M @ p_site + t`` (rig.geodesy.site_transform). ``partner``: index
    into ``partner_names`` (a bit of a track's ``partners`` mask).
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

    def __post_init__(self):
        n = len(self.names)
        for name in ("partner", "sigma_range_m", "sigma_az_rad", "sigma_el_rad",
                     "scan_period_s"):
            if getattr(self, name).shape != (n,):
                raise ConfigError(f"sensor table: {name} must have one value per sensor")
        if self.sigma_range_rate_mps is None:
            object.__setattr__(self, "sigma_range_rate_mps", np.full(n, np.nan))
        if self.sigma_range_rate_mps.shape != (n,):
            raise ConfigError("sensor table: sigma_range_rate_mps must have one value per sensor")
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
    def from_frame(cls, sensors: pd.DataFrame, M: np.ndarray, t: np.ndarray) -> "SensorTable":
        """From an interchange ``sensors.csv`` frame and rig.interchange.sensor_transforms
        (``sigma_range_rate_mps`` is read when the frame has it)."""
        partner_names = tuple(dict.fromkeys(str(p) for p in sensors["partner"]))
        index = {p: i for i, p in enumerate(partner_names)}
        return cls(
            names=tuple(str(s) for s in sensors["sensor_id"]),
            partner_names=partner_names,
            partner=np.array([index[str(p)] for p in sensors["partner"]], dtype=np.int64),
            M=np.ascontiguousarray(M, float), t=np.ascontiguousarray(t, float),
            sigma_range_m=sensors["sigma_range_m"].to_numpy(float),
            sigma_az_rad=sensors["sigma_az_rad"].to_numpy(float),
            sigma_el_rad=sensors["sigma_el_rad"].to_numpy(float),
            scan_period_s=sensors["scan_period_s"].to_numpy(float),
            sigma_range_rate_mps=(sensors["sigma_range_rate_mps"].to_numpy(float)
                                  if "sigma_range_rate_mps" in sensors else None),
        )
