"""The interface every byte transport implements."""

from __future__ import annotations

from abc import ABC, abstractmethod


class Transport(ABC):
    """A bidirectional byte stream to one device.

    ``url`` names it in messages. :meth:`read_chunk` returns everything available at once
    (never one byte at a time) and the arrival time in ``time.monotonic_ns()`` taken
    immediately after the read returned; an empty chunk means the timeout passed.
    Failures raise :class:`rig.errors.TransportError` subclasses that name ``url``.
    """

    url: str

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    @property
    @abstractmethod
    def is_open(self) -> bool: ...

    @abstractmethod
    def read_chunk(self, timeout_s: float) -> tuple[bytes, int]: ...

    @abstractmethod
    def write(self, data: bytes) -> None: ...

    def __enter__(self):
        if not self.is_open:
            self.open()
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"


class MessageTransport(Transport):
    """A transport that speaks in messages, as a VISA session does: text commands and their
    answers (terminated lines), and exact reads of binary blocks. Failures raise
    :class:`rig.errors.TransportError` subclasses (a timeout: ``TransportTimeoutError``)."""

    @abstractmethod
    def write_message(self, text: str) -> None:
        """Send one command (the terminator is added)."""

    @abstractmethod
    def query(self, text: str) -> str:
        """Send one command and return its answer, stripped."""

    @abstractmethod
    def read_exact(self, n: int) -> bytes:
        """Exactly ``n`` octets of an answer (a binary block)."""

    @abstractmethod
    def discard_input(self) -> None:
        """Throw away whatever the device still sends (the rest of a bad answer)."""
