"""``rig record-info FILE``: what a recording holds, and whether every chunk is intact."""

from __future__ import annotations

from rig import strict_json

#: the exit code for a recording that is not clean (damaged, torn, or cut short)
EXIT_NOT_CLEAN = 1


def add_parser(sub) -> None:
    p = sub.add_parser("record-info", help="summarise and validate a recording",
                       description="Read a recording (and its rotations), check every chunk's "
                                   "CRCs, and print what it holds: run, sensors, records by "
                                   "kind, bytes per sensor stream, duration, and any torn "
                                   "tail or damaged chunk with its offset. Exit codes: 0 "
                                   "clean, 1 not clean (damaged chunks, a torn tail, or no "
                                   "end-of-run record: the run was cut short), 2 not a "
                                   "recording.")
    p.add_argument("recording")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    from rig.bench.replay import recording_summary

    s = recording_summary(args.recording)
    code = 0 if s["clean"] else EXIT_NOT_CLEAN
    if args.json:
        print(strict_json.dumps(s))
        return code
    run_ = s["run"]
    print(f"{args.recording}: {'clean' if s['clean'] else 'NOT CLEAN'}")
    print(f"  run {run_['name']!r} ({run_['mode']}), rig {run_['rig_version']}, sensors "
          f"{', '.join(map(str, run_['sensors']))}")
    print(f"  {len(s['files'])} file(s), {s['chunks_ok']} chunks, {s['records_ok']} records, "
          f"{(s['duration_s'] or 0):.1f} s")
    print("  records: " + ", ".join(f"{k} {v}" for k, v in s["records_by_kind"].items()))
    print("  raw bytes per sensor stream: " + ", ".join(
        f"{k}: {v}" for k, v in sorted(s["bytes_by_stream"].items(), key=lambda kv: int(kv[0]))))
    print(f"  plots recorded {s['plots_recorded']}, outputs recorded {s['outputs_recorded']}")
    if s["meta_from_end"]:
        print("  the first META record is damaged: read with the copy of the end-of-run record")
    for problem in s["problems"]:
        print(f"  {problem}")
    return code
