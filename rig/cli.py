"""The ``rig`` command line: one entry point, one module per subcommand in rig/commands/.

Exit codes: 0 every limit passed, 1 a limit failed, 2 bad configuration or usage, 3 hardware or
transport failure, 4 an internal error (a bug: one line here, the traceback in a log file),
5 inconclusive (a limit the samples could not decide, or one with no data: CI may rerun).
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import tempfile
import traceback
from pathlib import Path

from rig import __version__
from rig.errors import RigError, Terminated
from rig.logs import setup_logging

EXIT_INTERNAL_ERROR = 4


def _raise_terminated(_signum, _frame) -> None:
    raise Terminated()

#: Subcommands in the order ``rig --help`` lists them; each is rig.commands.<module>.
COMMANDS = {
    "run": "run",
    "check": "check",
    "replay": "replay",
    "record-info": "record_info",
    "export": "export",
    "emulate": "emulate",
    "monitor": "monitor",
    "ports": "ports",
    "fuse": "fuse",
    "scenario": "scenario",
    "score": "score",
    "view": "view",
    "campaign": "campaign",
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser of ``rig``; ``argv`` (the command line to parse) lets ``rig emulate`` add
    the flags of the family it names."""
    parser = argparse.ArgumentParser(
        prog="rig",
        description="Hardware-in-the-loop sensor emulation rig for a joint radar fusion "
                    "centre: emulate or connect radar sensors, fuse their plots in real "
                    "time, publish the picture, and check timing and accuracy against limits.",
        epilog="Exit codes: 0 every limit passed, 1 a limit failed, 2 bad configuration or "
               "usage, 3 hardware or transport failure, 4 internal error (traceback in a log "
               "file), 5 inconclusive (too few samples or no data: CI may rerun). "
               "'rig COMMAND --help' for details.",
    )
    parser.add_argument("--version", action="version", version=f"rig {__version__}")
    add_verbose(parser, default=0)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    words = [word for word in argv or [] if not word.startswith("-")]
    for name, module in COMMANDS.items():
        command = importlib.import_module(f"rig.commands.{module}")
        if name == "emulate":
            command.add_parser(sub, argv if words[:1] == [name] else None)
        else:
            command.add_parser(sub)
    for command_parser in sub.choices.values():
        add_verbose(command_parser, default=argparse.SUPPRESS)
    return parser


def add_verbose(parser: argparse.ArgumentParser, default) -> None:
    """``-v``/``--verbose`` on ``parser``. A subcommand's parser takes it too (``rig run X
    -v``); its default is SUPPRESS so that it does not undo a ``-v`` given before the
    subcommand (given in both places, the subcommand's count wins)."""
    parser.add_argument("-v", "--verbose", action="count", default=default,
                        help="more log output (-vv for debug)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    # a command that does not handle SIGTERM itself (rig run does) stops as on Ctrl-C
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return int(args.func(args) or 0)
    except RigError as e:
        lines = str(e).splitlines()
        if len(lines) > 1:      # one problem a line, each FILE:LINE:COLUMN: as editors read them
            lines.insert(0, f"{len(lines)} problems:")
        print(f"rig {args.command}: error: " + "\n".join(lines), file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(f"rig {args.command}: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print(f"rig {args.command}: terminated (SIGTERM)", file=sys.stderr)
        return 128 + signal.SIGTERM
    except Exception as e:  # a bug: one line on the terminal, the whole story in a file
        log = internal_error_log(args, e)
        print(f"rig {args.command}: internal error: {type(e).__name__}: {e} "
              f"(traceback in {log})", file=sys.stderr)
        return EXIT_INTERNAL_ERROR


def internal_error_log(args, error: BaseException) -> Path:
    """Write the traceback of ``error`` into the command's output folder (``--out`` when it
    is a folder that exists or can be made), else a temporary file; returns the path."""
    text = "".join(traceback.format_exception(error))
    out = getattr(args, "out", None)
    folder = None if out is None else (Path(out).parent if Path(out).suffix else Path(out))
    try:
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / "rig-error.log"
            path.write_text(text)
            return path
    except OSError:
        pass
    with tempfile.NamedTemporaryFile("w", prefix="rig-error-", suffix=".log",
                                     delete=False) as f:
        f.write(text)
    return Path(f.name)


if __name__ == "__main__":
    sys.exit(main())
