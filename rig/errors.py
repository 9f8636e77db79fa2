"""The one exception tree of rig.

Every error raised on purpose by rig derives from :class:`RigError` and, where one fits, from
the built-in exception with the same meaning, so ``except TimeoutError`` still works. The
command line maps the branches to exit codes (docs/architecture.md): configuration and usage errors exit
with 2, hardware and transport failures with 3.

All exceptions here are picklable, so they can cross from an emulator or reader process.
"""

from __future__ import annotations

from dataclasses import dataclass


class RigError(Exception):
    """Base of every error rig raises on purpose."""

    exit_code = 1


# --- configuration and usage -------------------------------------------------------------


class UsageError(RigError, ValueError):
    """A command was called with arguments that make no sense together."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a configuration or input file: where (file, dotted key, 1-based
    line and column of the YAML where known), what was found and what was expected."""

    message: str
    file: str | None = None
    key: str | None = None
    expected: str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        """``FILE:LINE:COLUMN: key: message (expected ...)``, the form editors and CI
        annotate; the parts not known are left out."""
        where = self.file or ""
        if self.line is not None:
            column = self.column or 1
            where = (f"{where}:{self.line}:{column}" if where
                     else f"line {self.line}, column {column}")
        text = ": ".join(part for part in (where, self.key, self.message) if part)
        if self.expected:
            text += f" (expected {self.expected})"
        return text


class ConfigError(RigError, ValueError):
    """A configuration or input file is invalid: one or more :class:`Problem`\\ s.

    ``ConfigError(message, file=, key=, expected=)`` is one problem;
    ``ConfigError(problems=[...])`` several. The text is one problem a line, each naming the
    file, the key (a dotted path such as ``sensors[2].site.lat_deg``), the line and column
    where known, and what was expected. ``message``, ``file``, ``key`` and ``expected`` are the
    first problem's.
    """

    exit_code = 2

    def __init__(self, message: str | None = None, *, file: str | None = None,
                 key: str | None = None, expected: str | None = None,
                 line: int | None = None, column: int | None = None, problems=()):
        self.problems: list[Problem] = list(problems) or [
            Problem(message or "invalid", file, key, expected, line, column)]
        first = self.problems[0]
        self.message = first.message
        self.file = first.file
        self.key = first.key
        self.expected = first.expected
        self.line = first.line
        self.column = first.column
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self):
        return (_rebuild_config_error, (self.problems,))


def _rebuild_config_error(problems):
    return ConfigError(problems=problems)


class FirmwareInterfaceError(RigError, ImportError):
    """A firmware interface family is unknown or its module failed to import."""

    exit_code = 2


# --- transports and hardware ---------------------------------------------------------------


class TransportError(RigError, OSError):
    """A port, socket or instrument could not be used."""

    exit_code = 3


class PortNotFoundError(TransportError, FileNotFoundError):
    """The named port or resource does not exist."""


class PortBusyError(TransportError):
    """The port exists but another program holds it."""


class TransportTimeoutError(TransportError, TimeoutError):
    """A device did not answer in time."""


class DisconnectedError(TransportError, ConnectionError):
    """The device or port went away while in use."""


# --- codecs ------------------------------------------------------------------------------


class CodecError(RigError, ValueError):
    """Bytes or values that a wire format cannot carry."""


class EncodeError(CodecError):
    """A value is outside what the wire format can encode (the message names the field).

    ``index``: the record (track, plot) that holds it, where the encoder knows it.
    """

    def __init__(self, message: str, *, index: int | None = None):
        super().__init__(message)
        self.index = index


class BufferFullError(CodecError):
    """A decoder was asked to hold more than its bounded buffer allows."""


# --- stopping ------------------------------------------------------------------------------


class Terminated(BaseException):
    """SIGTERM, raised where the command is, as Ctrl-C raises KeyboardInterrupt."""
