"""`rig monitor` end to end: a real monitor process (stdout not a terminal, so key=value
lines) against real emulator processes on a pty, over UDP and through pyvisa-py, and against
rig's own CAT062 publisher; the counts it shows, the stop it sends, and its error exits."""

import json
import signal
import socket
import subprocess
import threading
import time
import warnings

import numpy as np
import pytest

from rig.emulation.process import EmulatorProcess
from rig.launch import rig_command
from rig.monitor.target import resolve

WAIT_S = 30.0                 # generous bound on what a loaded machine may take


class Monitor:
    """``rig monitor ARGS`` in its own process; its key=value lines as dicts, as they come."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(rig_command("monitor", *map(str, args)),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[dict] = []
        self.stderr: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._err_reader = threading.Thread(target=self.stderr.extend, args=(self.proc.stderr,),
                                            daemon=True)
        self._err_reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(dict(word.split("=", 1) for word in line.split()))

    def wait_line(self, test, timeout_s: float = WAIT_S) -> dict:
        """The first line for which ``test(line)`` holds."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if test(line):
                    return line
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no such line; got {self.lines[-3:]}, stderr {self.stderr}")

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def end(self) -> tuple[int, dict, str]:
        """(exit code, last key=value line, stderr) once it has ended."""
        self.proc.wait(WAIT_S)
        self._reader.join(5)
        self._err_reader.join(5)
        stderr = "".join(self.stderr)
        assert self.lines, stderr
        return self.proc.returncode, self.lines[-1], stderr


def emulator_summary(stderr: str) -> dict:
    """The summary of the emulator `rig monitor --emulate` started, as it printed it."""
    prefix = "rig monitor: emulator: "
    line = next(line for line in stderr.splitlines() if line.startswith(prefix))
    return json.loads(line[len(prefix):])


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_clean_counts(line: dict) -> None:
    assert line["decoder_errors"] == "0" and line["bytes_skipped"] in ("0", "-")
    assert line["seq_gaps"] in ("0", "-") and line["dropped"] in ("0", "-")


def emulated_and_counted(*args) -> tuple[dict, str, dict]:
    """``rig monitor ARGS`` starting its own emulator (and ending by ``--duration``): it exits
    0, having counted every plot the emulator sent, and cleanly. (last line, stderr, the
    emulator's summary)"""
    monitor = Monitor(*args)
    code, last, stderr = monitor.end()
    assert code == 0, stderr
    sent = emulator_summary(stderr)
    assert int(last["plots"]) == sent["plots_sent"] > 0
    assert_clean_counts(last)
    return last, stderr, sent


def sent_over_udp_and_counted(family: str, *words, rate: int, name: str) -> dict:
    """``rig monitor WORDS udp://@...`` on a free port while ``rig emulate --family FAMILY``
    sends it plots at ``rate`` a second for 1 s; once the monitor has counted them all,
    SIGTERM. It exits 143 having counted every plot and datagram sent, cleanly, and sends no
    stop (UDP has no control channel). Its last line."""
    port = free_udp_port()
    monitor = Monitor(*words, f"udp://@127.0.0.1:{port}", "--duration", "60")
    monitor.wait_line(lambda line: "state" in line)
    with EmulatorProcess(["emulate", "--family", family, "--port",
                          f"udp://127.0.0.1:{port}", "--rate", str(rate), "--duration", "1",
                          "--frame-interval", "0.01"], name=name) as emulator:
        emulator.proc.wait(WAIT_S)
    emulator.stop()
    sent = emulator.summary
    monitor.wait_line(lambda line: int(line["plots"]) >= sent["plots_sent"])
    monitor.signal(signal.SIGTERM)
    code, last, stderr = monitor.end()
    assert code == 143, stderr
    assert int(last["plots"]) == sent["plots_sent"] > 0
    assert int(last["frames_ok"]) == sent["datagrams_sent"]
    assert_clean_counts(last)
    assert last["stop"] == "none" and "no control channel" in stderr
    return last


# --- where the command line points ---------------------------------------------------------
@pytest.mark.parametrize("words,family,url", [
    ((None, None), "serial-sensor", None),
    (("/dev/pts/3", None), "serial-sensor", "/dev/pts/3"),
    (("udp://@127.0.0.1:8600", None), "asterix-cat048", "udp://@127.0.0.1:8600"),
    (("spy+udp://@127.0.0.1:8600", None), "asterix-cat048", "spy+udp://@127.0.0.1:8600"),
    (("TCPIP::127.0.0.1::5025::SOCKET", None), "scpi-sensor", "TCPIP::127.0.0.1::5025::SOCKET"),
    (("scpi-sensor", None), "scpi-sensor", None),
    (("cat062", "udp://@127.0.0.1:9101"), "cat062", "udp://@127.0.0.1:9101"),
    (("serial-sensor", "socket://127.0.0.1:7000"), "serial-sensor", "socket://127.0.0.1:7000"),
])
def test_the_family_is_named_or_inferred_from_the_url(words, family, url):
    target = resolve(*words, emulate=False)
    assert (target.source, target.url) == (family, url)


# --- serial sensor on a pty -------------------------------------------------------------------
def test_emulate_counts_every_plot_the_emulator_sent_and_stops_it():
    last, stderr, sent = emulated_and_counted("--emulate", "--rate", "2000", "--duration", "2")
    assert sent["commands"].get("STOP") == 1
    assert last["stop"] == "STOP" and float(last["latency_ms_p50"]) > 0
    assert stderr.strip().splitlines()[-1].startswith(f"received {sent['plots_sent']} plots")
    assert "STOP acknowledged" in stderr


@pytest.mark.parametrize("ending", ["duration", "SIGTERM", "SIGINT"])
def test_a_monitor_that_ends_leaves_the_serial_sensor_stopped(ending):
    """However the monitor ends, the emulator it watched stops streaming: after the monitor is
    gone it sends nothing more (no overrun into a line nobody reads), and every plot it sent
    was counted."""
    with EmulatorProcess(["emulate", "--rate", "2000", "--duration", "120"],
                         name="monitored sensor") as emulator:
        duration = "2" if ending == "duration" else "60"
        monitor = Monitor("serial-sensor", emulator.device, "--duration", duration)
        monitor.wait_line(lambda line: int(line["plots"]) > 0)
        if ending != "duration":
            monitor.signal(getattr(signal, ending))
        code, last, stderr = monitor.end()
        time.sleep(1.0)                   # a sensor still streaming would go on sending
        emulator.stop()
        sent = emulator.summary
    assert code == {"duration": 0, "SIGTERM": 143, "SIGINT": 130}[ending], stderr
    assert sent["commands"].get("STOP") == 1
    assert sent["overrun_plots"] == 0
    assert int(last["plots"]) == sent["plots_sent"] > 0, (monitor.lines, stderr, sent)
    assert_clean_counts(last)
    assert last["stop"] == "STOP"


# --- ASTERIX CAT048 over UDP --------------------------------------------------------------------
def test_cat048_over_udp_every_plot_counted_and_no_stop_to_send():
    # the family inferred from the URL
    last = sent_over_udp_and_counted("asterix-cat048", rate=1000, name="cat048 radar")
    assert last["latency_ms_p50"] != "-"


def test_cat048_emulated_is_counted_to_the_last_plot():
    emulated_and_counted("asterix-cat048", "--rate", "1000", "--duration", "2")


# --- SCPI instrument through pyvisa-py ----------------------------------------------------------
def buffered_plots(resource: str) -> int:
    import pyvisa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rm = pyvisa.ResourceManager("@py")
        try:
            inst = rm.open_resource(resource, read_termination="\n", write_termination="\n",
                                    timeout=5000)
            try:
                return int(inst.query("FETC:PLOT:COUN?"))
            finally:
                inst.close()
        finally:
            rm.close()


def test_scpi_every_fetched_plot_counted_and_acquisition_aborted():
    with EmulatorProcess(["emulate", "--family", "scpi-sensor", "--port", "0", "--rate", "2000",
                          "--duration", "120"], name="scpi sensor") as emulator:
        resource = emulator.device
        monitor = Monitor(resource, "--duration", "2")
        code, last, stderr = monitor.end()
        left = buffered_plots(resource)
        time.sleep(1.0)                   # an instrument still acquiring would buffer more
        assert buffered_plots(resource) == left
        emulator.stop()
        sent = emulator.summary
    assert code == 0, stderr
    assert int(last["plots"]) == sent["plots_fetched"] > 0
    assert sent["plots_acquired"] == sent["plots_fetched"] + left
    assert_clean_counts(last)
    assert last["stop"] == "ABORt" and "ABORt acknowledged" in stderr


# --- a partner's CAT062 feed ------------------------------------------------------------------
def test_cat062_feed_tracks_decoded_and_counted():
    from rig.publish import Feeds, Origin
    from rig.records import empty_tracks
    from rig.transport import open_transport

    port = free_udp_port()
    monitor = Monitor("cat062", f"udp://@127.0.0.1:{port}", "--duration", "60")
    monitor.wait_line(lambda line: line.get("state") == "listening")
    tracks = empty_tracks(5)
    tracks["track_id"] = [11, 12, 13, 14, 15]
    tracks["status"] = 1
    tracks["east"] = np.arange(5) * 10e3
    tracks["north"] = 20e3
    tracks["up"] = 5000.0
    tracks["v_east"] = 200.0
    feeds = Feeds(Origin(52.0, 21.0, 0.0), 7, 9,
                  [("A", open_transport(f"udp://127.0.0.1:{port}"))])
    pictures = 10
    try:
        for _ in range(pictures):
            now = time.time() % 86400.0
            tracks["t"] = now
            feeds.publish(tracks, now)
            time.sleep(0.02)
    finally:
        feeds.close()
    monitor.wait_line(lambda line: int(line["tracks"]) >= pictures * len(tracks))
    monitor.signal(signal.SIGTERM)
    code, last, stderr = monitor.end()
    assert code == 143, stderr
    assert int(last["tracks"]) == pictures * len(tracks)
    assert int(last["track_ids"]) == len(tracks)
    assert int(last["datagrams"]) == feeds.links[0][1].datagrams_sent
    assert_clean_counts(last)
    # I062/070 is rounded to the nearest 1/128 s: a track time up to half of that ahead
    assert -1000 / 256 <= float(last["latency_ms_p50"]) < 60_000
    assert last["stop"] == "none"


def test_cat062_feed_on_a_serial_line_in_hdlc_frames():
    import os

    from rig.publish import Cat062Encoder, Origin
    from rig.publish.codec import hdlc_encode
    from rig.records import empty_tracks

    master, slave = os.openpty()
    try:
        monitor = Monitor("cat062", os.ttyname(slave), "--duration", "60")
        monitor.wait_line(lambda line: line.get("state") == "listening")
        tracks = empty_tracks(3)
        tracks["track_id"] = [1, 2, 3]
        tracks["status"] = 1
        tracks["east"], tracks["north"], tracks["up"] = 1e3, 2e3, 3e3
        encoder = Cat062Encoder(Origin(52.0, 21.0, 0.0), 1, 2)
        wire = b"".join(hdlc_encode(d) for d in encoder.encode(tracks, time.time() % 86400.0))
        os.write(master, b"\x00junk" + wire)
        monitor.wait_line(lambda line: int(line["tracks"]) >= 3)
        monitor.signal(signal.SIGTERM)
        code, last, stderr = monitor.end()
    finally:
        os.close(master)
        os.close(slave)
    assert code == 143, stderr
    assert last["tracks"] == last["track_ids"] == "3"
    assert last["decoder_errors"] == "0" and int(last["bytes_skipped"]) > 0


# --- what cannot work ends at once, named --------------------------------------------------------
@pytest.mark.parametrize("args,code,named", [
    (["no-such-family", "udp://@127.0.0.1:9"], 2, ["no-such-family", "asterix-cat048",
                                                    "scpi-sensor", "serial-sensor", "cat062"]),
    (["asterix-radar"], 2, ["asterix-radar", "known"]),
    (["cat062"], 2, ["cat062", "udp://@"]),
    (["/dev/pts/1", "--emulate"], 2, ["--emulate"]),
    (["serial-sensor", "/dev/ttyNO_SUCH_RIG_PORT"], 3, ["/dev/ttyNO_SUCH_RIG_PORT"]),
    (["TCPIP0::127.0.0.1::1::SOCKET"], 3, ["TCPIP0::127.0.0.1::1::SOCKET"]),
    (["udp://127.0.0.1:9"], 2, ["udp://127.0.0.1:9", "udp://@"]),
    (["scpi-sensor", "TCPIP0::127.0.0.1::1::SOCKET", "--baudrate", "9600"], 2, ["--baudrate"]),
])
def test_what_cannot_work_is_an_error_naming_it(args, code, named):
    done = subprocess.run(rig_command("monitor", *args, "--duration", "5"), capture_output=True,
                          text=True, timeout=WAIT_S)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    for name in named:
        assert name in done.stderr, (name, done.stderr)


def test_a_busy_udp_port_is_a_transport_failure_for_sensors_and_feeds():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        url = f"udp://@127.0.0.1:{holder.getsockname()[1]}"
        for args in ([url], ["cat062", url]):
            done = subprocess.run(rig_command("monitor", *args, "--duration", "5"),
                                  capture_output=True, text=True, timeout=WAIT_S)
            assert done.returncode == 3 and url in done.stderr, done.stderr
