"""The SCPI sensor: block parsing, the instrument, pyvisa-sim quick checks, and the real socket."""

import time
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_interfaces.scpi_sensor import SIM_DEVICE_YAML, SIM_RESOURCE, ScpiSensorDriver
from firmware_interfaces.scpi_sensor import protocol as P
from firmware_interfaces.scpi_sensor.blocks import (
    encode_block, parse_block, parse_header, payload_from_plots, plots_from_payload,
)
from firmware_interfaces.scpi_sensor.instrument import ScpiRadarInstrument
from rig.emulation import RandomPlotSource
from rig.emulation.process import EmulatorProcess
from rig.errors import CodecError, TransportError
from rig.records import PLOT_DTYPE

from .serial_helpers import random_plots


# --- blocks ------------------------------------------------------------------------------
def test_block_header_and_big_endian_records(rng):
    plots = random_plots(rng, 5)
    payload = payload_from_plots(plots, seq0=2**32 - 2)
    block = encode_block(payload)
    assert block.startswith(b"#3260") and len(payload) == 5 * P.PLOT_RECORD_SIZE == 260
    assert payload[:8] == np.array(plots["t_sensor"][0], ">f8").tobytes()
    assert payload[48:52] == (2**32 - 2).to_bytes(4, "big")
    data, consumed = parse_block(block + b"\n")
    assert data == payload and consumed == len(block) + 1
    out = plots_from_payload(data, sensor_id=3, t_arrival_ns=11)
    assert out.dtype == PLOT_DTYPE and list(out["seq"]) == [2**32 - 2, 2**32 - 1, 0, 1, 2]
    for name in ("t_sensor", "range_m", "az_rad", "el_rad", "amplitude_db", "flags"):
        assert np.array_equal(out[name], plots[name])
    assert np.array_equal(np.isnan(out["range_rate_mps"]), np.isnan(plots["range_rate_mps"]))


@pytest.mark.parametrize("head", [b"X1", b"#0", b"#a", b"#2x1", b"#9999999999"])
def test_bad_or_oversized_headers_raise(head):
    with pytest.raises(CodecError):
        parse_header(head + b"00000000000", max_bytes=10**6)


@settings(max_examples=400, deadline=None)
@given(data=st.binary(max_size=400))
def test_block_parser_never_crashes_or_overreads(data):
    try:
        parsed = parse_block(data, max_bytes=1000)
    except CodecError:
        return
    if parsed is not None:
        payload, consumed = parsed
        assert consumed <= len(data) and len(payload) <= 1000


# --- the instrument without I/O ----------------------------------------------------------
def make_instrument(rate=1000.0):
    return ScpiRadarInstrument(RandomPlotSource(rate, seed=1))


def test_error_queue_is_real():
    inst = make_instrument()
    assert inst.handle("SYST:ERR?") == b'0,"No error"\n'
    inst.handle("BOGUS:CMD")
    inst.handle("CONF:RATE fast")
    inst.handle("CONF:RATE 1e9")
    inst.handle("*IDN? extra")
    assert inst.handle("SYSTem:ERRor:COUNt?") == b"4\n"
    assert inst.handle("SYST:ERR?;:SYST:ERR:NEXT?") == b'-113,"Undefined header";-104,"Data type error"\n'
    assert inst.handle("syst:err?") == b'-222,"Data out of range"\n'
    assert inst.handle("SYSTEM:ERROR?") == b'-108,"Parameter not allowed"\n'
    for _ in range(15):
        inst.handle("NOPE")
    codes = [inst.handle("SYST:ERR?").split(b",")[0] for _ in range(11)]
    assert codes[:9] == [b"-113"] * 9 and codes[9] == b"-350" and codes[10] == b"0"
    inst.handle("NOPE")
    inst.handle("*CLS")
    assert inst.handle("SYST:ERR:COUN?") == b"0\n"


def test_configuration_and_fetch():
    inst = make_instrument()
    assert inst.handle("*IDN?").startswith(b"RIG,SCPI-RADAR-EMU,")
    assert inst.handle("CONF:RATE 2500;CONF:RATE?") == b"2500\n"
    assert inst.handle("CONFigure:SCAN:PERiod 2.5;:CONF:SCAN:PER?") == b"2.5\n"
    assert inst.handle("*OPC?") == b"1\n"
    inst.handle("INIT")
    inst.acquire(0.2)
    count = int(inst.handle("FETC:PLOT:COUN?"))
    assert count == 501
    answer = inst.handle("FETCh:PLOTs? 100")
    data, consumed = parse_block(answer)
    assert consumed == len(answer) and len(plots_from_payload(data)) == 100
    assert int(inst.handle("FETC:PLOT:COUN?")) == count - 100
    inst.handle("*RST")
    assert inst.handle("FETC:PLOT:COUN?") == b"0\n"
    assert parse_block(inst.handle("FETC:PLOT?"))[0] == b""


# --- pyvisa-sim: the text parts, quickly -------------------------------------------------
def test_driver_text_commands_against_pyvisa_sim():
    driver = ScpiSensorDriver(SIM_RESOURCE, backend=f"{SIM_DEVICE_YAML}@sim")
    try:
        assert driver.connect().startswith("RIG,SCPI-RADAR-EMU")
        driver.configure(rate_plots_per_s=1234, scan_period_s=2.5)
        assert driver.query("CONF:RATE?") == "1234" and driver.query("CONF:SCAN:PER?") == "2.5"
        assert driver.errors() == []
        driver.write("NOT:A:COMMAND")
        assert driver.errors() == [(-113, "Undefined header")]
        with pytest.raises(TransportError, match=SIM_RESOURCE):
            driver.configure(rate_plots_per_s=1e9)
    finally:
        driver.close()


def test_an_instrument_that_is_not_the_configured_one_is_refused():
    driver = ScpiSensorDriver(SIM_RESOURCE, backend=f"{SIM_DEVICE_YAML}@sim",
                              expect_idn="KEYSIGHT,N9020B")
    with pytest.raises(TransportError, match="another instrument"):
        driver.connect()
    assert not driver.transport.is_open
    driver.close()
    same = ScpiSensorDriver(SIM_RESOURCE, backend=f"{SIM_DEVICE_YAML}@sim",
                            expect_idn="RIG,SCPI-RADAR-EMU")
    try:
        assert same.connect().startswith("RIG,SCPI-RADAR-EMU")
    finally:
        same.close()


def test_missing_resource_is_reported_with_its_name():
    driver = ScpiSensorDriver("TCPIP0::127.0.0.1::1::SOCKET", timeout_s=0.5)
    with pytest.raises(TransportError, match="TCPIP0::127.0.0.1::1::SOCKET"):
        driver.connect()
    driver.close()


# --- the real socket emulator in its own process -----------------------------------------
@pytest.fixture
def emulator():
    with EmulatorProcess(["emulate", "--family", "scpi-sensor", "--port", "0", "--rate",
                          "20000", "--duration", "30"], name="scpi sensor") as proc:
        yield proc


def read_until(driver, n, timeout_s=10.0):
    batches = []
    deadline = time.monotonic() + timeout_s
    while sum(map(len, batches)) < n and time.monotonic() < deadline:
        batches.append(driver.read_plots(timeout_s=0.2))
    return np.concatenate(batches)


def test_plots_stream_through_pyvisa_into_plot_records(emulator):
    ready = emulator.wait_ready()
    assert ready["device"] == f"TCPIP0::127.0.0.1::{ready['port']}::SOCKET"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ScpiSensorDriver(ready["device"], sensor_id=6) as driver:
            assert driver.idn.startswith("RIG,SCPI-RADAR-EMU")
            plots = read_until(driver, 10_000)
            c = driver.counters()
    assert plots.dtype == PLOT_DTYPE and len(plots) >= 10_000
    assert np.all(plots["sensor_id"] == 6)
    assert np.array_equal(plots["seq"], np.arange(len(plots)))      # nothing lost
    assert np.all(np.diff(plots["t_sensor"]) >= 0)
    assert c["bad_blocks"] == c["timeouts"] == c["seq_gaps"] == 0
    assert np.all(np.diff(plots["t_arrival_ns"]) >= 0)


def test_lying_blocks_timeouts_and_instrument_errors_are_survived(emulator):
    ready = emulator.wait_ready()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        driver = ScpiSensorDriver(ready["device"], timeout_s=0.5, error_poll_interval_s=0.1)
        driver.open()
        try:
            read_until(driver, 1000)
            for fault in ("SHORT", "LONG", "SILENT", "ERR"):
                recovered = driver.counters()["plots_ok"] + 500
                deadline = time.monotonic() + 10
                while driver.counters()["plots_ok"] < recovered and time.monotonic() < deadline:
                    driver.read_plots(timeout_s=0.2)
                driver.write(f"DIAG:FAUL {fault}")
                before = driver.counters()
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    c = driver.counters()
                    if (c["bad_blocks"] + c["timeouts"] + c["instrument_errors"]
                            > before["bad_blocks"] + before["timeouts"] + before["instrument_errors"]):
                        break
                    time.sleep(0.05)
            c = driver.counters()
            assert c["bad_blocks"] >= 1 and c["timeouts"] >= 2 and c["instrument_errors"] >= 1
            assert (-310, "System error") in driver.instrument_errors
            assert ready["device"] in str(driver.last_error)
            n_before = c["plots_ok"]
            deadline = time.monotonic() + 10
            while driver.counters()["plots_ok"] < n_before + 2000 and time.monotonic() < deadline:
                driver.read_plots(timeout_s=0.2)
            assert driver.counters()["plots_ok"] >= n_before + 2000      # it goes on
        finally:
            driver.close()
