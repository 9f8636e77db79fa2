"""Sensor models: what a radar (or a passive angle-only sensor) at a WGS-84 site reports for
a scenario's truth.

- :class:`RadarSpec` (and :class:`SiteSpec`): a sensor's site and model parameters, validated.
- :class:`RadarModel`: truth trajectories -> plots of one sensor (``SIM_PLOT_DTYPE``; NaN
  range and range rate from a passive sensor).
- :func:`simulate_plots`: every sensor of a scenario, as the rows of ``plots.csv``.

A radar's plots streamed in real time by an emulator come from
:class:`rig.emulation.scenario_source.ScenarioPlotSource`.
"""

from .radar import SIM_PLOT_DTYPE, RadarModel
from .simulate import simulate_plots
from .spec import RadarSpec, SiteSpec

__all__ = ["RadarSpec", "SiteSpec", "RadarModel", "SIM_PLOT_DTYPE", "simulate_plots"]
