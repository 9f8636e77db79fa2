"""rig export: a real run's recording as pcapng (read back here and by tshark) and as CSV."""

import datetime as dt
import os
import io
import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from pcapng import FileScanner, blocks

from rig.interchange import PICTURE_COLUMNS, picture_csv_rows
from rig.publish.codec import HdlcDecoder
from rig.record import Kind, RecordWriter, read_recording
from rig.record.export_clock import WallClock
from rig.record.export_frames import (LINKTYPE_ETHERNET, LINKTYPE_RTAC_SERIAL,
                                      LINKTYPE_WIRESHARK_UPPER_PDU, internet_checksum,
                                      rtac_serial_frame, udp_frame, upper_pdu_frame)
from rig.record.export_pcapng import PcapngExport, udp_endpoints
from rig.record.format import chunk_spans
from rig.record.reader import Record
from rig.records import PLOT_DTYPE, empty_tracks

pytestmark = pytest.mark.filterwarnings(
    "ignore:Field type should not be:DeprecationWarning")  # python-pcapng's own option table

SHORT = Path(__file__).parent / "data" / "bench" / "short.yaml"
TSHARK = shutil.which("tshark")
FEED_PORT = 8710                       # short.yaml's feed
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed (CI "
                                  "installs it: apt-get install tshark)")


def rig(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "rig", *args], capture_output=True, text=True,
                          timeout=timeout)


def read_capture(path):
    """(interfaces, packets) of a pcapng file: interfaces as dicts, packets as
    (interface, timestamp in the interface's units, bytes), in file order."""
    interfaces, packets = [], []
    with open(path, "rb") as f:
        for block in FileScanner(f):
            if isinstance(block, blocks.InterfaceDescription):
                interfaces.append({"link_type": block.link_type,
                                   "name": block.options["if_name"],
                                   "description": block.options["if_description"],
                                   "tsresol": block.options["if_tsresol"]})
            elif isinstance(block, blocks.EnhancedPacket):
                packets.append((block.interface_id,
                                (block.timestamp_high << 32) | block.timestamp_low,
                                bytes(block.packet_data)))
    return interfaces, packets


def udp_payload(frame: bytes) -> bytes:
    version = frame[14] >> 4
    return frame[14 + (20 if version == 4 else 40) + 8:]


def upper_pdu_payload(frame: bytes) -> bytes:
    pos = 0
    while True:
        tag, length = struct.unpack_from("!HH", frame, pos)
        pos += 4 + length
        if tag == 0:
            return frame[pos:]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, short_recorded_run):
    """A short real run (serial, ASTERIX/UDP and SCPI sensors, one UDP feed) recorded, and
    exported to pcapng and CSV by the command line."""
    run = short_recorded_run
    out = tmp_path_factory.mktemp("export")
    for name in ("run.rigrec", "report.json", "tracks.csv"):
        shutil.copy(run / name, out / name)
    export = rig("export", str(out / "run.rigrec"), "--pcapng", str(out / "run.pcapng"),
                 "--csv", str(out / "csv"))
    assert export.returncode == 0, export.stderr
    records, report = read_recording(out / "run.rigrec")
    assert report.clean
    return out, records, export


def raw_of(records, stream):
    return [r for r in records if r.kind == Kind.RAW and r.stream == stream]


def outputs_of(records):
    return [r for r in records if r.kind == Kind.OUTPUT]


def test_one_named_interface_per_sensor_and_feed_with_nanosecond_stamps(recorded):
    out, records, export = recorded
    interfaces, packets = read_capture(out / "run.pcapng")
    assert [i["name"] for i in interfaces] == ["sensor A1", "sensor A2", "sensor B1", "feed A"]
    assert [i["link_type"] for i in interfaces] == [
        LINKTYPE_RTAC_SERIAL, LINKTYPE_ETHERNET, LINKTYPE_WIRESHARK_UPPER_PDU, LINKTYPE_ETHERNET]
    assert interfaces[0]["description"] == "sensor A1 serial-sensor emulated"
    assert interfaces[3]["description"] == f"feed to partner A cat062 udp://127.0.0.1:{FEED_PORT}"
    assert all(i["tsresol"] == b"\x09" for i in interfaces)
    by_iface = {k: [p for p in packets if p[0] == k] for k in range(4)}
    # serial: one packet per chunk read, the bytes as read behind the RTAC header
    serial = raw_of(records, 0)
    assert len(serial) > 0 and len(by_iface[0]) == len(serial)
    assert [p[2][12:] for p in by_iface[0]] == [r.data for r in serial]
    assert all(p[2][8] == 0x02 for p in by_iface[0])           # DATA_RX_START
    # ASTERIX over UDP: one packet per datagram, as it came, on Wireshark's ASTERIX port
    asterix = raw_of(records, 1)
    assert len(asterix) > 0 and [udp_payload(p[2]) for p in by_iface[1]] == [r.data for r in asterix]
    assert {struct.unpack_from("!HH", p[2], 34) for p in by_iface[1]} == {(8600, 8600)}
    # SCPI: the instrument's answers as data
    scpi = raw_of(records, 2)
    assert [upper_pdu_payload(p[2]) for p in by_iface[2]] == [r.data for r in scpi]
    # the feed: every CAT062 datagram published, to the feed's port
    published = outputs_of(records)
    assert len(published) > 0
    assert [udp_payload(p[2]) for p in by_iface[3]] == [r.data for r in published]
    assert {struct.unpack_from("!HH", p[2], 34) for p in by_iface[3]} == {(FEED_PORT, FEED_PORT)}


def test_timestamps_are_the_recorded_stamps_in_utc_in_order(recorded):
    out, records, _ = recorded
    _, packets = read_capture(out / "run.pcapng")
    wire = [r for r in records if r.kind in (Kind.RAW, Kind.OUTPUT)]
    stamps = [r.t_ns for r in wire]
    offsets = {ts - t for (_, ts, _), t in zip(packets, stamps, strict=True)}
    assert len(offsets) == 1                     # one shift: every interval as recorded
    for k in range(4):
        times = [ts for i, ts, _ in packets if i == k]
        assert times == sorted(times)
    times = [ts for _, ts, _ in packets]
    assert max(times) - min(times) == max(stamps) - min(stamps)
    # UTC: the run started (t0) a few seconds after report.json's started_utc
    started = dt.datetime.fromisoformat(json.loads((out / "report.json").read_text())["started_utc"])
    meta = records[0].json()
    t0_utc = (meta["t0_ns"] + offsets.pop()) / 1e9
    assert 0 <= t0_utc - started.timestamp() < 30
    assert abs(t0_utc % 86400 - meta["utc_tod_at_t0_s"]) < 1e-6


@needs_tshark
def test_tshark_decodes_cat048_and_cat062_and_sees_every_stream(recorded):
    out, records, _ = recorded
    fields = subprocess.run(
        [TSHARK, "-r", str(out / "run.pcapng"), "-d", f"udp.port=={FEED_PORT},asterix",
         "-T", "fields", "-E", "separator=;", "-e", "frame.interface_name",
         "-e", "frame.time_epoch", "-e", "asterix.category", "-e", "data.len",
         "-e", "asterix.062_040_VALUE"],
        capture_output=True, text=True, check=True, timeout=120).stdout.splitlines()
    rows = [line.split(";") for line in fields]
    assert len(rows) == sum(r.kind in (Kind.RAW, Kind.OUTPUT) for r in records)
    by_name = {}
    for name, t, category, data_len, track_ids in rows:
        by_name.setdefault(name, []).append((float(t), category, data_len, track_ids))
    assert {c for _, c, _, _ in by_name["sensor A2"]} == {"48"}
    assert len(by_name["sensor A2"]) == len(raw_of(records, 1))
    assert {c for _, c, _, _ in by_name["feed A"]} == {"62"}
    assert len(by_name["feed A"]) == len(outputs_of(records))
    for name, stream in (("sensor A1", 0), ("sensor B1", 2)):
        assert len(by_name[name]) == len(raw_of(records, stream))
        assert sum(int(n or 0) for _, _, n, _ in by_name[name]) == \
            sum(len(r.data) for r in raw_of(records, stream))
    for name, rows_ in by_name.items():
        times = [t for t, *_ in rows_]
        assert times == sorted(times), name
    stamps = [r.t_ns for r in records if r.kind in (Kind.RAW, Kind.OUTPUT)]
    span = max(t for rows_ in by_name.values() for t, *_ in rows_) - \
        min(t for rows_ in by_name.values() for t, *_ in rows_)
    assert span == pytest.approx((max(stamps) - min(stamps)) / 1e9, abs=1e-5)
    # tshark's CAT062 decoder finds the very tracks, in order, that tracks.csv holds
    track_ids = [int(v, 0) for _, _, _, ids in by_name["feed A"] for v in ids.split(",") if v]
    tracks = pd.read_csv(out / "csv" / "tracks.csv")
    assert track_ids == tracks["track_id"].tolist()
    # and ASTERIX on 8600 needs no -d at all
    default = subprocess.run([TSHARK, "-r", str(out / "run.pcapng"), "-T", "fields",
                              "-e", "asterix.category"], capture_output=True, text=True,
                             check=True, timeout=120).stdout.split()
    assert default.count("48") == len(raw_of(records, 1))


def test_plots_csv_holds_every_recorded_plot_exactly(recorded):
    out, records, export = recorded
    plots = np.concatenate([np.frombuffer(r.data, PLOT_DTYPE) for r in records
                            if r.kind == Kind.PLOTS])
    assert len(plots) > 0
    df = pd.read_csv(out / "csv" / "plots.csv", dtype={"sensor_id": str})
    assert len(df) == len(plots)
    assert f"plots.csv {len(plots)} plots" in export.stdout
    for column, field in (("t", "t_sensor"), ("range_m", "range_m"), ("azimuth_rad", "az_rad"),
                          ("elevation_rad", "el_rad"), ("t_arrival_ns", "t_arrival_ns"),
                          ("seq", "seq"), ("flags", "flags"), ("sensor_index", "sensor_id")):
        assert np.array_equal(df[column].to_numpy(), plots[field]), column
    assert np.array_equal(df["range_rate_mps"].to_numpy(), plots["range_rate_mps"], equal_nan=True)
    assert np.array_equal(df["amplitude_db"].to_numpy(np.float32), plots["amplitude_db"])
    ids = np.array(["A1", "A2", "B1"])
    assert (df["sensor_id"].to_numpy() == ids[plots["sensor_id"]]).all()
    utc = pd.to_datetime(df["t_arrival_utc"]).astype("int64").to_numpy() - plots["t_arrival_ns"]
    assert len(set(utc)) == 1


def test_tracks_csv_is_a_run_s_tracks_csv_of_the_published_tracks(recorded):
    out, records, export = recorded
    exported = pd.read_csv(out / "csv" / "tracks.csv")
    live = pd.read_csv(out / "tracks.csv")
    assert list(exported.columns) == list(live.columns)
    assert len(exported) > 0 and "(published CAT062)" in export.stdout
    # each published picture matches the run's own, within CAT062's resolution
    matched = 0
    for row in exported.itertuples():
        same = live[(live["track_id"] == row.track_id) & ((live["t"] - row.t).abs() < 1 / 128)]
        if len(same):
            matched += 1
            assert abs(same["east_m"].iloc[0] - row.east_m) <= 0.5
            assert abs(same["north_m"].iloc[0] - row.north_m) <= 0.5
            assert abs(same["ve"].iloc[0] - row.ve) <= 0.25
    assert matched >= len(live) // 2 > 0


def test_tracks_records_are_written_as_tracks_csv_rows(tmp_path, rng):
    """A recording with TRACKS records: tracks.csv holds them as the run writes them."""
    pictures = []
    with RecordWriter(tmp_path / "rec", meta={"config": {"sensors": []}}, fsync=False) as w:
        for k in range(5):
            tracks = empty_tracks(int(rng.integers(0, 6)))
            tracks["track_id"] = rng.integers(1, 1000, len(tracks))
            tracks["t"] = k * 0.5
            for f in ("east", "north", "up", "v_east", "v_north", "v_up"):
                tracks[f] = rng.normal(0, 1e4, len(tracks))
            tracks["n_updates"] = rng.integers(0, 50, len(tracks))
            w.write(Kind.TRACKS, 0, 1000 + k, tracks.tobytes())
            w.write(Kind.OUTPUT, 0, 1000 + k, b"\x3e\x00\x03")      # not used: TRACKS are
            pictures.append(tracks)
    result = rig("export", str(tmp_path / "rec"), "--csv", str(tmp_path / "csv"))
    assert result.returncode == 0, result.stderr
    header = ",".join(name for name, _, _ in PICTURE_COLUMNS) + "\n"
    assert (tmp_path / "csv" / "tracks.csv").read_text() == \
        header + "".join(picture_csv_rows(p) for p in pictures)
    assert "(TRACKS records)" in result.stdout


def test_a_torn_recording_exports_what_is_intact(recorded, tmp_path):
    out, records, _ = recorded
    data = (out / "run.rigrec").read_bytes()
    torn = tmp_path / "torn.rigrec"
    torn.write_bytes(data[:int(len(data) * 0.6)])
    result = rig("export", str(torn), "--pcapng", str(tmp_path / "t.pcapng"),
                 "--csv", str(tmp_path / "csv"))
    assert result.returncode == 0, result.stderr
    assert "skipped: torn tail" in result.stderr and "cut short" in result.stderr
    kept, _ = read_recording(torn)
    _, packets = read_capture(tmp_path / "t.pcapng")
    assert 0 < len(packets) == sum(r.kind in (Kind.RAW, Kind.OUTPUT) for r in kept)


def test_a_damaged_chunk_is_skipped_and_said(recorded, tmp_path):
    out, records, _ = recorded
    data = bytearray((out / "run.rigrec").read_bytes())
    spans = chunk_spans(bytes(data))
    start, end = spans[len(spans) // 2]
    data[(start + end) // 2] ^= 0xFF
    damaged = tmp_path / "damaged.rigrec"
    damaged.write_bytes(bytes(data))
    result = rig("export", str(damaged), "--pcapng", str(tmp_path / "d.pcapng"))
    assert result.returncode == 0, result.stderr
    assert "skipped: payload CRC mismatch: damaged chunk" in result.stderr
    kept, _ = read_recording(damaged)
    _, packets = read_capture(tmp_path / "d.pcapng")
    wire = sum(r.kind in (Kind.RAW, Kind.OUTPUT) for r in records)
    assert len(packets) == sum(r.kind in (Kind.RAW, Kind.OUTPUT) for r in kept) < wire


def test_bad_input_is_a_clear_error(tmp_path):
    (tmp_path / "x").write_bytes(b"hello world, not a recording at all")
    result = rig("export", str(tmp_path / "x"), "--pcapng", str(tmp_path / "x.pcapng"))
    assert result.returncode == 2 and "not a rig recording" in result.stderr
    assert not (tmp_path / "x.pcapng").exists()
    result = rig("export", str(tmp_path / "missing"), "--csv", str(tmp_path / "c"))
    assert result.returncode == 2 and "no such recording" in result.stderr
    with RecordWriter(tmp_path / "rec", meta={}, fsync=False):
        pass
    result = rig("export", str(tmp_path / "rec"))
    assert result.returncode == 2 and "give --pcapng FILE, --csv DIR, or both" in result.stderr
    result = rig("export", str(tmp_path / "rec"), "--pcapng", str(tmp_path / "no" / "x.pcapng"))
    assert result.returncode == 2 and "does not exist" in result.stderr
    result = rig("export", str(tmp_path / "rec"), "--pcapng", str(tmp_path / "rec"))
    assert result.returncode == 2 and "is the recording itself" in result.stderr


# --- any bytes round-trip ------------------------------------------------------------------
META = {"config": {
    "sensors": [{"id": "S", "family": "serial-sensor", "transport": "/dev/ttyUSB0"},
                {"id": "U", "family": "asterix-cat048", "transport": "udp://@10.1.2.3:9000",
                 "allow_from": ["10.1.2.9"]},
                {"id": "V", "family": "scpi-sensor", "transport": "TCPIP0::10.1.2.4::5025::SOCKET"},
                {"id": "W", "family": "asterix-cat048", "transport": "udp://@[::1]:8601"}],
    "outputs": {"feeds": [{"partner": "A", "format": "cat062",
                           "transport": "udp://192.168.7.7:9101?bind=192.168.7.1:40000"},
                          {"partner": "B", "format": "cat062",
                           "transport": "/dev/ttyS1"}]}}}

payloads = st.binary(min_size=1, max_size=2000)
records_ = st.lists(st.tuples(st.sampled_from([0, 1, 2, 3, -1]), payloads,
                              st.integers(0, 2 ** 40)), max_size=30)


@settings(max_examples=60, deadline=None)
@given(records=records_)
def test_any_bytes_round_trip_through_the_capture(tmp_path_factory, records):
    path = tmp_path_factory.mktemp("rt") / "x.pcapng"
    recs = [Record(Kind.OUTPUT if s < 0 else Kind.RAW, max(s, 0), t, data)
            for s, data, t in records]
    with PcapngExport(path, META, WallClock(1_700_000_000 * 10 ** 9, "test")) as capture:
        for rec in recs:
            capture.add(rec)
    interfaces, packets = read_capture(path)
    assert len(interfaces) == 6
    expected = []
    for rec in recs:
        targets = [rec.stream] if rec.kind == Kind.RAW else [4, 5]
        expected += [(k, rec.t_ns + 1_700_000_000 * 10 ** 9, rec.data) for k in targets]
    got = []
    for k, ts, frame in packets:
        if k in (1, 3, 4):
            payload = udp_payload(frame)
        elif k == 0:
            payload = frame[12:]
        elif k == 2:
            payload = upper_pdu_payload(frame)
        else:
            assert frame[8] == 0x01                     # DATA_TX_START: sent by rig
            payload, = HdlcDecoder().feed(frame[12:])
        got.append((k, ts, payload))
    assert got == expected
    for k, _, frame in packets:
        if k in (1, 4):                                 # IPv4: header and UDP checksums hold
            assert internet_checksum(frame[14:34]) == 0
    endpoints = {k: frame[26:34] for k, _, frame in packets if k in (1, 4)}
    if 1 in endpoints:                                  # from the believed sender
        assert endpoints[1] == bytes([10, 1, 2, 9, 10, 1, 2, 3])
    if 4 in endpoints:                                  # from the feed's bind address
        assert endpoints[4] == bytes([192, 168, 7, 1, 192, 168, 7, 7])


@settings(max_examples=200, deadline=None)
@given(payload=st.binary(max_size=65507), v6=st.booleans())
def test_udp_frames_carry_any_datagram_with_valid_checksums(payload, v6):
    src, dst = (("::1", 1234), ("2001:db8::1", 8600)) if v6 else (("10.0.0.1", 1234),
                                                                  ("10.0.0.2", 8600))
    frame = udp_frame(payload, src, dst)
    assert udp_payload(frame) == payload
    ip_len = 40 if v6 else 20
    udp = frame[14 + ip_len:]
    if v6:
        pseudo = frame[22:54] + struct.pack("!I3xB", len(udp), 17)
    else:
        assert internet_checksum(frame[14:34]) == 0
        pseudo = frame[26:34] + struct.pack("!BBH", 0, 17, len(udp))
    assert internet_checksum(pseudo + udp) == 0


@given(payload=st.binary(max_size=4096), t=st.integers(0, 2 ** 62), sent=st.booleans())
def test_stream_frames_carry_any_bytes(payload, t, sent):
    frame = rtac_serial_frame(payload, t, sent=sent)
    assert frame[12:] == payload and frame[8] == (1 if sent else 2)
    assert upper_pdu_payload(upper_pdu_frame(payload, protocol="scpi-sensor")) == payload


def test_udp_endpoints_come_from_the_transport_url():
    assert udp_endpoints("udp://@127.0.0.1:9000", received=True) == \
        (("127.0.0.1", 9000), ("127.0.0.1", 9000))
    assert udp_endpoints("udp://@0.0.0.0:9000", received=True, sender="10.0.0.5") == \
        (("10.0.0.5", 9000), ("0.0.0.0", 9000))
    assert udp_endpoints("udp://10.0.0.7:9101?bind=10.0.0.1:5000", received=False) == \
        (("10.0.0.1", 5000), ("10.0.0.7", 9101))
    assert udp_endpoints("emulated", received=True) == (("127.0.0.1", 8600), ("127.0.0.1", 8600))
    assert udp_endpoints("emulated", received=True, default_port=50000) == \
        (("127.0.0.1", 50000), ("127.0.0.1", 50000))
    assert udp_endpoints("udp://[::1]:9101", received=False) == (("::1", 9101), ("::1", 9101))


def test_emulated_udp_sensors_show_on_asterix_s_port_only_when_they_send_asterix():
    """CAT048 plots and a partner's CAT062 tracks on 8600 (Wireshark decodes them as ASTERIX),
    an ESM sensor's bearings elsewhere (Wireshark leaves them as data)."""
    from rig.record.export_pcapng import sensor_interfaces

    meta = {"config": {"sensors": [{"id": i, "family": f, "transport": "emulated"} for i, f in
                                   (("A2", "asterix-cat048"), ("AP1", "esm-sensor"),
                                    ("C1", "cat062-tracks"))]}}
    ports = {}
    for interface in sensor_interfaces(meta):
        (frame,) = interface.frames(b"payload", 0)
        assert frame[12:14] == b"\x08\x00" and frame[23] == 17        # IPv4, UDP
        ports[interface.name] = int.from_bytes(frame[36:38], "big")     # destination port
    assert ports == {"sensor A2": 8600, "sensor AP1": 50000, "sensor C1": 8600}


def test_progress_draws_on_a_terminal_only(monkeypatch):
    from rich.console import Console

    from rig.commands import export

    monkeypatch.setattr(export, "PROGRESS_AFTER_S", 0.0)
    screen = io.StringIO()
    progress = export._Progress(1000, console=Console(file=screen, force_terminal=True))
    progress(500)
    progress.close()
    assert "exporting" in screen.getvalue()
    plain = io.StringIO()
    progress = export._Progress(1000, console=Console(file=plain, force_terminal=False))
    progress(500)
    progress.close()
    assert plain.getvalue() == "" and progress.done == 500


def test_the_wall_clock_is_the_recorded_utc_start_or_else_the_files_date(tmp_path):
    from rig.record.export_clock import recording_clock

    f = tmp_path / "r.rigrec"
    f.write_bytes(b"")
    t0_ns = 5_000_000_000
    utc = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.timezone.utc).timestamp()
    exact = recording_clock({"t0_ns": t0_ns, "utc_tod_at_t0_s": utc % 86400,
                             "utc_at_t0_s": utc}, [f])
    assert exact.utc_ns(t0_ns) == round(utc * 1e9)
    os.utime(f, (utc + 3600, utc + 3600))            # written an hour after the start
    dated = recording_clock({"t0_ns": t0_ns, "utc_tod_at_t0_s": utc % 86400}, [f])
    assert dated.utc_ns(t0_ns) == round(utc * 1e9)
    assert recording_clock({}, [f]).utc_ns(t0_ns) == t0_ns
