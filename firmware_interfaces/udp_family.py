"""What the families whose sensor sends datagrams to the host over UDP share (the CAT048 radar,
the ESM receiver, the track-level partner): the host's listening socket, opened before an
emulated sensor starts sending to it, the address the emulator is told to send to, and a
sensor clock that reads UTC (its time of day with :attr:`FirmwareInterface.time_of_day`).
"""

from __future__ import annotations

import time
from pathlib import Path

from rig.errors import UsageError
from rig.firmware import EmulatorSettings, FirmwareInterface
from rig.transport.udp import parse_udp_url

DAY_S = 86400.0
#: where the host hears an emulated sensor: a free port on loopback
LISTEN_ANY = "udp://@127.0.0.1:0"


def emulator_url(run: EmulatorSettings, default_port: int, what: str) -> str:
    """Where ``rig emulate --port`` tells the emulated ``what`` to send (``pty``, the default:
    loopback at ``default_port``); a listening address is a :class:`UsageError`."""
    url = run.port if run.port != "pty" else f"udp://127.0.0.1:{default_port}"
    if not url.startswith("udp://") or "@" in url:
        raise UsageError(f"--port {url}: the {what} sends to udp://HOST:PORT")
    return url


class UdpFamily(FirmwareInterface):
    """A family whose sensor sends datagrams to the host's socket. A subclass makes its driver
    (:meth:`_driver`) and adds its own emulator flags to :meth:`emulator_args`."""

    transport = "udp"

    def _driver(self, url: str, options, sensor=None):
        """The family's driver listening on ``url``, not yet opened; ``options``: the family's
        keys; ``sensor``: the run's sensor (None for ``rig monitor``: every source taken)."""
        raise NotImplementedError

    def open_early(self, sensor, tap):
        # the listening socket exists before the emulated sensor starts sending to it
        url = LISTEN_ANY if sensor.entry.emulated else sensor.entry.transport
        return self.opened(self._driver(url, sensor.entry.options, sensor), tap)

    @staticmethod
    def _send_to(early_driver) -> list[str]:
        """The emulator's ``--port``: the host's socket ``early_driver`` listens on."""
        return ["--port", f"udp://127.0.0.1:{early_driver.local_address[1]}"]

    def emulator_args(self, sensor, run_dir: Path, early_driver) -> list[str]:
        return self._send_to(early_driver)

    def clock_shift_s(self, sensor, driver, t0_ns: int) -> float:
        # the sensor's clock reads UTC (or its time of day): what it read at the run's start
        utc = time.time() - (time.monotonic_ns() - t0_ns) * 1e-9
        return utc % DAY_S if self.time_of_day else utc


class MonitoredUdpFamily(UdpFamily):
    """A :class:`UdpFamily` that ``rig monitor`` can listen to (``heard``: who, in messages)."""

    heard = "the sensor"

    def open_monitor(self, target: str, options):
        if target.startswith("udp://") and not parse_udp_url(target)[0]:
            raise UsageError(f"{target}: {self.heard} is heard where its datagrams arrive: "
                             f"give udp://@HOST:PORT")
        return self.opened(self._driver(target, options), None)

    def open_monitor_early(self, options):
        return self.open_monitor(LISTEN_ANY, options)

    def monitor_emulator_args(self, early_driver) -> list[str]:
        return self._send_to(early_driver)

    def monitor_clock_shift_s(self, driver) -> float:
        return self.clock_shift_s(None, driver, 0)
