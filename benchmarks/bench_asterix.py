"""ASTERIX benchmark: CAT048 decode against asterix-decoder, and the CAT062 publisher's cost.

Run: ``python benchmarks/bench_asterix.py`` (``--quick`` for a shorter run). Measured in one
run on the same bytes, so the ratio holds when absolute speeds drift:

- CAT048 decode, records per second, every decoder on the same datagrams: our compiled
  decoder (``Cat048Decoder.feed``, one call per datagram, plots into a PLOT_DTYPE array)
  against asterix-decoder's ``asterix.parse(datagram, verbose=False)`` (its fastest mode: no
  item descriptions; it still builds a Python dict per record and item, which our decoder
  does not), and against our pure-Python reference;
- CAT062 encode of a 1,000-track picture, the whole publisher path (WGS-84 conversion,
  encoding, HDLC framing is not included): pictures per second, and the share of one core a
  1 Hz picture takes.

The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from firmware_interfaces.asterix_radar import reference
from rig._ext.asterix048 import Cat048Decoder, encode
from rig.publish import Cat062Publisher, Origin
from rig.records import empty_plots, empty_tracks


def make_datagrams(n_plots: int, seed: int = 1) -> list[bytes]:
    rng = np.random.default_rng(seed)
    plots = empty_plots(n_plots)
    plots["t_sensor"] = np.sort(rng.uniform(40_000, 40_100, n_plots))
    plots["range_m"] = rng.uniform(1e3, 4e5, n_plots)
    plots["az_rad"] = rng.uniform(0, 2 * np.pi, n_plots)
    plots["el_rad"] = rng.uniform(0, 0.1, n_plots)
    plots["range_rate_mps"] = rng.normal(0, 150, n_plots)
    plots["amplitude_db"] = rng.uniform(0, 60, n_plots)
    return encode(plots, sac=1, sic=2, site_alt_m=50.0)


def best_of(repeats: int, fn) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def decode_ours(datagrams) -> int:
    decoder = Cat048Decoder(site_alt_m=50.0)
    n = 0
    for d in datagrams:
        n += len(decoder.feed(d, 1))
    return n


def decode_reference(datagrams) -> int:
    decoder = reference.Cat048Decoder(site_alt_m=50.0)
    return sum(len(decoder.feed(d, 1)) for d in datagrams)


def bench_cat048(n_plots: int, n_baseline: int, repeats: int) -> dict:
    """Every decoder on the same datagrams (``n_baseline`` records; ours repeats them to fill
    ``n_plots`` so its timing is long enough to measure)."""
    baseline = make_datagrams(n_baseline, seed=2)
    copies = max(1, n_plots // n_baseline)
    datagrams = baseline * copies
    n_plots = n_baseline * copies
    assert decode_ours(datagrams) == n_plots
    t_ours = best_of(repeats, lambda: decode_ours(datagrams))
    out = {
        "cat048_records_per_datagram": round(n_plots / len(datagrams), 1),
        "cat048_decode_records_per_s": round(n_plots / t_ours),
    }
    try:
        import asterix
    except ImportError:
        print("asterix-decoder is not installed (pip install asterix_decoder): no baseline",
              file=sys.stderr)
        out["speedup_vs_asterix_decoder"] = None
    else:
        assert sum(len(asterix.parse(d, verbose=False)) for d in baseline) == n_baseline
        t_theirs = best_of(max(1, repeats // 2),
                           lambda: [asterix.parse(d, verbose=False) for d in baseline])
        out["asterix_decoder_records_per_s"] = round(n_baseline / t_theirs)
        out["speedup_vs_asterix_decoder"] = round(
            out["cat048_decode_records_per_s"] / out["asterix_decoder_records_per_s"], 1)
    ref = baseline[: max(1, len(baseline) // 4)]
    n_ref = decode_reference(ref)
    t_ref = best_of(1, lambda: decode_reference(ref))
    out["reference_records_per_s"] = round(n_ref / t_ref)
    out["speedup_vs_reference"] = round(out["cat048_decode_records_per_s"] / out["reference_records_per_s"], 1)
    return out


class NullTransport:
    datagram_oriented = True

    def __init__(self):
        self.bytes = 0

    def write(self, data) -> None:
        self.bytes += len(data)


def bench_cat062(n_tracks: int, pictures: int) -> dict:
    rng = np.random.default_rng(3)
    tracks = empty_tracks(n_tracks)
    tracks["track_id"] = np.arange(n_tracks)
    tracks["status"] = 1
    tracks["t"] = 1000.0
    tracks["east"] = rng.uniform(-4e5, 4e5, n_tracks)
    tracks["north"] = rng.uniform(-4e5, 4e5, n_tracks)
    tracks["up"] = rng.uniform(0, 12_000, n_tracks)
    tracks["v_east"], tracks["v_north"] = rng.normal(0, 200, (2, n_tracks))
    tracks["partners"] = 0b11
    tracks["partner_t_last"][:, :2] = 999.0
    sink = NullTransport()
    publisher = Cat062Publisher(Origin(50.0, 5.0, 0.0), 0, 1, sink,
                                partner_sources={0: (10, 1), 1: (20, 1)})
    publisher.publish(tracks, 1000.0)
    times = []
    for _ in range(pictures):
        t0 = time.perf_counter()
        publisher.publish(tracks, 1000.0)
        times.append(time.perf_counter() - t0)
    t = np.array(times)
    return {
        "cat062_tracks": n_tracks,
        "cat062_picture_ms_p50": round(float(np.percentile(t, 50)) * 1e3, 3),
        "cat062_picture_ms_p99": round(float(np.percentile(t, 99)) * 1e3, 3),
        "cat062_picture_ms_max": round(float(t.max()) * 1e3, 3),
        "cat062_encode_tracks_per_s": round(n_tracks / float(np.percentile(t, 50))),
        "cat062_core_share_at_1hz": round(float(np.percentile(t, 50)) / 1.0, 5),
        "cat062_bytes_per_picture": sink.bytes // (pictures + 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes")
    args = ap.parse_args()
    n, n_base, repeats, pictures = ((100_000, 10_000, 3, 20) if args.quick
                                    else (1_000_000, 50_000, 5, 100))
    results = bench_cat048(n, n_base, repeats)
    print(f"CAT048 decode: ours {results['cat048_decode_records_per_s']:,} records/s "
          f"({results['cat048_records_per_datagram']} per datagram), asterix-decoder "
          f"{results.get('asterix_decoder_records_per_s', '-')} records/s, speedup "
          f"{results['speedup_vs_asterix_decoder']}x (target >= 50x); pure-Python reference "
          f"{results['reference_records_per_s']:,} records/s", file=sys.stderr)
    results.update(bench_cat062(1000, pictures))
    print(f"CAT062 publish of 1000 tracks: p50 {results['cat062_picture_ms_p50']} ms, p99 "
          f"{results['cat062_picture_ms_p99']} ms; at 1 Hz "
          f"{results['cat062_core_share_at_1hz'] * 100:.2f} % of a core", file=sys.stderr)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
