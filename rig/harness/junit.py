"""JUnit XML: one test case per limit, so CI systems show each limit as a test.

A failed limit is a ``failure``; a limit with no data an ``error`` (nothing was measured, so
nothing passed); an inconclusive or skipped one is ``skipped`` with its reason.
"""

from __future__ import annotations

import datetime as dt
import socket
import xml.etree.ElementTree as ET
from pathlib import Path

from rig import __version__

from .limits import FAIL, INCONCLUSIVE, NO_DATA, SKIPPED, LimitResult


def junit_xml(results: list[LimitResult], *, suite: str, duration_s: float = 0.0,
              properties: dict | None = None, started: dt.datetime | None = None) -> str:
    """The XML of one suite; ``started``: when the run began (UTC), its timestamp."""
    failures = sum(r.outcome == FAIL for r in results)
    errors = sum(r.outcome == NO_DATA for r in results)
    skipped = sum(r.outcome in (INCONCLUSIVE, SKIPPED) for r in results)
    counts = dict(tests=str(len(results)), failures=str(failures), errors=str(errors),
                  skipped=str(skipped), time=f"{duration_s:.3f}")
    root = ET.Element("testsuites", name="rig", **counts)
    started = started or dt.datetime.now(dt.timezone.utc)
    ts = ET.SubElement(root, "testsuite", name=suite, **counts,
                       timestamp=started.replace(tzinfo=None).isoformat(timespec="seconds"),
                       hostname=socket.gethostname())
    props = ET.SubElement(ts, "properties")
    for key, value in {"rig_version": __version__, **(properties or {})}.items():
        ET.SubElement(props, "property", name=str(key), value=str(value))
    for r in results:
        case = ET.SubElement(ts, "testcase", classname=f"rig.limits.{suite}", name=r.limit.name,
                             time="0")
        value = "-" if r.value is None else f"{r.value:g} {r.limit.unit}"
        if r.outcome == FAIL:
            ET.SubElement(case, "failure", message=r.reason, type="LimitFailed").text = (
                f"measured {value}; limit {r.limit.name} {r.limit.unit}")
        elif r.outcome == NO_DATA:
            ET.SubElement(case, "error", message=f"no data: {r.reason}", type="NoData")
        elif r.outcome in (INCONCLUSIVE, SKIPPED):
            ET.SubElement(case, "skipped", message=f"{r.outcome}: {r.reason}")
        ET.SubElement(case, "system-out").text = f"measured {value}"
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(path: str | Path, results: list[LimitResult], **kwargs) -> None:
    Path(path).write_text(junit_xml(results, **kwargs))
