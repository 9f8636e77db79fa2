"""The SCPI radar instrument's behaviour, without any I/O: one message in, one answer out.

:class:`ScpiRadarInstrument` parses SCPI messages (``protocol.py`` lists the commands), keeps
the configuration, the error queue and the plot buffer, and acquires plots from a plot source
while running. The TCP server in ``emulator.py`` feeds it lines from the socket.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from rig.emulation import PlotSource, SensorClock
from rig.records import empty_plots

from . import protocol as P
from .blocks import encode_block, payload_from_plots


class _ScpiError(Exception):
    def __init__(self, code: int):
        self.code = code


def _compile(pattern: str) -> tuple[list[tuple[str, str, bool]], bool]:
    """``(nodes, is_query)`` of a pattern such as ``SYSTem:ERRor[:NEXT]?``; each node is
    ``(short form, long form, optional)``."""
    is_query = pattern.endswith("?")
    nodes = []
    for word in pattern.rstrip("?").replace("[:", ":[").split(":"):
        optional = word.startswith("[")
        word = word.strip("[]")
        short = "".join(ch for ch in word if ch.isupper() or ch == "*")
        nodes.append((short, word.upper(), optional))
    return nodes, is_query


def _matches(nodes: list[tuple[str, str, bool]], words: list[str]) -> bool:
    if not nodes:
        return not words
    short, long, optional = nodes[0]
    if words and words[0] in (short, long) and _matches(nodes[1:], words[1:]):
        return True
    return optional and _matches(nodes[1:], words)


@dataclass
class InstrumentStats:
    commands: int = 0
    errors_queued: int = 0
    fetches: int = 0
    plots_acquired: int = 0
    plots_fetched: int = 0
    plots_lost: int = 0
    plots_silenced: int = 0
    faults: dict = field(default_factory=dict)


class ScpiRadarInstrument:
    """An emulated SCPI radar sensor (see ``protocol.py``)."""

    def __init__(self, source: PlotSource, *, clock: SensorClock | None = None,
                 serial: str = "0001", version: str = "0.1.0",
                 buffer_plots: int = 1_000_000, now_s=None):
        self.source = source
        self.silent = False
        self.clock = clock or SensorClock()
        self.idn = f"{P.IDN_MANUFACTURER},{P.IDN_MODEL},{serial},{version}"
        self.buffer_plots = buffer_plots
        self._now_s = now_s
        self.stats = InstrumentStats()
        self.errors: deque[int] = deque()
        self.running = False
        self.fault: str | None = None
        self._buffer: deque[np.ndarray] = deque()
        self._buffered = 0
        self._seq = 0
        self._t_acquired_s = 0.0
        self._handlers = [(_compile(pattern), handler) for pattern, handler in (
            ("*IDN?", self._idn), ("*RST", self._rst), ("*CLS", self._cls), ("*OPC?", self._opc),
            ("SYSTem:ERRor[:NEXT]?", self._error_next), ("SYSTem:ERRor:COUNt?", self._error_count),
            ("SYSTem:CLOCk?", self._clock), ("CONFigure:RATE", self._set_rate),
            ("CONFigure:RATE?", self._get_rate), ("CONFigure:SCAN:PERiod", self._set_period),
            ("CONFigure:SCAN:PERiod?", self._get_period),
            ("INITiate[:IMMediate]", self._init), ("ABORt", self._abort),
            ("FETCh:PLOTs?", self._fetch), ("FETCh:PLOTs:COUNt?", self._count),
            ("DIAGnostic:FAULt", self._arm_fault),
        )]

    # --- the message loop ------------------------------------------------------------------
    def handle(self, message: str) -> bytes | None:
        """Answer one message (a line without its terminator); None when it has no query.

        A fault armed by ``DIAGnostic:FAULt SILENT`` makes the answer None as well.
        """
        answers: list[bytes] = []
        for command in message.split(";"):
            command = command.strip()
            if not command:
                continue
            self.stats.commands += 1
            try:
                answer = self._dispatch(command)
            except _ScpiError as e:
                self.push_error(e.code)
                continue
            if answer is not None:
                answers.append(answer)
        if not answers or answers == [b""]:
            return None
        return b";".join(answers) + P.TERMINATION.encode()

    def _dispatch(self, command: str) -> bytes | None:
        header, _, args = command.partition(" ")
        is_query = header.endswith("?")
        words = header.rstrip("?").upper().lstrip(":").split(":")
        if not all(words):
            raise _ScpiError(-102)
        for (nodes, query), handler in self._handlers:
            if query == is_query and _matches(nodes, words):
                return handler(args.strip())
        raise _ScpiError(-113)

    def push_error(self, code: int) -> None:
        self.stats.errors_queued += 1
        if len(self.errors) >= P.ERROR_QUEUE_SIZE:
            self.errors[-1] = -350
            return
        self.errors.append(code)

    # --- acquisition ---------------------------------------------------------------------
    def acquire(self, t_true_s: float) -> None:
        """Take the plots the source detected up to ``t_true_s`` into the buffer (none while
        :attr:`silent`)."""
        plots = self.source.take_until(t_true_s)
        self._t_acquired_s = t_true_s
        if not self.running or not len(plots):
            return
        if self.silent:
            self.stats.plots_silenced += len(plots)
            return
        plots["t_sensor"] = self.clock.sensor_time(plots["t_sensor"])
        plots["seq"] = (np.arange(len(plots), dtype=np.uint64) + self._seq) & 0xFFFFFFFF
        self._seq = (self._seq + len(plots)) & 0xFFFFFFFF
        self.stats.plots_acquired += len(plots)
        self._buffer.append(plots)
        self._buffered += len(plots)
        lost = 0
        while self._buffered > self.buffer_plots:
            old = self._buffer.popleft()
            self._buffered -= len(old)
            lost += len(old)
        if lost:
            self.stats.plots_lost += lost
            self.push_error(101)

    def _take(self, max_plots: int) -> np.ndarray:
        out = []
        n = 0
        while self._buffer and n < max_plots:
            head = self._buffer[0]
            take = min(len(head), max_plots - n)
            out.append(head[:take])
            if take == len(head):
                self._buffer.popleft()
            else:
                self._buffer[0] = head[take:]
            n += take
        self._buffered -= n
        return np.concatenate(out) if out else empty_plots(0)

    # --- handlers ------------------------------------------------------------------------
    @staticmethod
    def _no_args(args: str) -> None:
        if args:
            raise _ScpiError(-108)

    @staticmethod
    def _number(args: str, lo: float, hi: float) -> float:
        if not args:
            raise _ScpiError(-109)
        try:
            value = float(args)
        except ValueError:
            raise _ScpiError(-104) from None
        if not (math.isfinite(value) and lo <= value <= hi):
            raise _ScpiError(-222)
        return value

    def _idn(self, args):
        self._no_args(args)
        return self.idn.encode()

    def _rst(self, args):
        self._no_args(args)
        self.running = False
        self._buffer.clear()
        self._buffered = 0
        self._seq = 0
        self.fault = None

    def _cls(self, args):
        self._no_args(args)
        self.errors.clear()

    def _opc(self, args):
        self._no_args(args)
        return b"1"

    def _error_next(self, args):
        self._no_args(args)
        code = self.errors.popleft() if self.errors else 0
        return f'{code},"{P.ERRORS.get(code, "Unknown error")}"'.encode()

    def _error_count(self, args):
        self._no_args(args)
        return str(len(self.errors)).encode()

    def _clock(self, args):
        self._no_args(args)
        now = self._now_s() if self._now_s is not None else self._t_acquired_s
        return f"{self.clock.sensor_time(now):.9f}".encode()

    def _set_rate(self, args):
        self.source.rate = self._number(args, P.RATE_MIN, P.RATE_MAX)

    def _get_rate(self, args):
        self._no_args(args)
        return f"{self.source.rate:g}".encode()

    def _set_period(self, args):
        self.source.scan_period_s = self._number(args, P.SCAN_PERIOD_MIN_S, P.SCAN_PERIOD_MAX_S)

    def _get_period(self, args):
        self._no_args(args)
        return f"{self.source.scan_period_s:g}".encode()

    def _init(self, args):
        self._no_args(args)
        self.running = True

    def _abort(self, args):
        self._no_args(args)
        self.running = False

    def _count(self, args):
        self._no_args(args)
        return str(self._buffered).encode()

    def _arm_fault(self, args):
        name = args.strip().upper()
        name = "ERROR" if name in ("ERR", "ERROR") else name
        if name not in P.FAULTS:
            raise _ScpiError(-222)
        self.fault = name

    def _fetch(self, args):
        max_plots = int(self._number(args, 1, P.FETCH_MAX_LIMIT)) if args else P.FETCH_MAX_DEFAULT
        self.stats.fetches += 1
        plots = self._take(max_plots)
        self.stats.plots_fetched += len(plots)
        data = payload_from_plots(plots, int(plots["seq"][0]) if len(plots) else self._seq)
        fault, self.fault = self.fault, None
        if fault:
            self.stats.faults[fault] = self.stats.faults.get(fault, 0) + 1
        if fault == "SILENT":
            return b""
        if fault == "ERROR":
            self.push_error(-310)
        block = encode_block(data)
        if fault == "LONG":
            block = encode_block(data + b"\0" * 100)[:-100]
        elif fault == "SHORT":
            block = encode_block(data[:max(0, len(data) - 10)]) + data[max(0, len(data) - 10):]
        return block
