"""Coverage-guided fuzzing of every decoder that reads bytes from outside (atheris).

Long runs, outside CI (CI runs the hypothesis versions in tests/):

    pip install atheris
    python fuzz/fuzz_decoders.py serial fuzz/corpus/serial -max_total_time=1800
    python fuzz/fuzz_decoders.py recording fuzz/corpus/recording -atheris_runs=1000000

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


TARGETS = {"serial": (target_serial, seeds_serial),
           "recording": (target_recording, seeds_recording)}
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
    _seed_corpus(sys.argv, seeds)

    target(b"")                 # import everything the target uses, so it is instrumented
    atheris.instrument_all()
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
