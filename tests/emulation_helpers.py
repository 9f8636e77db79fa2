"""Helpers of the tests that run a family's emulator as `rig run` does: into a driver the
family opened early, or through a run's sensor handle."""

from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np

from rig.emulation.process import EmulatorProcess

WAIT_S = 30.0                 # generous bound on what a loaded machine may take


def drain(read: Callable[..., np.ndarray], quiet_s: float = 0.5) -> np.ndarray:
    """Every record a driver has and will have once its sender has stopped, by ``read`` (its
    ``read_plots`` or ``read_tracks``): read until nothing comes for ``quiet_s``."""
    batches = [read(timeout_s=quiet_s)]
    while len(batches[-1]):
        batches.append(read(timeout_s=quiet_s))
    return np.concatenate(batches)


def emulate_into_early_driver(family, sensor, args: list[str], tmp_path, *, name: str):
    """As `rig run` starts an emulated sensor: ``family``'s driver for ``sensor`` opened early,
    its tap keeping every chunk as ``(t_ns, data)``, then ``rig emulate ARGS`` with the
    family's emulator arguments for that driver. Once the emulator has ended: (its ready
    line, its summary, every plot or track the driver then has, as the family delivers, the
    driver's counters, the chunks); the driver closed in any case."""
    chunks = []
    driver = family.open_early(sensor, lambda t_ns, data: chunks.append((t_ns, data)))
    try:
        with EmulatorProcess([*args, *family.emulator_args(sensor, tmp_path, driver)],
                             name=name) as proc:
            ready = proc.wait_ready()
            proc.proc.wait(WAIT_S)
        proc.stop()
        summary = proc.summary
        got = drain(driver.read_tracks if family.delivers == "tracks" else driver.read_plots)
        counters = driver.counters()
    finally:
        driver.close()
    return ready, summary, got, counters, chunks


def read_until_quiet(handle, scenario_file, duration_s: float,
                     read: Callable[[int], np.ndarray]) -> tuple[np.ndarray, dict, dict | None]:
    """As `rig run` starts an emulated sensor: ``handle``'s listening socket first, then its
    `rig emulate` on ``scenario_file`` for ``duration_s`` on the run's time line, then the
    handle opened; once the emulator has ended, ``read`` (the handle's ``read_plots`` or
    ``read_tracks``) until nothing has come for 0.5 s. (all it read, the handle's counters
    before closing, the emulator's summary); the handle closed in any case."""
    t0_ns = time.monotonic_ns()
    try:
        handle.prepare()
        handle.start_emulator(scenario_file, t0_ns, duration_s)
        handle.open(threading.Event(), t0_ns)
        handle.emulator.proc.wait(WAIT_S)
        batches = [read(time.monotonic_ns())]
        while len(batches[-1]) or len(batches) == 1:      # until quiet for 0.5 s
            time.sleep(0.5)
            batches.append(read(time.monotonic_ns()))
        counters = handle.counters()
    finally:
        summary = handle.close()
    return np.concatenate(batches), counters, summary
