"""End to end: `rig emulate --family asterix-cat048` as a real subprocess, read by the driver."""

import time

import numpy as np
import pytest

from firmware_interfaces.asterix_radar import AsterixRadarDriver
from rig.emulation.process import EmulatorProcess
from rig.errors import UsageError
from rig.firmware import get_interface
from rig.transport import UdpTransport, open_transport
from rig.transport.udp import parse_udp_url

#: CI runs this file again on the pure-Python twins (RIG_PUREPYTHON=1)
pytestmark = pytest.mark.twins

RATE = 20_000
DURATION_S = 2.0


def test_every_plot_sent_over_udp_is_decoded():
    with AsterixRadarDriver("udp://@127.0.0.1:0", sensor_id=3, site_alt_m=55.0) as radar:
        port = radar.local_address[1]
        args = ["emulate", "--family", "asterix-cat048", "--port", f"udp://127.0.0.1:{port}",
                "--rate", str(RATE), "--duration", str(DURATION_S), "--sac", "9", "--sic", "4",
                "--site-alt", "55"]
        with EmulatorProcess(args, name="cat048 radar") as proc:
            ready = proc.wait_ready()
            assert ready["family"] == "asterix-cat048" and ready["source"].startswith("udp://127.0.0.1:")
            batches = []
            deadline = time.monotonic() + DURATION_S + 20
            summary = None
            while time.monotonic() < deadline:
                batches.append(radar.read_plots(timeout_s=0.2))
                summary = summary or proc.summary
                if summary and sum(map(len, batches)) >= summary["plots_sent"]:
                    break
        counters = radar.counters()
    plots = np.concatenate(batches)
    assert summary is not None and summary["send_errors"] == 0
    assert summary["plots_sent"] >= 0.9 * RATE * DURATION_S
    assert len(plots) == summary["plots_sent"]
    assert counters["datagrams"] == summary["datagrams_sent"]
    assert counters["records_bad"] == counters["bytes_skipped"] == 0
    assert np.all(plots["sensor_id"] == 3)
    assert np.isfinite(plots["el_rad"]).all() and (plots["el_rad"] > -0.01).all()
    assert np.all(plots["t_arrival_ns"] > 0)


def test_families_are_registered():
    assert get_interface("asterix-cat048").transport == "udp"
    assert get_interface("scpi-sensor").transport == "visa"


def test_udp_urls():
    assert parse_udp_url("udp://127.0.0.1:8600") == (False, ("127.0.0.1", 8600), None)
    assert parse_udp_url("udp://@:8600") == (True, ("127.0.0.1", 8600), None)
    assert parse_udp_url("udp://[::1]:9?bind=127.0.0.1:5") == (False, ("::1", 9), ("127.0.0.1", 5))
    for bad in ("udp://nohost", "udp://1.2.3.4:x", "tcp://a:1"):
        with pytest.raises(UsageError):
            parse_udp_url(bad)
    t = open_transport("udp://@127.0.0.1:0")
    assert isinstance(t, UdpTransport)
    data, t_ns = t.read_chunk(0.01)
    assert data == b"" and t_ns > 0
    t.close()


def test_emulate_rejects_a_listening_url():
    from rig.cli import main

    assert main(["emulate", "--family", "asterix-cat048", "--port", "udp://@127.0.0.1:0",
                 "--duration", "0.1"]) == 2
