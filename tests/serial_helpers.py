"""Helpers shared by the serial protocol tests."""

import numpy as np

from rig.records import empty_plots


def random_plots(rng: np.random.Generator, n: int, t0: float = 100.0) -> np.ndarray:
    plots = empty_plots(n)
    plots["t_sensor"] = t0 + rng.uniform(-1.0, 0.0, n)
    plots["range_m"] = rng.uniform(0.0, 500_000.0, n)
    plots["az_rad"] = rng.uniform(0.0, 2 * np.pi, n)
    plots["el_rad"] = rng.uniform(-0.2, 1.2, n)
    rr = rng.normal(0.0, 300.0, n)
    rr[rng.random(n) < 0.3] = np.nan
    plots["range_rate_mps"] = rr
    plots["amplitude_db"] = rng.uniform(-20.0, 80.0, n)
    plots["flags"] = rng.integers(0, 2**16, n)
    return plots


def frames_of(codec, plots: np.ndarray, per_frame: int, first_seq: int = 0,
              t_frame_ns: int = 100_000_000_000) -> list[bytes]:
    return [codec.encode_plots(plots[i:i + per_frame], first_seq + k, t_frame_ns)
            for k, i in enumerate(range(0, len(plots), per_frame))]


def decode_all(decoder, chunks, t_arrival_ns: int = 0) -> np.ndarray:
    from rig.records import PLOT_DTYPE

    out = [decoder.feed(c, t_arrival_ns) for c in chunks]
    return np.concatenate(out) if out else np.zeros(0, PLOT_DTYPE)
