"""Host side of the SCPI sensor: pyvisa, polling plots as binary blocks in the background.

>>> with ScpiSensorDriver("TCPIP0::127.0.0.1::5025::SOCKET", sensor_id=2) as sensor:
...     plots = sensor.read_plots(timeout_s=1.0)   # numpy array of rig.records.PLOT_DTYPE

The session is a :class:`rig.transport.MessageTransport`: a VISA resource string gives a
:class:`rig.transport.visa.VisaTransport` (the pyvisa-py backend ``@py`` by default, so no
vendor VISA is needed; ``backend=""`` for the system's VISA, or a pyvisa-sim YAML ``path@sim``
for the text-only parts), ``spy+RESOURCE`` logs its traffic, and a test may hand in any other.
Any resource string works on a real bench (``TCPIP0::10.0.0.7::5025::SOCKET``,
``TCPIP0::host::inst0::INSTR``, ``USB0::...``, ``ASRL/dev/ttyUSB0::INSTR``).

A background thread sends ``FETCh:PLOTs? <max>`` every ``poll_interval_s`` and reads the
answer exactly as its block header announces it: ``#`` and the digit count, the length digits,
then that many octets, then the terminator, stamping ``time.monotonic_ns()`` when the block has
been read. Plots go through a bounded queue like the other drivers'. Every
``error_poll_interval_s`` it drains ``SYSTem:ERRor?``. Whatever goes wrong (a timeout, a
header that lies about its length, an error in the instrument's queue, a lost connection) is
counted, logged with the resource name and kept in :attr:`last_error`; the thread clears the
input, retries with exponential backoff, reopens the session after repeated failures, and never
stops the rest of the rig.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np

from rig.errors import CodecError, TransportError, TransportTimeoutError
from rig.transport import MessageTransport, make_transport

from ..sensor_driver import DriverState, SensorDriver
from . import protocol as P
from .blocks import parse_header, plots_from_payload

log = logging.getLogger(__name__)


class ScpiSensorDriver(SensorDriver):
    """Driver for one SCPI radar sensor at VISA resource ``resource`` (or on a
    :class:`rig.transport.MessageTransport`)."""

    faults = (TransportError, CodecError)

    def __init__(self, resource: str | MessageTransport, *, backend: str = "@py",
                 sensor_id: int = 0,
                 timeout_s: float = 2.0, poll_interval_s: float = 0.02,
                 error_poll_interval_s: float = 1.0, max_plots_per_fetch: int = 4096,
                 queue_batches: int = 4096, reopen_after_failures: int = 3,
                 backoff_max_s: float = 2.0, expect_idn: str | None = None,
                 read_termination: str = P.TERMINATION,
                 write_termination: str = P.TERMINATION):
        self.transport = (resource if isinstance(resource, MessageTransport) else
                          make_transport(resource, kind="visa", backend=backend,
                                         timeout_s=timeout_s,
                                         read_termination=read_termination,
                                         write_termination=write_termination))
        self.read_termination = read_termination.encode("latin-1")
        self.resource = self.transport.url
        super().__init__(f"scpi-{self.resource}", queue_batches=queue_batches,
                         backoff_max_s=backoff_max_s, join_timeout_s=timeout_s + 5.0)
        self.sensor_id = sensor_id
        self.timeout_s = timeout_s
        self.poll_interval_s = poll_interval_s
        self.error_poll_interval_s = error_poll_interval_s
        self.max_plots_per_fetch = max_plots_per_fetch
        self.reopen_after_failures = reopen_after_failures
        self._lock = threading.Lock()
        self._want_running = False
        self._failures = 0                  # faults in a row on the live session
        self._next_error_poll = 0.0
        self.idn: str | None = None
        self.expect_idn = expect_idn
        self.instrument_errors: list[tuple[int, str]] = []
        self.counts = dict(fetches=0, plots_ok=0, bad_blocks=0, timeouts=0, io_errors=0,
                           instrument_errors=0, seq_gaps=0)
        self._next_seq: int | None = None

    # --- session -------------------------------------------------------------------------
    def connect(self) -> str:
        """Open the session and identify the instrument; returns ``*IDN?``. An instrument
        whose answer does not start with ``expect_idn`` (when given) is not the sensor: a
        TransportError, and nothing is read from it."""
        self.transport.open()
        self.idn = self.query("*IDN?")
        if self.expect_idn is not None and not self.idn.startswith(self.expect_idn):
            self.transport.close()
            raise TransportError(f"{self.resource}: *IDN? answered {self.idn!r}, not the "
                                 f"configured {self.expect_idn!r}: another instrument")
        self.state = DriverState.OPEN
        return self.idn

    def open(self, *, start: bool = True, rate_plots_per_s: float | None = None,
             scan_period_s: float | None = None) -> "ScpiSensorDriver":
        """Connect, clear the error queue, configure, and with ``start`` begin acquisition
        and the background fetches."""
        self.connect()
        self.write("*CLS")
        self.configure(rate_plots_per_s=rate_plots_per_s, scan_period_s=scan_period_s)
        if start:
            self.start()
        return self

    def __enter__(self) -> "ScpiSensorDriver":
        if not self.transport.is_open:
            self.open()
        return self

    def _shutdown(self) -> None:
        if self.transport.is_open and self._want_running:
            try:
                self.write("ABOR")
            except TransportError:
                pass
        self.transport.close()
        release = getattr(self.transport, "release", None)
        if release is not None:
            release()

    # --- text commands -------------------------------------------------------------------
    def write(self, command: str) -> None:
        with self._lock:
            self.transport.write_message(command)

    def query(self, command: str) -> str:
        with self._lock:
            return self.transport.query(command)

    def configure(self, *, rate_plots_per_s: float | None = None,
                  scan_period_s: float | None = None) -> None:
        """Set what is given, then check the instrument accepted it."""
        if rate_plots_per_s is not None:
            self.write(f"CONF:RATE {rate_plots_per_s:g}")
        if scan_period_s is not None:
            self.write(f"CONF:SCAN:PER {scan_period_s:g}")
        errors = self.errors()
        if errors:
            code, message = errors[0]
            raise TransportError(f"{self.resource}: instrument refused the configuration: "
                                 f"{code},{message}")

    def errors(self) -> list[tuple[int, str]]:
        """Drain the instrument's error queue (at most 32 entries)."""
        found = []
        for _ in range(32):
            answer = self.query("SYST:ERR?")
            code_text, _, message = answer.partition(",")
            try:
                code = int(code_text)
            except ValueError:
                raise TransportError(f"{self.resource}: SYST:ERR? answered {answer!r}") from None
            if code == 0:
                break
            found.append((code, message.strip().strip('"')))
        if found:
            self.counts["instrument_errors"] += len(found)
            self.instrument_errors = (self.instrument_errors + found)[-50:]
            for code, message in found:
                log.warning("%s: instrument error %d, %s", self.resource, code, message)
        return found

    # --- plots ---------------------------------------------------------------------------
    def start(self) -> None:
        self._want_running = True
        self.write("INIT")
        self._next_error_poll = time.monotonic() + self.error_poll_interval_s
        self._start_reader()

    def fetch(self, max_plots: int | None = None) -> np.ndarray:
        """One ``FETCh:PLOTs?``: the plots the instrument had buffered (PLOT_DTYPE)."""
        n = max_plots or self.max_plots_per_fetch
        with self._lock:
            link = self.transport
            link.write_message(f"FETC:PLOT? {n}")
            head = link.read_exact(2)
            n_digits, _ = parse_header(head + b"0" * 9)
            digits = link.read_exact(n_digits)
            _, length = parse_header(head + digits)
            data = link.read_exact(length)
            t_arrival_ns = time.monotonic_ns()
            terminator = link.read_exact(len(self.read_termination))
        if terminator != self.read_termination:
            raise CodecError(f"{self.resource}: block of {length} octets is not followed by "
                             f"the terminator (its header lies about its length)")
        if self._tap is not None:
            self._tap(t_arrival_ns, head + digits + data)
        plots = plots_from_payload(data, sensor_id=self.sensor_id, t_arrival_ns=t_arrival_ns)
        self.counts["fetches"] += 1
        self.counts["plots_ok"] += len(plots)
        if len(plots):
            first = int(plots["seq"][0])
            if self._next_seq is not None and first != self._next_seq:
                self.counts["seq_gaps"] += (first - self._next_seq) & 0xFFFFFFFF
            self._next_seq = (int(plots["seq"][-1]) + 1) & 0xFFFFFFFF
        return plots


    def counters(self) -> dict[str, int]:
        c = dict(self.counts)
        c.update(super().counters())
        return c

    # --- background fetching (the reader thread of SensorDriver) ----------------------------
    def _connect(self) -> None:
        self.connect()

    def _disconnect(self) -> None:
        self.transport.close()

    def _is_connected(self) -> bool:
        return self.transport.is_open

    def _after_reconnect(self) -> None:
        self._failures = 0
        self.write("INIT")

    def _read_once(self) -> None:
        plots = self.fetch()
        self._queue_plots(plots)
        if time.monotonic() >= self._next_error_poll:
            self._next_error_poll = time.monotonic() + self.error_poll_interval_s
            if self.errors():
                self.last_error = TransportError(
                    f"{self.resource}: instrument error {self.instrument_errors[-1]}")
        self._failures = 0
        if len(plots) < self.max_plots_per_fetch:
            self._stop.wait(self.poll_interval_s)

    def _on_fault(self, error: BaseException) -> bool:
        """Count the fault by kind; the session is given up after ``reopen_after_failures``
        in a row, otherwise the rest of a bad answer is thrown away and the fetch retried."""
        self._failures += 1
        self.counts["timeouts" if isinstance(error, TransportTimeoutError) else
                    ("bad_blocks" if isinstance(error, CodecError) else "io_errors")] += 1
        if self._failures >= self.reopen_after_failures:
            return True
        with self._lock:
            try:
                self.transport.discard_input()
            except TransportError:     # the session broke: reopen it
                return True
        return not self.transport.is_open
