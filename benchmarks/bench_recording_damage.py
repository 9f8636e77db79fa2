"""Recordings under random damage: how many chunks come back after N flipped bytes.

Run: ``python benchmarks/bench_recording_damage.py`` (``--trials``, ``--records``). Each trial
writes a recording of ``--records`` raw records in 1 KiB chunks, XORs N random bytes anywhere
after the file header with a random non-zero value, and reads it back. A chunk no flipped
byte touched must be recovered; a touched one must be reported damaged, never misread. The
file is lost only when both copies of its META record (the first chunk and the end record)
are hit. The last line is one JSON object: per N, the chunks recovered as a fraction of the
untouched ones (goal 1.0), the records misread (goal 0) and the files lost.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from rig.errors import ConfigError
from rig.record import Kind, RecordWriter, read_recording
from rig.record.format import FILE_HEADER, chunk_spans


def write_recording(path: Path, n: int) -> list:
    with RecordWriter(path, meta={"config": {"name": "damage"}}, chunk_bytes=1024) as w:
        for i in range(n):
            w.write(Kind.RAW, i % 3, 1000 + i, bytes([i % 256]) * (i % 50 + 1))
    return read_recording(path)[0]


def trial(path: Path, whole: bytes, originals: set, flips: int, rng) -> dict:
    data = bytearray(whole)
    spans = chunk_spans(whole)
    offsets = rng.choice(np.arange(FILE_HEADER.size, len(data)), flips, replace=False)
    for at in offsets:
        data[at] ^= int(rng.integers(1, 256))
    path.write_bytes(bytes(data))
    hit = {i for i, (a, b) in enumerate(spans) if any(a <= o < b for o in offsets)}
    try:
        records, report = read_recording(path)
    except ConfigError:
        return {"lost": 1, "untouched": len(spans) - len(hit), "recovered": 0, "misread": 0}
    misread = sum((r.kind, r.stream, r.t_ns, r.data) not in originals for r in records
                  if r.kind != Kind.META)
    return {"lost": 0, "untouched": len(spans) - len(hit),
            "recovered": min(report.chunks_ok, len(spans) - len(hit)), "misread": misread,
            "surplus": max(0, report.chunks_ok - (len(spans) - len(hit)))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--records", type=int, default=2000)
    args = ap.parse_args()
    rng = np.random.default_rng(2026)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rec.rigrec"
        records = write_recording(path, args.records)
        originals = {(r.kind, r.stream, r.t_ns, r.data) for r in records}
        whole = path.read_bytes()
        chunks = len(chunk_spans(whole))
        for flips in (1, 10, 100):
            runs = [trial(path, whole, originals, flips, rng) for _ in range(args.trials)]
            total = {k: sum(r.get(k, 0) for r in runs) for k in runs[0] | {"surplus": 0}}
            readable = [r for r in runs if not r["lost"]]
            results[str(flips)] = {
                "trials": args.trials, "chunks_per_file": chunks,
                "untouched_chunk_recovery": round(total["recovered"] / total["untouched"], 6),
                "untouched_chunk_recovery_of_readable_files": round(
                    sum(r["recovered"] for r in readable)
                    / max(1, sum(r["untouched"] for r in readable)), 6),
                "chunks_claimed_beyond_untouched": total["surplus"],
                "records_misread": total["misread"], "files_lost": total["lost"]}
            print(f"{flips:3d} flips: {results[str(flips)]}")
    print(json.dumps({"chunks_recovered_after_flips": results}))


if __name__ == "__main__":
    main()
