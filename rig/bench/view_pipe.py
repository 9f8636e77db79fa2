"""A view process fed one JSON line per state through a pipe the run never waits on.

The terminal view (:mod:`.live_render`) and the web view (:mod:`rig.web`) both draw in a
process of their own. The run writes each state without blocking: the tail of a line the
pipe took only in part goes first next time, and a state the pipe cannot take at once is
skipped (a newer one follows). A view that ends early is reported once; the run goes on.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys

from rig.emulation.process import die_with_parent

log = logging.getLogger(__name__)

#: Niceness of a view process: on a busy machine, the loop and the emulators go first.
VIEW_NICENESS = 10


def view_process_setup() -> None:
    """In a view process before exec: yield the CPU to the run (a view is only for people),
    and end with the run."""
    os.nice(VIEW_NICENESS)
    if sys.platform.startswith("linux"):
        die_with_parent()


class ViewPipe:
    """The stdin of a view process, written without blocking."""

    def __init__(self, proc: subprocess.Popen, name: str):
        self.proc = proc
        self.name = name
        self._pending = b""
        os.set_blocking(proc.stdin.fileno(), False)

    @property
    def alive(self) -> bool:
        return self.proc is not None

    def send(self, line: bytes) -> None:
        """Write ``line`` (ending in a newline), or the rest of an earlier one, at once."""
        if self.proc is None:
            return
        data = self._pending or line
        try:
            written = os.write(self.proc.stdin.fileno(), data)
        except BlockingIOError:
            written = 0
        except OSError:                      # the view is gone: the run goes on without it
            log.warning("the %s ended early; the run goes on", self.name)
            self._pending = b""
            self._end(timeout_s=1.0)
            return
        self._pending = data[written:]

    def close(self, timeout_s: float = 5.0) -> None:
        """End of input: the view ends; killed if it has not ``timeout_s`` later."""
        if self.proc is not None:
            self._end(timeout_s)

    def _end(self, timeout_s: float) -> None:
        proc, self.proc = self.proc, None
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("the %s did not end; stopping it", self.name)
            proc.kill()
            proc.wait()


class ViewGroup:
    """Several views of one run (the terminal's and the web's) as one."""

    def __init__(self, views):
        self.views = list(views)

    def start(self) -> None:
        for v in self.views:
            v.start()

    def update(self, loop) -> None:
        for v in self.views:
            v.update(loop)

    def close(self) -> None:
        errors = []
        for v in self.views:
            try:
                v.close()
            except Exception as e:  # every view gets closed
                errors.append(e)
        if errors:
            raise errors[0]
