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


def test_plots_forged_under_another_sac_sic_are_counted_never_read():
    """A sender on the radar's port with well-formed plots under SAC/SIC 99/99, and one with
    random garbage, beside the genuine radar (SAC/SIC 0/2): only the radar's plots come out."""
    import socket

    from firmware_interfaces.asterix_radar.codec import encode
    from tests.asterix_helpers import random_plots

    rng = np.random.default_rng(4)
    genuine, forged = random_plots(rng, 40), random_plots(rng, 500)
    with AsterixRadarDriver("udp://@127.0.0.1:0", sensor_id=1, site_alt_m=10.0) as radar:
        radar.set_source(0, 2, 1, 10.0)
        radar.only_named_sources()
        address = ("127.0.0.1", radar.local_address[1])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            datagrams = (encode(forged, sac=99, sic=99, site_alt_m=10.0)
                         + [rng.bytes(int(n)) for n in rng.integers(1, 400, 200)]
                         + encode(genuine, sac=0, sic=2, site_alt_m=10.0))
            for d in datagrams:
                sender.sendto(d, address)
                time.sleep(0.0002)
        batches, deadline = [], time.monotonic() + 10
        while time.monotonic() < deadline and radar.counters()["datagrams"] < len(datagrams):
            batches.append(radar.read_plots(timeout_s=0.1))
        batches.append(radar.read_plots(timeout_s=0.1))
        counters = radar.counters()
        foreign = radar.foreign_sources()
    plots = np.concatenate(batches)
    assert counters["datagrams"] == len(datagrams)
    assert len(plots) == len(genuine) and np.all(plots["sensor_id"] == 1)
    assert counters["records_foreign"] >= 500 and foreign[0] == (99, 99)


def test_allow_from_refuses_other_senders_and_counts_them():
    import socket

    from firmware_interfaces.asterix_radar.codec import encode
    from tests.asterix_helpers import random_plots

    plots = random_plots(np.random.default_rng(5), 30)
    with AsterixRadarDriver("udp://@127.0.0.1:0", sensor_id=1, allow_from=["127.0.0.2"]) as radar:
        radar.set_source(0, 2, 1, 0.0)
        address = ("127.0.0.1", radar.local_address[1])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger, \
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as allowed:
            allowed.bind(("127.0.0.2", 0))
            for d in encode(plots, sac=0, sic=2):
                stranger.sendto(d, address)             # the right SAC/SIC, the wrong host
            for d in encode(plots, sac=0, sic=2):
                allowed.sendto(d, address)
        got, deadline = [], time.monotonic() + 10
        while sum(map(len, got)) < len(plots) and time.monotonic() < deadline:
            got.append(radar.read_plots(timeout_s=0.1))
        counters = radar.counters()
    assert sum(map(len, got)) == len(plots)
    assert counters["datagrams_refused"] == len(encode(plots, sac=0, sic=2))
