"""pytest plugin for hardware regression runs: ``pytest --rig-config bench_configs/X.yaml``.

The bench config's limits become test items (``rig::<config>::<limit>``); the first of them
to run starts the bench once (``rig run`` in its own process, as an operator would) and every
item checks its limit in the run's report. Custom tests take the ``rig_run`` fixture: the
run's report (the content of report.json) and its output folder::

    def test_every_sensor_streamed(rig_run):
        assert all(s["plots"] > 0 for s in rig_run.report["sensors"])

Options: ``--rig-config PATH`` (required to activate), ``--rig-out DIR`` (default: a folder
under pytest's temporary directory), ``--rig-duration S`` (override the config's).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from rig.launch import rig_command


@dataclass
class RigRun:
    """A finished bench run."""

    config: Path
    out_dir: Path
    exit_code: int
    report: dict
    stderr: str

    def limit(self, name: str) -> dict:
        for row in self.report["limits"]:
            if row["name"] == name:
                return row
        raise KeyError(name)


class RigRunFailed(Exception):
    pass


def pytest_addoption(parser):
    group = parser.getgroup("rig", "rig bench runs")
    group.addoption("--rig-config", action="store", default=None, metavar="PATH",
                    help="run this bench config once and turn each of its limits into a test")
    group.addoption("--rig-out", action="store", default=None, metavar="DIR",
                    help="output folder of the run (default: under pytest's tmp dir)")
    group.addoption("--rig-duration", action="store", type=float, default=None, metavar="S",
                    help="override the config's duration_s")


class _Session:
    """Runs the bench at most once per pytest session."""

    def __init__(self, config):
        self.pytest_config = config
        self.path = Path(config.getoption("--rig-config"))
        self._run: RigRun | None = None
        self._error: str | None = None

    def get(self) -> RigRun:
        if self._run is None and self._error is None:
            out = self.pytest_config.getoption("--rig-out")
            if out is None:
                factory = self.pytest_config._tmp_path_factory  # noqa: SLF001 - pytest's own
                out = factory.mktemp("rig-run")
            out = Path(out)
            cmd = rig_command("run", str(self.path), "--out", str(out), "--no-live")
            duration = self.pytest_config.getoption("--rig-duration")
            if duration is not None:
                cmd += ["--duration", str(duration)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            report_path = out / "report.json"
            if proc.returncode not in (0, 1, 5) or not report_path.is_file():
                self._error = (f"rig run {self.path} exited with {proc.returncode}:\n"
                               + proc.stderr[-4000:])
            else:
                self._run = RigRun(self.path, out, proc.returncode,
                                   json.loads(report_path.read_text()), proc.stderr)
        if self._error is not None:
            raise RigRunFailed(self._error)
        return self._run


class LimitItem(pytest.Item):
    """One limit of the bench config, checked in the run's report."""

    def __init__(self, *, limit_name: str, **kwargs):
        super().__init__(**kwargs)
        self.limit_name = limit_name

    def runtest(self):
        run = self.config._rig_session.get()
        row = run.limit(self.limit_name)
        self.user_properties.append(("measured", row["value"]))
        if row["outcome"] in ("skipped", "inconclusive"):
            pytest.skip(f"{self.limit_name}: {row['outcome']}: {row['reason']}")
        if row["outcome"] != "pass":
            raise LimitFailed(f"{self.limit_name} {row['unit']}: {row['reason']} "
                              f"(report: {run.out_dir / 'report.html'})")

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, (LimitFailed, RigRunFailed)):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.config._rig_session.path, None, f"rig limit {self.limit_name}"


class LimitFailed(AssertionError):
    pass


def pytest_configure(config):
    if config.getoption("--rig-config"):
        config._rig_session = _Session(config)


def pytest_collection_modifyitems(session, config, items):
    if not config.getoption("--rig-config"):
        return
    from rig.bench.config import load_bench_config

    loaded = load_bench_config(config._rig_session.path)
    for lim in loaded.limits:
        items.append(LimitItem.from_parent(session, name=f"rig::{loaded.config.name}::{lim.name}",
                                           limit_name=lim.name))


@pytest.fixture(scope="session")
def rig_run(request) -> RigRun:
    """The bench run of ``--rig-config`` (run once per session)."""
    session = getattr(request.config, "_rig_session", None)
    if session is None:
        pytest.skip("no --rig-config given")
    return session.get()
