"""Serial transport over pyserial: device paths and every ``serial_for_url`` URL, among them
serial ports on other machines: ``socket://HOST:PORT`` (raw TCP) and ``rfc2217://HOST:PORT``
(Telnet COM port control: the line settings reach the remote port)."""

from __future__ import annotations

import errno
import os
import select
import time
from urllib.parse import parse_qs, urlsplit

import serial

from rig.errors import (DisconnectedError, PortBusyError, PortNotFoundError, TransportError,
                        TransportTimeoutError, UsageError)

from .base import Transport
from .serial_line import DEFAULT_BAUDRATE, pyserial_settings

READ_CHUNK_BYTES = 65536


class SerialTransport(Transport):
    """A pyserial port. On ports with a file descriptor (real serial ports, ptys) reads wait
    in ``select`` and take everything available in one ``os.read``; both release the GIL.
    ``socket://`` reads its socket the same way. Other URL handlers (``loop://``,
    ``rfc2217://``) read what is waiting or wait for one byte, then take what followed it.
    The line settings are pyserial's (``flow_control``: none, rtscts, xonxoff or dsrdtr); over
    ``rfc2217://`` they are set on the remote port when it opens.
    """

    def __init__(self, url: str, *, baudrate: int = DEFAULT_BAUDRATE, bytesize: int = 8,
                 parity: str = "N", stopbits: float = 1, flow_control: str = "none",
                 write_timeout_s: float = 1.0, exclusive: bool = True):
        self.url = url
        self.baudrate = baudrate
        self.bytesize = bytesize
        self.parity = parity
        self.stopbits = stopbits
        self.flow_control = flow_control
        self.write_timeout_s = write_timeout_s
        self.exclusive = exclusive
        self._port: serial.SerialBase | None = None
        self._fd: int | None = None

    @property
    def is_open(self) -> bool:
        return self._port is not None and self._port.is_open

    @property
    def port(self) -> serial.SerialBase | None:
        """The open pyserial port (its settings as pyserial holds them), or None."""
        return self._port

    def open(self) -> None:
        if self.is_open:
            return
        try:
            kwargs = pyserial_settings(baudrate=self.baudrate, bytesize=self.bytesize,
                                       parity=self.parity, stopbits=self.stopbits,
                                       flow_control=self.flow_control)
            kwargs.update(timeout=0, write_timeout=self.write_timeout_s)
            if self.url.startswith("rfc2217://"):
                kwargs["write_timeout"] = None      # pyserial's RFC 2217 client has none
            if "://" not in self.url:
                kwargs["exclusive"] = self.exclusive
            port = serial.serial_for_url(self.url, **kwargs)
        except serial.SerialException as e:
            raise _open_error(self.url, e) from e
        except ValueError as e:          # an unknown URL scheme, a setting no port has
            raise UsageError(f"{self.url}: cannot open: {e}") from e
        except OSError as e:
            raise TransportError(f"{self.url}: cannot open: {e}") from e
        self._port = port
        try:
            self._fd = port.fileno()
        except (AttributeError, NotImplementedError, serial.SerialException, OSError):
            self._fd = None

    def close(self) -> None:
        port, self._port, self._fd = self._port, None, None
        if port is not None:
            try:
                port.close()
            except (OSError, serial.SerialException):
                pass

    def _require_open(self) -> serial.SerialBase:
        if self._port is None:
            raise DisconnectedError(f"{self.url}: port is not open")
        return self._port

    def read_chunk(self, timeout_s: float) -> tuple[bytes, int]:
        port = self._require_open()
        if self._fd is not None:
            return self._read_fd(self._fd, timeout_s)
        try:
            if port.timeout != timeout_s:   # set once: over RFC 2217 a change is a round trip
                port.timeout = timeout_s
            data = port.read(port.in_waiting or 1)
            t_arrival_ns = time.monotonic_ns()
            if data:
                waiting = port.in_waiting
                if waiting:
                    data += port.read(waiting)
        except serial.SerialException as e:
            raise DisconnectedError(f"{self.url}: read failed: {e}") from e
        return data, t_arrival_ns

    def _read_fd(self, fd: int, timeout_s: float) -> tuple[bytes, int]:
        try:
            ready, _, _ = select.select([fd], [], [], timeout_s)
            if not ready:
                return b"", time.monotonic_ns()
            data = os.read(fd, READ_CHUNK_BYTES)
            t_arrival_ns = time.monotonic_ns()
        except (OSError, ValueError) as e:
            raise DisconnectedError(f"{self.url}: read failed: {e}") from e
        if not data:
            raise DisconnectedError(f"{self.url}: device closed the line")
        return data, t_arrival_ns

    def write(self, data: bytes) -> None:
        port = self._require_open()
        try:
            port.write(data)
        except serial.SerialTimeoutException as e:
            raise TransportTimeoutError(f"{self.url}: write timed out") from e
        except (serial.SerialException, OSError) as e:
            raise DisconnectedError(f"{self.url}: write failed: {e}") from e


def _open_error(url: str, e: serial.SerialException) -> TransportError:
    code = getattr(e, "errno", None)
    text = str(e)
    if code == errno.ENOENT or "[Errno 2]" in text:
        return PortNotFoundError(f"{url}: no such port")
    if code == errno.EACCES or "[Errno 13]" in text:
        return TransportError(f"{url}: permission denied (is the user in the port's group, "
                              f"e.g. dialout?)")
    if code == errno.EBUSY or "busy" in text.lower() or "lock" in text.lower():
        return PortBusyError(f"{url}: port is busy: another program holds it")
    return TransportError(f"{url}: cannot open: {text}")


#: query options pyserial's network URL handlers take
NETWORK_URL_OPTIONS = {"socket": ("logging",),
                       "rfc2217": ("logging", "ign_set_control", "poll_modem", "timeout")}


def check_network_url(url: str) -> None:
    """A ``socket://HOST:PORT`` or ``rfc2217://HOST:PORT`` URL (a serial port on another
    machine) names a host and a port from 1 to 65535 and only options pyserial knows;
    :class:`UsageError` says what is wrong. Other URLs pass unchecked."""
    parts = urlsplit(url)
    if parts.scheme not in NETWORK_URL_OPTIONS:
        return
    expected = f"expected {parts.scheme}://HOST:PORT"
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"{url}: bad port; {expected} with PORT from 1 to 65535") from None
    if not parts.hostname:
        raise UsageError(f"{url}: no host; {expected}")
    if port is None or port == 0:
        raise UsageError(f"{url}: no port; {expected} with PORT from 1 to 65535")
    if parts.path not in ("", "/"):
        raise UsageError(f"{url}: {parts.path!r} after the port; {expected}")
    known = NETWORK_URL_OPTIONS[parts.scheme]
    for key in parse_qs(parts.query, keep_blank_values=True):
        if key not in known:
            raise UsageError(f"{url}: unknown option {key}; {parts.scheme}:// takes "
                             f"{', '.join(known)}")
