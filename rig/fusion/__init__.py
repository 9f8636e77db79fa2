"""Multi-partner plot fusion: registration, IMM-EKF filtering in polar space, GNN
association and track management (docs/architecture.md, "fusion loop")."""

from rig.fusion.engine import FusionCounters, FusionEngine
from rig.fusion.params import FusionParams
from rig.fusion.sensor_table import SensorTable

__all__ = ["FusionCounters", "FusionEngine", "FusionParams", "SensorTable"]
