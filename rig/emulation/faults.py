"""Faults an emulated sensor injects on a schedule: the troubles real benches have.

A schedule is a list of :class:`FaultSpec` in emulation time. The emulator asks the schedule
what to do with each frame (or datagram, or instrument answer) it is about to put on the
wire, what its clock reads, and whether it is silent or unplugged:

========================  ============================================================
kind                      effect
========================  ============================================================
``bit_errors``            each byte sent has one bit flipped with probability ``rate``
``drop_frames``           each frame is lost with probability ``probability``
``duplicate_frames``      each frame is sent twice with probability ``probability``
``reorder_frames``        each frame swaps places with the next with ``probability``
``garbage``               ``bytes`` random bytes are sent once, at ``at_s``
``latency_spike``         frames are held ``delay_s`` before they are sent
``clock_jump``            the sensor clock jumps by ``offset_s`` at ``at_s`` (and stays)
``drift_change``          the sensor clock drifts by ``drift_ppm`` more from ``at_s`` on
``silent``                nothing is detected or sent for ``duration_s``
``disconnect``            the line goes away for ``duration_s`` and comes back
                          (pty closed and reopened, UDP source gone, instrument reset)
========================  ============================================================

Every fault is seeded: the same schedule and seed do the same damage. The schedule counts
what it did (:attr:`FaultSchedule.counts`), so a report can set each fault beside what the
host saw.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .clock import SensorClock

FaultKind = Literal["bit_errors", "drop_frames", "duplicate_frames", "reorder_frames",
                    "garbage", "latency_spike", "clock_jump", "drift_change", "silent",
                    "disconnect"]

#: Kinds that act on frames and need a window.
WINDOWED = {"bit_errors", "drop_frames", "duplicate_frames", "reorder_frames", "latency_spike",
            "silent", "disconnect"}


class FaultSpec(BaseModel):
    """One scheduled fault (times in emulation seconds)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: FaultKind
    at_s: float = Field(ge=0)
    duration_s: float = Field(0.0, ge=0)
    probability: float = Field(0.2, ge=0, le=1)
    rate: float = Field(1e-3, ge=0, le=1, description="bit_errors: per byte")
    bytes: int = Field(1000, ge=1, le=1_000_000, description="garbage: how many")
    delay_s: float = Field(0.5, ge=0, le=60, description="latency_spike: how long")
    offset_s: float = Field(0.0, ge=-3600, le=3600, description="clock_jump: by how much")
    drift_ppm: float = Field(0.0, ge=-1e4, le=1e4, description="drift_change: by how much")

    @model_validator(mode="after")
    def _window(self):
        if self.kind in WINDOWED and self.duration_s <= 0:
            raise ValueError(f"a {self.kind} fault needs duration_s > 0")
        return self

    @property
    def end_s(self) -> float:
        return self.at_s + self.duration_s

    def active(self, t_s: float) -> bool:
        return self.at_s <= t_s < self.end_s


@dataclass
class FaultSchedule:
    faults: list[FaultSpec]
    seed: int = 0
    counts: dict = field(default_factory=dict)

    def __post_init__(self):
        self._rng = np.random.default_rng(self.seed)
        self._held: list[tuple[float, bytes]] = []     # (release time, frame) for latency
        self._swap: bytes | None = None
        self._garbage_done: set[int] = set()
        self._announced: set[tuple[int, str]] = set()

    @classmethod
    def from_json(cls, text: str | None, seed: int = 0) -> "FaultSchedule":
        raw = json.loads(text) if text else []
        return cls([FaultSpec.model_validate(f) for f in raw], seed)

    def __bool__(self) -> bool:
        return bool(self.faults)

    def _count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def _active(self, kind: str, t_s: float) -> FaultSpec | None:
        for f in self.faults:
            if f.kind == kind and f.active(t_s):
                return f
        return None

    # --- state ---------------------------------------------------------------------------
    def silent(self, t_s: float) -> bool:
        return self._active("silent", t_s) is not None

    def disconnected(self, t_s: float) -> bool:
        return self._active("disconnect", t_s) is not None

    def clock(self, base: SensorClock, t_s: float) -> SensorClock:
        """The sensor clock at ``t_s``: ``base`` with every jump and drift change so far.

        A drift change at ``t1`` adds ``drift·(t - t1)``; a jump adds its offset from then on.
        """
        offset, drift = base.offset_s, base.drift_ppm
        for f in self.faults:
            if f.at_s <= t_s:
                if f.kind == "clock_jump":
                    offset += f.offset_s
                elif f.kind == "drift_change":
                    drift += f.drift_ppm
                    offset -= f.drift_ppm * 1e-6 * f.at_s   # continuous at the change
        return SensorClock(offset, drift, base.epoch_s)

    def events(self, t_s: float) -> list[dict]:
        """Start and end events of faults not announced yet (for the emulator's stdout)."""
        out = []
        for i, f in enumerate(self.faults):
            if t_s >= f.at_s and (i, "start") not in self._announced:
                self._announced.add((i, "start"))
                out.append({"event": "fault", "index": i, "phase": "start", **f.model_dump()})
            if f.duration_s and t_s >= f.end_s and (i, "end") not in self._announced:
                self._announced.add((i, "end"))
                out.append({"event": "fault", "index": i, "phase": "end", "kind": f.kind,
                            "at_s": f.at_s, "duration_s": f.duration_s})
        return out

    # --- frames ----------------------------------------------------------------------------
    def frames(self, frames: list[bytes], t_s: float, n_plots: list[int] | None = None) -> list[bytes]:
        """What goes on the wire at ``t_s`` for ``frames`` about to be sent, in order: some
        lost, doubled, swapped, damaged, held back, or preceded by garbage. ``n_plots`` (per
        frame) lets the schedule count the plots it touched."""
        n_plots = n_plots or [0] * len(frames)
        out: list[bytes] = []
        for i, f in enumerate(self.faults):
            if f.kind == "garbage" and t_s >= f.at_s and i not in self._garbage_done:
                self._garbage_done.add(i)
                out.append(self._rng.bytes(f.bytes))
                self._count("garbage_bytes", f.bytes)
        drop = self._active("drop_frames", t_s)
        dup = self._active("duplicate_frames", t_s)
        swap = self._active("reorder_frames", t_s)
        for frame, n in zip(frames, n_plots):
            if drop and self._rng.random() < drop.probability:
                self._count("frames_dropped")
                self._count("plots_lost", n)
                continue
            copies = [frame]
            if dup and self._rng.random() < dup.probability:
                copies.append(frame)
                self._count("frames_duplicated")
            for c in copies:
                if self._swap is not None:
                    out += [c, self._swap]
                    self._swap = None
                elif swap and self._rng.random() < swap.probability:
                    self._swap = c
                    self._count("frames_reordered")
                else:
                    out.append(c)
        if self._swap is not None and not swap:
            out.append(self._swap)
            self._swap = None
        flips = self._active("bit_errors", t_s)
        if flips:
            out = [self._flip(b, flips.rate) for b in out]
        spike = self._active("latency_spike", t_s)
        if spike or self._held:
            # a stall delays everything behind it too: the line stays first in, first out
            release_s = max(t_s + (spike.delay_s if spike else 0.0),
                            self._held[-1][0] if self._held else 0.0)
            self._held += [(release_s, b) for b in out]
            if spike:
                self._count("frames_delayed", len(out))
            out = []
        return self.release(t_s) + out

    def release(self, t_s: float) -> list[bytes]:
        """Frames held back by a latency spike whose time has come."""
        if not self._held:
            return []
        n = 0
        while n < len(self._held) and self._held[n][0] <= t_s:
            n += 1
        ready = [b for _, b in self._held[:n]]
        del self._held[:n]
        return ready

    def _flip(self, data: bytes, rate: float) -> bytes:
        if not data or rate <= 0:
            return data
        n = int(self._rng.binomial(len(data), rate))
        if not n:
            return data
        buf = np.frombuffer(data, np.uint8).copy()
        at = self._rng.integers(0, len(buf), n)
        np.bitwise_xor.at(buf, at, (1 << self._rng.integers(0, 8, n)).astype(np.uint8))
        self._count("bits_flipped", n)
        self._count("frames_damaged")
        return buf.tobytes()
