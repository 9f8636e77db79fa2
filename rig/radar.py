"""A sensor as its operator describes it: site, scan, noise, detection and coverage.

A sensor is a radar (``kind: radar``, the default) or a passive angle-only sensor
(``kind: passive``, ESM- or IRST-like), which measures azimuth and elevation only.

This is all a fuser may know of a sensor. What the radar gets wrong (its biases, clock errors
and latency) is the emulation's ground truth and lives in :class:`rig.sensor_models.RadarSpec`,
a subclass with those fields; :meth:`rig.sensor_models.RadarSpec.nominal` strips them, and the
fusion engine's sensor table is built only from :class:`NominalRadar` (``rig.fusion`` imports
this module, never ``rig.sensor_models``).
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import (BaseModel, ConfigDict, Field, ValidationInfo, field_validator,
                      model_validator)
from pydantic_core import PydanticCustomError

from rig.geodesy import Geodetic


class SiteSpec(BaseModel):
    """A WGS-84 position."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lat_deg: float = Field(ge=-90.0, le=90.0)
    lon_deg: float = Field(ge=-180.0, le=360.0)
    alt_m: float = Field(0.0, ge=-1e4, le=1e5)

    def geodetic(self) -> Geodetic:
        return Geodetic(self.lat_deg, self.lon_deg, self.alt_m)


class NominalRadar(BaseModel):
    """A rotating surveillance radar at a WGS-84 site, as its operator describes it.

    Geometry and timing: the antenna points north at ``scan_phase_s + k·scan_period_s`` and
    turns clockwise; a target is seen when the beam crosses its azimuth. Coverage: slant range
    in ``[range_min_m, range_max_m]``, elevation up to ``el_max_rad``, and line of sight over
    the 4/3-earth sphere (radar horizon). Detection: probability ``pd``, either everywhere
    (``pd_model: constant``) or at ``pd_reference_range_m`` for a Swerling-1 target whose
    signal-to-noise ratio falls with range⁴ (``pd_model: swerling1``, false-alarm probability
    ``pfa``). Clutter: Poisson, ``clutter_per_scan`` on average, uniform over the coverage in
    range, azimuth and elevation. Measurement: slant range, azimuth and elevation in the site's
    local tangent plane with Gaussian noise; range rate when ``sigma_range_rate_mps`` is given.
    What the radar gets wrong (biases, clock, latency) is not here: it is the emulation's
    ground truth, :class:`rig.sensor_models.spec.RadarSpec`, which a fuser never sees.

    A passive sensor (``kind: passive``) is described the same way and measures azimuth and
    elevation only: its plots have NaN range and range rate, ``sigma_range_m`` may be left
    out and ``sigma_range_rate_mps`` must be. ``range_max_m`` is its detection range (an
    emitter further away is not detected), ``scan_period_s`` its revisit period (one report
    per target per period, timed as the beam of a radar), ``clutter_per_scan`` its mean
    number of false bearings per period (uniform in azimuth and in elevation up to
    ``el_max_rad``); detection, coverage and line of sight are as for a radar.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    partner: str = Field(min_length=1)
    kind: Literal["radar", "passive"] = "radar"
    site: SiteSpec
    scan_period_s: float = Field(gt=0.0)
    scan_phase_s: float = Field(0.0, ge=0.0)
    sigma_range_m: float | None = Field(None, ge=0.0, validate_default=True)
    sigma_az_rad: float = Field(ge=0.0)
    sigma_el_rad: float = Field(ge=0.0)
    sigma_range_rate_mps: float | None = Field(None, ge=0.0)
    pd: float = Field(0.9, ge=0.0, le=1.0)
    pd_model: Literal["constant", "swerling1"] = "constant"
    pd_reference_range_m: float | None = Field(None, gt=0.0)
    pfa: float = Field(1e-6, gt=0.0, lt=1.0)
    clutter_per_scan: float = Field(0.0, ge=0.0)
    range_min_m: float = Field(0.0, ge=0.0)
    range_max_m: float = Field(gt=0.0)
    el_max_rad: float = Field(math.pi / 2, gt=0.0, le=math.pi / 2)

    @field_validator("id", "partner", mode="before")
    @classmethod
    def _text(cls, value):
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("sigma_range_m")
    @classmethod
    def _range_noise(cls, value, info: ValidationInfo):
        if value is None and info.data.get("kind") == "radar":
            raise PydanticCustomError("missing", "a radar (kind: radar) needs sigma_range_m")
        return value

    @field_validator("sigma_range_rate_mps")
    @classmethod
    def _no_passive_range_rate(cls, value, info: ValidationInfo):
        if value is not None and info.data.get("kind") == "passive":
            raise ValueError("a passive sensor measures no range rate: leave out "
                             "sigma_range_rate_mps")
        return value

    @model_validator(mode="after")
    def _ranges(self):
        if self.range_min_m >= self.range_max_m:
            raise ValueError("range_min_m must be less than range_max_m")
        return self

    @property
    def measures_range(self) -> bool:
        """False for a passive (angle-only) sensor."""
        return self.kind == "radar"

    @property
    def measures_range_rate(self) -> bool:
        return self.measures_range and self.sigma_range_rate_mps is not None

    @property
    def reference_range_m(self) -> float:
        return self.pd_reference_range_m or self.range_max_m
