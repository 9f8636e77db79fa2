"""An emulator process imports what it emulates with, not what the analysis needs."""

import subprocess
import sys


def analysis_stack_after(code: str) -> str:
    """Which of pandas, matplotlib, aiohttp and dask a fresh Python has imported once it has
    run ``code``: their names, space-separated ("" for none)."""
    code = ("import sys\n" + code +
            "print(' '.join(m for m in ('pandas', 'matplotlib', 'aiohttp', 'dask') "
            "if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    return done.stdout.strip()


def test_an_emulator_s_imports_leave_out_pandas_matplotlib_and_the_web_and_dask_stacks():
    code = ("from rig.cli import build_parser\n"
            "build_parser(['emulate'])\n"
            "import firmware_interfaces.serial_sensor.emulator, "
            "firmware_interfaces.asterix_radar.emulator, "
            "firmware_interfaces.scpi_sensor.emulator, firmware_interfaces.esm_sensor.emulator, "
            "firmware_interfaces.cat062_tracks.emulator, "
            "rig.emulation.scenario_source\n"
            "from rig.scenario import load_scenario\n"
            "load_scenario()\n")
    assert analysis_stack_after(code) == ""
