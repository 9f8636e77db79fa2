"""Sensor models: what a radar at a WGS-84 site reports for a scenario's truth.

- :class:`RadarSpec` (and :class:`SiteSpec`): a radar's site and model parameters, validated.
- :class:`RadarModel`: truth trajectories -> plots of one radar (``SIM_PLOT_DTYPE``).
- :func:`simulate_plots`: every sensor of a scenario, as the rows of ``plots.csv``.
- :class:`ScenarioPlotSource`: a radar's plots for real-time emulation (a ``PlotSource``).
"""

from .radar import SIM_PLOT_DTYPE, RadarModel
from .simulate import simulate_plots
from .source import ScenarioEmulation, ScenarioPlotSource, emulation_clock, scenario_emulation
from .spec import RadarSpec, SiteSpec

__all__ = ["RadarSpec", "SiteSpec", "RadarModel", "SIM_PLOT_DTYPE", "simulate_plots",
           "ScenarioPlotSource", "ScenarioEmulation", "emulation_clock", "scenario_emulation"]
