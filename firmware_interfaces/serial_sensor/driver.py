"""Host side of the serial sensor protocol: open a port, read plots in the background.

>>> with SerialSensorDriver("/dev/ttyUSB0", sensor_id=0) as sensor:
...     plots = sensor.read_plots(timeout_s=1.0)   # numpy array of rig.records.PLOT_DTYPE

A background thread reads whatever the port has (select + one read, both releasing the GIL),
stamps the arrival time right at the read, and feeds the compiled decoder, whose inner loop
also runs without the GIL. Decoded plots wait in a bounded queue; when the consumer falls
behind, the oldest batches are dropped and counted. If the port goes away the thread reports
it, reopens with exponential backoff and, if streaming was on, starts it again.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Callable

from rig.errors import RigError, TransportError, TransportTimeoutError
from rig.transport import Transport, make_transport

from ..sensor_driver import TransportDriver
from . import protocol as P
from .codec import SerialFrameDecoder, encode_frame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimeSync:
    """One PING/TIME_ECHO exchange."""

    offset_ns: int      # sensor clock minus host monotonic clock, mid-round-trip estimate
    rtt_ns: int         # round trip, host clock


class SerialSensorDriver(TransportDriver):
    """Driver for one sensor speaking the rig serial protocol on ``url``.

    ``url`` is a :class:`rig.transport.Transport`, or the URL of one
    (:func:`rig.transport.make_transport`): anything pyserial opens (``/dev/ttyUSB0``,
    ``/dev/pts/5``, ``loop://``, ``socket://127.0.0.1:7000``), ``udp://``, ``spy+`` any of
    them. ``sensor_id`` is stamped on every plot. The line settings (``baudrate``,
    ``bytesize``, ``parity``, ``stopbits``, ``flow_control``) are pyserial's.
    """

    def __init__(self, url: str | Transport, *, sensor_id: int = 0, baudrate: int = 921600,
                 bytesize: int = 8, parity: str = "N", stopbits: float = 1,
                 flow_control: str = "none",
                 queue_batches: int = 4096, reply_timeout_s: float = 1.0,
                 reconnect: bool = True, reconnect_max_s: float = 5.0,
                 decoder_factory: Callable[..., object] = SerialFrameDecoder):
        transport = (url if isinstance(url, Transport)
                     else make_transport(url, kind="serial", baudrate=baudrate,
                                         bytesize=bytesize, parity=parity, stopbits=stopbits,
                                         flow_control=flow_control))
        super().__init__(f"serial-{transport.url}", queue_batches=queue_batches,
                         reconnect=reconnect, backoff_max_s=reconnect_max_s)
        self.url = transport.url
        self.sensor_id = sensor_id
        self.reply_timeout_s = reply_timeout_s
        self.transport = transport
        self.decoder = decoder_factory(sensor_id=sensor_id)
        self._write_lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._pending: dict[tuple, Future] = {}
        self._tx_seq = 0
        self._want_streaming = False
        self.last_status: P.Status | None = None
        self.t_last_arrival_ns = 0
        self.chunks_read = 0
        self.unexpected_messages = 0

    # --- life cycle --------------------------------------------------------------------
    def open(self, *, start: bool = True) -> "SerialSensorDriver":
        """Open the port and start the reader; with ``start``, tell the sensor to stream."""
        super().open()
        if start:
            try:
                self.start_streaming()
            except BaseException:
                self.close()
                raise
        return self

    def close(self) -> None:
        super().close()
        self._fail_pending(TransportError(f"{self.url}: closed"))

    def _after_reconnect(self) -> None:
        self.decoder.reset()
        if self._tap is not None:
            self._tap(time.monotonic_ns(), None)
        if self._want_streaming:
            self._send(P.MSG_START)

    def _on_fault(self, error: BaseException) -> bool:
        self._fail_pending(error)
        return True

    def _on_failed(self, error: BaseException) -> None:
        self._fail_pending(RigError(f"{self.url}: reader failed: {error}"))

    # --- plots ---------------------------------------------------------------------------
    def counters(self) -> dict[str, int]:
        """Decoder counters plus the reader's own."""
        c = self.decoder.counters()
        c.update(super().counters(), chunks_read=self.chunks_read,
                 unexpected_messages=self.unexpected_messages)
        return c

    # --- control -------------------------------------------------------------------------
    def start_streaming(self) -> None:
        self._want_streaming = True
        self._command(P.MSG_START)

    def stop_streaming(self) -> None:
        self._want_streaming = False
        self._command(P.MSG_STOP)

    def set_scan_period(self, period_s: float) -> None:
        period_us = round(period_s * 1e6)
        if not P.SCAN_PERIOD_MIN_US <= period_us <= P.SCAN_PERIOD_MAX_US:
            raise ValueError(f"scan period {period_s} s is outside "
                             f"{P.SCAN_PERIOD_MIN_US / 1e6} .. {P.SCAN_PERIOD_MAX_US / 1e6} s")
        self._command(P.MSG_SET_SCAN_PERIOD, P.SCAN_PERIOD.pack(period_us))

    def get_status(self) -> P.Status:
        future = self._expect(("status",))
        self._send(P.MSG_GET_STATUS)
        return self._wait(future, "STATUS")

    def ping(self) -> TimeSync:
        """One time-sync exchange: the sensor clock's offset from the host's monotonic clock."""
        t_tx = time.monotonic_ns()
        future = self._expect(("echo", t_tx))
        self._send(P.MSG_PING, P.PING.pack(t_tx))
        device_rx_ns, t_rx = self._wait(future, "TIME_ECHO")
        return TimeSync(offset_ns=device_rx_ns - (t_tx + t_rx) // 2, rtt_ns=t_rx - t_tx)

    def _command(self, msg_type: int, payload: bytes = b"") -> None:
        seq = self._next_seq()
        future = self._expect(("ack", seq))
        self._send(msg_type, payload, seq)
        result = self._wait(future, f"ACK of {P.MESSAGE_NAMES[msg_type]}")
        if result != P.ACK_OK:
            raise TransportError(f"{self.url}: sensor refused {P.MESSAGE_NAMES[msg_type]} "
                                 f"(result {result})")

    def _next_seq(self) -> int:
        with self._write_lock:
            seq = self._tx_seq
            self._tx_seq = (self._tx_seq + 1) & 0xFFFFFFFF
            return seq

    def _send(self, msg_type: int, payload: bytes = b"", seq: int | None = None) -> None:
        if seq is None:
            seq = self._next_seq()
        frame = encode_frame(msg_type, seq, time.monotonic_ns(), payload)
        with self._write_lock:
            self.transport.write(frame)

    def _expect(self, key: tuple) -> Future:
        future: Future = Future()
        with self._pending_lock:
            self._pending[key] = future
        return future

    def _wait(self, future: Future, what: str):
        try:
            return future.result(timeout=self.reply_timeout_s)
        except FutureTimeout:
            raise TransportTimeoutError(
                f"{self.url}: no {what} from the sensor within {self.reply_timeout_s} s") from None
        finally:
            with self._pending_lock:
                for key, f in list(self._pending.items()):
                    if f is future:
                        del self._pending[key]

    def _resolve(self, key: tuple, value) -> bool:
        with self._pending_lock:
            future = self._pending.pop(key, None)
        if future is None:
            return False
        future.set_result(value)
        return True

    def _fail_pending(self, error: BaseException) -> None:
        with self._pending_lock:
            pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(error)

    # --- reader thread -------------------------------------------------------------------
    def _read_once(self) -> None:
        data, t_arrival_ns = self.transport.read_chunk(0.1)
        if not data:
            return
        self.chunks_read += 1
        self.t_last_arrival_ns = t_arrival_ns
        if self._tap is not None:
            self._tap(t_arrival_ns, data)
        self._queue_plots(self.decoder.feed(data, t_arrival_ns))
        for msg_type, seq, t_sensor_ns, payload in self.decoder.messages():
            self._handle_message(msg_type, t_sensor_ns, payload, t_arrival_ns)

    def _handle_message(self, msg_type: int, t_sensor_ns: int, payload: bytes,
                        t_arrival_ns: int) -> None:
        try:
            if msg_type == P.MSG_ACK:
                acked_type, result, _, acked_seq = P.ACK.unpack(payload)
                if self._resolve(("ack", acked_seq), result):
                    return
            elif msg_type == P.MSG_STATUS:
                self.last_status = P.Status.unpack(payload)
                self._resolve(("status",), self.last_status)
                return
            elif msg_type == P.MSG_TIME_ECHO:
                host_t_ns, device_rx_ns = P.TIME_ECHO.unpack(payload)
                if self._resolve(("echo", host_t_ns), (device_rx_ns, t_arrival_ns)):
                    return
        except struct.error:  # a payload of the wrong size
            pass
        self.unexpected_messages += 1
