"""The transport table: kinds by URL, options, spy+ logging, and a driver on any transport."""

import logging
import time

import numpy as np
import pytest

from firmware_interfaces.scpi_sensor import ScpiSensorDriver
from firmware_interfaces.scpi_sensor.instrument import ScpiRadarInstrument
from rig.emulation import RandomPlotSource
from rig.errors import TransportError, UsageError
from rig.transport import (TRANSPORTS, MessageTransport, SerialTransport, UdpTransport,
                           VisaTransport, make_transport, open_transport)
from rig.transport.spy import SpyMessageTransport, SpyTransport, spy_on


def test_urls_pick_their_transport_and_the_family_kind_the_rest():
    assert type(make_transport("loop://")) is SerialTransport
    assert type(make_transport("udp://@127.0.0.1:0", kind="serial")) is UdpTransport
    visa = make_transport("TCPIP0::127.0.0.1::5025::SOCKET", kind="visa", timeout_s=0.5)
    assert type(visa) is VisaTransport and visa.timeout_s == 0.5
    assert make_transport("visa://ASRL1::INSTR").resource == "ASRL1::INSTR"
    with pytest.raises(UsageError, match="unknown transport 'carrier-pigeon'"):
        make_transport("/dev/ttyS0", kind="carrier-pigeon")
    assert set(TRANSPORTS) >= {"serial", "udp", "visa"}


def test_options_go_only_where_they_mean_something():
    assert make_transport("loop://", baudrate=9600).baudrate == 9600
    udp = make_transport("udp://@127.0.0.1:0", baudrate=9600)     # no line speed on UDP
    assert not hasattr(udp, "baudrate")


def test_spy_logs_every_datagram_both_ways(caplog):
    with caplog.at_level(logging.INFO, logger="rig.transport.spy"):
        with open_transport("spy+udp://@127.0.0.1:0") as listener:
            assert isinstance(listener, SpyTransport) and listener.listen
            port = listener.local_address[1]
            with open_transport(f"spy+udp://127.0.0.1:{port}") as sender:
                sender.write(b"\x30\x00\x05ab")
                data, _ = listener.read_chunk(2.0)
    assert data == b"\x30\x00\x05ab"
    lines = [r.getMessage() for r in caplog.records]
    assert any(f"udp://127.0.0.1:{port}: write 30 00 05 61 62" in line for line in lines)
    assert any(line.endswith("read  30 00 05 61 62") for line in lines)


class InstrumentTransport(MessageTransport):
    """The SCPI instrument in this process, as a message transport (no socket, no VISA)."""

    def __init__(self, instrument):
        self.url = "instrument://in-process"
        self.instrument = instrument
        self.pending = b""
        self.opened = 0

    @property
    def is_open(self):
        return self.opened > 0

    def open(self):
        self.opened += 1

    def close(self):
        self.opened = 0

    def write_message(self, text):
        self._require()
        self.instrument.acquire(time.monotonic() - self.t0)
        self.pending += self.instrument.handle(text) or b""

    def query(self, text):
        self.write_message(text)
        line, _, self.pending = self.pending.partition(b"\n")
        return line.decode().strip()

    def read_exact(self, n):
        if len(self.pending) < n:
            raise TransportError(f"{self.url}: read {n} octets: timed out")
        data, self.pending = self.pending[:n], self.pending[n:]
        return data

    def discard_input(self):
        self.pending = b""

    def read_chunk(self, timeout_s):
        data, self.pending = self.pending, b""
        return data, time.monotonic_ns()

    def write(self, data):
        self.write_message(data.decode())

    def _require(self):
        if not self.opened:
            raise TransportError(f"{self.url}: session is not open")


def test_the_scpi_driver_runs_on_any_message_transport(caplog):
    link = InstrumentTransport(ScpiRadarInstrument(RandomPlotSource(2000.0, seed=3)))
    link.t0 = time.monotonic()
    spied = spy_on(link)
    assert isinstance(spied, SpyMessageTransport)
    with caplog.at_level(logging.INFO, logger="rig.transport.spy"):
        with ScpiSensorDriver(spied, sensor_id=4, poll_interval_s=0.01) as driver:
            assert driver.idn.startswith("RIG,SCPI-RADAR-EMU")
            got, deadline = [], time.monotonic() + 5.0
            while sum(map(len, got)) < 200 and time.monotonic() < deadline:
                got.append(driver.read_plots(timeout_s=0.2))
    plots = np.concatenate(got)
    assert len(plots) >= 200 and set(plots["sensor_id"]) == {4}
    assert np.all(np.diff(plots["seq"].astype(np.int64)) == 1)
    assert driver.counters()["seq_gaps"] == 0 and link.opened == 0
    lines = [r.getMessage() for r in caplog.records]
    assert any("query '*IDN?'" in line for line in lines)
    assert any("write 'FETC:PLOT? " in line for line in lines)
