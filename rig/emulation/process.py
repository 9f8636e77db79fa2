"""Emulators in their own processes: start one, learn what it serves, stop it cleanly.

Each emulator runs as ``python -m rig emulate ...`` (or another command that speaks the same
protocol on stdout: one JSON object per line, ``{"event": "ready", "device": ...}`` first and
``{"event": "done", ...}`` last), so it never competes with the host for the GIL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

from rig.errors import TransportError, TransportTimeoutError
from rig.launch import rig_command

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the parent dies, even by SIGKILL (Linux),
    so an emulator never outlives the run that started it."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


class EmulatorProcess:
    """A running emulator subprocess. Use as a context manager; it is always reaped."""

    def __init__(self, args: list[str], *, ready_timeout_s: float = 15.0, name: str = "emulator",
                 env: dict | None = None):
        self.name = name
        self.command = rig_command(*args)
        self.ready_timeout_s = ready_timeout_s
        self.events: list[dict] = []
        self.stderr_lines: list[str] = []
        self._ready = threading.Event()
        self.proc = subprocess.Popen(
            self.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=env,
            start_new_session=True,  # Ctrl-C at the terminal reaches the host, which stops us
            preexec_fn=die_with_parent if sys.platform.startswith("linux") else None,
        )
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True, name=f"{name}-stdout"),
            threading.Thread(target=self._read_stderr, daemon=True, name=f"{name}-stderr"),
        ]
        for t in self._readers:
            t.start()

    def _read_stdout(self) -> None:
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            self.events.append(event)
            if event.get("event") == "ready":
                self._ready.set()
        self._ready.set()

    def _read_stderr(self) -> None:
        for line in self.proc.stderr:
            self.stderr_lines.append(line.rstrip("\n"))
            del self.stderr_lines[:-200]

    def wait_ready(self) -> dict:
        """The ready event (with ``device``); raises if the emulator failed to start."""
        if not self._ready.wait(self.ready_timeout_s):
            self.stop()
            raise TransportTimeoutError(f"{self.name}: emulator not ready within "
                                        f"{self.ready_timeout_s} s")
        for event in self.events:
            if event.get("event") == "ready":
                return event
        self.stop()
        raise TransportError(f"{self.name}: emulator exited before it was ready: "
                             + " | ".join(self.stderr_lines[-5:]))

    @property
    def device(self) -> str:
        return self.wait_ready()["device"]

    @property
    def summary(self) -> dict | None:
        for event in reversed(self.events):
            if event.get("event") == "done":
                return event
        return None

    def terminate(self) -> None:
        """SIGTERM to the emulator's process group, without waiting (:meth:`stop` waits):
        several emulators then end side by side."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def stop(self, timeout_s: float = 5.0) -> int:
        """SIGTERM, wait, then SIGKILL; returns the exit status."""
        if self.proc.poll() is None:
            self.terminate()
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        for t in self._readers:
            t.join(timeout=2.0)
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()
        return self.proc.returncode

    def __enter__(self) -> "EmulatorProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
