"""report.html: one self-contained page (figures embedded as PNG) an engineer can forward,
with links to the other files of the run folder it sits in."""

from __future__ import annotations

import html
import json
from pathlib import Path

from rig.outfiles import write_atomic

from . import report_figures as figs
from .report_tables import (accuracy_tables, explained_tables, files_table, latency_truth_table,
                            limits_table, output_files, registration_table, station_table,
                            table)

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1200px; }
h1 { margin-bottom: 0.2em; } .muted { color: #666; }
table { border-collapse: collapse; margin: 0.6em 0 1.4em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; }
th { background: #f2f2f2; } table.station th { text-align: left; }
.pass { color: #157a15; font-weight: bold; } .fail { color: #b00; font-weight: bold; }
.skip { color: #888; } img { max-width: 100%; }
details > summary { cursor: pointer; color: #3b6ea8; margin-bottom: 0.4em; }
"""


def write_html(path: str | Path, report: dict, series: dict | None = None, *,
               figures: bool = True) -> None:
    """``report`` is the content of report.json; ``series`` holds the raw arrays behind it
    (latency samples, tracks and truth DataFrames, sites, OSPA curves) for the figures, drawn
    unless ``figures`` is False. The files beside ``path`` are linked with their sizes."""
    path = Path(path)
    series = series or {}

    def figure(draw, *args) -> str:
        return figs.embed(draw(*args)) if figures else ""

    outcome = report.get("outcome", "?")
    accuracy = report.get("accuracy") or {}
    parts = [
        f"<h1>rig run: <span class='{ {'pass': 'pass', 'fail': 'fail'}.get(outcome, 'skip')}'>"
        f"{html.escape(outcome)}</span></h1>",
        f"<p class='muted'>{html.escape(str(report.get('name', '')))} · "
        f"{html.escape(str(report.get('config_file', '')))} · mode "
        f"{html.escape(str(report.get('mode', '')))} · {report.get('duration_s', 0):.1f} s · "
        f"started {html.escape(str(report.get('started_utc', '')))} · rig "
        f"{html.escape(str(report.get('rig_version', '')))}</p>",
        station_table(report.get("station")),
        "" if figures else "<p class='muted'>Written in the time a stopped run has to end: "
                           "no figures and no accuracy against truth.</p>",
        "<h2>Limits</h2>", limits_table(report.get("limits") or []),
        "<h2>Accuracy</h2>", accuracy_tables(accuracy),
        explained_tables(accuracy.get("joint_explained") or {}),
        figure(figs.error_figure, series),
        "<h2>Coverage and tracks</h2>" if figures else "",
        figure(figs.coverage_map, series),
        "<h2>Registration</h2>",
        registration_table(report.get("registration") or [],
                           (report.get("truth_check") or {}).get("registration"),
                           report.get("sensors") or []),
    ]
    if report.get("truth_check"):
        parts += ["<h2>Against the emulation's truth</h2>",
                  latency_truth_table(report["truth_check"])]
    parts += timing_section(report, series, figure)
    parts += ["<h2>Sensors</h2>",
              table([{k: v for k, v in s.items() if not isinstance(v, dict)}
                     for s in report.get("sensors") or []], table_id="sensors"),
              figure(figs.sensor_figure, report.get("sensors") or [])]
    if report.get("faults"):
        parts += ["<h2>Injected faults and what the rig saw</h2>", table(report["faults"])]
    parts += ["<h2>Files of this run</h2>",
              files_table(output_files(path.parent, report, exclude=(path.name,))),
              "<h2>Environment</h2>",
              f"<pre>{html.escape(json.dumps(report.get('environment', {}), indent=1))}</pre>"]
    title = html.escape(f"rig report: {report.get('name', '')} {outcome}")
    doc = (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
           f"<style>{CSS}</style></head><body>{''.join(parts)}</body></html>\n")
    write_atomic(path, doc)


def timing_section(report: dict, series: dict, figure) -> list[str]:
    """Timing statistics (with how late the platform itself was), the counters, and the
    latency histograms with the limits on them."""
    platform = report.get("timing_platform") or {}
    rows = [{"measurement": k,
             **{s: v.get(s) for s in ("count", "min", "p50", "p99", "max", "mean")},
             **({"platform p50": platform[k]["p50"], "platform p99": platform[k]["p99"],
                 "platform max": platform[k]["max"]} if k in platform else {})}
            for k, v in (report.get("timing") or {}).items() if isinstance(v, dict)]
    counts = {k: v for k, v in (report.get("timing") or {}).items() if not isinstance(v, dict)}
    counts.update(report.get("counts") or {})
    return [
        "<h2>Timing</h2>",
        "<p class='muted'>platform: how late the machine itself was at the same moments (the "
        "platform probe's late wake-ups and the loop's waits for a CPU, in the share of CPU "
        "time others than the rig used then), ms</p>" if platform else "",
        table(rows, table_id="timing"), table([counts], table_id="counts") if counts else "",
        figure(figs.latency_figure, series, report.get("limits") or []),
    ]
