"""A run asked to stop ends within :data:`STOP_BUDGET_S` of the signal, whatever it has left.

The first SIGINT or SIGTERM stops the loop; the run then closes its sensors and writes a
quick report (timing, counts, limits: no accuracy against truth, no figures), then the whole
report without figures, then the figures. :class:`StopWatchdog`, armed by that signal, ends
the process when the budget is spent: with the exit code of the last report written, else
128 + the signal. A second signal ends it at once. Reports are written whole or not at all
(:func:`rig.outfiles.write_atomic`); the watchdog removes the temporary file of one it cut.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

#: seconds from a stop signal to the end of the process
STOP_BUDGET_S = 1.6
#: what a run cut by the watchdog leaves, by the last report it wrote
QUICK_REPORT = "the quick report (timing, counts and limits; no accuracy, no figures)"
REPORT_WITHOUT_FIGURES = "the whole report but its figures"


class StopWatchdog:
    def __init__(self, out_dir: Path, budget_s: float = STOP_BUDGET_S):
        self.out_dir = Path(out_dir)
        self.budget_s = budget_s
        self.signal_name: str | None = None
        self.exit_code: int | None = None
        self.written = ""
        self._signum = 0
        self._timer: threading.Timer | None = None

    def arm(self, signum: int) -> None:
        """A stop signal: start the clock, or end now if it was started by an earlier one."""
        if self._timer is not None:
            self.fire("at a second signal")
        self._signum = signum
        self.signal_name = signal.Signals(signum).name
        self._timer = threading.Timer(self.budget_s, self.fire,
                                      args=(f"{self.budget_s:g} s after {self.signal_name}",))
        self._timer.daemon = True
        self._timer.start()

    @property
    def armed(self) -> bool:
        return self._timer is not None

    def reported(self, exit_code: int, written: str) -> None:
        """A report is on disk (``written`` says which): the exit code to end with if the
        budget runs out."""
        self.exit_code, self.written = exit_code, written
        sys.stdout.flush()           # what was printed so far survives an end by the watchdog

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def fire(self, when: str) -> None:
        """End the process now (from the timer thread or a signal handler)."""
        for partial in self.out_dir.glob(".*.tmp"):
            partial.unlink(missing_ok=True)
        if self.exit_code is None:
            code = 128 + self._signum
            what = f"no report written in {self.out_dir}"
        else:
            code = self.exit_code
            what = f"{self.written} is in {self.out_dir}"
        os.write(2, f"rig run: stopped by {self.signal_name}, ended {when}: {what} "
                    f"(exit {code})\n".encode())
        os._exit(code)
