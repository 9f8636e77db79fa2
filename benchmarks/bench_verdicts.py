"""Do the verdicts discriminate? The default bench run, many times, three ways:

- ``idle``: nothing else running; every run should pass (exit 0);
- ``loaded``: two busy processes beside it (a shared CI runner); no run may fail on rig's
  account (exit 0, or 5 with the misses attributed to the platform);
- ``stalled``: every fusion cycle busy-waits ``--stall-ms`` (``realtime.stall_s``, a fault of
  the rig itself); every run should fail (exit 1) with a failed limit attributed to rig.

Prints each run's exit code and non-passing limits, then the counts as last-line JSON:
``healthy_pass_rate`` (idle runs that passed), ``loaded_false_fail_rate`` (loaded runs that
exited 1), ``stall_detect_rate`` (stalled runs that failed on rig's account). Targets: 1.0,
0.0, 1.0. Each run lasts the config's 45 s (plus start-up): ``--runs 20`` takes about an hour.

    python benchmarks/bench_verdicts.py --runs 20
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from rig.launch import rig_command

CONFIG = Path(__file__).resolve().parent.parent / "bench_configs" / "emulated.yaml"


def one_run(config: Path, out: Path) -> dict:
    done = subprocess.run(rig_command("run", str(config), "--out", str(out), "--no-live"),
                          capture_output=True, text=True)
    report_path = out / "report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    limits = [lim for lim in report.get("limits", []) if lim["outcome"] != "pass"]
    return {"exit_code": done.returncode, "limits": limits,
            "rig_failed": any(lim["outcome"] == "fail" and lim.get("attributed_to") == "rig"
                              for lim in limits)}


def busy_processes(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20, help="runs of each kind (default 20)")
    ap.add_argument("--stall-ms", type=float, default=3.0, help="injected stall (default 3)")
    ap.add_argument("--busy", type=int, default=2, help="busy processes beside a loaded run")
    ap.add_argument("--config", type=Path, default=CONFIG)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_verdicts_"))
    stalled = yaml.safe_load(args.config.read_text())
    stalled.setdefault("realtime", {})["stall_s"] = args.stall_ms * 1e-3
    stalled["scenario"]["source"] = "builtin"
    stalled_config = work / "stalled.yaml"
    stalled_config.write_text(yaml.safe_dump(stalled))
    results: dict[str, list[dict]] = {"idle": [], "loaded": [], "stalled": []}
    for i in range(args.runs):
        for kind in results:
            busy = busy_processes(args.busy) if kind == "loaded" else []
            try:
                r = one_run(stalled_config if kind == "stalled" else args.config,
                            work / f"{kind}-{i}")
            finally:
                for p in busy:
                    p.kill()
                    p.wait()
            results[kind].append(r)
            shown = "; ".join(f"{lim['name']} {lim['outcome']}"
                              + (f" ({lim['attributed_to']})" if lim.get("attributed_to") else "")
                              for lim in r["limits"]) or "all pass"
            print(f"{kind:8s} run {i + 1}: exit {r['exit_code']}: {shown}", flush=True)
    n = args.runs
    summary = {
        "runs": n, "stall_ms": args.stall_ms, "busy_processes": args.busy,
        "healthy_pass_rate": sum(r["exit_code"] == 0 for r in results["idle"]) / n,
        "loaded_false_fail_rate": sum(r["exit_code"] == 1 for r in results["loaded"]) / n,
        "stall_detect_rate": sum(r["exit_code"] == 1 and r["rig_failed"]
                                 for r in results["stalled"]) / n,
        "exit_codes": {kind: [r["exit_code"] for r in rs] for kind, rs in results.items()},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
