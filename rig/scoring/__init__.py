"""Scoring tracks against truth: OSPA and GOSPA over time, RMSE, missed and false tracks,
track breaks, identity switches and time to first track (definitions in :mod:`.metrics`).

    from rig.scoring import score
    result = score(truth_df, tracks_df, cutoff_m=1000.0, order=2.0, dt_s=1.0)
    result.summary()["ospa_mean_m"]; result.to_json(series=True)

``ospa`` and ``gospa`` give the distance between two single sets of positions.
"""

import importlib

from .defaults import DEFAULT_CUTOFF_M, DEFAULT_DT_S, DEFAULT_ORDER

#: the rest is imported when first used (scipy and pandas take a second to import, and every
#: ``rig`` command's parser reads the defaults above)
_LAZY = {"score": ".metrics", "ScoreResult": ".metrics", "ospa": ".metrics",
         "gospa": ".metrics", "explain_tables": ".report", "print_explanation": ".report",
         "print_score": ".report", "score_table": ".report"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["score", "ScoreResult", "ospa", "gospa", "print_score", "score_table",
           "explain_tables", "print_explanation", "DEFAULT_CUTOFF_M", "DEFAULT_ORDER",
           "DEFAULT_DT_S"]
