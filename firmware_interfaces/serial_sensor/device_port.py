"""The device end of a serial line for emulators: a pseudo-terminal or any pyserial URL.

A device port never blocks the emulator: :meth:`write` takes what the line accepts now and
returns the count, like a UART transmit FIFO.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
import termios
import tty

import serial

from rig.errors import PortBusyError, PortNotFoundError, TransportError


class PtyDevicePort:
    """A new pseudo-terminal. The host opens :attr:`path` (``/dev/pts/N``) as a serial port.

    The slave side is put in raw mode and kept open here, so the line neither translates
    bytes nor hangs up while no host has it open.
    """

    def __init__(self):
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)

    def fileno(self) -> int:
        return self._master

    def read(self) -> bytes:
        try:
            return os.read(self._master, 65536)
        except BlockingIOError:
            return b""
        except OSError as e:
            if e.errno == errno.EIO:
                return b""
            raise

    def write(self, data) -> int:
        try:
            return os.write(self._master, data)
        except BlockingIOError:
            return 0

    def unread_bytes(self) -> int:
        """Bytes written that the host has not read yet (the slave's input queue)."""
        try:
            raw = fcntl.ioctl(self._slave, termios.TIOCINQ, b"\0\0\0\0")
        except OSError:
            return 0
        return struct.unpack("i", raw)[0]

    def close(self) -> None:
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass


class UrlDevicePort:
    """Any port pyserial opens (a real serial port wired to the host, ``socket://``, ...)."""

    def __init__(self, url: str, baudrate: int = 921600):
        try:
            self._port = serial.serial_for_url(url, baudrate=baudrate, timeout=0,
                                               write_timeout=0)
        except serial.SerialException as e:
            if "[Errno 2]" in str(e):
                raise PortNotFoundError(f"{url}: no such port") from e
            if "[Errno 16]" in str(e) or "lock" in str(e).lower():
                raise PortBusyError(f"{url}: port is busy") from e
            raise TransportError(f"{url}: cannot open: {e}") from e
        self.path = url
        try:
            self._fd: int | None = self._port.fileno()
        except (AttributeError, NotImplementedError, serial.SerialException):
            self._fd = None

    def fileno(self) -> int:
        if self._fd is None:
            raise NotImplementedError(f"{self.path} has no file descriptor")
        return self._fd

    def read(self) -> bytes:
        return self._port.read(self._port.in_waiting or 0)

    def write(self, data) -> int:
        try:
            n = self._port.write(data)
        except serial.SerialTimeoutException:
            return 0
        return len(data) if n is None else n

    def unread_bytes(self) -> int:
        """Bytes still in the port's transmit queue."""
        try:
            return self._port.out_waiting
        except (AttributeError, NotImplementedError, OSError, serial.SerialException):
            return 0

    def close(self) -> None:
        self._port.close()


def open_device_port(spec: str, baudrate: int = 921600):
    """``"pty"`` makes a new pseudo-terminal; anything else is opened with pyserial."""
    return PtyDevicePort() if spec == "pty" else UrlDevicePort(spec, baudrate)
