"""``spy+URL``: every byte and message of a transport, logged (as pyserial's ``spy://`` does
for serial ports, for any transport). Lines go to the logger ``rig.transport.spy`` at INFO::

    rig -v run bench.yaml        # with a sensor whose transport is spy+udp://@127.0.0.1:8600
"""

from __future__ import annotations

import logging

from .base import MessageTransport, Transport

log = logging.getLogger(__name__)
SHOWN_BYTES = 64


def _hex(data: bytes) -> str:
    shown = data[:SHOWN_BYTES].hex(" ")
    return shown + (f" … ({len(data)} octets)" if len(data) > SHOWN_BYTES else "")


class SpyTransport(Transport):
    """``inner`` with its traffic logged; every other attribute is the inner transport's."""

    def __init__(self, inner: Transport):
        self.inner = inner
        self.url = f"spy+{inner.url}"

    def __getattr__(self, name):
        return getattr(self.inner, name)

    @property
    def is_open(self) -> bool:
        return self.inner.is_open

    def open(self) -> None:
        log.info("%s: open", self.inner.url)
        self.inner.open()

    def close(self) -> None:
        log.info("%s: close", self.inner.url)
        self.inner.close()

    def read_chunk(self, timeout_s: float) -> tuple[bytes, int]:
        data, t_ns = self.inner.read_chunk(timeout_s)
        if data:
            log.info("%s: read  %s", self.inner.url, _hex(data))
        return data, t_ns

    def write(self, data: bytes) -> None:
        log.info("%s: write %s", self.inner.url, _hex(data))
        self.inner.write(data)


class SpyMessageTransport(SpyTransport, MessageTransport):
    """A :class:`SpyTransport` of a message transport: commands, answers and blocks too."""

    def write_message(self, text: str) -> None:
        log.info("%s: write %r", self.inner.url, text)
        self.inner.write_message(text)

    def query(self, text: str) -> str:
        answer = self.inner.query(text)
        log.info("%s: query %r -> %r", self.inner.url, text, answer)
        return answer

    def read_exact(self, n: int) -> bytes:
        data = self.inner.read_exact(n)
        log.info("%s: read  %s", self.inner.url, _hex(data))
        return data

    def discard_input(self) -> None:
        log.info("%s: discard input", self.inner.url)
        self.inner.discard_input()


def spy_on(inner: Transport) -> Transport:
    """``inner``, its traffic logged."""
    if isinstance(inner, MessageTransport):
        return SpyMessageTransport(inner)
    return SpyTransport(inner)
