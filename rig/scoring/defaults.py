"""The scoring defaults, importable without the scoring machinery (scipy, pandas)."""

DEFAULT_CUTOFF_M = 1000.0
DEFAULT_ORDER = 2.0
DEFAULT_DT_S = 1.0
#: the largest cutoff and order: c to the power p stays a finite number
MAX_CUTOFF_M = 1e6
MAX_ORDER = 10.0
