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
