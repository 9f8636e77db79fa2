"""The host driver on real ports: loop://, and an emulator subprocess on a real pty."""

import time

import numpy as np
import pytest

from firmware_interfaces.serial_sensor import SerialSensorDriver
from firmware_interfaces.serial_sensor import protocol as P
from firmware_interfaces.serial_sensor.codec import encode_plots
from rig.emulation.process import EmulatorProcess
from rig.errors import PortBusyError, PortNotFoundError, TransportError

from .serial_helpers import random_plots

#: CI runs this file again on the pure-Python twins (RIG_PUREPYTHON=1)
pytestmark = pytest.mark.twins


def read_until(driver, n, timeout_s=10.0):
    got = []
    deadline = time.monotonic() + timeout_s
    while sum(map(len, got)) < n and time.monotonic() < deadline:
        got.append(driver.read_plots(timeout_s=0.2))
    return np.concatenate(got)


def test_driver_on_loop_url_decodes_what_is_written(rng):
    plots = random_plots(rng, 2000)
    frames = b"".join(encode_plots(plots[i:i + 100], i // 100, 100_000_000_000)
                      for i in range(0, 2000, 100))
    with SerialSensorDriver("loop://", sensor_id=4).open(start=False) as driver:
        before = time.monotonic_ns()
        driver.transport.write(b"\x00noise" + frames)
        got = read_until(driver, 2000)
        after = time.monotonic_ns()
        c = driver.counters()
    assert len(got) == 2000
    assert np.array_equal(got["seq"], np.repeat(np.arange(20), 100))
    assert np.all(got["sensor_id"] == 4)
    assert np.all((got["t_arrival_ns"] >= before) & (got["t_arrival_ns"] <= after))
    np.testing.assert_allclose(got["range_m"], plots["range_m"], atol=0.0005 + 1e-9)
    assert c["bytes_skipped"] == 6 and c["seq_gaps"] == 0


def test_missing_port_is_named():
    with pytest.raises(PortNotFoundError, match="/dev/ttyDOESNOTEXIST"):
        SerialSensorDriver("/dev/ttyDOESNOTEXIST").open()


@pytest.fixture
def emulator():
    with EmulatorProcess(["emulate", "--rate", "2000", "--duration", "60"],
                         name="test sensor") as proc:
        proc.wait_ready()
        yield proc


def test_busy_port_is_reported(emulator):
    with SerialSensorDriver(emulator.device).open(start=False):
        with pytest.raises(PortBusyError, match=emulator.device):
            SerialSensorDriver(emulator.device).open(start=False)


def test_control_messages_against_the_emulator(emulator):
    with SerialSensorDriver(emulator.device, sensor_id=2).open(start=False) as sensor:
        status = sensor.get_status()
        assert not status.streaming and status.plots_sent == 0
        assert sensor.read_plots(timeout_s=0.3).size == 0      # silent until START
        sensor.start_streaming()
        plots = read_until(sensor, 200)
        assert len(plots) >= 200 and np.all(plots["sensor_id"] == 2)
        sensor.set_scan_period(2.5)
        status = sensor.get_status()
        assert status.streaming and status.scan_period_s == pytest.approx(2.5)
        with pytest.raises(ValueError):
            sensor.set_scan_period(0.0001)                     # refused before it is sent
        sync = sensor.ping()
        # the emulated sensor clock reads the host's monotonic clock: the offset is within
        # the round trip
        assert 0 < sync.rtt_ns < 1e9
        assert abs(sync.offset_ns) <= sync.rtt_ns
        sensor.stop_streaming()
        time.sleep(0.1)
        sensor.read_plots(timeout_s=0)
        assert sensor.read_plots(timeout_s=0.3).size == 0
        assert not sensor.get_status().streaming


def test_refused_command_raises(emulator):
    with SerialSensorDriver(emulator.device).open(start=False) as sensor:
        with pytest.raises(TransportError, match="refused SET_SCAN_PERIOD"):
            sensor._command(P.MSG_SET_SCAN_PERIOD, P.SCAN_PERIOD.pack(10))


def test_disconnect_is_reported_and_retried():
    with EmulatorProcess(["emulate", "--rate", "1000", "--duration", "60"]) as proc:
        sensor = SerialSensorDriver(proc.device, reconnect_max_s=0.1).open()
        try:
            assert len(read_until(sensor, 10)) >= 10
            proc.stop()
            deadline = time.monotonic() + 5
            while sensor.counters()["reconnect_attempts"] < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            c = sensor.counters()
            assert sensor.state == "disconnected"
            assert c["disconnects"] == 1 and c["reconnect_attempts"] >= 3
            assert isinstance(sensor.last_error, TransportError)
        finally:
            sensor.close()
