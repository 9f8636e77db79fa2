"""The pytest plugin: a bench config's limits become tests; rig_run gives custom tests the run."""

import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from importlib.metadata import entry_points
from pathlib import Path

SHORT = Path(__file__).parent / "data" / "bench" / "short.yaml"


def test_limits_become_tests_and_the_fixture_gives_the_run(tmp_path):
    (tmp_path / "test_custom.py").write_text(textwrap.dedent("""
        def test_every_sensor_streamed(rig_run):
            assert rig_run.exit_code == 1           # short.yaml has an impossible limit
            assert all(s["plots"] > 0 for s in rig_run.report["sensors"])
    """))
    installed = any(e.name == "rig" for e in entry_points(group="pytest11"))
    plugin = [] if installed else ["-p", "rig.pytest_plugin"]
    junit = tmp_path / "results.xml"
    out = subprocess.run(
        [sys.executable, "-m", "pytest", *plugin, "--rig-config", str(SHORT),
         "--rig-duration", "6", "--rig-out", str(tmp_path / "run"), f"--junitxml={junit}",
         "-p", "no:cacheprovider", str(tmp_path / "test_custom.py")],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    limit_cases = {n: c for n, c in cases.items()
                   if c.get("classname").endswith("rig.short-emulated")}
    assert len(limit_cases) == 5, out.stdout[-3000:]
    failed = {n for n, c in limit_cases.items() if c.find("failure") is not None}
    assert failed == {"processing_latency_ms.p50 <= 1e-06"}
    assert cases["test_every_sensor_streamed"].find("failure") is None, out.stdout[-3000:]
    assert out.returncode == 1
    assert (tmp_path / "run" / "report.html").is_file()
