"""The recording file format.

A recording is one file, or a set ``NAME``, ``NAME.1``, ``NAME.2`` ... when it rotates. Each
file is append-only: a 16-byte file header, then chunks. A chunk is written whole and then
flushed to the disk (``fdatasync``), at most ``flush_interval_s`` after its first record, so a
``kill -9`` or a power loss costs at most the chunk being written. Every chunk carries two
CRC-32s, so a torn or damaged chunk is detected, reported and never misread. All integers
are little-endian.

File header (16 bytes)::

    0   8  magic     b"RIGREC\\x00\\x01"
    8   4  version   u32 = 1
    12  4  file_index u32 (0 for the first file of a set, +1 per rotation)

Chunk header (40 bytes), then ``payload_len`` bytes of records::

    0   4  magic        b"RCK1"
    4   4  chunk_seq    u32, +1 per chunk across the whole set
    8   8  t_first_ns   i64, time of the first record
    16  8  t_last_ns    i64, time of the last record
    24  4  n_records    u32
    28  4  payload_len  u32, at most MAX_CHUNK_PAYLOAD
    32  4  payload_crc  CRC-32 of the payload
    36  4  header_crc   CRC-32 of bytes 0..35

Record (16-byte header, then ``length`` bytes)::

    0   1  kind     Kind
    1   1  reserved 0
    2   2  stream   u16 (sensor index for RAW; 0 for OUTPUT: each datagram once, as every feed got it)
    4   4  length   u32
    8   8  t_ns     i64, host monotonic time (arrival for RAW, publication for OUTPUT)

META and EVENT records hold UTF-8 JSON; RAW and OUTPUT hold bytes as they crossed the
wire; PLOTS and TRACKS hold numpy arrays of ``rig.records`` dtypes; CYCLE holds a JSON marker
of the fusion loop (what it consumed and when), which makes replay deterministic. END, the
last record of a recording closed by its run, holds JSON: the records the writer dropped and a
copy of the META of the first file, so that a recording without it is known to be cut short
and one whose first META chunk is damaged can still be read.
"""

from __future__ import annotations

import enum
import struct

FILE_MAGIC = b"RIGREC\x00\x01"
FILE_VERSION = 1
FILE_HEADER = struct.Struct("<8sII")
CHUNK_MAGIC = b"RCK1"
CHUNK_HEADER = struct.Struct("<4sIqqIII")     # without header_crc
CHUNK_HEADER_SIZE = CHUNK_HEADER.size + 4     # 40
RECORD_HEADER = struct.Struct("<BBHIq")
MAX_CHUNK_PAYLOAD = 16 * 1024 * 1024


class Kind(enum.IntEnum):
    META = 1
    RAW = 2
    PLOTS = 3
    OUTPUT = 4
    EVENT = 5
    CYCLE = 6
    TRACKS = 7
    END = 8


RECORD_KINDS = {int(k) for k in Kind}


def chunk_spans(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of every chunk of an intact recording file's bytes ``data``."""
    spans, pos = [], FILE_HEADER.size
    while pos < len(data):
        payload_len = CHUNK_HEADER.unpack_from(data, pos)[5]
        spans.append((pos, pos + CHUNK_HEADER_SIZE + payload_len))
        pos = spans[-1][1]
    return spans
