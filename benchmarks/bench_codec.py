"""Serial codec benchmark: decode throughput against its baselines, and the pty end to end.

Run: ``python benchmarks/bench_codec.py`` (add ``--quick`` for a shorter run). Everything is
measured in this run, on this machine, so the ratios hold even when absolute times drift:

- decode throughput of the compiled decoder, of the pure-Python reference decoder, and of two
  baselines that do less than a decoder: a vectorised numpy conversion (``numpy.frombuffer``
  over the bare plot records, no framing, no CRC, no checks, then field by field into the
  same PLOT_DTYPE array), and the memory floor (read the framed stream once and write an
  output array of the same size once: a copy, no decoding at all);
- over a real pty with ``rig emulate`` in its own process: the highest plot rate at which
  nothing is lost (every plot sent arrives, no sequence gap, no overrun), and the
  write-to-decoded latency (emulator stamps plots when it frames and writes them; the driver
  stamps arrival at the read; both on the host's monotonic clock) at 10 000 plots/s.

The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from firmware_interfaces.serial_sensor import SerialSensorDriver
from firmware_interfaces.serial_sensor import protocol as P
from firmware_interfaces.serial_sensor import reference
from rig._ext import serial_codec
from rig.emulation.process import EmulatorProcess
from rig.records import PLOT_DTYPE, empty_plots

WIRE_DTYPE = np.dtype([("range", "<u4"), ("az", "<u4"), ("el", "<i4"), ("rr", "<i4"),
                       ("amp", "<i2"), ("flags", "<u2"), ("t_off", "<i4")])
CHUNK = 65536
T_FRAME_NS = 1_000_000_000_000


def make_stream(n_plots: int, seed: int = 1) -> tuple[bytes, bytes]:
    """(framed stream, bare payload records) for ``n_plots`` random plots."""
    rng = np.random.default_rng(seed)
    plots = empty_plots(n_plots)
    plots["t_sensor"] = T_FRAME_NS * 1e-9 - rng.uniform(0, 0.01, n_plots)
    plots["range_m"] = rng.uniform(1e3, 4e5, n_plots)
    plots["az_rad"] = rng.uniform(0, 2 * np.pi, n_plots)
    plots["el_rad"] = rng.uniform(0, 0.5, n_plots)
    plots["range_rate_mps"] = rng.normal(0, 200, n_plots)
    plots["amplitude_db"] = rng.uniform(0, 60, n_plots)
    frames = [serial_codec.encode_plots(plots[i:i + P.MAX_PLOTS_PER_FRAME], k, T_FRAME_NS)
              for k, i in enumerate(range(0, n_plots, P.MAX_PLOTS_PER_FRAME))]
    payload = b"".join(f[P.HEADER_SIZE:-4] for f in frames)
    return b"".join(frames), payload


def best_of(repeats: int, fn) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def decode_stream(decoder_cls, stream: bytes) -> int:
    decoder = decoder_cls()
    view = memoryview(stream)
    n = 0
    for i in range(0, len(stream), CHUNK):
        n += len(decoder.feed(view[i:i + CHUNK], 1))
    return n


def frombuffer_limit(payload: bytes) -> np.ndarray:
    wire = np.frombuffer(payload, dtype=WIRE_DTYPE)
    out = np.empty(len(wire), dtype=PLOT_DTYPE)
    out["t_sensor"] = (T_FRAME_NS + wire["t_off"].astype(np.int64) * 1000) * 1e-9
    out["t_arrival_ns"] = 1
    out["range_m"] = wire["range"] * 0.001
    out["az_rad"] = wire["az"] * P.ANGLE_SCALE_RAD
    out["el_rad"] = wire["el"] * P.ANGLE_SCALE_RAD
    rr = wire["rr"]
    out["range_rate_mps"] = np.where(rr == P.RANGE_RATE_ABSENT, np.nan, rr * 0.001)
    out["amplitude_db"] = wire["amp"] * 0.01
    out["sensor_id"] = 0
    out["flags"] = wire["flags"]
    out["seq"] = 0
    return out


def memory_floor(stream: bytes, n_plots: int) -> np.ndarray:
    """Read every byte of the stream once and write every byte of a decoded array once (the
    decoded array, 64 bytes a plot, is larger than the stream: the rest is zeroed)."""
    src = np.frombuffer(stream, np.uint8)
    out = np.empty(max(n_plots * PLOT_DTYPE.itemsize, len(src)), np.uint8)
    out[:len(src)] = src
    out[len(src):] = 0
    return out


def bench_decode(n_plots: int, n_ref: int, repeats: int) -> dict:
    stream, payload = make_stream(n_plots)
    assert decode_stream(serial_codec.SerialFrameDecoder, stream) == n_plots
    t_ours = best_of(repeats, lambda: decode_stream(serial_codec.SerialFrameDecoder, stream))
    t_limit = best_of(repeats, lambda: frombuffer_limit(payload))
    t_floor = best_of(repeats, lambda: memory_floor(stream, n_plots))
    ref_stream, _ = make_stream(n_ref)
    assert decode_stream(reference.SerialFrameDecoder, ref_stream) == n_ref
    t_ref = best_of(max(1, repeats // 2),
                    lambda: decode_stream(reference.SerialFrameDecoder, ref_stream))
    ours = n_plots / t_ours
    limit = n_plots / t_limit
    ref = n_ref / t_ref
    return {
        "compiled_plots_per_s": round(ours),
        "compiled_mb_per_s": round(len(stream) / t_ours / 1e6, 1),
        "reference_plots_per_s": round(ref),
        "reference_mb_per_s": round(len(ref_stream) / t_ref / 1e6, 2),
        "numpy_conversion_plots_per_s": round(limit),
        "numpy_conversion_mb_per_s": round(len(payload) / t_limit / 1e6, 1),
        "memory_floor_plots_per_s": round(n_plots / t_floor),
        "memory_floor_mb_per_s": round(len(stream) / t_floor / 1e6, 1),
        "speedup_vs_python": round(ours / ref, 1),
        "numpy_conversion_ratio": round(limit / ours, 2),
        "memory_floor_ratio": round(t_ours / t_floor, 2),
    }


def run_pty(rate: float, duration_s: float) -> dict:
    """One emulator run at ``rate``; whether everything arrived, and latencies."""
    args = ["emulate", "--rate", str(rate), "--duration", str(duration_s), "--stamp",
            "transmit", "--frame-interval", "0.001", "--status-period", "0"]
    batches = []
    with EmulatorProcess(args, name=f"bench sensor {rate:g}/s") as proc:
        with SerialSensorDriver(proc.device, queue_batches=1 << 20) as sensor:
            deadline = time.monotonic() + duration_s + 30
            while time.monotonic() < deadline:
                batches.append(sensor.read_plots(timeout_s=0.2))
                summary = proc.summary
                if summary and sum(map(len, batches)) >= summary["plots_sent"]:
                    break
                if summary and proc.proc.poll() is not None and not batches[-1].size:
                    break
            counters = sensor.counters()
    summary = proc.summary or {}
    plots = np.concatenate(batches)
    lat_ms = (plots["t_arrival_ns"] - plots["t_sensor"] * 1e9) / 1e6
    requested = rate * duration_s
    lossless = (summary.get("plots_sent", -1) == len(plots)
                and summary.get("overrun_frames", 1) == 0 and counters["seq_gaps"] == 0
                and counters["plots_dropped"] == 0
                and summary.get("plots_sent", 0) >= 0.95 * requested)
    return {
        "rate": rate, "sent": summary.get("plots_sent"), "received": len(plots),
        "overrun_frames": summary.get("overrun_frames"), "seq_gaps": counters["seq_gaps"],
        "lossless": lossless,
        "latency_p50_ms": float(np.percentile(lat_ms, 50)) if len(lat_ms) else None,
        "latency_p99_ms": float(np.percentile(lat_ms, 99)) if len(lat_ms) else None,
    }


def bench_pty(duration_s: float, rates: list[float]) -> dict:
    runs = []
    best = 0.0
    for rate in rates:
        r = run_pty(rate, duration_s)
        runs.append(r)
        print(f"  pty {rate:>10,.0f} plots/s: sent {r['sent']}, received {r['received']}, "
              f"overruns {r['overrun_frames']}, gaps {r['seq_gaps']}, "
              f"{'lossless' if r['lossless'] else 'LOSS'}", file=sys.stderr)
        if not r["lossless"]:
            break
        best = rate
    lat = run_pty(10_000, duration_s)
    return {
        "pty_lossless_plots_per_s": best,
        "pty_latency_p50_ms": round(lat["latency_p50_ms"], 3),
        "pty_latency_p99_ms": round(lat["latency_p99_ms"], 3),
        "pty_runs": runs,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, shorter pty runs")
    args = ap.parse_args()
    n, n_ref, repeats, duration = ((200_000, 20_000, 3, 2.0) if args.quick
                                   else (2_000_000, 100_000, 5, 4.0))
    results = bench_decode(n, n_ref, repeats)
    print(f"decode: compiled {results['compiled_plots_per_s']:,} plots/s "
          f"({results['compiled_mb_per_s']} MB/s), reference {results['reference_plots_per_s']:,} "
          f"plots/s, numpy conversion {results['numpy_conversion_plots_per_s']:,} plots/s, "
          f"memory floor {results['memory_floor_plots_per_s']:,} plots/s "
          f"({results['memory_floor_mb_per_s']} MB/s)", file=sys.stderr)
    print(f"  speedup vs pure Python {results['speedup_vs_python']}x (target >= 50x); "
          f"numpy conversion / compiled {results['numpy_conversion_ratio']}; compiled time / "
          f"memory floor time {results['memory_floor_ratio']}", file=sys.stderr)
    rates = [25_000, 50_000, 100_000, 200_000, 400_000, 800_000, 1_600_000]
    results.update(bench_pty(duration, rates))
    print(f"pty: lossless up to {results['pty_lossless_plots_per_s']:,.0f} plots/s; latency at "
          f"10k plots/s p50 {results['pty_latency_p50_ms']} ms, p99 "
          f"{results['pty_latency_p99_ms']} ms", file=sys.stderr)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
