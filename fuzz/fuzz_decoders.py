"""Coverage-guided fuzzing of every decoder that reads bytes from outside (atheris).

Long runs, outside CI (CI runs the hypothesis versions in tests/):

    pip install atheris
    python fuzz/fuzz_decoders.py serial fuzz/corpus/serial -max_total_time=1800
    python fuzz/fuzz_decoders.py recording fuzz/corpus/recording -atheris_runs=1000000
    python fuzz/fuzz_decoders.py bench-config fuzz/corpus/bench-config -timeout=20

A corpus directory given on the command line is seeded with valid inputs when it is empty.
Targets: ``python fuzz/fuzz_decoders.py --list``. atheris guides the search by the coverage
of Python code; compiled decoders are therefore fuzzed differentially against their
pure-Python reference where one exists (the reference's branches mirror the compiled ones). Each target checks the decoder's own
invariants (no exception other than the documented typed ones, bounded buffers); libFuzzer stops
on a hang (``-timeout``, default 1200 s per input: pass ``-timeout=5``) or on memory growth
(``-rss_limit_mb``, default 2048). A crash writes the input to
``crash-*`` for reproduction (``python fuzz/fuzz_decoders.py serial crash-XYZ``).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

def _split(data: bytes) -> list[bytes]:
    """Chunk boundaries taken from the input itself, so the fuzzer explores them too."""
    if not data:
        return [b""]
    cuts = sorted({b * 7 % len(data) for b in data[:8]} | {0, len(data)})
    return [data[a:b] for a, b in zip(cuts, cuts[1:])]


def target_serial(data: bytes) -> None:
    """Differential: the compiled decoder and the pure-Python reference (whose Python code
    atheris instruments, guiding the search) must agree on every input and every chunking."""
    import numpy as np

    from firmware_interfaces.serial_sensor.reference import SerialFrameDecoder as Reference
    from rig._ext.serial_codec import SerialFrameDecoder as Compiled

    compiled, reference = Compiled(capacity=16384), Reference(capacity=16384)
    for chunk in _split(data):
        a, b = compiled.feed(chunk, 0), reference.feed(chunk, 0)
        assert len(a) == len(b)
        for field in a.dtype.names:
            assert np.array_equal(a[field], b[field], equal_nan=a[field].dtype.kind == "f")
        assert compiled.buffered == reference.buffered <= 16384
    assert compiled.counters() == reference.counters()
    assert compiled.messages() == reference.messages()


def target_recording(data: bytes) -> None:
    from rig.errors import ConfigError
    from rig.record import read_recording

    path = Path(TARGET_STATE.setdefault("dir", tempfile.mkdtemp())) / "fuzz.rigrec"
    path.write_bytes(b"RIGREC\x00\x01\x01\x00\x00\x00\x00\x00\x00\x00" + data)
    try:
        read_recording(path)
    except ConfigError:
        pass


def seeds_serial() -> list[bytes]:
    import numpy as np

    from firmware_interfaces.serial_sensor import protocol as P
    from rig._ext.serial_codec import encode_frame, encode_plots
    from rig.emulation import RandomPlotSource

    plots = RandomPlotSource(1000, seed=1).take_until(0.01)
    plots["t_sensor"] = 1.0
    frames = [encode_plots(plots[:3], 0, 10**9), encode_plots(plots[3:4], 1, 10**9),
              encode_frame(P.MSG_STATUS, 2, 5, b"\0" * 32), encode_frame(P.MSG_ACK, 3, 5, b"\0" * 8)]
    return [b"".join(frames), frames[0], frames[1] + b"\xeb\x90" + frames[2],
            bytes(np.random.default_rng(0).integers(0, 256, 64, dtype=np.uint8)) + frames[3]]


def seeds_recording() -> list[bytes]:
    from rig.record import Kind, RecordWriter

    path = Path(tempfile.mkdtemp()) / "seed.rigrec"
    with RecordWriter(path, meta={"seed": True}, fsync=False) as w:
        w.write(Kind.RAW, 0, 1, b"abc")
        w.write_json(Kind.EVENT, 1, 2, {"event": "x"})
    return [path.read_bytes()[16:]]


def target_cat048(data: bytes) -> None:
    """Differential: the compiled CAT048 decoder against the pure-Python reference."""
    import numpy as np

    from firmware_interfaces.asterix_radar.reference import Cat048Decoder as Reference
    from rig._ext.asterix048 import Cat048Decoder as Compiled

    a, b = Compiled(sensor_id=1, site_alt_m=100.0), Reference(sensor_id=1, site_alt_m=100.0)
    pa, pb = a.feed(data, 5), b.feed(data, 5)
    assert len(pa) == len(pb)
    for field in ("range_m", "az_rad", "t_sensor", "seq"):
        assert np.allclose(pa[field], pb[field], equal_nan=True, rtol=0, atol=1e-9)
    assert a.counters() == b.counters()


def target_cat062(data: bytes) -> None:
    """Differential: the compiled CAT062 decoder against its pure-Python twin, every field
    (bit for bit) and every counter."""
    import numpy as np

    from rig._ext.asterix062 import Cat062Decoder as Compiled
    from rig.publish.cat062_reference import Cat062Decoder as Reference

    a, b = Compiled(), Reference()
    (tracks_a, info_a), (tracks_b, info_b) = a.feed(data), b.feed(data)
    for x, y in ((tracks_a, tracks_b), (info_a, info_b)):
        assert len(x) == len(y)
        for field in x.dtype.names:
            assert np.ascontiguousarray(x[field]).tobytes() == np.ascontiguousarray(y[field]).tobytes()
    assert a.counters() == b.counters()
    assert a.counters()["bytes_fed"] == len(data)


def target_scpi_block(data: bytes) -> None:
    """The IEEE 488.2 block parser and plot records of the SCPI sensor."""
    from firmware_interfaces.scpi_sensor.blocks import parse_block, plots_from_payload
    from rig.errors import CodecError

    try:
        parsed = parse_block(data)
    except CodecError:
        return
    if parsed is not None:
        payload, consumed = parsed
        assert consumed <= len(data)
        try:
            plots_from_payload(payload)
        except CodecError:
            pass


def target_bench_config(data: bytes) -> None:
    """A config loads or is a ConfigError; one that loads goes through what a run does with
    its numbers (tests/offline_run.py: scenario, plot sources, timing, fusion over its first
    seconds, scoring, limits), which must end: run with ``-timeout=20``."""
    from rig.bench.config import load_bench_config
    from rig.errors import ConfigError
    from tests.offline_run import run_loaded

    path = Path(TARGET_STATE.setdefault("dir", tempfile.mkdtemp())) / "bench.yaml"
    path.write_bytes(data)
    try:
        loaded = load_bench_config(path)
    except ConfigError:
        return
    # what loads is finite and bounded: nothing that makes a run without end
    config = loaded.config
    assert 0 < config.duration_s <= 7 * 86400
    assert 0 < config.fusion.window_s <= 60 and 0 <= config.fusion.hold_back_s <= 600
    assert 0 < config.outputs.period_s <= 60
    run_loaded(loaded, span_s=5.0)


# YAML spellings: PyYAML reads "1e308" (no dot) as text, "1.0e+308" as a number
EXTREMES = (b".inf", b"-.inf", b".nan", b"1.0e+308", b"-1.0e+308", b"9223372036854775808",
            b"0", b"-1", b"1.0e-300")
#: numbers the short config leaves at their defaults, and where they go in it
DEFAULTED = ((b"fusion: {", b"fusion: {%s: %s, ", (b"confirm_updates", b"register_min_updates",
                                                    b"max_time_jump_s", b"merge_checks")),
             (b"  period_s: 1.0\n", b"  period_s: 1.0\n  %s: %s\n", (b"deadline_s",)),
             (b"limits:", b"accuracy: {%s: %s}\nlimits:", (b"warmup_s", b"cutoff_m", b"order")),
             (b"limits:", b"realtime: {%s: %s}\nlimits:", (b"switch_interval_s",
                                                            b"tick_guard_s")))


def seeds_cat048() -> list[bytes]:
    from rig._ext.asterix048 import encode
    from rig.emulation import RandomPlotSource

    plots = RandomPlotSource(500, seed=2, range_max_m=150_000.0).take_until(0.02)
    plots["t_sensor"] = 3600.0
    return [b"".join(encode(plots, sac=1, sic=2, site_alt_m=100.0))]


def seeds_cat062() -> list[bytes]:
    import numpy as np

    from rig.publish.cat062 import Cat062Publisher
    from rig.records import empty_tracks

    tracks = empty_tracks(3)
    tracks["track_id"] = [1, 2, 3]
    tracks["east"] = [1e4, -2e4, 3e4]
    tracks["up"] = 5000.0
    tracks["partners"] = 3
    tracks["partner_t_last"][:, :2] = 10.0
    tracks["t"] = 10.0
    publisher = Cat062Publisher({"lat_deg": 52.0, "lon_deg": 21.0, "alt_m": 0.0}, 0, 1, None,
                                framing="datagram")
    return publisher.encode(tracks, 43200.0) + [bytes(np.zeros(8, np.uint8))]


def seeds_scpi_block() -> list[bytes]:
    from firmware_interfaces.scpi_sensor.blocks import encode_block, payload_from_plots
    from rig.emulation import RandomPlotSource

    plots = RandomPlotSource(1000, seed=3).take_until(0.005)
    return [encode_block(payload_from_plots(plots)) + b"\n", b"#0", b"#15hello\n"]


def seeds_bench_config() -> list[bytes]:
    """The short config, the same with each of its numbers set to each extreme, and with each
    number it leaves at its default given as each extreme."""
    import re

    short = (Path(__file__).resolve().parent.parent / "tests" / "data" / "bench" /
             "short.yaml").read_bytes()
    numbers = [m.span(1) for m in re.finditer(rb"[:\[,] *(-?[0-9][0-9.e-]*)\b", short)]
    seeds = [short] + [short[:a] + x + short[b:] for a, b in numbers for x in EXTREMES]
    for anchor, insert, keys in DEFAULTED:
        assert short.count(anchor) == 1, anchor
        seeds += [short.replace(anchor, insert % (key, x)) for key in keys for x in EXTREMES]
    return seeds


TARGETS = {"serial": (target_serial, seeds_serial),
           "recording": (target_recording, seeds_recording),
           "cat048": (target_cat048, seeds_cat048),
           "cat062": (target_cat062, seeds_cat062),
           "scpi-block": (target_scpi_block, seeds_scpi_block),
           "bench-config": (target_bench_config, seeds_bench_config)}
TARGET_STATE: dict = {}


def _seed_corpus(argv: list[str], seeds) -> None:
    """A corpus directory named on the command line is filled with seeds when empty."""
    for arg in argv[1:]:
        if not arg.startswith("-"):
            corpus = Path(arg)
            if not corpus.exists() or (corpus.is_dir() and not any(corpus.iterdir())):
                corpus.mkdir(parents=True, exist_ok=True)
                for i, seed in enumerate(seeds()):
                    (corpus / f"seed-{i}").write_bytes(seed)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help", "--list"):
        print(__doc__)
        print("targets:", ", ".join(TARGETS))
        return
    import atheris

    target, seeds = TARGETS[sys.argv.pop(1)]
    # import what the target and its seeds use, instrumenting rig's own code (not numpy,
    # pydantic, ...): a module imported before this is not instrumented
    with atheris.instrument_imports(include=["rig", "firmware_interfaces"]):
        _seed_corpus(sys.argv, seeds)
        target(b"")
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
