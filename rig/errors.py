"""The one exception tree of rig.

Every error raised on purpose by rig derives from :class:`RigError` and, where one fits, from
the built-in exception with the same meaning, so ``except TimeoutError`` still works. The
command line maps the branches to exit codes (DESIGN.md): configuration and usage errors exit
with 2, hardware and transport failures with 3.

All exceptions here are picklable, so they can cross from an emulator or reader process.
"""

from __future__ import annotations


class RigError(Exception):
    """Base of every error rig raises on purpose."""

    exit_code = 1


# --- configuration and usage -------------------------------------------------------------


class UsageError(RigError, ValueError):
    """A command was called with arguments that make no sense together."""

    exit_code = 2


class ConfigError(RigError, ValueError):
    """A configuration or input file is invalid.

    The message names the file, the key (a dotted path such as ``sensors[2].site.lat_deg``)
    and what was expected.
    """

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None,
                 expected: str | None = None):
        self.message = message
        self.file = file
        self.key = key
        self.expected = expected
        parts = [str(file)] if file else []
        if key:
            parts.append(f"key {key!r}")
        where = ": ".join(parts)
        text = f"{where}: {message}" if where else message
        if expected:
            text += f" (expected {expected})"
        super().__init__(text)

    def __reduce__(self):
        return (_rebuild_config_error, (self.message, self.file, self.key, self.expected))


def _rebuild_config_error(message, file, key, expected):
    return ConfigError(message, file=file, key=key, expected=expected)


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
