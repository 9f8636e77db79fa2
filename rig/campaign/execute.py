"""A campaign's runs on Dask distributed, with a cache that makes a campaign resume.

Each run is one Dask task that runs it (:func:`rig.campaign.runs.run_one`) in its own folder
and subprocess, retrying a failed run once (not one that timed out). Finished runs are kept
under ``DIR/cache/KEY.json``, KEY the content hash of (resolved config + seed + rig version):
a run found there is not run again. A run that ended in an error is recorded but not
cached, so the next campaign tries it again. A worker that dies loses only the runs it was
running: Dask gives them to another worker.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import socket
import time
import traceback
from pathlib import Path
from typing import Callable

from rig.campaign.runs import RunTimeout, run_one
from rig.campaign.spec import Campaign, Run
from rig.errors import TransportError
from rig.outfiles import write_atomic

#: seconds to wait for a scheduler given with --scheduler
CONNECT_TIMEOUT_S = 5


def quiet_dask(verbosity: int = 0) -> None:
    """Dask's own log lines only with -vv (its warnings with -v), here and in the worker
    processes this one starts."""
    level = "debug" if verbosity >= 2 else "warning" if verbosity else "error"
    os.environ["DASK_LOGGING__DISTRIBUTED"] = level
    importlib.import_module("distributed")           # configures its loggers on import

    for name in ("distributed", "dask"):
        logging.getLogger(name).setLevel(level.upper())


def connect(scheduler: str | None = None, workers: int | None = None):
    """A Dask client: of the scheduler at ``scheduler`` (``tcp://HOST:PORT``), else of a new
    LocalCluster on this machine (``workers`` processes, default one per core, one thread
    each, no dashboard). TransportError (exit 3) naming the address when it cannot be
    reached."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError, ValueError) as e:
            raise TransportError(f"cannot reach the Dask scheduler at {scheduler} within "
                                 f"{CONNECT_TIMEOUT_S} s: {e}") from None
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                           processes=True, host="127.0.0.1", dashboard_address=None,
                           scheduler_kwargs={"dashboard": False,
                                             "dashboard_address": "127.0.0.1:0"})
    return Client(cluster)


def close(client) -> None:
    """Close ``client`` and the LocalCluster it made, if any."""
    cluster = client.cluster
    client.close()
    if cluster is not None:
        cluster.close()


def perform(run: Run, folder: str, runner: Callable = run_one) -> dict:
    """Run ``run`` in ``folder`` on a worker: its record (figures, or the error), after a
    second attempt when the first failed."""
    errors = []
    start = time.monotonic()
    for attempt in (1, 2):
        try:
            figures = runner(run, Path(folder))
            return _record(run, folder, figures, None, attempt, start)
        except RunTimeout as e:
            errors.append(str(e))
            break
        except Exception as e:
            errors.append(f"{type(e).__name__}: {e}"
                          if str(e) else "".join(traceback.format_exception_only(e)).strip())
    return _record(run, folder, None, errors[-1], len(errors), start, errors)


def _record(run, folder, figures, error, attempts, start, errors=()) -> dict:
    return {"key": run.key, "setting": run.setting, "seed": run.seed, "figures": figures,
            "error": error, "errors": list(errors), "attempts": attempts,
            "elapsed_s": round(time.monotonic() - start, 3), "folder": folder,
            "worker": socket.gethostname() + f":{os.getpid()}"}


def cache_path(out: Path, run: Run) -> Path:
    return out / "cache" / f"{run.key}.json"


def cached(out: Path, run: Run) -> dict | None:
    try:
        record = json.loads(cache_path(out, run).read_text())
    except (OSError, ValueError):
        return None
    return record if record.get("key") == run.key and record.get("figures") else None


def run_folder(out: Path, run: Run) -> str:
    return str((out / "runs" / f"setting{run.setting}-seed{run.seed}-{run.key[:8]}").resolve())


def run_campaign(campaign: Campaign, out: Path, client, *, runner: Callable = run_one,
                 on_record: Callable[[dict, bool], None] | None = None) -> tuple[list, dict]:
    """Every run of ``campaign`` (cached ones read back, the others on ``client``'s
    cluster); (records in the campaign's order, {"computed": N, "cached": M})."""
    from distributed import as_completed
    from distributed.client import FutureCancelledError

    out = Path(out)
    (out / "cache").mkdir(parents=True, exist_ok=True)
    records: dict[str, dict] = {}
    todo = []
    for run in campaign.runs:
        found = cached(out, run)
        if found is not None:
            found["cached"] = True
            records[run.key] = found
            if on_record:
                on_record(found, True)
        else:
            todo.append(run)
    futures = {client.submit(perform, run, run_folder(out, run), runner, pure=False,
                             key=f"rig-run-{run.key}"): run for run in todo}
    try:
        for future in as_completed(futures):
            run = futures[future]
            try:
                record = future.result()
            except (Exception, FutureCancelledError) as e:    # the task itself was lost
                record = _record(run, run_folder(out, run), None,
                                 f"{type(e).__name__}: {e}", 1, time.monotonic())
            record["cached"] = False
            if record["figures"] is not None:
                write_atomic(cache_path(out, run), json.dumps(record, indent=1))
            records[run.key] = record
            if on_record:
                on_record(record, False)
    finally:
        left = [future for future in futures if not future.done()]
        if left:
            client.cancel(left)
    ordered = [records[run.key] for run in campaign.runs]
    return ordered, {"computed": len(todo), "cached": len(campaign.runs) - len(todo)}
