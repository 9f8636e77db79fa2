"""A radar family that lives outside rig: plots as text lines in UDP datagrams.

Each datagram holds lines ``t_sensor range_m az_rad el_rad``. Everything rig needs of the
family is :data:`INTERFACE`, found through the ``rig.firmware_interfaces`` entry point.
"""

from __future__ import annotations

import signal
import threading
import time

import numpy as np

from firmware_interfaces.sensor_driver import TransportDriver
from rig.emulation import Pacer
from rig.errors import TransportError, UsageError
from rig.firmware import FirmwareInterface
from rig.records import empty_plots
from rig.transport.udp import UdpTransport


def parse(data: bytes, sensor_id: int, t_arrival_ns: int) -> np.ndarray:
    rows = [line.split() for line in data.decode("ascii", "replace").splitlines()]
    rows = [r for r in rows if len(r) == 4]
    plots = empty_plots(len(rows))
    if rows:
        values = np.array(rows, dtype=float)
        plots["t_sensor"], plots["range_m"] = values[:, 0], values[:, 1]
        plots["az_rad"], plots["el_rad"] = values[:, 2], values[:, 3]
    plots["range_rate_mps"] = np.nan
    plots["sensor_id"] = sensor_id
    plots["t_arrival_ns"] = t_arrival_ns
    return plots


class TextDecoder:
    def __init__(self, sensor_id: int):
        self.sensor_id = sensor_id
        self.plots = 0

    def feed(self, data: bytes, t_arrival_ns: int) -> np.ndarray:
        plots = parse(data, self.sensor_id, t_arrival_ns)
        self.plots += len(plots)
        return plots

    def reset(self) -> None:
        pass

    def counters(self) -> dict:
        return {"plots_ok": self.plots}


class TextRadarDriver(TransportDriver):
    def __init__(self, url: str, sensor_id: int):
        super().__init__(f"text-radar-{url}")
        self.transport = UdpTransport(url)
        self.decoder = TextDecoder(sensor_id)

    def _read_once(self):
        data, t_ns = self.transport.read_chunk(0.1)
        if data:
            if self._tap is not None:
                self._tap(t_ns, data)
            self._queue_plots(self.decoder.feed(data, t_ns))

    def counters(self) -> dict:
        return {**self.decoder.counters(), **super().counters()}


def run_emulator(run, options) -> int:
    source, clock, emit = run.source, run.clock, run.emit
    if not run.port.startswith("udp://"):
        raise UsageError("--port: the text radar sends to udp://HOST:PORT")
    transport = UdpTransport(run.port)
    transport.open()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    emit({"event": "ready", "device": run.port, "family": "text-radar"})
    start_ns = run.start_at_ns or time.monotonic_ns()
    end_ns = start_ns + round(run.duration_s * 1e9)
    pacer = Pacer(0.05, start_ns=start_ns)
    sent = 0
    while not stop.is_set() and time.monotonic_ns() < end_ns:
        time.sleep(max(0.0, pacer.remaining_s(time.monotonic_ns())))
        if not pacer.due():
            continue
        plots = source.take_until((time.monotonic_ns() - start_ns) * 1e-9)
        if len(plots):
            columns = (clock.sensor_time(plots["t_sensor"]), plots["range_m"], plots["az_rad"],
                       plots["el_rad"])
            text = "".join("%r %r %r %r\n" % row for row in zip(*(c.tolist() for c in columns)))
            try:
                transport.write(text.encode("ascii"))
                sent += len(plots)
            except TransportError:
                pass
    transport.close()
    emit({"event": "done", "plots_sent": sent})
    return 0


class TextRadarFamily(FirmwareInterface):
    name = "text-radar"
    description = "plots as text lines over UDP (a family outside rig)"
    transport = "udp"
    emulator_runner = "rig_text_radar:run_emulator"

    def open_early(self, sensor, tap):
        url = "udp://@127.0.0.1:0" if sensor.entry.emulated else sensor.entry.transport
        return self.opened(TextRadarDriver(url, sensor.index), tap)

    def emulator_args(self, sensor, run_dir, early_driver):
        return ["--port", f"udp://127.0.0.1:{early_driver.transport.local_address[1]}"]

    def replay_decoder(self, info):
        return TextDecoder(info["index"])


INTERFACE = TextRadarFamily()
