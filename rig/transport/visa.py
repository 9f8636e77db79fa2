"""VISA sessions as a :class:`~rig.transport.base.MessageTransport`, through pyvisa.

The backend is pyvisa-py (``@py``) by default, so no vendor VISA is needed; ``backend=""``
takes the system's VISA and ``path.yaml@sim`` a pyvisa-sim simulated instrument. Any resource
string works (``TCPIP0::10.0.0.7::5025::SOCKET``, ``TCPIP0::host::inst0::INSTR``, ``USB0::...``,
``ASRL/dev/ttyUSB0::INSTR``); ``visa://RESOURCE`` names one where a URL is expected. Every
pyvisa error becomes a :class:`rig.errors.TransportError` naming the resource.
"""

from __future__ import annotations

import time
import warnings

from rig.errors import PortNotFoundError, TransportError, TransportTimeoutError

from .base import MessageTransport

SCHEME = "visa://"


def _visa_errors():
    """What a VISA session raises when the instrument or the line fails (pyvisa-py lets
    socket errors such as a broken pipe through as OSError)."""
    import pyvisa

    return pyvisa.errors.VisaIOError, pyvisa.errors.InvalidSession, OSError


class VisaTransport(MessageTransport):
    """One VISA session to ``url`` (a resource string, or ``visa://`` and one). ``backend``
    is pyvisa's ``visa_library``; ``termination`` sets both ``read_termination`` and
    ``write_termination`` unless they are given."""

    def __init__(self, url: str, *, backend: str = "@py", timeout_s: float = 2.0,
                 termination: str = "\n", read_termination: str | None = None,
                 write_termination: str | None = None):
        self.url = url
        self.resource = url.removeprefix(SCHEME)
        self.backend = backend
        self.timeout_s = timeout_s
        self.read_termination = termination if read_termination is None else read_termination
        self.write_termination = (termination if write_termination is None
                                  else write_termination)
        self._rm = None
        self._inst = None

    @property
    def is_open(self) -> bool:
        return self._inst is not None

    @property
    def session(self):
        """The open pyvisa resource (its timeout and terminations as pyvisa holds them), or
        None; its resource manager's ``visalib`` is the backend that answered."""
        return self._inst

    def open(self) -> None:
        if self._inst is not None:
            return
        import pyvisa

        with warnings.catch_warnings():   # pyvisa-py warns about optional discovery packages
            warnings.simplefilter("ignore")
            try:
                if self._rm is None:
                    self._rm = pyvisa.ResourceManager(self.backend)
                self._inst = self._rm.open_resource(
                    self.resource, read_termination=self.read_termination,
                    write_termination=self.write_termination,
                    timeout=round(self.timeout_s * 1000))
            except _visa_errors() as e:
                raise self._error("cannot open", e) from e
            except ValueError as e:
                raise PortNotFoundError(f"{self.resource}: cannot open: {e}") from e

    def close(self) -> None:
        """Close the session (the resource manager stays for a reopen; :meth:`release`
        closes it too)."""
        inst, self._inst = self._inst, None
        if inst is not None:
            try:
                inst.close()
            except Exception:  # pyvisa backends raise many kinds on close; nothing to do
                pass

    def release(self) -> None:
        """Close the session and the resource manager."""
        self.close()
        rm, self._rm = self._rm, None
        if rm is not None:
            try:
                rm.close()
            except Exception:  # as above
                pass

    def __exit__(self, *exc):
        self.release()

    # --- messages ----------------------------------------------------------------------
    def write_message(self, text: str) -> None:
        try:
            self._session().write(text)
        except _visa_errors() as e:
            raise self._error(f"write {text!r}", e) from e

    def query(self, text: str) -> str:
        try:
            return self._session().query(text).strip()
        except _visa_errors() as e:
            raise self._error(f"query {text!r}", e) from e

    def read_exact(self, n: int) -> bytes:
        try:
            return bytes(self._session().read_bytes(n)) if n else b""
        except _visa_errors() as e:
            raise self._error(f"read {n} octets", e) from e

    def discard_input(self) -> None:
        inst = self._session()
        old = inst.timeout
        try:
            inst.timeout = 100
            while True:
                inst.read_raw()
        except _visa_errors():
            pass
        except Exception as e:  # a closed or broken session: it must be reopened
            self._inst = None
            raise TransportError(f"{self.resource}: session broken: {e}") from e
        finally:
            if self._inst is not None:
                try:
                    inst.timeout = old
                except Exception as e:  # as above
                    self._inst = None
                    raise TransportError(f"{self.resource}: session broken: {e}") from e

    # --- bytes, as every transport -------------------------------------------------------
    def write(self, data: bytes) -> None:
        try:
            self._session().write_raw(data)
        except _visa_errors() as e:
            raise self._error("write", e) from e

    def read_chunk(self, timeout_s: float) -> tuple[bytes, int]:
        inst = self._session()
        old = inst.timeout
        try:
            inst.timeout = max(1, round(timeout_s * 1000))
            data = bytes(inst.read_raw())
        except _visa_errors() as e:
            error = self._error("read", e)
            if isinstance(error, TransportTimeoutError):
                return b"", time.monotonic_ns()
            raise error from e
        finally:
            inst.timeout = old
        return data, time.monotonic_ns()

    # --- helpers -------------------------------------------------------------------------
    def _session(self):
        if self._inst is None:
            raise TransportError(f"{self.resource}: session is not open")
        return self._inst

    def _error(self, what: str, e: BaseException) -> TransportError:
        import pyvisa

        if (isinstance(e, pyvisa.errors.VisaIOError)
                and e.error_code == pyvisa.constants.StatusCode.error_timeout):
            return TransportTimeoutError(
                f"{self.resource}: {what}: timed out after {self.timeout_s} s")
        return TransportError(f"{self.resource}: {what}: {e}")
