"""Scoring tracks against truth: OSPA and GOSPA over time, RMSE, missed and false tracks,
track breaks, identity switches and time to first track (definitions in :mod:`.metrics`).

    from rig.scoring import score
    result = score(truth_df, tracks_df, cutoff_m=1000.0, order=2.0, dt_s=1.0)
    result.summary()["ospa_mean_m"]; result.to_json(series=True)

``ospa`` and ``gospa`` give the distance between two single sets of positions.
"""

from .metrics import (DEFAULT_CUTOFF_M, DEFAULT_DT_S, DEFAULT_ORDER, ScoreResult, gospa, ospa,
                      score)
from .report import explain_tables, print_explanation, print_score, score_table

__all__ = ["score", "ScoreResult", "ospa", "gospa", "print_score", "score_table",
           "explain_tables", "print_explanation", "DEFAULT_CUTOFF_M", "DEFAULT_ORDER",
           "DEFAULT_DT_S"]
