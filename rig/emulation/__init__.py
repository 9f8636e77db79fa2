"""Pieces shared by every emulated sensor, whatever its wire format.

- :class:`SensorClock`: the sensor's own clock, offset from and drifting against true time.
- Plot sources: what the sensor detects. :class:`RandomPlotSource` gives plausible plots at a
  fixed rate with no scenario behind them; scenario-driven ones from
  :mod:`rig.emulation.scenario_source` (imported on demand: it loads scenarios).
- :class:`Pacer`: absolute deadlines on the monotonic clock, so emulators keep real time.
"""

from .clock import SensorClock
from .pacing import Pacer
from .sources import PlotSource, RandomPlotSource

__all__ = ["SensorClock", "Pacer", "PlotSource", "RandomPlotSource"]
