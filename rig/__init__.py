"""rig: hardware-in-the-loop sensor emulation rig for a joint radar fusion centre."""

__version__ = "0.1.0"
