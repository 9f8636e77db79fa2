"""Limits as data: parsing, checking, and the JUnit XML made from them."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from rig.errors import ConfigError
from rig.harness.junit import junit_xml
from rig.harness.limits import (FAIL, INCONCLUSIVE, NO_DATA, PASS, SKIPPED, Limit,
                                check_limits, judge_percentile, parse_limits, samples_for_pass,
                                verdict)
from rig.harness.measurements import summarize


def test_summary_has_percentiles_not_a_lone_mean():
    s = summarize(np.arange(1, 1001, dtype=float))
    assert s["count"] == 1000 and s["min"] == 1 and s["max"] == 1000
    assert s["p50"] == pytest.approx(500.5) and s["p99"] == pytest.approx(990.01)
    assert summarize([])["p99"] is None
    assert summarize([1.0, np.nan])["count"] == 1


def test_parse_and_check():
    limits = parse_limits({"processing_latency_ms": {"p99": 5, "max": 20},
                           "dropped_plots": {"max": 0},
                           "tracks_published": {"min": {">=": 3}},
                           "ospa_m": {"mean": 150}}, file="x.yaml")
    measured = {"processing_latency_ms": summarize([1.0] * 98 + [30.0] * 2),
                "dropped_plots": 0, "tracks_published": 2}
    results = {r.limit.name: r for r in check_limits(limits, measured, has_truth=False)}
    assert results["processing_latency_ms.p99 <= 5"].outcome == FAIL   # p99 of that is 30
    assert results["processing_latency_ms.max <= 20"].outcome == FAIL
    assert results["dropped_plots.max <= 0"].outcome == PASS
    assert results["tracks_published.min >= 3"].outcome == FAIL
    assert results["ospa_m.mean <= 150"].outcome == SKIPPED
    assert "needs the truth" in results["ospa_m.mean <= 150"].reason


@pytest.mark.parametrize("raw,key", [
    ({"latency": {"p99": 5}}, "limits.latency"),
    ({"processing_latency_ms": {"p98": 5}}, "limits.processing_latency_ms.p98"),
    ({"processing_latency_ms": {"p99": "fast"}}, "limits.processing_latency_ms.p99"),
    ({"processing_latency_ms": {"p99": {"<": 3}}}, "limits.processing_latency_ms.p99"),
    ({"processing_latency_ms": 5}, "limits.processing_latency_ms"),
])
def test_bad_limits_name_file_and_key(raw, key):
    with pytest.raises(ConfigError) as e:
        parse_limits(raw, file="bench.yaml")
    assert e.value.key == key and "bench.yaml" in str(e.value)


def test_junit_has_one_case_per_limit():
    limits = parse_limits({"dropped_plots": {"max": 0}, "deadline_misses": {"max": 0},
                           "ospa_m": {"mean": 100}})
    results = check_limits(limits, {"dropped_plots": 3, "deadline_misses": 0}, has_truth=True)
    root = ET.fromstring(junit_xml(results, suite="emulated", duration_s=1.5))
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == ["run", "dropped_plots.max",
                                              "deadline_misses.max", "ospa_m.mean"]
    assert cases[0].get("time") == "1.500"              # the run carries its duration
    assert root.get("failures") == "1" and root.get("skipped") == "0"
    assert root.get("errors") == "1"                   # ospa_m: no data, not a pass
    suite = root.find("./testsuite")
    assert suite.get("hostname") and suite.get("timestamp")
    failed = [c for c in cases if c.find("failure") is not None]
    assert failed[0].get("name") == "dropped_plots.max"
    assert "3" in failed[0].find("failure").get("message")


def jitter(n_ok: int, n_late: int) -> np.ndarray:
    return np.r_[np.full(n_ok, 0.3), np.full(n_late, 5.0)]


def test_a_percentile_of_few_samples_is_inconclusive_not_their_maximum():
    lim = Limit("tick_jitter_ms", "p99", "<=", 2.0)
    few = judge_percentile(lim, jitter(45, 0), 0.3)
    assert few.outcome == INCONCLUSIVE and few.samples == 45
    assert few.samples_needed == 299                  # 0.99 ** 299 < 0.05 <= 0.99 ** 298
    assert "a pass needs at least 299" in few.reason
    assert judge_percentile(lim, jitter(44, 1), 5.0).outcome == INCONCLUSIVE   # not a fail
    assert judge_percentile(lim, jitter(299, 0), 0.3).outcome == PASS
    assert judge_percentile(lim, jitter(298, 0), 0.3).outcome == INCONCLUSIVE


def test_percentile_verdicts_follow_the_binomial_bounds():
    lim = Limit("processing_latency_ms", "p99", "<=", 2.0)
    assert judge_percentile(lim, jitter(599, 1), 0.3).outcome == PASS
    assert judge_percentile(lim, jitter(598, 2), 0.3).outcome == INCONCLUSIVE
    assert judge_percentile(lim, jitter(970, 30), 0.3).outcome == FAIL          # 3 % late
    assert judge_percentile(lim, jitter(995, 5), 0.3).outcome == INCONCLUSIVE   # 0.5 % late
    # a lower bound on a percentile counts the samples below it
    floor = Limit("tracks_published", "p50", ">=", 1.0)
    assert judge_percentile(floor, np.r_[np.zeros(10), np.ones(90)], 1.0).outcome == PASS


@pytest.mark.parametrize("k", [0, 1, 2, 5])
def test_samples_for_pass_is_the_least_that_passes(k):
    lim = Limit("tick_jitter_ms", "p99", "<=", 2.0)
    n = samples_for_pass(k, 0.01)
    assert judge_percentile(lim, jitter(n - k, k), 0.3).outcome == PASS
    assert judge_percentile(lim, jitter(n - 1 - k, k), 0.3).outcome == INCONCLUSIVE


def test_no_samples_is_no_data_and_never_a_pass():
    limits = parse_limits({"ospa_m": {"mean": 600}, "tick_jitter_ms": {"p99": 2},
                           "dropped_plots": {"max": 0}})
    measured = {"tick_jitter_ms": summarize([]), "dropped_plots": 0}
    results = check_limits(limits, measured, has_truth=True,
                           samples={"tick_jitter_ms": np.array([])})
    outcomes = {r.limit.measurement: r.outcome for r in results}
    assert outcomes == {"ospa_m": NO_DATA, "tick_jitter_ms": NO_DATA, "dropped_plots": PASS}
    assert verdict(results) == (INCONCLUSIVE, 5)
    assert verdict([r for r in results if r.outcome == PASS]) == (PASS, 0)


def test_a_failure_outranks_an_inconclusive_limit():
    lim = Limit("tick_jitter_ms", "p99", "<=", 2.0)
    results = [judge_percentile(lim, jitter(45, 0), 0.3),
               check_limits(parse_limits({"dropped_plots": {"max": 0}}), {"dropped_plots": 4},
                            has_truth=False)[0]]
    assert verdict(results) == (FAIL, 1)


def test_rig_check_warns_of_limits_a_run_cannot_decide():
    from types import SimpleNamespace

    from rig.commands.check import inconclusive_by_design

    cfg = SimpleNamespace(duration_s=45, outputs=SimpleNamespace(period_s=1.0),
                          accuracy=SimpleNamespace(warmup_s=20))
    limits = parse_limits({"tick_jitter_ms": {"p99": 2, "p90": 2}, "ospa_m": {"p95": 600},
                           "processing_latency_ms": {"p99": 5}})
    warned = inconclusive_by_design(cfg, limits)
    assert len(warned) == 2                  # p90 of 44 intervals can pass, as can latencies
    assert warned[0].startswith("tick_jitter_ms.p99 <= 2 cannot pass: the run gives about 44")
    assert "ospa_m.p95 <= 600" in warned[1] and "about 25 samples" in warned[1]
    cfg.outputs.period_s = 0.1
    cfg.duration_s = 60
    assert inconclusive_by_design(cfg, limits[:2]) == []
    # per-plot latencies are judged when the plot count is known (emulated runs)
    assert inconclusive_by_design(cfg, limits[3:], plots=600) == []
    warned = inconclusive_by_design(cfg, limits[3:], plots=250)
    assert len(warned) == 1 and "processing_latency_ms.p99 <= 5" in warned[0]


def test_a_recording_run_is_judged_on_its_recording():
    from types import SimpleNamespace

    from rig.bench.report import RECORDING_LIMIT, run_limits

    loaded = SimpleNamespace(limits=parse_limits({"dropped_plots": {"max": 0}}))
    assert run_limits(loaded, False) == loaded.limits              # no recording, no limit
    limits = run_limits(loaded, True)
    assert limits[-1] == RECORDING_LIMIT
    results = check_limits(limits, {"dropped_plots": 0, "recording_lost_records": 3},
                           has_truth=False)
    assert [r.outcome for r in results] == [PASS, FAIL]
    own = SimpleNamespace(limits=parse_limits({"recording_lost_records": {"max": 10}}))
    assert run_limits(own, True) == own.limits                     # the config's own wins
