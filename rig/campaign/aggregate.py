"""Statistics of a campaign: per setting over its seeds, and settings compared on the same
seeds.

- :func:`aggregate`: per setting, each figure's mean with a bootstrap 95 % confidence
  interval (percentile method, resampling seeds), and the verdict counts with the CI of
  the share of finished runs.
- :func:`compare`: every setting against the first (the baseline), per figure, on the seeds
  both finished: the mean of the per-seed differences (B − A), its bootstrap 95 % CI and the
  p-value of a paired sign-flip permutation test (exact up to 16 seeds). Every figure is
  better lower, so B is better when the whole CI is below 0 and p < 0.05 (worse when the
  CI is above 0 and p < 0.05; with fewer than 6 seeds p cannot go below 0.05).
- :func:`judge_limits`: a setting fails a limit when the upper bound of the 95 % CI of its
  mean is above the limit (the mean is below it with 97.5 % confidence only when it passes);
  a setting with no finished run fails every limit ("no data").
"""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np

#: the figures aggregated and compared (lower is better for every one)
METRICS = ("ospa_m", "false_tracks", "identity_switches", "processing_p50_ms",
           "processing_p99_ms")
RESAMPLES = 2000
LEVEL = 0.95
ALPHA = 1 - LEVEL
#: sign-flip tests enumerate every flip up to this many pairs, else draw this many
EXACT_UP_TO = 16
PERMUTATIONS = 20_000


def bootstrap_ci(values, *, resamples: int = RESAMPLES, level: float = LEVEL,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of ``values`` (deterministic for a ``seed``)."""
    values = np.asarray(values, float)
    if len(values) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (resamples, len(values)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def sign_flip_p(differences) -> float:
    """Two-sided p-value of a paired sign-flip permutation test of mean difference 0."""
    d = np.asarray(differences, float)
    if len(d) == 0:
        return float("nan")
    observed = abs(d.mean())
    if observed == 0:
        return 1.0
    if len(d) <= EXACT_UP_TO:
        signs = np.array(list(itertools.product((1, -1), repeat=len(d))))
        stats = np.abs((signs * d).mean(axis=1))
        return float(np.mean(stats >= observed - 1e-12))
    rng = np.random.default_rng(0)
    signs = rng.choice((1, -1), size=(PERMUTATIONS, len(d)))
    stats = np.abs((signs * d).mean(axis=1))
    return float((np.sum(stats >= observed - 1e-12) + 1) / (PERMUTATIONS + 1))


def _values(records, setting: int, metric: str) -> dict[int, float]:
    """seed -> the figure of each finished run of ``setting`` that has it."""
    out = {}
    for r in records:
        if r["setting"] == setting and r.get("figures"):
            value = r["figures"].get(metric)
            if value is not None and np.isfinite(value):
                out[r["seed"]] = float(value)
    return out


def aggregate(settings: list[dict], labels: list[str], records: list[dict]) -> list[dict]:
    """One dict per setting: runs, errors, verdict counts, and per figure n, mean, CI."""
    out = []
    for index, (setting, label) in enumerate(zip(settings, labels)):
        mine = [r for r in records if r["setting"] == index]
        verdicts = Counter(r["figures"].get("verdict", "done") if r.get("figures") else "error"
                           for r in mine)
        finished = [0.0 if r.get("error") else 1.0 for r in mine]
        metrics = {}
        for metric in METRICS:
            values = list(_values(records, index, metric).values())
            if not values:
                continue
            low, high = bootstrap_ci(values)
            metrics[metric] = {"n": len(values), "mean": float(np.mean(values)),
                               "ci_low": low, "ci_high": high,
                               "min": float(np.min(values)), "max": float(np.max(values))}
        low, high = bootstrap_ci(finished)
        out.append({"setting": index, "label": label, "values": setting, "runs": len(mine),
                    "errors": sum(1 for r in mine if r.get("error")),
                    "verdicts": dict(verdicts),
                    "finished_share": {"mean": float(np.mean(finished)) if mine else None,
                                       "ci_low": low, "ci_high": high},
                    "metrics": metrics})
    return out


def compare(labels: list[str], records: list[dict], baseline: int = 0) -> list[dict]:
    """Every other setting against ``baseline``, per figure, paired on seeds."""
    out = []
    for index in range(len(labels)):
        if index == baseline:
            continue
        for metric in METRICS:
            a = _values(records, baseline, metric)
            b = _values(records, index, metric)
            seeds = sorted(set(a) & set(b))
            if not seeds:
                continue
            d = np.array([b[s] - a[s] for s in seeds])
            low, high = bootstrap_ci(d)
            p = sign_flip_p(d)
            if high < 0 and p < ALPHA:
                verdict = "better"
            elif low > 0 and p < ALPHA:
                verdict = "worse"
            else:
                verdict = "no clear difference"
            out.append({"a": baseline, "a_label": labels[baseline], "b": index,
                        "b_label": labels[index], "metric": metric, "n": len(seeds),
                        "mean_difference": float(d.mean()), "ci_low": low, "ci_high": high,
                        "p_value": p, "b_is": verdict})
    return out


def judge_limits(aggregates: list[dict], limits: dict[str, float]) -> list[dict]:
    """One result per setting × limit (see the module's rule)."""
    out = []
    for agg in aggregates:
        for metric, bound in limits.items():
            m = agg["metrics"].get(metric)
            if m is None:
                outcome, reason = "fail", "no data: no finished run measured it"
            elif m["ci_high"] > bound:
                outcome = "fail"
                reason = (f"upper 95 % CI bound {m['ci_high']:.4g} > {bound:g} "
                          f"(mean {m['mean']:.4g}, {m['n']} seeds)")
            else:
                outcome = "pass"
                reason = f"upper 95 % CI bound {m['ci_high']:.4g} <= {bound:g}"
            out.append({"setting": agg["setting"], "label": agg["label"], "metric": metric,
                        "limit": bound, "ci_high": m["ci_high"] if m else None,
                        "mean": m["mean"] if m else None, "outcome": outcome,
                        "reason": reason})
    return out
