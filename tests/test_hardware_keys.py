"""The keys of real hardware reach the real objects: serial line settings the pyserial port
(on a real pty), VISA library, timeout and terminations the pyvisa session (pyvisa-py over
loopback TCP with the SCPI emulator, pyvisa-sim); ``rig check --probe`` opens each real
sensor and says what answered."""

import os
import re
import socket
import subprocess
import termios
import threading
import time
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from firmware_interfaces.scpi_sensor import SIM_DEVICE_YAML, SIM_RESOURCE, ScpiSensorDriver
from rig.bench.config import load_bench_config
from rig.bench.outputs import open_feeds
from rig.emulation.process import EmulatorProcess
from rig.errors import ConfigError, TransportError
from rig.firmware import get_interface
from rig.launch import rig_command
from rig.transport.serial_port import SerialTransport


def bench_config(tmp_path, sensors, feeds=(), name="bench.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump({
        "duration_s": 5, "mode": "bench", "sensors": list(sensors),
        "outputs": {"feeds": list(feeds)}}, sort_keys=False))
    return path


def opened_driver(entry, target):
    """The family's own driver for ``entry``, opened as a run opens it."""
    sensor = SimpleNamespace(index=0, id=entry.id, entry=entry)
    return get_interface(entry.family).open_driver(sensor, target, None)


@pytest.fixture
def pty_line():
    """A real pseudo-terminal: (the master's fd, the slave's path)."""
    master, slave = os.openpty()
    path = os.ttyname(slave)
    os.close(slave)
    yield master, path
    os.close(master)


# --- serial ----------------------------------------------------------------------------------
def test_serial_line_keys_reach_the_pyserial_port_of_a_running_sensor(tmp_path):
    with EmulatorProcess(["emulate", "--rate", "500", "--duration", "60"],
                         name="serial sensor") as emulator:
        device = emulator.device
        path = bench_config(tmp_path, [{
            "id": "A1", "family": "serial-sensor", "transport": device, "baudrate": 115200,
            "bytesize": 7, "parity": "E", "stopbits": 2, "flow_control": "rtscts"}])
        entry = load_bench_config(path).config.sensors[0]
        driver = opened_driver(entry, device)
        try:
            port = driver.transport.port
            assert (port.port, port.baudrate, port.bytesize, port.parity, port.stopbits) == (
                device, 115200, 7, "E", 2)
            assert (port.rtscts, port.xonxoff, port.dsrdtr) == (True, False, False)
            cflag, speed = termios.tcgetattr(port.fileno())[2], termios.tcgetattr(port.fileno())[4]
            assert cflag & termios.CSTOPB and cflag & termios.CRTSCTS
            assert speed == termios.B115200
            plots = []
            deadline = time.monotonic() + 20
            while not plots and time.monotonic() < deadline:
                batch = driver.read_plots(timeout_s=0.2)
                plots += [batch] if len(batch) else []
            assert plots and np.all(plots[0]["sensor_id"] == 0)     # the line works as set
        finally:
            driver.close()


@pytest.mark.parametrize("settings,expected", [
    ({}, dict(baudrate=921600, bytesize=8, parity="N", stopbits=1, rtscts=False,
              xonxoff=False, dsrdtr=False)),
    (dict(parity="O", stopbits=1.5, bytesize=5, flow_control="xonxoff"),
     dict(parity="O", stopbits=1.5, bytesize=5, xonxoff=True, rtscts=False)),
    (dict(parity="M", flow_control="dsrdtr"), dict(parity="M", dsrdtr=True, xonxoff=False)),
    (dict(parity="S", baudrate=9600, bytesize=6), dict(parity="S", baudrate=9600, bytesize=6)),
])
def test_every_line_setting_reaches_pyserial(pty_line, settings, expected):
    _, device = pty_line
    transport = SerialTransport(device, **settings)
    transport.open()
    try:
        port = transport.port
        assert {name: getattr(port, name) for name in expected} == expected
        iflag = termios.tcgetattr(port.fileno())[0]
        assert bool(iflag & termios.IXON) == (settings.get("flow_control") == "xonxoff")
    finally:
        transport.close()


def test_a_serial_feed_opens_its_line_as_configured(tmp_path, pty_line):
    master, device = pty_line
    path = bench_config(tmp_path, [{"id": "A2", "family": "asterix-cat048",
                                    "transport": "udp://@127.0.0.1:0"}], feeds=[
        {"partner": "A", "transport": device, "baudrate": 57600, "parity": "O",
         "stopbits": 2, "bytesize": 7, "flow_control": "rtscts"},
        {"partner": "B", "transport": "udp://127.0.0.1:9"}])
    loaded = load_bench_config(path)
    feeds = open_feeds(loaded.config.outputs, loaded.scenario.origin)
    try:
        port = feeds.links[0][1].transport.port
        assert (port.baudrate, port.parity, port.stopbits, port.bytesize, port.rtscts) == (
            57600, "O", 2, 7, True)
        assert termios.tcgetattr(port.fileno())[4] == termios.B57600
        feeds.links[0][1].transport.write(b"\x7e")
        assert os.read(master, 1) == b"\x7e"
    finally:
        feeds.close()


def test_line_settings_are_refused_on_a_udp_feed_and_checked_on_a_serial_one(tmp_path):
    path = bench_config(tmp_path, [{"id": "A1", "transport": "/dev/ttyUSB0"}], feeds=[
        {"partner": "A", "transport": "udp://127.0.0.1:8610", "baudrate": 9600},
        {"partner": "B", "transport": "/dev/ttyUSB1", "stopbits": 3}])
    with pytest.raises(ConfigError) as e:
        load_bench_config(path)
    found = {p.key: p for p in e.value.problems}
    assert "serial line settings on a UDP feed" in found["outputs.feeds[0]"].message
    assert found["outputs.feeds[1].stopbits"].expected == "1, 1.5 or 2"


# --- VISA ------------------------------------------------------------------------------------
@pytest.fixture
def scpi_emulator():
    with EmulatorProcess(["emulate", "--family", "scpi-sensor", "--port", "0", "--rate",
                          "2000", "--duration", "60"], name="scpi sensor") as proc:
        yield proc.wait_ready()["device"]


def test_visa_keys_reach_the_pyvisa_session_of_a_running_instrument(tmp_path, scpi_emulator):
    path = bench_config(tmp_path, [{
        "id": "B1", "family": "scpi-sensor", "transport": scpi_emulator,
        "visa_library": "@py", "visa_timeout_ms": 1500, "read_termination": "\n",
        "write_termination": "\r\n", "idn": "RIG,SCPI-RADAR-EMU"}])
    entry = load_bench_config(path).config.sensors[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        driver = opened_driver(entry, scpi_emulator)
        try:
            session = driver.transport.session
            assert session.timeout == 1500
            assert (session.read_termination, session.write_termination) == ("\n", "\r\n")
            assert type(session.visalib).__module__.startswith("pyvisa_py")
            received = 0
            deadline = time.monotonic() + 20
            while received < 100 and time.monotonic() < deadline:
                received += len(driver.read_plots(timeout_s=0.2))
            assert received >= 100 and driver.counters()["bad_blocks"] == 0
        finally:
            driver.close()


def test_a_read_termination_the_instrument_does_not_send_times_out(tmp_path, scpi_emulator):
    path = bench_config(tmp_path, [{
        "id": "B1", "family": "scpi-sensor", "transport": scpi_emulator,
        "visa_timeout_ms": 300, "read_termination": "\r"}])
    entry = load_bench_config(path).config.sensors[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(TransportError, match="timed out after 0.3 s"):
            opened_driver(entry, scpi_emulator)


def test_visa_library_picks_pyvisa_sim(tmp_path):
    pytest.importorskip("pyvisa_sim")
    path = bench_config(tmp_path, [{
        "id": "B1", "family": "scpi-sensor", "transport": SIM_RESOURCE,
        "visa_library": f"{SIM_DEVICE_YAML}@sim", "visa_timeout_ms": 750}])
    options = load_bench_config(path).config.sensors[0].options
    driver = ScpiSensorDriver(SIM_RESOURCE, **options.session_settings())
    try:
        assert driver.connect().startswith("RIG,SCPI-RADAR-EMU")
        session = driver.transport.session
        assert type(session.visalib).__module__.startswith("pyvisa_sim")
        assert session.timeout == 750
    finally:
        driver.close()


def test_ports_says_which_visa_backend_answered():
    import json

    done = subprocess.run(rig_command("ports", "--json", "--visa-backend",
                                      f"{SIM_DEVICE_YAML}@sim"),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    backend = json.loads(done.stdout)["visa_backend"]
    assert backend["name"] == "pyvisa-sim" and backend["library_path"] == str(SIM_DEVICE_YAML)
    done = subprocess.run(rig_command("ports"), capture_output=True, text=True, timeout=60)
    assert re.search(r"VISA resources \(\d+\) via pyvisa-py \d", done.stdout), done.stdout


# --- rig check --probe -----------------------------------------------------------------------
def rig_check_probe(path):
    return subprocess.run(rig_command("check", "--probe", str(path)), capture_output=True,
                          text=True, timeout=120)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_probe_reports_what_each_real_sensor_answered(tmp_path, scpi_emulator):
    udp_port = free_udp_port()
    stop = threading.Event()

    def send_datagrams():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            while not stop.wait(0.02):
                s.sendto(b"\x30\x00\x03", ("127.0.0.1", udp_port))

    with EmulatorProcess(["emulate", "--status-period", "0.05", "--duration", "60"],
                         name="serial sensor") as serial_emulator:
        path = bench_config(tmp_path, [
            {"id": "A1", "family": "serial-sensor", "transport": serial_emulator.device,
             "parity": "E"},
            {"id": "A2", "family": "asterix-cat048",
             "transport": f"udp://@127.0.0.1:{udp_port}"},
            {"id": "B1", "family": "scpi-sensor", "transport": scpi_emulator,
             "idn": "RIG,SCPI-RADAR-EMU"}])
        sender = threading.Thread(target=send_datagrams, daemon=True)
        sender.start()
        try:
            done = rig_check_probe(path)
        finally:
            stop.set()
            sender.join()
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    serial_bytes = re.search(r"probe sensor A1 \(serial-sensor via .*\): opened, (\d+) bytes "
                             r"in 1 s", out)
    datagrams = re.search(r"probe sensor A2 \(asterix-cat048 via udp://@127.0.0.1:\d+\): "
                          r"bound, (\d+) datagrams", out)
    assert serial_bytes and int(serial_bytes.group(1)) > 0, out
    assert datagrams and int(datagrams.group(1)) > 0, out
    assert re.search(r"probe sensor B1 \(scpi-sensor via .*\): \*IDN\? RIG,SCPI-RADAR-EMU", out)


def test_probe_of_a_missing_port_exits_3_unless_the_sensor_is_not_required(tmp_path):
    path = bench_config(tmp_path, [{"id": "A1", "transport": "/dev/ttyNOSUCHPORT"}])
    done = rig_check_probe(path)
    assert done.returncode == 3, done.stdout + done.stderr
    assert ("probe sensor A1 (serial-sensor via /dev/ttyNOSUCHPORT): NO ANSWER (required): "
            "/dev/ttyNOSUCHPORT: no such port") in done.stdout
    path = bench_config(tmp_path, [{"id": "A1", "transport": "/dev/ttyNOSUCHPORT",
                                    "required": False}])
    done = rig_check_probe(path)
    assert done.returncode == 0 and "NO ANSWER (not required)" in done.stdout


def test_probe_refuses_an_instrument_that_is_not_the_configured_one(tmp_path, scpi_emulator):
    path = bench_config(tmp_path, [{"id": "B1", "family": "scpi-sensor",
                                    "transport": scpi_emulator, "idn": "KEYSIGHT,N9020B"}])
    done = rig_check_probe(path)
    assert done.returncode == 3 and "another instrument" in done.stdout, done.stdout


def test_probe_of_an_emulated_config_opens_nothing():
    from pathlib import Path

    done = rig_check_probe(Path(__file__).parent / "data" / "bench" / "short.yaml")
    assert done.returncode == 0 and "no real sensors" in done.stdout
