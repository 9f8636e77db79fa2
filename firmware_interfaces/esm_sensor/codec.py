"""Encoder and decoder of the ESM sensor protocol (``protocol.py``), vectorised with numpy.

Why not Cython like the other codecs: an ESM receiver reports tens of bearings a second,
about one datagram per report, where a radar's plot extractor sends thousands of plots. Per
datagram the decoder takes a few Python steps (find the magic, unpack the header, one CRC-32
computed in C by ``zlib``) and converts all its records as one numpy array (``np.frombuffer``
with :data:`protocol.RECORD_DTYPE`), never a Python object per bearing; at that rate a
compiled codec would save nothing that matters. A datagram is decoded whole (at most 64 KiB),
so there is no buffer to bound.

:class:`EsmDecoder` never raises on any bytes: whatever it cannot use it counts.
"""

from __future__ import annotations

import zlib

import numpy as np

from rig.errors import EncodeError
from rig.records import PLOT_DTYPE, empty_plots

from . import protocol as P

#: how far behind the newest sequence number a message still counts as late (not a restart)
LATE_WINDOW = 64

COUNTER_NAMES = (
    "datagrams", "frames_ok", "plots_ok", "header_errors", "crc_errors", "bad_frames",
    "bytes_skipped", "records_bad", "records_no_angle", "records_bad_az", "records_bad_el",
    "seq_gaps", "seq_late", "seq_restarts", "duplicates",
)


def _round(x: np.ndarray) -> np.ndarray:
    return np.floor(x + 0.5)


def encode(plots: np.ndarray, *, receiver_id: int = 1, seq: int = 0, t_sensor_ns: int,
           max_records: int = P.MAX_RECORDS) -> list[bytes]:
    """The datagrams carrying ``plots`` (PLOT_DTYPE; range and range rate are not sent), at
    most ``max_records`` a datagram, numbered from ``seq`` on, each stamped ``t_sensor_ns``
    (the receiver's clock when they leave). No plots: one datagram with none (alive).

    Raises :class:`EncodeError` (with the plot's ``index``) for a plot the protocol cannot
    carry (:func:`protocol.encodable`)."""
    if plots.dtype != PLOT_DTYPE:
        raise TypeError(f"plots must have dtype rig.records.PLOT_DTYPE, not {plots.dtype}")
    if not 1 <= max_records <= P.MAX_RECORDS:
        raise ValueError(f"max_records must be 1 .. {P.MAX_RECORDS}")
    if not 0 <= receiver_id <= 0xFFFF:
        raise EncodeError(f"receiver_id {receiver_id} does not fit in 16 bits")
    if not -(2**63) <= t_sensor_ns < 2**63:
        raise EncodeError(f"t_sensor_ns {t_sensor_ns} does not fit in 64 bits")
    records = _records(plots, t_sensor_ns)
    chunks = [records[i:i + max_records] for i in range(0, len(records), max_records)]
    out = []
    for k, chunk in enumerate(chunks or [records]):
        body = P.HEADER.pack(P.MAGIC, P.VERSION, P.MSG_BEARINGS, receiver_id,
                             (seq + k) & 0xFFFFFFFF, len(chunk), 0, t_sensor_ns) + chunk.tobytes()
        out.append(body + P.TRAILER.pack(zlib.crc32(body)))
    return out


def _records(plots: np.ndarray, t_sensor_ns: int) -> np.ndarray:
    """The wire records of ``plots``; :class:`EncodeError` naming the first that does not fit."""
    def bad(mask: np.ndarray, field: str, limits: str) -> None:
        if not mask.all():
            i = int(np.flatnonzero(~mask)[0])
            raise EncodeError(f"plot {i}: {field} = {plots[field][i]!r} is outside what the ESM "
                              f"protocol carries ({limits})", index=i)

    az, el = plots["az_rad"], plots["el_rad"]
    with np.errstate(invalid="ignore"):
        bad((az >= 0) & (az < 2 * np.pi), "az_rad", "0 <= azimuth < 2 pi")
        bad((el >= -np.pi / 2) & (el <= np.pi / 2), "el_rad", "-pi/2 to pi/2")
        offset = _round((plots["t_sensor"] - t_sensor_ns * 1e-9) / P.T_OFFSET_SCALE_S)
        bad((offset >= -(2**31)) & (offset < 2**31), "t_sensor",
            "within 2147 s of the datagram's time")
    amp, amp_ok = P.amplitude_units(plots["amplitude_db"])
    bad(amp_ok, "amplitude_db", "-327.67 to 327.67 dB, or NaN")
    records = np.zeros(len(plots), P.RECORD_DTYPE)
    records["t_offset_us"] = offset
    records["az_urad"] = _round(az / P.ANGLE_SCALE_RAD)
    records["el_urad"] = _round(el / P.ANGLE_SCALE_RAD)
    records["amplitude_cdb"] = np.where(np.isnan(amp), P.AMPLITUDE_ABSENT, amp)
    records["flags"] = plots["flags"]
    return records


class EsmDecoder:
    """Bearings out of datagrams (each :meth:`feed` is one datagram, or any bytes).

    ``sensor_id``: the host's number of the sensor, set on every plot. Counters
    (:meth:`counters`): ``datagrams`` fed; ``frames_ok`` messages decoded whole and
    ``plots_ok`` bearings handed on; ``header_errors`` (a magic followed by a version, type,
    count or reserved field that is not the protocol's), ``bad_frames`` (a message longer than
    the rest of its datagram: truncated, or a damaged count), ``crc_errors``; ``bytes_skipped``
    (every octet not in a message decoded whole); ``records_bad`` bearings dropped for an
    impossible angle, by reason: ``records_no_angle`` (no solution), ``records_bad_az``,
    ``records_bad_el``; per receiver id, ``seq_gaps`` (numbers skipped), ``seq_late`` (a
    skipped number that came afterwards: decoded), ``duplicates`` (a number seen already:
    dropped) and ``seq_restarts`` (a number far behind: the receiver restarted).
    """

    def __init__(self, sensor_id: int = 0):
        if not 0 <= sensor_id <= 0xFFFF:
            raise ValueError("sensor_id must fit in 16 bits")
        self.sensor_id = sensor_id
        self._seen: dict[int, tuple[int, int]] = {}    # receiver -> (newest seq, mask behind)
        for name in COUNTER_NAMES:
            setattr(self, name, 0)

    def counters(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTER_NAMES}

    def reset(self) -> None:
        """Forget the sequence numbers seen (a new link)."""
        self._seen.clear()

    def feed(self, data, t_arrival_ns: int = 0) -> np.ndarray:
        """The plots of every good bearing in ``data``, one datagram."""
        data = bytes(data)
        self.datagrams += 1
        batches = []
        pos = 0
        while pos < len(data):
            at = data.find(P.MAGIC, pos)
            if at < 0:
                self.bytes_skipped += len(data) - pos
                break
            self.bytes_skipped += at - pos
            header = self._header(data, at)
            if header is None:
                self.bytes_skipped += 1
                pos = at + 1
                continue
            end = header[0]
            plots = self._message(data, at, header, t_arrival_ns)
            if plots is not None:
                batches.append(plots)
            pos = end
        if not batches:
            return empty_plots(0)
        return batches[0] if len(batches) == 1 else np.concatenate(batches)

    def _header(self, data: bytes, at: int) -> tuple[int, int, int, int, int] | None:
        """(end, receiver, seq, count, t_ns) of the message at ``at``, if its header, length
        and CRC are good (else counted, None)."""
        if len(data) - at < P.HEADER_SIZE:
            self.bad_frames += 1
            return None
        _, version, msg_type, receiver, seq, count, reserved, t_ns = P.HEADER.unpack_from(data, at)
        if (version != P.VERSION or msg_type != P.MSG_BEARINGS or count > P.MAX_RECORDS
                or reserved):
            self.header_errors += 1
            return None
        end = at + P.message_size(count)
        if end > len(data):
            self.bad_frames += 1
            return None
        (crc,) = P.TRAILER.unpack_from(data, end - P.TRAILER.size)
        if crc != zlib.crc32(data[at:end - P.TRAILER.size]):
            self.crc_errors += 1
            return None
        return end, receiver, seq, count, t_ns

    def _message(self, data: bytes, at: int, header: tuple,
                 t_arrival_ns: int) -> np.ndarray | None:
        """The plots of the whole message at ``at`` (``header``: what :meth:`_header` gave),
        or None for a duplicate."""
        end, receiver, seq, count, t_ns = header
        if not self._count_seq(receiver, seq):
            self.duplicates += 1
            self.bytes_skipped += end - at
            return None
        self.frames_ok += 1
        records = np.frombuffer(data, P.RECORD_DTYPE, count, at + P.HEADER_SIZE)
        az, el = records["az_urad"], records["el_urad"]
        no_angle = (az == P.ANGLE_ABSENT) | (el == P.ANGLE_ABSENT)
        bad_az = ~no_angle & ((az < 0) | (az > P.AZ_MAX_URAD))
        bad_el = ~no_angle & ~bad_az & (np.abs(el) > P.EL_MAX_URAD)
        good = ~(no_angle | bad_az | bad_el)
        self.records_no_angle += int(no_angle.sum())
        self.records_bad_az += int(bad_az.sum())
        self.records_bad_el += int(bad_el.sum())
        self.records_bad += int(count - good.sum())
        records = records[good]
        plots = empty_plots(len(records))
        plots["t_sensor"] = (np.int64(t_ns) + records["t_offset_us"].astype(np.int64) * 1000) * 1e-9
        plots["t_arrival_ns"] = t_arrival_ns
        plots["range_m"] = np.nan
        plots["az_rad"] = records["az_urad"] * P.ANGLE_SCALE_RAD
        plots["el_rad"] = records["el_urad"] * P.ANGLE_SCALE_RAD
        amp = records["amplitude_cdb"]
        plots["amplitude_db"] = np.where(amp == P.AMPLITUDE_ABSENT, np.nan,
                                         amp * P.AMPLITUDE_SCALE_DB)
        plots["flags"] = records["flags"]
        plots["sensor_id"] = self.sensor_id
        plots["seq"] = seq
        self.plots_ok += len(plots)
        return plots

    def _count_seq(self, receiver: int, seq: int) -> bool:
        """Count ``seq`` of ``receiver``; False when it was seen already (a duplicate)."""
        newest, mask = self._seen.get(receiver, (None, 0))
        if newest is None:
            self._seen[receiver] = (seq, 1)
            return True
        ahead = (seq - newest) % 2**32
        if ahead and ahead < 2**31:
            self.seq_gaps += ahead - 1
            mask = (mask << ahead) & (2**LATE_WINDOW - 1) if ahead < LATE_WINDOW else 0
            self._seen[receiver] = (seq, mask | 1)
            return True
        behind = (newest - seq) % 2**32
        if behind < LATE_WINDOW:
            if mask >> behind & 1:
                return False
            self.seq_late += 1
            self._seen[receiver] = (newest, mask | 1 << behind)
            return True
        self.seq_restarts += 1
        self._seen[receiver] = (seq, 1)
        return True
