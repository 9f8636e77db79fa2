"""Pure-Python twin of ``ext/rig_asterix.h``: the ASTERIX building blocks the CAT048 and
CAT062 twins share (``firmware_interfaces/asterix_radar/reference.py``,
``rig/publish/cat062_reference.py``).

Written plainly, one function per building block of the header, so that each twin reads like
its compiled codec and the tests can hold the two together byte for byte. Formats, counters and
the resynchronisation rules are those of ``rig_asterix.h``; a UAP here is a dict
``FRN -> (item name, format)``, the format one of ``("fixed", n)``, ``("extended", group)``,
``("repetitive", element)``, ``("explicit",)`` or ``("compound", [subfield formats])`` with
None for a spare subfield. FRNs the UAP leaves out are spare: a record naming one is bad.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

BLOCK_HEADER = 3          # CAT u8, LEN u16
MAX_BLOCK = 65535         # LEN counts the whole block in 16 bits
DAY_S = 86400.0
TOD_SCALE_S = 1 / 128     # I048/140, I062/070

#: The counters of the block walk (:func:`records`), in every decoder that uses it.
WALK_COUNTERS = ("blocks_ok", "records_ok", "records_bad", "blocks_other_category",
                 "blocks_bad_length", "blocks_truncated", "bytes_skipped")


def round_half_up(x: float):
    """``floor(x + 0.5)`` as the C codecs round; NaN and infinities stay as they are."""
    return math.floor(x + 0.5) if math.isfinite(x) else x


def time_of_day_units(t: float) -> int:
    """A finite time (s) as a u24 time of day: 1/128 s since midnight, wrapping at 24 h."""
    tod = math.fmod(t, DAY_S)
    if tod < 0:
        tod += DAY_S
    units = round_half_up(tod / TOD_SCALE_S)
    if units >= DAY_S / TOD_SCALE_S:
        units -= DAY_S / TOD_SCALE_S
    return int(units)


# --- records -------------------------------------------------------------------------------
def item_length(fmt: tuple, data: bytes, at: int, end: int) -> int:
    """Octets of the item at ``at`` (not past ``end``) in format ``fmt``, or -1."""
    kind = fmt[0]
    if kind == "fixed":
        return fmt[1] if end - at >= fmt[1] else -1
    if kind == "extended":
        q = at
        while True:
            if end - q < fmt[1]:
                return -1
            q += fmt[1]
            if not data[q - 1] & 1:
                return q - at
    if kind == "repetitive":
        if at >= end:
            return -1
        n = 1 + data[at] * fmt[1]
        return n if end - at >= n else -1
    if kind == "explicit":
        if at >= end or data[at] == 0:
            return -1
        return data[at] if end - at >= data[at] else -1
    if kind == "compound":
        prim = item_length(("extended", 1), data, at, end)
        if prim < 0:
            return -1
        q = at + prim
        for i in range(prim):
            for k in range(7):
                if data[at + i] & (0x80 >> k):
                    slot = 7 * i + k
                    if slot >= len(fmt[1]) or fmt[1][slot] is None:
                        return -1
                    n = item_length(fmt[1][slot], data, q, end)
                    if n < 0:
                        return -1
                    q += n
        return q - at
    return -1


def primary_length(data: bytes, at: int) -> int:
    """Octets of the FX-extended primary subfield at ``at`` (of an item already walked)."""
    k = 1
    while data[at + k - 1] & 1:
        k += 1
    return k


def walk_record(uap: dict, data: bytes, at: int, end: int) -> tuple[int, dict[int, int]]:
    """``(length, {frn: offset of its item in data})`` of the record at ``at``; length -1 when
    the FSPEC never ends, names a spare FRN, or an item runs past ``end``."""
    max_octets = (max(uap) + 6) // 7
    frns = []
    q = at
    while True:
        if q >= end or q - at >= max_octets:
            return -1, {}
        octet = data[q]
        frns += [7 * (q - at) + k + 1 for k in range(7) if octet & (0x80 >> k)]
        q += 1
        if not octet & 1:
            break
    offsets = {}
    for frn in frns:
        if frn not in uap:
            return -1, {}
        n = item_length(uap[frn][1], data, q, end)
        if n < 0:
            return -1, {}
        offsets[frn] = q
        q += n
    return q - at, offsets


def record(items: dict[int, bytes]) -> bytes:
    """One record: the FSPEC of the FRNs in ``items`` (as many octets as the highest needs, FX
    on all but the last), then the items in FRN order."""
    octets = (max(items) - 1) // 7 + 1
    fspec = bytearray(octets)
    for frn in items:
        fspec[(frn - 1) // 7] |= 0x80 >> ((frn - 1) % 7)
    for i in range(octets - 1):
        fspec[i] |= 1
    return bytes(fspec) + b"".join(items[frn] for frn in sorted(items))


# --- data blocks ---------------------------------------------------------------------------
def pack(records: list[bytes], category: int, max_datagram_bytes: int,
         max_records_per_block: int) -> list[bytes]:
    """Records in datagrams of data blocks of one category, as ``asx_pack`` packs them: a new
    block when the open one holds ``max_records_per_block`` records (0: no limit) or would pass
    65535 octets, a new datagram when the record would not fit in ``max_datagram_bytes``."""
    datagrams = []
    current = bytearray()           # the datagram being filled
    block_at = -1                   # offset of its open block, -1 before the first
    in_block = 0

    def close_block():
        if block_at >= 0:
            current[block_at + 1:block_at + 3] = (len(current) - block_at).to_bytes(2, "big")

    for rec in records:
        new_block = (block_at < 0
                     or (max_records_per_block and in_block >= max_records_per_block)
                     or len(current) - block_at + len(rec) > MAX_BLOCK)
        if current and (len(current) + len(rec) + (BLOCK_HEADER if new_block else 0)
                        > max_datagram_bytes):
            close_block()
            datagrams.append(bytes(current))
            current = bytearray()
            block_at = -1
            new_block = True
        if new_block:
            close_block()
            block_at = len(current)
            current += bytes((category, 0, 0))
            in_block = 0
        current += rec
        in_block += 1
    if current:
        close_block()
        datagrams.append(bytes(current))
    return datagrams


def records(decoder, data: bytes, category: int, uap: dict) -> Iterator[dict[int, int]]:
    """The records of ``category`` in one datagram, each as ``{frn: offset in data}``.

    Walks the data blocks as ``asx_next_record`` does and counts on ``decoder`` (its
    :data:`WALK_COUNTERS` attributes): a block of another category is skipped by its LEN; a
    truncated header, a LEN below 3 or past the datagram ends the datagram; a record that
    cannot be walked loses the rest of its block.
    """
    n = len(data)
    pos = 0
    while pos < n:
        if n - pos < BLOCK_HEADER:
            decoder.blocks_truncated += 1
            decoder.bytes_skipped += n - pos
            return
        ln = int.from_bytes(data[pos + 1:pos + 3], "big")
        if ln < BLOCK_HEADER:
            decoder.blocks_bad_length += 1
            decoder.bytes_skipped += n - pos
            return
        if ln > n - pos:
            decoder.blocks_truncated += 1
            decoder.bytes_skipped += n - pos
            return
        end = pos + ln
        if data[pos] != category:
            decoder.blocks_other_category += 1
            decoder.bytes_skipped += ln
            pos = end
            continue
        decoder.blocks_ok += 1
        rec = pos + BLOCK_HEADER
        while rec < end:
            length, at = walk_record(uap, data, rec, end)
            if length < 0:
                decoder.records_bad += 1
                decoder.bytes_skipped += end - rec
                break
            decoder.records_ok += 1
            yield at
            rec += length
        pos = end


class TimeOfDayLine:
    """Times of day (s since midnight, wrapping) on a continuous time line, as
    ``asx_tod_unwrap``: a day is added when the time of day wraps; a record more than half a
    day "ahead" is a late one from the day before."""

    def __init__(self, day_start_s: float = 0.0):
        self.day_s = day_start_s
        self.last_tod: float | None = None

    def reset(self) -> None:
        self.last_tod = None

    def unwrap(self, tod: float) -> float:
        if self.last_tod is None:
            self.last_tod = tod
            return self.day_s + tod
        d = tod - self.last_tod
        if d > DAY_S / 2:
            return self.day_s - DAY_S + tod
        if d < -DAY_S / 2:
            self.day_s += DAY_S
        self.last_tod = tod
        return self.day_s + tod
