"""What the web view costs the live loop: processing latency with and without the page open.

    python benchmarks/bench_web_view.py [--config FILE] [--duration S] [--pairs N]

Runs ``rig run`` on the default bench config (emulators, ptys, UDP, VISA: the real path)
``3 × --rounds`` times: ``without`` (no web view), ``server`` (``--web``, no page open) and
``with`` (``--web`` and a headless Chromium page from Playwright connected for the whole
run, drawing every state, on the same machine), the order reversed every other round so
that a drift of the machine falls on every side alike. Each
run's processing latency (publication minus arrival, per plot), tick lateness and the loop
process's CPU seconds per run second come from its report.json. Needs Debian's chromium.
Timing depends on the machine and its load; run it on an idle one. The last line printed is
one JSON object: each side's median over its runs, and the ratios to ``without``.
"""

from __future__ import annotations

import argparse
import json
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from rig.launch import rig_command

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "bench_configs" / "emulated.yaml"
URL_LINE = re.compile(r"web view at (http://\S+/)")
FEED_LINE = re.compile(r"web view: (\d+) states sent, ([0-9.]+) ms each in the loop")


def watch_page(url: str, stop: threading.Event, seen: dict) -> None:
    """Keep a headless Chromium page of ``url`` open until ``stop``; count its states."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                    args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 850})
        page.goto(url)
        while not stop.is_set():
            page.wait_for_timeout(500)
            seen["states"] = page.evaluate("window.rigView.states.length")
        browser.close()


def one_run(config: Path, duration_s: float, side: str, out: Path) -> dict:
    web = side != "without"
    cmd = rig_command("run", str(config), "--duration", str(duration_s), "--out", str(out),
                      "--no-live", "-v", *(["--web", "--web-port", "0"] if web else []))
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    stop, seen, page = threading.Event(), {"states": 0}, None
    if side == "with":
        while True:
            select.select([proc.stderr], [], [], 60)
            line = proc.stderr.readline()
            found = URL_LINE.search(line)
            if found:
                break
            if not line:
                raise SystemExit(f"rig run --web gave no address: {proc.stderr.read()[-2000:]}")
        page = threading.Thread(target=watch_page, args=(found.group(1), stop, seen))
        page.start()
    err = proc.stderr.read()
    feed = FEED_LINE.search(err)
    proc.wait()
    stop.set()
    if page is not None:
        page.join()
    if proc.returncode not in (0, 1, 5):
        raise SystemExit(f"rig run exited {proc.returncode}: {err[-2000:]}")
    report = json.loads((out / "report.json").read_text())
    t = report["timing"]
    probe = (report.get("environment") or {}).get("platform_probe") or {}
    return {"processing_p50_ms": t["processing_latency_ms"]["p50"],
            "processing_p99_ms": t["processing_latency_ms"]["p99"],
            "processing_max_ms": t["processing_latency_ms"]["max"],
            "lateness_p99_ms": t["tick_lateness_ms"]["p99"],
            "plots": t["processing_latency_ms"]["count"],
            "rig_cpu_s_per_s": probe.get("rig_cpu_s_per_s"),
            "page_states": seen["states"] if side == "with" else None,
            "feed_ms_per_state": float(feed.group(2)) if feed else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--duration", type=float, default=40.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("chromium") is None:
        raise SystemExit("needs Debian's chromium (apt install chromium)")
    sides = ("without", "server", "with")
    runs = {side: [] for side in sides}
    order = []
    for i in range(args.rounds):
        order += sides if i % 2 == 0 else sides[::-1]
    with tempfile.TemporaryDirectory() as tmp:
        for k, side in enumerate(order):
            t0 = time.monotonic()
            figures = one_run(args.config, args.duration, side, Path(tmp) / str(k))
            runs[side].append(figures)
            print(f"{side:>7} page: {json.dumps(figures)} ({time.monotonic() - t0:.0f} s)",
                  file=sys.stderr)
    summary = {}
    for side, rows in runs.items():
        summary[side] = {key: statistics.median(r[key] for r in rows)
                         for key in ("processing_p50_ms", "processing_p99_ms",
                                     "lateness_p99_ms", "rig_cpu_s_per_s", "feed_ms_per_state")
                         if all(r[key] is not None for r in rows)}
    ratios = {f"{key}_ratio_{side}": round(summary[side][key] / summary["without"][key], 3)
              for side in ("server", "with") for key in summary["without"]
              if key in summary[side] and summary["without"][key]}
    print(json.dumps({"config": str(args.config), "duration_s": args.duration,
                      "rounds": args.rounds, **summary, **ratios,
                      "page_states_seen": [r["page_states"] for r in runs["with"]]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
