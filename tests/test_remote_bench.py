"""Remote benches on loopback: serial sensors behind a TCP port (raw and RFC 2217), CAT048 and
CAT062 over UDP multicast, and listeners that stay on loopback unless told otherwise."""

import json
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml

from firmware_interfaces.asterix_radar import AsterixRadarDriver
from firmware_interfaces.serial_sensor import SerialSensorDriver, SerialSensorEmulator
from firmware_interfaces.serial_sensor.device_port import TcpDevicePort
from rig.bench.config import transport_problem
from rig.emulation import RandomPlotSource
from rig.emulation.process import EmulatorProcess
from rig.errors import UsageError
from rig.publish.codec import Cat062Decoder
from rig.transport import open_transport
from rig.transport.udp import multicast_options, parse_udp_url

#: pyserial's RFC 2217 client still calls Thread.setDaemon and setName
pytestmark = pytest.mark.filterwarnings(r"ignore:set(Daemon|Name)\(\) is deprecated")

GROUP_IN = "239.1.2.3"
GROUP_OUT = "239.1.2.4"


def rig(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "rig", *args], capture_output=True, text=True,
                          timeout=timeout)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serial_emulator(*flags, duration_s=30, faults=None) -> EmulatorProcess:
    args = ["emulate", "--port", "tcp:0", "--rate", "500", "--duration", str(duration_s),
            *flags]
    if faults is not None:
        args += ["--faults", json.dumps(faults)]
    return EmulatorProcess(args, name="serial sensor on TCP")


def read_plots_for(driver, seconds: float) -> int:
    n = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        n += len(driver.read_plots(timeout_s=0.1))
    return n


def events_of(proc: EmulatorProcess, name: str, timeout_s: float = 5.0) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [e for e in proc.events if e.get("event") == name]
        if found:
            return found
        time.sleep(0.05)
    return []


# --- serial over the network -------------------------------------------------------------

@pytest.mark.parametrize("flags, scheme", [((), "socket"), (("--rfc2217",), "rfc2217")])
def test_serial_sensor_served_on_tcp_streams_to_the_driver(flags, scheme):
    with serial_emulator(*flags, duration_s=20) as proc:
        device = proc.wait_ready()["device"]
        assert device.startswith(f"{scheme}://127.0.0.1:")
        with SerialSensorDriver(device, baudrate=115200) as driver:
            n = read_plots_for(driver, 1.5)
            sync = driver.ping()
            counters = driver.counters()
        assert n > 300
        assert counters["crc_errors"] == counters["header_errors"] == counters["seq_gaps"] == 0
        assert 0 < sync.rtt_ns < 1e9
        assert events_of(proc, "connected")[0]["peer"].startswith("127.0.0.1:")
        assert events_of(proc, "disconnected")


def test_rfc2217_line_settings_reach_the_emulator():
    with serial_emulator("--rfc2217", duration_s=20) as proc:
        device = proc.wait_ready()["device"]
        with SerialSensorDriver(device, baudrate=115200, parity="E", stopbits=2) as driver:
            assert read_plots_for(driver, 0.5) > 0
            opened = events_of(proc, "line_settings")[-1]
            driver.transport.port.baudrate = 57600        # changed while streaming
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and \
                    events_of(proc, "line_settings")[-1]["baudrate"] != 57600:
                time.sleep(0.05)
            assert read_plots_for(driver, 0.5) > 0
    assert opened == {"event": "line_settings", "baudrate": 115200, "bytesize": 8,
                      "parity": "E", "stopbits": 2, "flow_control": "none"}
    assert events_of(proc, "line_settings")[-1]["baudrate"] == 57600


@pytest.mark.parametrize("flags", [(), ("--rfc2217",)])
def test_a_tcp_disconnect_is_counted_and_streaming_resumes(flags):
    # the emulator drops the connection and stops listening for 1 s, then listens again
    faults = [{"kind": "disconnect", "at_s": 1.5, "duration_s": 1.0}]
    with serial_emulator(*flags, duration_s=30, faults=faults) as proc:
        device = proc.wait_ready()["device"]
        with SerialSensorDriver(device, reconnect_max_s=0.5) as driver:
            before = read_plots_for(driver, 1.0)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and driver.link.reconnects == 0:
                driver.read_plots(timeout_s=0.1)
            after = read_plots_for(driver, 1.5)
            link = driver.link
            state = str(driver.state)
    assert before > 0
    assert link.disconnects == 1 and link.reconnects == 1
    assert link.reconnect_attempts >= 1
    assert after > 300 and state == "streaming"
    connected = [e for e in proc.events if e.get("event") == "connected"]
    assert len(connected) == 2
    assert any(e.get("event") == "fault" and e.get("kind") == "disconnect" for e in proc.events)


def test_tcp_line_listens_on_loopback_unless_bound_elsewhere():
    port = TcpDevicePort(0)
    try:
        assert port.address[0] == "127.0.0.1"
        assert port.path == f"socket://127.0.0.1:{port.address[1]}"
    finally:
        port.close()
    emulator = SerialSensorEmulator(RandomPlotSource(10), port="tcp:0", rfc2217=True)
    try:
        assert emulator.device_path.startswith("rfc2217://127.0.0.1:")
    finally:
        emulator.close()
    everywhere = TcpDevicePort(0, bind="0.0.0.0")
    try:
        assert everywhere.address[0] == "0.0.0.0"
    finally:
        everywhere.close()


def test_tcp_flags_need_a_tcp_port():
    out = rig("emulate", "--port", "pty", "--rfc2217", "--duration", "1")
    assert out.returncode == 2 and "--port tcp:PORT" in out.stderr
    out = rig("emulate", "--port", "tcp:70000", "--duration", "1")
    assert out.returncode == 2 and "tcp:70000" in out.stderr


# --- multicast ---------------------------------------------------------------------------

def test_cat048_radar_sends_to_a_multicast_group_and_a_member_hears_it():
    url = f"udp://@{GROUP_IN}:0?iface=127.0.0.1"
    with AsterixRadarDriver(url, sensor_id=1) as radar:
        port = radar.local_address[1]
        args = ["emulate", "--family", "asterix-cat048", "--rate", "2000", "--duration", "2",
                "--port", f"udp://{GROUP_IN}:{port}?iface=127.0.0.1"]
        with EmulatorProcess(args, name="cat048 to a group") as proc:
            ready = proc.wait_ready()
            assert ready["source"].startswith("udp://127.0.0.1:")
            batches = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                batches.append(radar.read_plots(timeout_s=0.2))
                if proc.summary and sum(map(len, batches)) >= proc.summary["plots_sent"]:
                    break
            summary = proc.summary
    assert summary is not None and summary["send_errors"] == 0
    assert sum(map(len, batches)) == summary["plots_sent"] > 1000


def test_udp_multicast_urls():
    assert multicast_options(f"udp://@{GROUP_IN}:8600") == ("127.0.0.1", 1)
    assert multicast_options(f"udp://{GROUP_OUT}:8610?iface=10.0.0.5&ttl=4") == ("10.0.0.5", 4)
    assert multicast_options("udp://@127.0.0.1:8600") is None
    bad = {f"udp://@{GROUP_IN}:8600?iface=eth0": "iface=eth0",
           f"udp://{GROUP_OUT}:8610?ttl=300": "ttl=300",
           f"udp://@{GROUP_IN}:8600?ttl=2": "ttl= is for senders",
           "udp://@127.0.0.1:8600?iface=127.0.0.1": "for multicast groups",
           "udp://@[ff02::1]:8600": "IPv6 multicast",
           "udp://@127.0.0.1:8600?colour=red": "unknown option colour="}
    for url, words in bad.items():
        with pytest.raises(UsageError, match=words.replace("?", r"\?")):
            parse_udp_url(url)


def test_a_second_member_of_the_group_hears_the_same_datagrams():
    url = f"udp://@{GROUP_IN}:{free_udp_port()}?iface=127.0.0.1"
    with open_transport(url) as first, open_transport(url) as second:
        port = first.local_address[1]
        with open_transport(f"udp://{GROUP_IN}:{port}?iface=127.0.0.1") as sender:
            assert sender.local_address[0] == "127.0.0.1"
            sender.write(b"\x30\x00\x04\x00")
        assert first.read_chunk(2.0)[0] == second.read_chunk(2.0)[0] == b"\x30\x00\x04\x00"


# --- listeners stay on loopback ------------------------------------------------------------

def test_udp_sockets_bind_to_loopback_or_the_routes_own_address():
    with open_transport("udp://@:0") as listener:
        assert listener.local_address[0] == "127.0.0.1"
    with open_transport("udp://127.0.0.1:9") as sender:
        assert sender.local_address[0] == "127.0.0.1"
    with open_transport(f"udp://{GROUP_OUT}:9") as sender:         # a group: loopback
        assert sender.local_address[0] == "127.0.0.1"
    try:
        remote = open_transport("udp://192.0.2.7:9")                # TEST-NET-1
    except Exception as e:                                          # no route on this machine
        assert "192.0.2.7" in str(e)
    else:
        with remote:
            assert remote.local_address[0] not in ("0.0.0.0", "::")


def test_scpi_emulator_listens_on_loopback_by_default():
    with EmulatorProcess(["emulate", "--family", "scpi-sensor", "--port", "0",
                          "--duration", "5"], name="scpi") as proc:
        device = proc.wait_ready()["device"]
    assert "::127.0.0.1::" in device


# --- configs -------------------------------------------------------------------------------

def test_config_accepts_remote_transports():
    assert transport_problem("rfc2217://10.0.0.5:4001", "serial") is None
    assert transport_problem("socket://radar-a.example.org:4001", "serial") is None
    assert transport_problem("rfc2217://10.0.0.5:4001?poll_modem", "serial") is None
    assert transport_problem(f"udp://@{GROUP_IN}:8600?iface=10.0.0.5", "udp") is None
    assert transport_problem("TCPIP0::10.0.0.7::5025::SOCKET", "visa") is None
    assert transport_problem("TCPIP::radar-b.example.org::5025::SOCKET", "visa") is None
    assert transport_problem("TCPIP0::10.0.0.7::inst0::INSTR", "visa") is None


def test_malformed_remote_transports_exit_2_naming_the_key(tmp_path):
    config = {"version": 1, "mode": "bench", "duration_s": 5,
              "scenario": {"source": "builtin"},
              "sensors": [{"id": "A1", "family": "serial-sensor",
                           "transport": "rfc2217://127.0.0.1"},
                          {"id": "A2", "family": "asterix-cat048",
                           "transport": f"udp://@{GROUP_IN}:8600?iface=eth0"},
                          {"id": "B1", "family": "serial-sensor",
                           "transport": "socket://:4001"}],
              "outputs": {"feeds": [{"partner": "A",
                                     "transport": f"udp://{GROUP_OUT}:8610?ttl=300"}]}}
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    out = rig("check", str(path))
    assert out.returncode == 2
    for key, words in (("sensors[0].transport", "no port"),
                       ("sensors[1].transport", "iface=eth0"),
                       ("sensors[2].transport", "no host"),
                       ("outputs.feeds[0].transport", "ttl=300")):
        line = next((line for line in out.stderr.splitlines() if key in line), "")
        assert words in line, (key, out.stderr)


# --- a whole run -----------------------------------------------------------------------------

@pytest.mark.slow   # a whole run: CI runs it with -m slow
def test_run_fuses_a_remote_serial_sensor_and_a_multicast_radar_and_feeds_a_group(tmp_path):
    cat048_port, feed_port = free_udp_port(), free_udp_port()
    feed_url = f"udp://{GROUP_OUT}:{feed_port}?iface=127.0.0.1"
    serial = EmulatorProcess(["emulate", "--port", "tcp:0", "--rfc2217", "--scenario",
                              "builtin", "--sensor", "A1", "--duration", "60"], name="A1")
    radar = EmulatorProcess(["emulate", "--family", "asterix-cat048", "--rate", "300",
                             "--duration", "60", "--sac", "0", "--sic", "2",
                             "--port", f"udp://{GROUP_IN}:{cat048_port}?iface=127.0.0.1"],
                            name="A2")
    with serial, radar, open_transport(f"udp://@{GROUP_OUT}:{feed_port}") as member:
        config = {"version": 1, "name": "remote", "mode": "bench", "duration_s": 8,
                  "scenario": {"source": "builtin"},
                  "sensors": [{"id": "A1", "family": "serial-sensor",
                               "transport": serial.wait_ready()["device"], "baudrate": 115200},
                              {"id": "A2", "family": "asterix-cat048",
                               "transport": f"udp://@{GROUP_IN}:{cat048_port}?iface=127.0.0.1"}],
                  "outputs": {"period_s": 1.0, "feeds": [{"partner": "A", "transport": feed_url}]},
                  "limits": {"decoder_errors": {"max": 0}}}
        radar.wait_ready()
        path = tmp_path / "bench.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        out = tmp_path / "out"
        run = subprocess.Popen([sys.executable, "-m", "rig", "run", str(path), "--out", str(out),
                                "--no-live"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
        datagrams = []
        while run.poll() is None:
            data, _ = member.read_chunk(0.2)
            if data:
                datagrams.append(data)
        stdout, stderr = run.communicate(timeout=60)
        line = events_of(serial, "line_settings")
    assert run.returncode == 0, stderr
    report = json.loads((out / "report.json").read_text())
    rows = {s["id"]: s for s in report["sensors"]}
    assert rows["A1"]["plots"] > 50 and rows["A2"]["plots"] > 50
    assert line and line[-1]["baudrate"] == 115200
    tracks = pd.read_csv(out / "tracks.csv")
    assert len(tracks) > 0
    assert datagrams, "no CAT062 datagram reached the group"
    decoder = Cat062Decoder()
    seen = {int(i) for d in datagrams for i in decoder.feed(d)[0]["track_id"]}
    c = decoder.counters()
    assert c["records_bad"] == c["records_incomplete"] == c["bytes_skipped"] == 0
    last = tracks[tracks["t"] == tracks["t"].max()]
    assert {int(i) % 65536 for i in last["track_id"]} <= seen
