"""IEEE 488.2 definite-length blocks and the plot records inside them.

::

    #<n><len><data>
     |  |    +-- exactly len octets
     |  +------- n ASCII digits: len
     +---------- one ASCII digit 1..9: n

The header is parsed on its own (:func:`parse_header`), so a reader can read exactly what it
announces and no more; the payload goes straight into numpy (:func:`plots_from_payload`). A
header that is not well formed, or announces more than ``max_bytes``, raises
:class:`rig.errors.CodecError`: a lying header cannot make a reader allocate or wait for
gigabytes.
"""

from __future__ import annotations

import numpy as np

from rig.errors import CodecError, EncodeError
from rig.records import empty_plots

from .protocol import MAX_BLOCK_BYTES, PLOT_RECORD_DTYPE, PLOT_RECORD_SIZE


def encode_block(data: bytes) -> bytes:
    """``data`` as a definite-length block (no terminator)."""
    digits = str(len(data)).encode()
    if len(digits) > 9:
        raise EncodeError(f"a block of {len(data)} octets needs more than 9 length digits")
    return b"#" + str(len(digits)).encode() + digits + bytes(data)


def parse_header(head: bytes, max_bytes: int = MAX_BLOCK_BYTES) -> tuple[int, int]:
    """``(n_digits, length)`` from the first two octets and the length digits.

    ``head`` starts with ``#<n>``; when it holds fewer than ``2 + n`` octets only ``n`` is
    returned with length -1 (read ``n`` more octets and call again).
    """
    if len(head) < 2 or head[0:1] != b"#":
        raise CodecError(f"not a definite-length block: starts with {bytes(head[:2])!r}")
    if not 0x31 <= head[1] <= 0x39:
        raise CodecError(f"block header digit count {bytes(head[1:2])!r} is not 1..9")
    n = head[1] - 0x30
    if len(head) < 2 + n:
        return n, -1
    digits = bytes(head[2:2 + n])
    if not digits.isdigit():
        raise CodecError(f"block length {digits!r} is not decimal digits")
    length = int(digits)
    if length > max_bytes:
        raise CodecError(f"block announces {length} octets, more than the limit of {max_bytes}")
    return n, length


def parse_block(buf: bytes, max_bytes: int = MAX_BLOCK_BYTES) -> tuple[bytes, int] | None:
    """``(data, consumed)`` of the block at the start of ``buf``, or None when incomplete.

    ``consumed`` includes one message terminator (``\\n``) when it follows the data.
    """
    if len(buf) < 2:
        return None
    n, length = parse_header(buf[:2 + 9], max_bytes)
    if length < 0:
        return None
    end = 2 + n + length
    if len(buf) < end:
        return None
    consumed = end + 1 if buf[end:end + 1] == b"\n" else end
    return bytes(buf[2 + n:end]), consumed


def payload_from_plots(plots: np.ndarray, seq0: int = 0) -> bytes:
    """Plot records (big-endian, see protocol.py) for ``plots``, numbered from ``seq0``."""
    out = np.zeros(len(plots), dtype=PLOT_RECORD_DTYPE)
    for name in ("t_sensor", "range_m", "az_rad", "el_rad", "range_rate_mps", "amplitude_db",
                 "flags"):
        out[name] = plots[name]
    out["seq"] = (np.arange(len(plots), dtype=np.uint64) + seq0) & 0xFFFFFFFF
    return out.tobytes()


def plots_from_payload(data: bytes, *, sensor_id: int = 0, t_arrival_ns: int = 0) -> np.ndarray:
    """PLOT_DTYPE array of the records in a block's data."""
    if len(data) % PLOT_RECORD_SIZE:
        raise CodecError(f"block of {len(data)} octets is not a whole number of "
                         f"{PLOT_RECORD_SIZE}-octet plot records")
    wire = np.frombuffer(data, dtype=PLOT_RECORD_DTYPE)
    plots = empty_plots(len(wire))
    for name in ("t_sensor", "range_m", "az_rad", "el_rad", "range_rate_mps", "amplitude_db",
                 "flags", "seq"):
        plots[name] = wire[name]
    plots["sensor_id"] = sensor_id
    plots["t_arrival_ns"] = t_arrival_ns
    return plots
