"""rig installed from a wheel runs from a checkout, the way a CI pipeline runs it.

A pipeline does ``pip install .`` and then ``rig run`` in the checkout. The working directory
then holds the checkout's ``rig/`` folder, which has no compiled extensions in a fresh clone;
a subprocess started with a plain ``python -m rig`` imports that folder instead of the
installed package and fails (``rig/launch.py`` is the fix). This test builds the wheel from a
clean clone of the committed tree, installs it into a new venv and runs a short emulated bench
from a second clean clone, with the live view, so that emulators and the view both start.

Marked ``slow``: building the wheel compiles every extension (the test took 4 to 6 minutes on
a busy two-core machine), so the default run leaves it out; ``python -m pytest -m slow`` runs
it, as ``.ci/run`` does.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
#: The run's length: long enough that every radar of the emulated bench sends plots.
RUN_S = 8
#: pyproject.toml's [build-system] requirements, by module name.
BUILD_MODULES = ("setuptools", "wheel", "Cython", "numpy")
#: This environment without what would change what is built or imported: a partial or debug
#: build (RIG_BUILD_ONLY, RIG_CYTHON_DEBUG), the pure-Python twins (RIG_PUREPYTHON), a path
#: back into the checkout.
ENV = {k: v for k, v in os.environ.items()
       if not k.startswith("RIG_") and k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH")}


def run(*cmd, cwd: Path | None = None, env: dict | None = None,
        timeout_s: float = 120) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env={**ENV, **(env or {})},
                          capture_output=True, text=True, timeout=timeout_s)
    assert done.returncode == 0, (f"{' '.join(map(str, cmd))} exited {done.returncode}\n"
                                  f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def clean_clone(head: str, dest: Path) -> Path:
    """The committed tree at ``head``: no uncommitted file, nothing built."""
    run("git", "clone", "--quiet", "--no-checkout", ROOT, dest)
    run("git", "-C", dest, "checkout", "--quiet", "--detach", head)
    return dest


def build_wheel(source: Path, out: Path) -> Path:
    """The wheel pip builds from ``source``. With this interpreter's build requirements when it
    has them all (a developer's venv: nothing to download), else in pip's isolated build
    environment from the index, as ``pip install .`` does. The extensions compile on every CPU
    this process may use (setuptools reads ``build_ext.parallel`` from DIST_EXTRA_CONFIG)."""
    has_all = all(importlib.util.find_spec(m) for m in BUILD_MODULES)
    isolation = ["--no-build-isolation"] if has_all else []
    cfg = out.parent / "build_ext.cfg"
    cfg.write_text(f"[build_ext]\nparallel = {len(os.sched_getaffinity(0))}\n")
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", *isolation,
        "--wheel-dir", out, source, env={"DIST_EXTRA_CONFIG": str(cfg)}, timeout_s=1800)
    (wheel,) = out.glob("rig-*.whl")
    return wheel


def venv_with(wheel: Path, path: Path) -> Path:
    """A new venv holding the wheel. rig's dependencies come from this interpreter's
    site-packages, listed in a .pth file after the venv's own (which comes first on sys.path),
    so they are found without a download while rig itself comes from the wheel."""
    run(sys.executable, "-m", "venv", "--without-pip", path)
    python = path / "bin" / "python"
    purelib = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
                   .stdout.strip())
    deps = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]
    (purelib / "rig_test_dependencies.pth").write_text("".join(f"{p}\n" for p in deps))
    run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps",
        "--no-index", wheel)
    return path


def short_config(checkout: Path) -> str:
    """The emulated bench config of ``checkout``, cut to ``RUN_S`` seconds, written beside it.
    Its timing and accuracy limits need the full minute on an idle machine; what is checked here
    is that the installed package runs, so only the limits on lost plots remain."""
    spec = yaml.safe_load((checkout / "bench_configs" / "emulated.yaml").read_text())
    spec.update(name="wheel-smoke", duration_s=RUN_S,
                limits={"dropped_plots": {"max": 0}, "decoder_errors": {"max": 0}})
    (checkout / "bench_configs" / "wheel_smoke.yaml").write_text(yaml.safe_dump(spec))
    return "bench_configs/wheel_smoke.yaml"


@pytest.fixture(scope="module")
def head() -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip(f"{ROOT} is not a git checkout: no committed tree to build a wheel of")


def test_the_installed_wheel_runs_the_bench_from_a_checkout(head, tmp_path):
    wheel = build_wheel(clean_clone(head, tmp_path / "build-src"), tmp_path / "wheel")
    venv = venv_with(wheel, tmp_path / "venv")
    installed = run(venv / "bin" / "python", "-I", "-c", "import rig; print(rig.__file__)")
    assert Path(installed.stdout.strip()).resolve().is_relative_to(venv.resolve())

    checkout = clean_clone(head, tmp_path / "checkout")
    # the checkout's rig/ cannot run: were it imported, its sensors could not be opened
    assert not list((checkout / "rig" / "_ext").glob("*.so"))
    config = short_config(checkout)
    out = tmp_path / "run"
    done = subprocess.run([str(venv / "bin" / "rig"), "run", config, "--out", str(out),
                           "--live"],             # the live view's process starts even on a pipe
                          cwd=checkout, env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]

    report = json.loads((out / "report.json").read_text())
    assert (report["exit_code"], report["outcome"], report["mode"]) == (0, "pass", "emulated")
    assert report["environment"]["fusion_kernels"] == "compiled"
    assert report["environment"]["versions"]["rig"] == report["rig_version"]
    assert report["sensor_failures"] == []
    ids = {s["id"] for s in yaml.safe_load((checkout / config).read_text())["sensors"]}
    assert {s["id"] for s in report["sensors"]} == ids
    for sensor in report["sensors"]:
        assert sensor["state"] == "ok" and sensor["plots"] > 0, sensor
    assert set(report["emulators"]) == ids
    assert all(e["event"] == "done" for e in report["emulators"].values()), report["emulators"]
