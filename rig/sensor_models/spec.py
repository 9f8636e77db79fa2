"""What a modelled radar is: the nominal radar and its ground-truth errors, validated
(unknown keys are errors).

:class:`RadarSpec` is written in scenario files under ``sensors:`` (one flat mapping) and can be
embedded by any other configuration (a bench config) that needs a modelled radar. Its nominal
part is :class:`rig.radar.NominalRadar`; its biases, clock errors and latency are the
emulation's ground truth: they go to the interchange folder only in the columns a fuser never
reads, and :meth:`RadarSpec.nominal` is what a fuser gets.
"""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from rig.radar import NominalRadar, SiteSpec


class RadarSpec(NominalRadar):
    """A :class:`~rig.radar.NominalRadar` and what it gets wrong. Measurement: a constant bias
    on top of the noise. Clock: ``t_sensor = t_true + clock_offset_s +
    clock_drift_ppm·1e-6·t_true``. Transport: each plot is reported ``latency_s`` plus a
    uniform ``[0, latency_jitter_s]`` after detection. A passive sensor measures no range, so
    its ``range_bias_m`` must be 0.
    """

    range_bias_m: float = 0.0
    az_bias_rad: float = 0.0
    el_bias_rad: float = 0.0
    clock_offset_s: float = 0.0
    clock_drift_ppm: float = Field(0.0, ge=-1e5, le=1e5)
    latency_s: float = Field(0.0, ge=0.0)
    latency_jitter_s: float = Field(0.0, ge=0.0)

    @field_validator("range_bias_m")
    @classmethod
    def _no_passive_range_bias(cls, value, info: ValidationInfo):
        if value != 0.0 and info.data.get("kind") == "passive":
            raise ValueError("a passive sensor measures no range: range_bias_m must be 0")
        return value

    def nominal(self) -> NominalRadar:
        """The radar without its errors: all a fuser may know of it."""
        return NominalRadar(**self.model_dump(include=set(NominalRadar.model_fields)))


#: the fields that are the emulation's ground truth
ERROR_FIELDS = tuple(name for name in RadarSpec.model_fields
                     if name not in NominalRadar.model_fields)

__all__ = ["ERROR_FIELDS", "NominalRadar", "RadarSpec", "SiteSpec"]
