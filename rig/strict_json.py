"""JSON that strict parsers accept: NaN and infinity become null, numpy values plain numbers.

Python's ``json`` writes a bare ``NaN`` that JSON itself does not allow; every report and
``--json`` output of rig goes through :func:`dumps` instead.
"""

from __future__ import annotations

import json
import math

import numpy as np


def plain(value):
    """``value`` with numpy scalars and arrays made plain and non-finite floats ``None``."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def dumps(value, **kwargs) -> str:
    """``json.dumps`` of :func:`plain` ``(value)``; never writes NaN or Infinity."""
    return json.dumps(plain(value), allow_nan=False, **kwargs)
