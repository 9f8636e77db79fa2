"""The device end of a serial line for emulators: a pseudo-terminal, any pyserial URL, or a
TCP server as a terminal server serves a serial port (raw for ``socket://``, RFC 2217 for
``rfc2217://``).

A device port never blocks the emulator: :meth:`write` takes what the line accepts now and
returns the count, like a UART transmit FIFO.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import socket
import struct
import termios
import tty

import serial
from serial.rfc2217 import PortManager

from rig.errors import UsageError

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
        self.spec = "pty"

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
        self.spec = url
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


class _LineSettings(serial.SerialBase):
    """The line settings an RFC 2217 client sets, kept (there is no UART behind them); the
    modem lines read as a device present and ready."""

    cts = dsr = cd = True
    ri = False

    def reset_input_buffer(self) -> None:
        pass

    def reset_output_buffer(self) -> None:
        pass

    def summary(self) -> dict:
        flow = "rtscts" if self.rtscts else "xonxoff" if self.xonxoff else "none"
        return {"baudrate": self.baudrate, "bytesize": self.bytesize, "parity": self.parity,
                "stopbits": self.stopbits, "flow_control": flow}


class _Control:
    """The connection a :class:`PortManager` writes its Telnet answers to: queued ahead of
    the data, sent by the port without blocking."""

    def __init__(self):
        self.pending = bytearray()

    def write(self, data: bytes) -> None:
        self.pending += data


class TcpDevicePort:
    """A TCP server standing for the serial line, one host at a time (the newest connection
    replaces an older one, as when a host reconnects after a network fault).

    ``rfc2217``: speak RFC 2217 (Telnet COM port control: the host sets baud rate and the
    other line settings, kept in :attr:`line`); else raw bytes. ``on_event`` is called with
    ``connected``, ``disconnected`` and ``line_settings`` events (dicts). Bytes written while
    no host is connected are lost, as a terminal server loses what its serial port sends.
    """

    OUT_LIMIT_BYTES = 65536

    def __init__(self, port: int, *, bind: str = "127.0.0.1", rfc2217: bool = False,
                 on_event=None):
        family = socket.AF_INET6 if ":" in bind else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((bind, port))
            listener.listen(4)
        except OSError as e:
            listener.close()
            if e.errno == errno.EADDRINUSE:
                raise PortBusyError(f"tcp:{port} on {bind}: address in use") from e
            raise TransportError(f"tcp:{port} on {bind}: cannot listen: {e}") from e
        listener.setblocking(False)
        self._listener = listener
        self.address = listener.getsockname()[:2]
        self.rfc2217 = rfc2217
        scheme = "rfc2217" if rfc2217 else "socket"
        host = f"[{self.address[0]}]" if ":" in self.address[0] else self.address[0]
        self.path = f"{scheme}://{host}:{self.address[1]}"
        self.spec = f"tcp:{self.address[1]}"
        self.on_event = on_event or (lambda event: None)
        self.line = _LineSettings()
        self._client: socket.socket | None = None
        self._manager: PortManager | None = None
        self._control = _Control()
        self._out = bytearray()
        self._settings = self.line.summary()

    @property
    def connected(self) -> bool:
        return self._client is not None

    def fileno(self) -> int:
        return (self._client or self._listener).fileno()

    def _accept(self) -> None:
        try:
            client, peer = self._listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        if self._client is not None:
            self._drop("replaced by a new connection")
        client.setblocking(False)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._client = client
        self._out.clear()
        self._control = _Control()
        if self.rfc2217:
            self._manager = PortManager(self.line, self._control,
                                        logging.getLogger(__name__ + ".rfc2217"))
        self.on_event({"event": "connected", "peer": f"{peer[0]}:{peer[1]}"})

    def _drop(self, reason: str) -> None:
        client, self._client, self._manager = self._client, None, None
        if client is not None:
            client.close()
            self._out.clear()
            self.on_event({"event": "disconnected", "reason": reason})

    def read(self) -> bytes:
        self._accept()
        if self._client is None:
            return b""
        try:
            data = self._client.recv(65536)
        except (BlockingIOError, InterruptedError):
            data = None
        except OSError as e:
            self._drop(str(e))
            return b""
        if data == b"":
            self._drop("the host closed the connection")
            return b""
        if data and self._manager is not None:
            data = b"".join(self._manager.filter(data))
            self._settings_changed()
        self._send()
        return data or b""

    def _settings_changed(self) -> None:
        settings = self.line.summary()
        if settings != self._settings:
            self._settings = settings
            self.on_event({"event": "line_settings", **settings})

    def write(self, data) -> int:
        if self._client is None:
            return len(data)
        if len(self._out) >= self.OUT_LIMIT_BYTES:
            self._send()
            if len(self._out) >= self.OUT_LIMIT_BYTES:
                return 0
        self._out += bytes(data).replace(b"\xff", b"\xff\xff") if self.rfc2217 else data
        self._send()
        return len(data)

    def _send(self) -> None:
        """Send what waits (the Telnet answers first) as far as the socket takes it now."""
        if self._client is None:
            return
        for buffer in (self._control.pending, self._out):
            while buffer:
                try:
                    n = self._client.send(buffer)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError as e:
                    self._drop(str(e))
                    return
                del buffer[:n]

    def unread_bytes(self) -> int:
        """Bytes not yet taken by the host: ours, and those in the socket's send queue."""
        if self._client is None:
            return 0
        self._send()
        try:
            raw = fcntl.ioctl(self._client, termios.TIOCOUTQ, b"\0\0\0\0")
        except OSError:
            return len(self._out)
        return len(self._out) + struct.unpack("i", raw)[0]

    def close(self) -> None:
        self._drop("the line went away")
        self._listener.close()


def tcp_port_number(spec: str) -> int | None:
    """The port of a ``tcp:PORT`` spec (0 picks a free one), or None for any other spec."""
    if not spec.startswith("tcp:"):
        return None
    text = spec[len("tcp:"):]
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise UsageError(f"--port {spec}: expected tcp:PORT with PORT from 0 to 65535")
    return int(text)


def open_device_port(spec: str, baudrate: int = 921600, *, bind: str = "127.0.0.1",
                     rfc2217: bool = False, on_event=None):
    """``"pty"`` makes a new pseudo-terminal; ``"tcp:PORT"`` serves the line on TCP at
    ``bind`` (RFC 2217 with ``rfc2217``); anything else is opened with pyserial."""
    if spec == "pty":
        return PtyDevicePort()
    port = tcp_port_number(spec)
    if port is not None:
        return TcpDevicePort(port, bind=bind, rfc2217=rfc2217, on_event=on_event)
    return UrlDevicePort(spec, baudrate)
