"""Files a run writes: each written whole or not at all, none over another run output.

A report is written to a temporary file beside it and renamed over its name, so that a run
stopped while writing leaves the previous file or the new one, never half of one. A
recording named on the command line or in the config is checked before anything runs: a
relative path stays inside the output folder, it may not take the name of a report the run
writes there, and an existing file is overwritten only with ``--force``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rig.errors import UsageError

#: what ``rig run`` writes into its output folder
RUN_OUTPUTS = frozenset({
    "tracks.csv", "truth.csv", "scenario.yaml", "report.json", "junit.xml", "report.html",
    "timing-samples.npz", "platform-probe.npz", "rig-error.log"})


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path in ``path``'s folder to write to; renamed over ``path`` when the
    block ends, removed if it fails."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, renamed over
    ``path`` once complete."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)


def output_folder(out: Path) -> Path:
    """``out`` as a run's output folder: made if missing; a usage error if it names something
    that is not a folder."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"--out {out}: cannot make the folder: {e.strerror or e}") from None
    return out


def recording_path(out_dir: Path, path: Path, *, force: bool = False,
                   option: str = "--record") -> Path:
    """Where a recording named ``path`` goes for a run into ``out_dir``: inside it when
    relative; a usage error if that leaves ``out_dir``, takes a report's name, is not a file,
    or exists already (without ``force``)."""
    out_dir = Path(out_dir)
    path = Path(path)
    if not path.is_absolute():
        target = (out_dir / path).resolve()
        if not target.is_relative_to(out_dir.resolve()):
            raise UsageError(f"{option} {path}: a relative path stays inside the output "
                             f"folder {out_dir}; give an absolute path to record elsewhere")
    else:
        target = path.resolve()
    if target.parent == out_dir.resolve() and target.name in RUN_OUTPUTS:
        raise UsageError(f"{option} {path}: the run writes its {target.name} there; name "
                         f"the recording otherwise (e.g. run.rigrec)")
    if target.exists() and (not target.is_file() or not force):
        what = "is not a regular file" if not target.is_file() else \
            "exists; --force overwrites it"
        raise UsageError(f"{option} {path}: {target} {what}")
    return target
