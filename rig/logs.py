"""rig's log records: through rich on a terminal, one plain line each elsewhere."""

from __future__ import annotations

import logging

from rich.console import Console
from rich.logging import RichHandler

from rig.progress import stderr_console

#: the format of a log record off a terminal (CI logs, files)
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LEVELS = (logging.WARNING, logging.INFO, logging.DEBUG)


def setup_logging(verbosity: int = 0, console: Console | None = None) -> None:
    """Log at WARNING, INFO (``verbosity`` 1) or DEBUG (2 or more) on stderr: through a
    RichHandler when ``console`` (default: the stderr console shared with progress
    displays) is a terminal, else in :data:`PLAIN_FORMAT` on the console's file. Like
    logging.basicConfig, it leaves a root logger that already has handlers as it is."""
    console = console or stderr_console()
    level = LEVELS[min(max(verbosity, 0), len(LEVELS) - 1)]
    if console.is_terminal:
        handler = RichHandler(console=console, show_path=False, rich_tracebacks=False,
                              markup=False)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        logging.basicConfig(level=level, handlers=[handler])
    else:
        logging.basicConfig(level=level, format=PLAIN_FORMAT, stream=console.file)
