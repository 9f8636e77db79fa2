"""JUnit XML: one test case per limit, so CI systems show each limit as a test."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .limits import FAIL, NOT_MEASURABLE, LimitResult


def junit_xml(results: list[LimitResult], *, suite: str, duration_s: float = 0.0,
              properties: dict | None = None) -> str:
    failures = sum(r.outcome == FAIL for r in results)
    skipped = sum(r.outcome == NOT_MEASURABLE for r in results)
    root = ET.Element("testsuites", name="rig", tests=str(len(results)),
                      failures=str(failures), errors="0", skipped=str(skipped),
                      time=f"{duration_s:.3f}")
    ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(results)),
                       failures=str(failures), errors="0", skipped=str(skipped),
                       time=f"{duration_s:.3f}")
    if properties:
        props = ET.SubElement(ts, "properties")
        for key, value in properties.items():
            ET.SubElement(props, "property", name=str(key), value=str(value))
    for r in results:
        case = ET.SubElement(ts, "testcase", classname=f"rig.limits.{suite}", name=r.limit.name,
                             time="0")
        value = "-" if r.value is None else f"{r.value:g} {r.limit.unit}"
        if r.outcome == FAIL:
            ET.SubElement(case, "failure", message=r.reason, type="LimitFailed").text = (
                f"measured {value}; limit {r.limit.name} {r.limit.unit}")
        elif r.outcome == NOT_MEASURABLE:
            ET.SubElement(case, "skipped", message=r.reason)
        ET.SubElement(case, "system-out").text = f"measured {value}"
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(path: str | Path, results: list[LimitResult], **kwargs) -> None:
    Path(path).write_text(junit_xml(results, **kwargs))
