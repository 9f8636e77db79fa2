"""``rig ports``: the serial ports and VISA resources this machine has."""

from __future__ import annotations

import json


def add_parser(sub) -> None:
    p = sub.add_parser("ports", help="list serial ports and VISA resources",
                       description="List serial ports (pyserial) and VISA resources (pyvisa "
                                   "with the pyvisa-py backend, unless --visa-backend says "
                                   "otherwise), and which VISA library answered. Empty lists "
                                   "are a normal answer.")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--visa-backend", default="@py", metavar="BACKEND",
                   help="pyvisa backend to ask (default '@py'; '' for the system's VISA)")
    p.set_defaults(func=run)


def list_serial_ports() -> list[dict]:
    from serial.tools import list_ports

    return [{"device": p.device, "description": p.description, "hwid": p.hwid}
            for p in sorted(list_ports.comports(), key=lambda p: p.device)]


#: pyvisa backends by the package that provides them
BACKEND_PACKAGES = {"pyvisa_py": "pyvisa-py", "pyvisa_sim": "pyvisa-sim", "pyvisa": "ivi"}


def visa_backend(rm) -> dict:
    """Which VISA library a pyvisa ResourceManager ``rm`` answered with: its name
    (pyvisa-py, pyvisa-sim, ivi for a vendor's VISA), version and library path."""
    lib = rm.visalib
    name = BACKEND_PACKAGES.get(type(lib).__module__.split(".")[0], type(lib).__name__)
    path = str(getattr(lib, "library_path", "") or "")
    try:
        version = dict(lib.get_debug_info()).get("Version")
    except Exception:  # a vendor library may not say; the name and path still do
        version = None
    text = name + (f" {version}" if version else "")
    if path and path != "py":
        text += f" ({path})"
    return {"name": name, "version": str(version) if version else None,
            "library_path": path or None, "description": text}


def list_visa(backend: str) -> dict:
    """What pyvisa's ``backend`` lists: ``resources``, the ``backend`` that answered (see
    :func:`visa_backend`) and ``error``, why it could not list them (None when it could)."""
    import warnings

    found = {"resources": [], "backend": None, "error": None}
    try:
        import pyvisa

        with warnings.catch_warnings():  # pyvisa-py warns about optional discovery packages
            warnings.simplefilter("ignore")
            rm = pyvisa.ResourceManager(backend)
            try:
                found["backend"] = visa_backend(rm)
                found["resources"] = sorted(rm.list_resources())
            finally:
                rm.close()
    except Exception as e:  # pyvisa raises many kinds; listing is best effort
        found["error"] = f"{type(e).__name__}: {e}"
    return found


def run(args) -> int:
    serial_ports = list_serial_ports()
    found = list_visa(args.visa_backend)
    visa, visa_error, backend = found["resources"], found["error"], found["backend"]
    if args.json:
        print(json.dumps({"serial": serial_ports, "visa": visa, "visa_error": visa_error,
                          "visa_backend": backend}))
        return 0
    print(f"Serial ports ({len(serial_ports)}):")
    for p in serial_ports:
        print(f"  {p['device']:<20} {p['description']}  [{p['hwid']}]")
    answered = f" via {backend['description']}" if backend else ""
    print(f"VISA resources ({len(visa)}){answered}:")
    for r in visa:
        print(f"  {r}")
    if visa_error:
        print(f"  (VISA listing unavailable: {visa_error})")
    return 0
