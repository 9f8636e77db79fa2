"""Limits as data: parsing, checking, and the JUnit XML made from them."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from rig.errors import ConfigError
from rig.harness.junit import junit_xml
from rig.harness.limits import FAIL, NOT_MEASURABLE, PASS, check_limits, parse_limits
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
    assert results["ospa_m.mean <= 150"].outcome == NOT_MEASURABLE
    assert "needs truth" in results["ospa_m.mean <= 150"].reason


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
    results = check_limits(limits, {"dropped_plots": 3, "deadline_misses": 0}, has_truth=False)
    root = ET.fromstring(junit_xml(results, suite="emulated", duration_s=1.5))
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 3
    assert root.get("failures") == "1" and root.get("skipped") == "1"
    failed = [c for c in cases if c.find("failure") is not None]
    assert failed[0].get("name") == "dropped_plots.max <= 0"
    assert "3" in failed[0].find("failure").get("message")
