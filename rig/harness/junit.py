"""JUnit XML: the run, each sensor and each limit a test case, so CI systems show each as a
test (the same cases, by the same names, as the pytest plugin's: ``run``, ``sensor.A1``,
``tick_jitter_ms.p95``).

The run case carries the run's duration, and is an ``error`` when the run could not start.
A failed limit is a ``failure``; a limit with no data an ``error`` (nothing was measured, so
nothing passed); an inconclusive or skipped one is ``skipped`` with its reason. A sensor is
present, ``skipped`` when an optional one could not be opened, an ``error`` when a required
one could not.
"""

from __future__ import annotations

import datetime as dt
import socket
import xml.etree.ElementTree as ET
from pathlib import Path

from rig import __version__
from rig.outfiles import write_atomic

from .limits import FAIL, INCONCLUSIVE, NO_DATA, SKIPPED, LimitResult


def junit_xml(results: list[LimitResult], *, suite: str, duration_s: float = 0.0,
              properties: dict | None = None, started: dt.datetime | None = None,
              sensors: list[dict] | None = None, error: str | None = None) -> str:
    """The XML of one suite; ``started``: when the run began (UTC), its timestamp;
    ``sensors``: report.json's sensor rows (``id``, ``state``, ``error``, ``required``);
    ``error``: why the run could not start."""
    sensors = sensors or []
    failed_sensors = [s for s in sensors if s.get("state") == "failed"]
    failures = sum(r.outcome == FAIL for r in results)
    errors = (error is not None) + sum(r.outcome == NO_DATA for r in results) + sum(
        s.get("required", True) for s in failed_sensors)
    skipped = sum(r.outcome in (INCONCLUSIVE, SKIPPED) for r in results) + sum(
        not s.get("required", True) for s in failed_sensors)
    counts = dict(tests=str(1 + len(results) + len(sensors)), failures=str(failures),
                  errors=str(errors), skipped=str(skipped), time=f"{duration_s:.3f}")
    root = ET.Element("testsuites", name="rig", **counts)
    started = started or dt.datetime.now(dt.timezone.utc)
    ts = ET.SubElement(root, "testsuite", name=suite, **counts,
                       timestamp=started.replace(tzinfo=None).isoformat(timespec="seconds"),
                       hostname=socket.gethostname())
    props = ET.SubElement(ts, "properties")
    for key, value in {"rig_version": __version__, **(properties or {})}.items():
        ET.SubElement(props, "property", name=str(key), value=str(value))
    run = ET.SubElement(ts, "testcase", classname=f"rig.run.{suite}", name="run",
                        time=f"{duration_s:.3f}")
    if error is not None:
        ET.SubElement(run, "error", message=f"the run could not start: {error}",
                      type="RunNotStarted")
    for s in sensors:
        case = ET.SubElement(ts, "testcase", classname=f"rig.sensors.{suite}",
                             name=f"sensor.{s['id']}", time="0")
        if s.get("state") == "failed":
            why = f"sensor {s['id']} could not be opened: {s.get('error')}"
            if s.get("required", True):
                ET.SubElement(case, "error", message=why, type="SensorMissing")
            else:
                ET.SubElement(case, "skipped", message=f"optional {why}")
    for r in results:
        case = ET.SubElement(ts, "testcase", classname=f"rig.limits.{suite}",
                             name=f"{r.limit.measurement}.{r.limit.statistic}", time="0")
        value = "-" if r.value is None else f"{r.value:g} {r.limit.unit}"
        if r.outcome == FAIL:
            ET.SubElement(case, "failure", message=r.reason, type="LimitFailed").text = (
                f"measured {value}; limit {r.limit.name} {r.limit.unit}")
        elif r.outcome == NO_DATA:
            ET.SubElement(case, "error", message=f"no data: {r.reason}", type="NoData")
        elif r.outcome in (INCONCLUSIVE, SKIPPED):
            ET.SubElement(case, "skipped", message=f"{r.outcome}: {r.reason}")
        ET.SubElement(case, "system-out").text = (
            f"{r.limit.name} {r.limit.unit}: measured {value}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(path: str | Path, results: list[LimitResult], **kwargs) -> None:
    write_atomic(Path(path), junit_xml(results, **kwargs))
