"""Command lines that start a part of rig in a new Python process.

``python -m rig`` puts the working directory first on ``sys.path``, so started from a
checkout it imports the checkout's ``rig/`` source folder (without compiled extensions unless
they were built in place) instead of the installed package. :func:`module_command` runs a
module with that entry taken off, so a subprocess imports the same ``rig`` as its parent.
"""

from __future__ import annotations

import sys

_RUN_MODULE = ("import runpy, sys\n"
               "if sys.path and sys.path[0] == '':\n"
               "    del sys.path[0]\n"
               "runpy.run_module({module!r}, run_name='__main__', alter_sys=True)")


def module_command(module: str, *args: str) -> list[str]:
    """``python -m module args`` for this interpreter, on the installed packages only."""
    return [sys.executable, "-c", _RUN_MODULE.format(module=module), *args]


def rig_command(*args: str) -> list[str]:
    """``rig args`` in a new process of this interpreter."""
    return module_command("rig", *args)
