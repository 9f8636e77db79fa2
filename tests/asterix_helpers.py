"""Helpers of the ASTERIX tests: test data, and capturing our datagrams with tshark."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

from rig.records import empty_plots, empty_tracks
from rig.records_asterix import CAT048_ITEMS_DTYPE

TSHARK = shutil.which("tshark")


def random_plots(rng: np.random.Generator, n: int, t0: float = 40_000.0) -> np.ndarray:
    """Plots CAT048 carries: ranges to 400 km, heights within I048/110's range."""
    plots = empty_plots(n)
    plots["t_sensor"] = np.sort(t0 + rng.uniform(0.0, 10.0, n))
    plots["range_m"] = rng.uniform(500.0, 400_000.0, n)
    plots["az_rad"] = rng.uniform(0.0, 2 * np.pi, n)
    plots["el_rad"] = rng.uniform(-0.01, 0.12, n)
    rr = rng.normal(0.0, 200.0, n)
    rr[rng.random(n) < 0.3] = np.nan
    plots["range_rate_mps"] = rr
    amp = rng.uniform(-60.0, 90.0, n).astype(np.float32)
    amp[rng.random(n) < 0.1] = np.nan
    plots["amplitude_db"] = amp
    plots["flags"] = rng.integers(0, 4, n)
    return plots


def random_items(rng: np.random.Generator, n: int) -> np.ndarray:
    items = np.zeros(n, CAT048_ITEMS_DTYPE)
    items["present"] = rng.integers(0, 0x40, n)
    items["mode3a"] = rng.integers(0, 0o10000, n)
    items["mode3a_flags"] = rng.integers(0, 8, n)
    items["flight_level"] = np.round(rng.uniform(-10, 600, n) * 4) / 4
    items["fl_flags"] = rng.integers(0, 4, n)
    items["aircraft_address"] = rng.integers(0, 2**24, n)
    letters = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ", np.uint8)
    items["callsign"] = [bytes(rng.choice(letters, 8)) for _ in range(n)]
    items["ground_speed_mps"] = rng.uniform(0, 700, n)
    items["heading_rad"] = rng.uniform(0, 2 * np.pi, n)
    return items


def random_tracks(rng: np.random.Generator, n: int, t: float = 50_000.0) -> np.ndarray:
    tracks = empty_tracks(n)
    tracks["track_id"] = rng.permutation(60_000)[:n]
    tracks["status"] = rng.integers(0, 4, n)
    tracks["t"] = t
    tracks["east"] = rng.uniform(-400e3, 400e3, n)
    tracks["north"] = rng.uniform(-400e3, 400e3, n)
    tracks["up"] = rng.uniform(-100.0, 15_000.0, n)
    tracks["v_east"] = rng.normal(0, 200, n)
    tracks["v_north"] = rng.normal(0, 200, n)
    tracks["v_up"] = rng.normal(0, 15, n)
    tracks["partners"] = rng.integers(0, 2**5, n)
    for i in range(5):
        updated = (tracks["partners"] >> i) & 1 == 1
        tracks["partner_t_last"][updated, i] = t - rng.uniform(0, 20, updated.sum())
    return tracks


# --- compiled codec and twin side by side --------------------------------------------------
def assert_same_rows(a: np.ndarray, b: np.ndarray, atol: float = 0.0) -> None:
    """Two record arrays hold the same values, field by field: bit for bit (``atol`` 0), or
    floats within ``atol`` (NaN where NaN); padding is not compared."""
    assert a.dtype == b.dtype and len(a) == len(b)
    for name in a.dtype.names:
        x, y = np.ascontiguousarray(a[name]), np.ascontiguousarray(b[name])
        if atol and x.dtype.kind == "f":
            np.testing.assert_allclose(x, y, rtol=0, atol=atol, err_msg=name)
        else:
            assert x.tobytes() == y.tobytes(), name


def outcome(call):
    """What ``call()`` gives: ``("ok", result)`` or ``("raises", type, message, index)``."""
    try:
        return "ok", call()
    except Exception as e:                     # noqa: BLE001 - the comparison is the test
        return "raises", type(e), str(e), getattr(e, "index", None)


def _item(draw, fmt: tuple) -> bytes:
    """Random content of one item in format ``fmt`` (rig.asterix_reference), valid in length."""
    kind = fmt[0]
    if kind == "fixed":
        return draw(st.binary(min_size=fmt[1], max_size=fmt[1]))
    if kind == "extended":
        n = draw(st.integers(1, 5))
        groups = [bytearray(draw(st.binary(min_size=fmt[1], max_size=fmt[1]))) for _ in range(n)]
        for i, group in enumerate(groups):
            group[-1] = group[-1] | 1 if i < n - 1 else group[-1] & 0xFE
        return b"".join(groups)
    if kind == "repetitive":
        rep = draw(st.integers(0, 3))
        return bytes([rep]) + draw(st.binary(min_size=rep * fmt[1], max_size=rep * fmt[1]))
    if kind == "explicit":
        n = draw(st.integers(1, 12))
        return bytes([n]) + draw(st.binary(min_size=n - 1, max_size=n - 1))
    subfields = fmt[1]
    defined = [i for i, f in enumerate(subfields) if f is not None]
    slots = sorted(draw(st.sets(st.sampled_from(defined), max_size=4)))
    octets = slots[-1] // 7 + 1 if slots else draw(st.integers(1, 2))
    primary = bytearray(octets)
    for slot in slots:
        primary[slot // 7] |= 0x80 >> (slot % 7)
    for i in range(octets - 1):
        primary[i] |= 1
    return bytes(primary) + b"".join(_item(draw, subfields[slot]) for slot in slots)


@st.composite
def uap_records(draw, uap: dict, mandatory: set, special: dict | None = None) -> bytes:
    """One record laid out by ``uap`` with random content in every item: any FRNs, mostly with
    the ``mandatory`` ones; ``special`` maps an FRN to a strategy for its item."""
    frns = draw(st.sets(st.sampled_from(sorted(uap)), min_size=1, max_size=8))
    if draw(st.integers(0, 9)):
        frns |= mandatory
    items = {frn: draw(special[frn]) if special and frn in special else _item(draw, uap[frn][1])
             for frn in frns}
    fspec = bytearray((max(items) - 1) // 7 + 1)
    for frn in items:
        fspec[(frn - 1) // 7] |= 0x80 >> ((frn - 1) % 7)
    for i in range(len(fspec) - 1):
        fspec[i] |= 1
    return bytes(fspec) + b"".join(items[frn] for frn in sorted(items))


@st.composite
def uap_datagrams(draw, category: int, uap: dict, mandatory: set,
                  special: dict | None = None) -> bytes:
    """Data blocks of such records (now and then of another category), now and then with one
    bit flipped."""
    blocks = []
    for _ in range(draw(st.integers(1, 3))):
        body = b"".join(draw(st.lists(uap_records(uap, mandatory, special), min_size=1,
                                      max_size=4)))
        cat = draw(st.sampled_from([category, category, category, 1]))
        blocks.append(bytes([cat]) + (len(body) + 3).to_bytes(2, "big") + body)
    data = bytearray(b"".join(blocks))
    if draw(st.booleans()):
        data[draw(st.integers(0, len(data) - 1))] ^= 1 << draw(st.integers(0, 7))
    return bytes(data)


# --- tshark ------------------------------------------------------------------------------
@dataclass
class Block:
    category: int
    length: int
    pos: int                                   # offset of the block in the UDP payload
    records: list[dict] = field(default_factory=list)   # field name -> [show, ...]; plus "_size", "_pos"


@dataclass
class Packet:
    payload: bytes
    blocks: list[Block]
    malformed: bool
    expert: list[str]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Capture:
    """tshark capturing UDP to one loopback port; use as a context manager.

    Starts tshark, waits until it reports the capture running (its own message on stderr,
    not a sleep), and after :meth:`stop` decodes the file as PDML with ``-d udp.port==N,asterix``.
    """

    def __init__(self, port: int, tmp_path: Path, expected_packets: int, timeout_s: float = 20.0):
        self.port = port
        self.file = tmp_path / f"capture-{port}.pcapng"
        self.expected = expected_packets
        self.timeout_s = timeout_s
        self._started = threading.Event()
        self._stderr: list[str] = []
        self.proc = subprocess.Popen(
            [TSHARK, "-i", "lo", "-f", f"udp dst port {port} and host 127.0.0.1",
             "-c", str(expected_packets), "-w", str(self.file), "-a", f"duration:{int(timeout_s)}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._watch, daemon=True).start()
        if not self._started.wait(timeout_s):
            self.proc.kill()
            raise RuntimeError("tshark did not start capturing: " + " | ".join(self._stderr))

    def _watch(self) -> None:
        for line in self.proc.stderr:
            self._stderr.append(line.strip())
            if "Capture started" in line:
                self._started.set()
        self._started.set()

    def wait(self) -> None:
        try:
            self.proc.wait(self.timeout_s + 5)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait(5)

    def __enter__(self) -> "Capture":
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)

    def packets(self) -> list[Packet]:
        self.wait()
        decode = [TSHARK, "-r", str(self.file), "-d", f"udp.port=={self.port},asterix"]
        pdml = subprocess.run(decode + ["-T", "pdml"], capture_output=True, check=True,
                              timeout=120).stdout
        hex_payloads = subprocess.run(decode + ["-T", "fields", "-e", "udp.payload"],
                                      capture_output=True, check=True, text=True,
                                      timeout=120).stdout.split()
        return parse_pdml(pdml, [bytes.fromhex(h) for h in hex_payloads])


def _fields(element, into: dict, data_start: int) -> None:
    """Every field below ``element``: name -> [show, ...], and name@pos (offset in the UDP
    payload), name@size."""
    for f in element.findall("field"):
        name = f.get("name")
        into.setdefault(name, []).append(f.get("show"))
        into.setdefault(name + "@pos", []).append(int(f.get("pos") or 0) - data_start)
        into.setdefault(name + "@size", []).append(int(f.get("size") or 0))
        _fields(f, into, data_start)


def parse_pdml(xml: bytes, payloads: list[bytes]) -> list[Packet]:
    """Packets of a PDML document; ``payloads`` are the UDP payloads in the same order."""
    packets = []
    for pkt, payload in zip(ET.fromstring(xml).findall("packet"), payloads, strict=True):
        data_start = int(pkt.find("proto[@name='udp']").get("pos")) + 8
        blocks = []
        for proto in pkt.findall("proto[@name='asterix']"):
            cat = proto.find("field[@name='asterix.category']")
            length = proto.find("field[@name='asterix.length']")
            block = Block(int(cat.get("show")), int(length.get("show")),
                          int(proto.get("pos")) - data_start)
            for msg in proto.findall("field[@name='asterix.message']"):
                fields = {"_size": int(msg.get("size")), "_pos": int(msg.get("pos")) - data_start}
                _fields(msg, fields, data_start)
                block.records.append(fields)
            blocks.append(block)
        malformed = pkt.find(".//proto[@name='_ws.malformed']") is not None
        expert = [f.get("showname") for f in pkt.iter("field")
                  if f.get("name", "").startswith("_ws.expert") and f.get("showname")]
        packets.append(Packet(payload, blocks, malformed, expert))
    return packets


def send_datagrams(port: int, datagrams: list[bytes]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for d in datagrams:
            s.sendto(d, ("127.0.0.1", port))
