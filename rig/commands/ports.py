"""``rig ports``: the serial ports and VISA resources this machine has."""

from __future__ import annotations

import json


def add_parser(sub) -> None:
    p = sub.add_parser("ports", help="list serial ports and VISA resources",
                       description="List serial ports (pyserial) and VISA resources (pyvisa "
                                   "with the pyvisa-py backend, unless --visa-backend says "
                                   "otherwise). Empty lists are a normal answer.")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--visa-backend", default="@py", metavar="BACKEND",
                   help="pyvisa backend to ask (default '@py'; '' for the system's VISA)")
    p.set_defaults(func=run)


def list_serial_ports() -> list[dict]:
    from serial.tools import list_ports

    return [{"device": p.device, "description": p.description, "hwid": p.hwid}
            for p in sorted(list_ports.comports(), key=lambda p: p.device)]


def list_visa_resources(backend: str) -> tuple[list[str], str | None]:
    """The resources pyvisa lists, and why it could not list them (None when it could)."""
    import warnings

    try:
        import pyvisa

        with warnings.catch_warnings():  # pyvisa-py warns about optional discovery packages
            warnings.simplefilter("ignore")
            rm = pyvisa.ResourceManager(backend)
            try:
                return sorted(rm.list_resources()), None
            finally:
                rm.close()
    except Exception as e:  # pyvisa raises many kinds; listing is best effort
        return [], f"{type(e).__name__}: {e}"


def run(args) -> int:
    serial_ports = list_serial_ports()
    visa, visa_error = list_visa_resources(args.visa_backend)
    if args.json:
        print(json.dumps({"serial": serial_ports, "visa": visa, "visa_error": visa_error}))
        return 0
    print(f"Serial ports ({len(serial_ports)}):")
    for p in serial_ports:
        print(f"  {p['device']:<20} {p['description']}  [{p['hwid']}]")
    print(f"VISA resources ({len(visa)}):")
    for r in visa:
        print(f"  {r}")
    if visa_error:
        print(f"  (VISA listing unavailable: {visa_error})")
    return 0
