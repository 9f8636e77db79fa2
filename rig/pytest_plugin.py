"""pytest plugin for hardware regression runs: ``pytest --rig-config bench_configs/X.yaml``.

The bench config is collected as a test file: ``X.yaml::run`` runs the bench once (``rig run``
in its own process, as an operator would; its duration is that test's), then one test per
sensor (``X.yaml::sensor.A1``) and one per limit (``X.yaml::tick_jitter_ms.p95``) read the
run's report. Outcomes follow rig's own junit.xml: a failed limit fails; a limit with no data,
a required sensor that could not be opened or a run that could not be made is an error; an
inconclusive limit or an optional sensor that could not be opened is skipped with its reason.
``-k`` selects among them as among any tests; the first selected test runs the bench.

Custom tests take the ``rig_run`` fixture: the run's report (report.json) and its folder::

    def test_every_sensor_streamed(rig_run):
        assert all(s["plots"] > 0 for s in rig_run.report["sensors"])

Options: ``--rig-config PATH`` (activates the plugin), ``--rig-out DIR`` (default: a new
time-stamped folder under ``runs/``, as ``rig run``), ``--rig-duration S`` (override the
config's). A missing or invalid config is a usage error (pytest exit 4, one line).
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from rig.launch import rig_command

#: rig run's exit codes that leave a report to judge (0 pass, 1 fail, 3 a required sensor
#: missing: every limit no data, 5 inconclusive)
JUDGED = (0, 1, 3, 5)
COULD_NOT_START = 3


@dataclass
class RigRun:
    """A finished bench run."""

    config: Path
    out_dir: Path
    exit_code: int
    report: dict
    stderr: str
    duration_s: float = 0.0          # wall time of ``rig run``, start-up to reports

    def limit(self, name: str) -> dict:
        for row in self.report["limits"]:
            if row["name"] == name:
                return row
        raise KeyError(name)

    def sensor(self, sensor_id: str) -> dict:
        for row in self.report["sensors"]:
            if row["id"] == sensor_id:
                return row
        raise KeyError(sensor_id)


class RigRunFailed(Exception):
    """``rig run`` could not be made: no report to judge (exit 2 or 4), or it could not
    start (exit 3)."""


class LimitFailed(AssertionError):
    pass


class NoData(Exception):
    """A limit measured nothing: an error, never a pass."""


class SensorMissing(Exception):
    """A required sensor could not be opened."""


def pytest_addoption(parser):
    group = parser.getgroup("rig", "rig bench runs")
    group.addoption("--rig-config", action="store", default=None, metavar="PATH",
                    help="run this bench config once and turn each of its sensors and limits "
                         "into a test")
    group.addoption("--rig-out", action="store", default=None, metavar="DIR",
                    help="output folder of the run (default: a new folder under runs/)")
    group.addoption("--rig-duration", action="store", type=float, default=None, metavar="S",
                    help="override the config's duration_s")


class BenchSession:
    """The bench config of this pytest session, and its one run (made at most once)."""

    def __init__(self, config):
        from rig.bench.config import load_bench_config
        from rig.bench.run import default_out_dir
        from rig.errors import RigError

        self.path = Path(config.getoption("--rig-config"))
        self.duration = config.getoption("--rig-duration")
        if not self.path.is_file():
            raise pytest.UsageError(f"--rig-config: no such file: {self.path}")
        try:
            self.loaded = load_bench_config(self.path, duration_s=self.duration)
        except RigError as e:
            raise pytest.UsageError(f"--rig-config: {e}") from None
        self.out = Path(config.getoption("--rig-out") or default_out_dir())
        self._run: RigRun | None = None
        self._error: str | None = None

    def get(self) -> RigRun:
        """The run (made now if it has not been); RigRunFailed if it could not be made."""
        if self._run is None and self._error is None:
            self._make()
        if self._error is not None:
            raise RigRunFailed(self._error)
        return self._run

    def started(self) -> RigRun:
        """The run, which must have started (RigRunFailed if it could not)."""
        run = self.get()
        if run.exit_code == COULD_NOT_START:
            raise RigRunFailed(f"rig run {run.config} could not start: {run.report.get('error')}")
        return run

    def _make(self) -> None:
        cmd = rig_command("run", str(self.path), "--out", str(self.out), "--no-live")
        if self.duration is not None:
            cmd += ["--duration", str(self.duration)]
        started = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        elapsed = time.monotonic() - started
        report_path = self.out / "report.json"
        report = json.loads(report_path.read_text()) if report_path.is_file() else {}
        self._run = RigRun(self.path, self.out, proc.returncode, report, proc.stderr, elapsed)
        if proc.returncode not in JUDGED or not report:
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            self._error = (f"rig run {self.path} exited with {proc.returncode}: {last} "
                           f"(output in {self.out})")


class BenchConfigFile(pytest.File):
    """The bench config as a test file: its run, its sensors and its limits."""

    def collect(self):
        loaded = self.config.stash[BENCH].loaded
        yield RunItem.from_parent(self, name="run")
        for entry in loaded.config.sensors:
            yield SensorItem.from_parent(self, name=f"sensor.{entry.id}", sensor_id=entry.id)
        for lim in loaded.limits:
            yield LimitItem.from_parent(self, name=f"{lim.measurement}.{lim.statistic}",
                                        limit_name=lim.name)


class BenchItem(pytest.Item):
    """A test of the bench run: the run is made in setup, so that a run that cannot be made
    is an error of each test, not a failure."""

    @property
    def bench(self) -> BenchSession:
        return self.config.stash[BENCH]

    def setup(self):
        self.run = self.bench.get()

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, (LimitFailed, RigRunFailed, NoData, SensorMissing)):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"{self.path.name}::{self.name}"


class RunItem(BenchItem):
    """The bench run itself: its duration is this test's; an error if it could not start."""

    def setup(self):
        super().setup()
        self.bench.started()

    def runtest(self):
        run = self.run
        for key, value in (("out_dir", run.out_dir), ("exit_code", run.exit_code),
                           ("rig_duration_s", round(run.duration_s, 3)),
                           ("rig_version", run.report.get("rig_version"))):
            self.user_properties.append((key, str(value)))


class SensorItem(BenchItem):
    """One sensor: present, or skipped (optional) / an error (required) with the reason."""

    def __init__(self, *, sensor_id: str, **kwargs):
        super().__init__(**kwargs)
        self.sensor_id = sensor_id

    def setup(self):
        super().setup()
        row = self.run.sensor(self.sensor_id)
        if row["state"] == "failed" and row.get("required", True):
            raise SensorMissing(f"required sensor {self.sensor_id} could not be opened: "
                                f"{row.get('error')}")

    def runtest(self):
        row = self.run.sensor(self.sensor_id)
        self.user_properties.append(("plots", str(row["plots"])))
        if row["state"] == "failed":
            pytest.skip(f"optional sensor {self.sensor_id} could not be opened: "
                        f"{row.get('error')}")


class LimitItem(BenchItem):
    """One limit of the bench config, judged in the run's report."""

    def __init__(self, *, limit_name: str, **kwargs):
        super().__init__(**kwargs)
        self.limit_name = limit_name

    def setup(self):
        super().setup()
        row = self.run.limit(self.limit_name)
        if row["outcome"] == "no data":
            raise NoData(f"{self.limit_name}: no data: {row['reason']}")

    def runtest(self):
        row = self.run.limit(self.limit_name)
        self.user_properties.append(("measured", str(row["value"])))
        if row["outcome"] in ("skipped", "inconclusive"):
            pytest.skip(f"{self.limit_name}: {row['outcome']}: {row['reason']}")
        if row["outcome"] != "pass":
            raise LimitFailed(f"{self.limit_name} {row['unit']}: {row['reason']} "
                              f"(report: {self.run.out_dir / 'report.html'})")


BENCH = pytest.StashKey[BenchSession]()


def pytest_configure(config):
    if config.getoption("--rig-config"):
        config.stash[BENCH] = BenchSession(config)


def pytest_report_header(config):
    if BENCH in config.stash:
        bench = config.stash[BENCH]
        return [f"rig: bench config {bench.path} ({bench.loaded.config.name}), "
                f"output in {bench.out}"]
    return None


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    """The session collects the bench config beside the paths it was given, first."""
    report = yield
    if isinstance(collector, pytest.Session) and BENCH in collector.config.stash \
            and report.passed:
        path = collector.config.stash[BENCH].path.resolve()
        report.result.insert(0, BenchConfigFile.from_parent(collector, path=path))
    return report


@pytest.fixture(scope="session")
def rig_run(request) -> RigRun:
    """The bench run of ``--rig-config`` (made once per session); an error of the test if
    the run could not be made or could not start."""
    if BENCH not in request.config.stash:
        pytest.skip("no --rig-config given")
    return request.config.stash[BENCH].started()
