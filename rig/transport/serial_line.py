"""Serial line settings as config keys, named as pyserial names them (``flow_control`` picks
one of pyserial's ``rtscts``, ``xonxoff``, ``dsrdtr``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

DEFAULT_BAUDRATE = 921600
FLOW_CONTROLS = ("none", "rtscts", "xonxoff", "dsrdtr")

Parity = Literal["N", "E", "O", "M", "S"]
StopBits = Literal[1, 1.5, 2]
ByteSize = Literal[5, 6, 7, 8]
FlowControl = Literal["none", "rtscts", "xonxoff", "dsrdtr"]


class SerialLine(BaseModel):
    """The keys of a serial line in a bench config."""

    baudrate: int = Field(DEFAULT_BAUDRATE, gt=0, description="line speed (bit/s)")
    bytesize: ByteSize = Field(8, description="data bits")
    parity: Parity = Field("N", description="parity: N none, E even, O odd, M mark, S space")
    stopbits: StopBits = Field(1, description="stop bits")
    flow_control: FlowControl = Field("none", description="none, rtscts (hardware), xonxoff "
                                      "(software) or dsrdtr")

    def line_settings(self) -> dict:
        """The keyword arguments of :class:`rig.transport.serial_port.SerialTransport`."""
        return {name: getattr(self, name) for name in SerialLine.model_fields}


def pyserial_settings(*, baudrate: int, bytesize: int, parity: str, stopbits: float,
                      flow_control: str) -> dict:
    """The keyword arguments of ``serial.serial_for_url`` for these settings."""
    if flow_control not in FLOW_CONTROLS:
        raise ValueError(f"flow control {flow_control!r}: expected one of "
                         f"{', '.join(FLOW_CONTROLS)}")
    return dict(baudrate=baudrate, bytesize=bytesize, parity=parity, stopbits=stopbits,
                rtscts=flow_control == "rtscts", xonxoff=flow_control == "xonxoff",
                dsrdtr=flow_control == "dsrdtr")
