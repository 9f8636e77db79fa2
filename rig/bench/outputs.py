"""The partner feeds of a bench config: opened, and summed up for the report."""

from __future__ import annotations

from rig.publish.feeds import Feeds
from rig.transport import open_transport

from .config import OutputsEntry


def open_feeds(outputs: OutputsEntry, origin, *, partner_sources=None, tap=None) -> Feeds:
    """Every feed of ``outputs`` opened (all or none) behind one :class:`Feeds`."""
    transports = []
    try:
        for entry in outputs.feeds:
            transports.append((entry.partner,
                               open_transport(entry.transport, **entry.line_settings())))
    except BaseException:
        for _, transport in transports:
            transport.close()
        raise
    return Feeds(origin, outputs.sac, outputs.sic, transports, partner_sources=partner_sources,
                 tap=tap)


def feeds_summary(outputs: OutputsEntry, feeds: Feeds) -> list[dict]:
    """Per feed of the config: where it went, its send errors and the tracks the wire could
    not carry."""
    return [{"partner": e.partner, "format": e.format, "transport": e.transport,
             "send_errors": link.send_errors,
             "tracks_not_encodable": feeds.encoder.tracks_not_encodable}
            for e, (_, link) in zip(outputs.feeds, feeds.links)]
