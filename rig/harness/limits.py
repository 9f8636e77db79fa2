"""Limits as data: parsed from bench configs, checked against measurements.

In a bench config::

    limits:
      processing_latency_ms: {p99: 5}        # the 99th percentile at most 5 ms
      dropped_plots: {max: 0}                # at most 0
      ospa_m: {mean: 150}
      tracks_published: {min: {">=": 3}}     # explicit direction: at least 3

A bare number is an upper bound on that statistic; ``{">=": x}`` or ``{"<=": x}`` states
the direction. For one-number measurements (counts) every statistic is the number itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rig.errors import ConfigError

from .measurements import MEASUREMENTS, STATISTICS, statistic

PASS, FAIL, NOT_MEASURABLE = "pass", "fail", "not measurable"


@dataclass(frozen=True)
class Limit:
    measurement: str
    statistic: str
    op: str          # "<=" or ">="
    bound: float

    @property
    def name(self) -> str:
        return f"{self.measurement}.{self.statistic} {self.op} {self.bound:g}"

    @property
    def unit(self) -> str:
        return MEASUREMENTS[self.measurement].unit


@dataclass(frozen=True)
class LimitResult:
    limit: Limit
    outcome: str             # PASS, FAIL or NOT_MEASURABLE
    value: float | None
    reason: str = ""

    def to_json(self) -> dict:
        lim = self.limit
        return {"name": lim.name, "measurement": lim.measurement, "statistic": lim.statistic,
                "op": lim.op, "bound": lim.bound, "unit": lim.unit, "outcome": self.outcome,
                "value": self.value, "reason": self.reason}


def parse_limits(raw, *, file: str | None = None) -> list[Limit]:
    """Limits from the ``limits:`` mapping of a config; errors name the key."""
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise ConfigError("must be a mapping of measurement -> {statistic: bound}", file=file,
                          key="limits")
    limits = []
    for measurement, stats in raw.items():
        key = f"limits.{measurement}"
        if measurement not in MEASUREMENTS:
            raise ConfigError("unknown measurement", file=file, key=key,
                              expected="one of " + ", ".join(sorted(MEASUREMENTS)))
        if not isinstance(stats, dict) or not stats:
            raise ConfigError("must be a mapping of statistic -> bound", file=file, key=key,
                              expected="e.g. {p99: 5}")
        for stat, bound in stats.items():
            skey = f"{key}.{stat}"
            if stat not in STATISTICS:
                raise ConfigError("unknown statistic", file=file, key=skey,
                                  expected="one of " + ", ".join(STATISTICS))
            op = "<="
            if isinstance(bound, dict):
                if len(bound) != 1 or next(iter(bound)) not in ("<=", ">="):
                    raise ConfigError("bad bound", file=file, key=skey,
                                      expected='a number, {"<=": number} or {">=": number}')
                op, bound = next(iter(bound.items()))
            if isinstance(bound, bool) or not isinstance(bound, (int, float)) or math.isnan(bound):
                raise ConfigError(f"bound is {bound!r}", file=file, key=skey,
                                  expected="a number")
            limits.append(Limit(measurement, stat, op, float(bound)))
    return limits


def check_limits(limits: list[Limit], measured: dict, *, has_truth: bool) -> list[LimitResult]:
    """Check each limit against ``measured`` (name -> summary dict or number)."""
    results = []
    for lim in limits:
        spec = MEASUREMENTS[lim.measurement]
        if spec.needs_truth and not has_truth:
            results.append(LimitResult(lim, NOT_MEASURABLE, None, "needs truth (bench mode)"))
            continue
        if lim.measurement not in measured:
            results.append(LimitResult(lim, NOT_MEASURABLE, None, "not measured in this run"))
            continue
        value = statistic(measured[lim.measurement], lim.statistic)
        if value is None:
            results.append(LimitResult(lim, NOT_MEASURABLE, None, "no samples"))
            continue
        ok = value <= lim.bound if lim.op == "<=" else value >= lim.bound
        results.append(LimitResult(lim, PASS if ok else FAIL, float(value),
                                   "" if ok else f"{value:g} {lim.unit} is not {lim.op} "
                                                 f"{lim.bound:g} {lim.unit}"))
    return results
