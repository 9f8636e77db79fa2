"""The SCPI radar sensor: commands, responses and the binary plot block.

An instrument like an LXI bench device: SCPI over a raw TCP socket (port 5025 by convention;
VISA resource ``TCPIP0::HOST::5025::SOCKET``), every message ended by ``\\n`` in both
directions. Mnemonics match in their short (upper case) or long form, case-insensitively;
``[...]`` parts are optional; several commands may share a line, separated by ``;`` (each is
taken from the root); the answers of the queries on one line come back on one line, separated
by ``;``.

Commands
--------
=============================  =================================================================
``*IDN?``                      ``RIG,SCPI-RADAR-EMU,<serial>,<version>``
``*RST``                       stop acquisition, clear the plot buffer, default configuration
``*CLS``                       clear the error queue
``*OPC?``                      ``1`` once everything before it is done
``SYSTem:ERRor[:NEXT]?``       oldest error as ``<code>,"<message>"``; ``0,"No error"`` when empty
``SYSTem:ERRor:COUNt?``        number of errors queued
``SYSTem:CLOCk?``              the sensor clock now, s (``%.9f``)
``CONFigure:RATE <n>``         plots per second, 1 .. 1e6 (``CONFigure:RATE?`` reads it)
``CONFigure:SCAN:PERiod <s>``  antenna period, 0.001 .. 60 s (``CONFigure:SCAN:PERiod?``)
``INITiate[:IMMediate]``       start acquisition (plots accumulate in the buffer)
``ABORt``                      stop acquisition
``FETCh:PLOTs? [<max>]``       the oldest buffered plots, at most ``max`` (1 .. 65536, default
                               4096), removed from the buffer, as one definite-length block
``FETCh:PLOTs:COUNt?``         number of plots buffered
``DIAGnostic:FAULt <name>``    arm one fault for the next ``FETCh:PLOTs?`` (emulator only):
                               ``LONG`` (block header claims 100 octets more than follow),
                               ``SHORT`` (claims fewer than follow), ``SILENT`` (no answer),
                               ``ERRor`` (queue error -310 as well)
=============================  =================================================================

Errors (the queue holds at most 10; when it overflows its last entry becomes -350)
-------------------------------------------------------------------------------------
-100 Command error, -102 Syntax error, -104 Data type error, -108 Parameter not allowed,
-109 Missing parameter, -113 Undefined header, -222 Data out of range, -223 Too much data,
-310 System error, -350 Queue overflow, -410 Query INTERRUPTED, 101 Plot buffer overflow
(device-specific: plots were lost because nobody fetched them).

Binary block (IEEE 488.2 definite length arbitrary block)
---------------------------------------------------------
``#<n><len><data>\\n``: ``#``, one ASCII digit ``n`` (1..9), ``n`` ASCII digits giving ``len``,
then ``len`` octets of data, then the message terminator. ``data`` is zero or more plot
records of 52 octets, **big-endian**:

======  =====  ===============  ============================================================
offset  bytes  field            encoding
======  =====  ===============  ============================================================
0       8      t_sensor         IEEE 754 float64, s, sensor clock
8       8      range_m          float64, slant range, m
16      8      az_rad           float64, rad clockwise from true north
24      8      el_rad           float64, rad above the local horizontal (NaN: not measured)
32      8      range_rate_mps   float64, m/s (NaN: not measured)
40      4      amplitude_db     float32, dB
44      2      flags            u16, ``rig.records.PLOT_FLAG_*``
46      2      reserved         0
48      4      seq              u32, the instrument's plot counter (from 0 at power-up/*RST,
                                wraps); a gap means plots were lost in the instrument
======  =====  ===============  ============================================================
"""

from __future__ import annotations

import numpy as np

DEFAULT_PORT = 5025
TERMINATION = "\n"
IDN_MANUFACTURER = "RIG"
IDN_MODEL = "SCPI-RADAR-EMU"

PLOT_RECORD_DTYPE = np.dtype([
    ("t_sensor", ">f8"), ("range_m", ">f8"), ("az_rad", ">f8"), ("el_rad", ">f8"),
    ("range_rate_mps", ">f8"), ("amplitude_db", ">f4"), ("flags", ">u2"),
    ("reserved", ">u2"), ("seq", ">u4"),
])
PLOT_RECORD_SIZE = PLOT_RECORD_DTYPE.itemsize          # 52
FETCH_MAX_DEFAULT = 4096
FETCH_MAX_LIMIT = 65536
MAX_BLOCK_BYTES = FETCH_MAX_LIMIT * PLOT_RECORD_SIZE

RATE_MIN = 1.0
RATE_MAX = 1e6
SCAN_PERIOD_MIN_S = 0.001
SCAN_PERIOD_MAX_S = 60.0
ERROR_QUEUE_SIZE = 10
FAULTS = ("LONG", "SHORT", "SILENT", "ERROR")

ERRORS = {
    0: "No error",
    -100: "Command error",
    -102: "Syntax error",
    -104: "Data type error",
    -108: "Parameter not allowed",
    -109: "Missing parameter",
    -113: "Undefined header",
    -222: "Data out of range",
    -223: "Too much data",
    -310: "System error",
    -350: "Queue overflow",
    -410: "Query INTERRUPTED",
    101: "Plot buffer overflow",
}


def visa_resource(host: str, port: int) -> str:
    """The VISA resource string of a raw-socket instrument."""
    return f"TCPIP0::{host}::{port}::SOCKET"
