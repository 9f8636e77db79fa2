import types

import numpy as np
import pytest

from firmware_interfaces.serial_sensor import reference
from rig._ext import serial_codec
from rig.twins import pure_python

CODECS = {
    "compiled": types.SimpleNamespace(
        name="compiled", encode_frame=serial_codec.encode_frame,
        encode_plots=serial_codec.encode_plots, Decoder=serial_codec.SerialFrameDecoder),
    "reference": types.SimpleNamespace(
        name="reference", encode_frame=reference.encode_frame,
        encode_plots=reference.encode_plots, Decoder=reference.SerialFrameDecoder),
}


def pytest_report_header(config):
    if pure_python():
        return "rig codecs and fusion kernels: the pure-Python twins (RIG_PUREPYTHON=1)"
    return ("rig codecs and fusion kernels: compiled (rig._ext); RIG_PUREPYTHON=1 runs on "
            "the pure-Python twins")


def pytest_addoption(parser):
    parser.addoption("--run-hardware", action="store_true",
                     help="run tests marked 'hardware' (needs real bench hardware)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-hardware"):
        return
    skip = pytest.mark.skip(reason="needs bench hardware (--run-hardware)")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=sorted(CODECS))
def codec(request):
    """Each serial codec implementation in turn: the same tests hold both."""
    return CODECS[request.param]


@pytest.fixture
def rng():
    return np.random.default_rng(20261125)


@pytest.fixture(scope="session")
def short_recorded_run(tmp_path_factory):
    """One short real run of tests/data/bench/short.yaml (serial, ASTERIX/UDP and SCPI
    sensors, one UDP feed) with its recording ``run.rigrec``: the run folder. Shared by the
    tests of replay and export, which only read it."""
    import subprocess
    import sys
    from pathlib import Path

    short = Path(__file__).parent / "data" / "bench" / "short.yaml"
    out = tmp_path_factory.mktemp("short-run")
    done = subprocess.run([sys.executable, "-m", "rig", "run", str(short), "--out", str(out),
                           "--record", "run.rigrec", "--no-live"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 1, done.stderr        # short.yaml's impossible limit
    return out
