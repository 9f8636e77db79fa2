"""Sensor hardware families: each holds one protocol with both its host and device sides.

Families are found through :mod:`rig.firmware`.
"""
