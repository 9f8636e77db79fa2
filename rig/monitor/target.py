"""What ``rig monitor [FAMILY] [URL]`` names: a source (a sensor family or a partner feed)
and where it is (None: an emulated sensor)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rig.errors import FirmwareInterfaceError, UsageError
from rig.firmware import BUILTIN, available, get_interface

#: the partner feed: the fused picture as ASTERIX CAT062
FEED = "cat062"
DEFAULT_FAMILY = "serial-sensor"
#: the family a URL means when several built-in families speak its transport
DEFAULT_FOR_TRANSPORT = {"udp": "asterix-cat048"}
SPY_PREFIX = "spy+"
_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


@dataclass(frozen=True)
class Target:
    source: str             # a family's name, or FEED
    url: str | None         # None: start the family's emulator

    @property
    def is_feed(self) -> bool:
        return self.source == FEED


def known_sources() -> list[str]:
    return [*available(), FEED]


def resolve(first: str | None, second: str | None, *, emulate: bool) -> Target:
    """The target of the command line's words: ``[FAMILY] [URL]``. A lone word is a family
    when it is one (or looks like a name and is no file), else a URL whose family is
    inferred (:func:`family_of_url`)."""
    source, url = None, None
    if second is not None:
        source, url = first, second
    elif first is not None and (first in known_sources() or _looks_like_a_name(first)):
        source = first
    else:
        url = first
    if source is not None and source not in known_sources():
        raise UsageError(f"unknown family {source!r}; known: {', '.join(known_sources())}")
    if url is not None and emulate:
        raise UsageError("give a URL or --emulate, not both")
    if source == FEED and url is None:
        raise UsageError(f"{FEED}: give the feed's address, e.g. udp://@127.0.0.1:9101 "
                         f"(there is no {FEED} emulator)")
    if source is None:
        source = family_of_url(url) if url is not None else DEFAULT_FAMILY
    return Target(source, url)


def _looks_like_a_name(word: str) -> bool:
    return bool(_NAME.fullmatch(word)) and not Path(word).exists()


def transport_of_url(url: str) -> str:
    """The transport a URL names: its scheme (``udp://``, ``visa://``), ``visa`` for a VISA
    resource string (``TCPIP::HOST::PORT::SOCKET``), else ``serial``."""
    from rig.transport import TRANSPORTS

    bare = url[len(SPY_PREFIX):] if url.startswith(SPY_PREFIX) else url
    scheme = bare.partition("://")[0] if "://" in bare else ""
    if scheme in TRANSPORTS:
        return scheme
    return "visa" if "::" in bare else "serial"


def family_of_url(url: str) -> str:
    """The family whose transport ``url`` names; a built-in family wins over plug-ins (of
    several built-ins, the one :data:`DEFAULT_FOR_TRANSPORT` names), and several that speak it
    are otherwise a usage error (name one)."""
    kind = transport_of_url(url)
    speaking = [name for name in available() if _transport(name) == kind]
    builtin = [name for name in speaking if name in BUILTIN]
    if len(builtin) > 1 and DEFAULT_FOR_TRANSPORT.get(kind) in builtin:
        return DEFAULT_FOR_TRANSPORT[kind]
    found = builtin if len(builtin) == 1 else speaking
    if len(found) == 1:
        return found[0]
    if not found:
        raise UsageError(f"{url}: no family speaks {kind}; name one of "
                         f"{', '.join(known_sources())}")
    raise UsageError(f"{url}: several families speak {kind} ({', '.join(found)}); name one")


def _transport(name: str) -> str | None:
    try:
        return get_interface(name).transport
    except FirmwareInterfaceError:
        return None
