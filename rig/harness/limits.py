"""Limits as data: parsed from bench configs, checked against measurements.

In a bench config::

    limits:
      processing_latency_ms: {p99: 5}        # the 99th percentile at most 5 ms
      dropped_plots: {max: 0}                # at most 0
      ospa_m: {mean: 150}
      tracks_published: {min: {">=": 3}}     # explicit direction: at least 3

A bare number is an upper bound on that statistic; ``{">=": x}`` or ``{"<=": x}`` states
the direction. For one-number measurements (counts) every statistic is the number itself.

Outcomes: ``pass`` and ``fail``; ``inconclusive`` when the samples cannot decide a percentile
limit; ``no data`` when nothing was measured (never a pass); ``skipped`` when the limit does
not apply to the run (accuracy against truth in a bench with real targets). A percentile limit
``pP <= B`` is judged from its samples as a binomial question on the fraction of samples above
``B``: it passes when, at the stated confidence (95 % by default), that fraction is at most
``1 − P/100`` (the exact Clopper–Pearson bound; the same as an order-statistic bound on the
percentile), fails when it is surely more, and is inconclusive otherwise, saying how many
samples a pass would need. So the p99 of 45 samples is no longer their maximum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta

from rig.errors import ConfigError, Problem
from rig.validation import did_you_mean

from .measurements import MEASUREMENTS, PERCENTILES, STATISTICS, statistic

PASS, FAIL, INCONCLUSIVE, NO_DATA, SKIPPED = "pass", "fail", "inconclusive", "no data", "skipped"
OUTCOMES = (PASS, FAIL, INCONCLUSIVE, NO_DATA, SKIPPED)
#: confidence of the verdict on a percentile limit
DEFAULT_CONFIDENCE = 0.95


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
    outcome: str             # one of OUTCOMES
    value: float | None
    reason: str = ""
    samples: int | None = None         # how many samples judged it (series only)
    samples_needed: int | None = None  # for a pass, when inconclusive
    attributed_to: str | None = None   # "rig" (a failure) or "platform" (the machine was late)

    def to_json(self) -> dict:
        lim = self.limit
        return {"name": lim.name, "measurement": lim.measurement, "statistic": lim.statistic,
                "op": lim.op, "bound": lim.bound, "unit": lim.unit, "outcome": self.outcome,
                "value": self.value, "reason": self.reason, "samples": self.samples,
                "samples_needed": self.samples_needed, "attributed_to": self.attributed_to}


def parse_limits(raw, *, file: str | None = None) -> list[Limit]:
    """Limits from the ``limits:`` mapping of a config; every problem in one ConfigError
    naming its key."""
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise ConfigError("must be a mapping of measurement -> {statistic: bound}", file=file,
                          key="limits")
    limits, problems = [], []

    def problem(message, key, expected, choices=()):
        meant = did_you_mean(key.rpartition(".")[2], choices) if choices else None
        if meant is not None:
            message, expected = f"{message}; did you mean {meant}?", None
        problems.append(Problem(message, file, key, expected))

    for measurement, stats in raw.items():
        key = f"limits.{measurement}"
        if measurement not in MEASUREMENTS:
            problem("unknown measurement", key, "one of " + ", ".join(sorted(MEASUREMENTS)),
                    MEASUREMENTS)
            continue
        if not isinstance(stats, dict) or not stats:
            problem("must be a mapping of statistic -> bound", key, "e.g. {p99: 5}")
            continue
        for stat, bound in stats.items():
            skey = f"{key}.{stat}"
            if stat not in STATISTICS:
                problem("unknown statistic", skey, "one of " + ", ".join(STATISTICS),
                        STATISTICS)
                continue
            op = "<="
            if isinstance(bound, dict):
                if len(bound) != 1 or next(iter(bound)) not in ("<=", ">="):
                    problem("bad bound", skey, 'a number, {"<=": number} or {">=": number}')
                    continue
                op, bound = next(iter(bound.items()))
            if isinstance(bound, bool) or not isinstance(bound, (int, float)) or math.isnan(bound):
                problem(f"bound is {bound!r}", skey, "a number")
                continue
            limits.append(Limit(measurement, stat, op, float(bound)))
    if problems:
        raise ConfigError(problems=problems)
    return limits


def check_limits(limits: list[Limit], measured: dict, *, has_truth: bool,
                 samples: dict | None = None, platform: dict | None = None,
                 confidence: float = DEFAULT_CONFIDENCE) -> list[LimitResult]:
    """Check each limit against ``measured`` (name -> summary dict or number); a percentile
    limit of a measurement whose raw ``samples`` are given is judged by
    :func:`judge_percentile`, with ``platform[name]`` (how late the machine itself was at
    each sample, ms) where the platform probe measured it."""
    samples = samples or {}
    platform = platform or {}
    results = []
    for lim in limits:
        spec = MEASUREMENTS[lim.measurement]
        if spec.needs_truth and not has_truth:
            results.append(LimitResult(lim, SKIPPED, None, "needs the truth, which a run with "
                                       "real targets does not have"))
            continue
        if lim.measurement not in measured:
            results.append(LimitResult(lim, NO_DATA, None, "not measured in this run"))
            continue
        value = statistic(measured[lim.measurement], lim.statistic)
        count = measured[lim.measurement].get("count") if isinstance(
            measured[lim.measurement], dict) else None
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            results.append(LimitResult(lim, NO_DATA, None, "no samples", samples=count))
            continue
        if lim.statistic in PERCENTILES and lim.measurement in samples:
            results.append(judge_percentile(lim, samples[lim.measurement], float(value),
                                            confidence, platform.get(lim.measurement)))
            continue
        ok = value <= lim.bound if lim.op == "<=" else value >= lim.bound
        results.append(LimitResult(lim, PASS if ok else FAIL, float(value),
                                   "" if ok else f"{value:g} {lim.unit} is not {lim.op} "
                                                 f"{lim.bound:g} {lim.unit}", samples=count))
    return results


def judge_percentile(lim: Limit, series, value: float,
                     confidence: float = DEFAULT_CONFIDENCE,
                     platform_late_ms=None) -> LimitResult:
    """Pass, fail or inconclusive for a percentile limit from its samples (module docstring):
    ``k`` of ``n`` samples on the wrong side of the bound, against the share ``q`` the
    percentile allows there. With ``platform_late_ms`` (per sample, how late the machine
    itself was around it), a sample on the wrong side that would have been on the right one
    without the platform's delay is the platform's; a limit that does not pass only because
    of such samples is ``inconclusive`` attributed to the platform, a failure without them
    is the rig's."""
    x = np.asarray(series, dtype=float)
    keep = np.isfinite(x)
    x = x[keep]
    n = len(x)
    if not n:
        return LimitResult(lim, NO_DATA, None, "no samples", samples=0)
    share = PERCENTILES[lim.statistic] / 100.0
    wrong = x > lim.bound if lim.op == "<=" else x < lim.bound
    q = 1.0 - share if lim.op == "<=" else share
    k = int(np.count_nonzero(wrong))
    side = "above" if lim.op == "<=" else "below"
    seen = (f"{k} of {n} samples {side} {lim.bound:g} {lim.unit} "
            f"(the {lim.statistic} allows {q:.3g} of them; {confidence:.0%} confidence)")
    outcome = _binomial_outcome(k, n, q, confidence)
    if outcome == PASS:
        return LimitResult(lim, PASS, value, seen, samples=n)
    if platform_late_ms is not None:
        late = np.asarray(platform_late_ms, float)[keep]
        within = x - late <= lim.bound if lim.op == "<=" else x + late >= lim.bound
        explained = int(np.count_nonzero(wrong & within))
        if explained:
            own = _binomial_outcome(k - explained, n, q, confidence)
            seen += (f"; {explained} of them would have been within the bound but for the "
                     f"machine itself being late then (waking a sleeper, or giving the loop "
                     f"a CPU, while others than the rig kept it busy)")
            if own != FAIL:
                return LimitResult(lim, INCONCLUSIVE, value,
                                   f"platform: {seen}; without them the rig "
                                   f"{'passes' if own == PASS else 'is undecided'}",
                                   samples=n, attributed_to="platform")
    if outcome == FAIL:
        return LimitResult(lim, FAIL, value, seen, samples=n, attributed_to="rig")
    needed = samples_for_pass(k, q, confidence)
    return LimitResult(lim, INCONCLUSIVE, value,
                       f"{seen}: too few samples to decide; a pass needs at least {needed} "
                       f"with no more than {k} {side}", samples=n, samples_needed=needed)


def _binomial_outcome(k: int, n: int, q: float, confidence: float) -> str:
    """PASS when the share of wrong samples is surely at most ``q``, FAIL when surely more."""
    upper = 1.0 if k >= n else float(beta.ppf(confidence, k + 1, n - k))
    if upper <= q:
        return PASS
    lower = 0.0 if k == 0 else float(beta.ppf(1.0 - confidence, k, n - k + 1))
    return FAIL if lower > q else INCONCLUSIVE


def samples_for_pass(k: int, q: float, confidence: float = DEFAULT_CONFIDENCE) -> int:
    """The fewest samples in which ``k`` on the wrong side still pass a limit allowing the
    share ``q`` there."""
    def passes(n: int) -> bool:
        return float(beta.ppf(confidence, k + 1, n - k)) <= q

    low = max(k, math.ceil(math.log(1.0 - confidence) / math.log(1.0 - q)) - 1)
    high = low + 1
    while not passes(high):                    # the bound falls as n grows
        low, high = high, 2 * high
    while high - low > 1:                      # passes(high), not passes(low)
        middle = (low + high) // 2
        low, high = (low, middle) if passes(middle) else (middle, high)
    return high


def verdict(results: list[LimitResult]) -> tuple[str, int]:
    """The run's outcome and exit code from its limits: ``fail`` (1) if any failed, else
    ``inconclusive`` (5) if any was inconclusive or had no data, else ``pass`` (0)."""
    outcomes = {r.outcome for r in results}
    if FAIL in outcomes:
        return FAIL, 1
    if outcomes & {INCONCLUSIVE, NO_DATA}:
        return INCONCLUSIVE, 5
    return PASS, 0
