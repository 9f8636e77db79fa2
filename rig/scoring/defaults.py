"""The scoring defaults, importable without the scoring machinery (scipy, pandas)."""

DEFAULT_CUTOFF_M = 1000.0
DEFAULT_ORDER = 2.0
DEFAULT_DT_S = 1.0
