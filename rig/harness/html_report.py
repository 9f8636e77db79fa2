"""A self-contained HTML report: tables and matplotlib figures embedded as PNG."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from rig.outfiles import write_atomic  # noqa: E402

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1200px; }
h1 { margin-bottom: 0.2em; } .muted { color: #666; }
table { border-collapse: collapse; margin: 0.6em 0 1.4em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f2f2f2; }
.pass { color: #157a15; font-weight: bold; } .fail { color: #b00; font-weight: bold; }
.skip { color: #888; } img { max-width: 100%; }
"""


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return f'<img src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.4g}"
    return html.escape(str(v))


def _table(rows: list[dict], columns: list[str] | None = None) -> str:
    if not rows:
        return '<p class="muted">none</p>'
    columns = columns or list(rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(r.get(c))}</td>" for c in columns) + "</tr>"
                   for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _limits_table(limits: list[dict]) -> str:
    if not limits:
        return '<p class="muted">no limits configured</p>'
    rows = []
    for r in limits:
        cls = {"pass": "pass", "fail": "fail", "no data": "fail"}.get(r["outcome"], "skip")
        value = "–" if r["value"] is None else f"{r['value']:.4g} {r['unit']}"
        rows.append(f"<tr><td>{html.escape(r['name'])} {html.escape(r['unit'])}</td>"
                    f"<td>{value}</td><td class='{cls}'>{html.escape(r['outcome'])}</td>"
                    f"<td>{html.escape(r.get('reason', ''))}</td></tr>")
    return ("<table><tr><th>limit</th><th>measured</th><th>outcome</th><th>why</th></tr>"
            + "".join(rows) + "</table>")


def _latency_figure(series: dict) -> str:
    names = [n for n in ("processing_latency_ms", "transport_latency_ms", "tick_lateness_ms",
                         "tick_jitter_ms") if len(series.get(n, ()))]
    if not names:
        return ""
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        x = np.asarray(series[name], float)
        x = x[np.isfinite(x)]
        counts, edges = np.histogram(x, bins=60)
        ax.stairs(counts, edges, fill=True, color="#3b6ea8")     # one patch, not 60 bars
        for q, style in ((50, "--"), (99, ":")):
            ax.axvline(np.percentile(x, q), color="k", ls=style, lw=1, label=f"p{q}")
        ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("ms")
        ax.legend(fontsize=8)
    return _png(fig)


def _tracks_figure(series: dict) -> str:
    tracks, truth = series.get("tracks"), series.get("truth")
    if tracks is None or not len(tracks):
        return ""
    fig, ax = plt.subplots(figsize=(8, 8))
    if truth is not None and len(truth):
        for _, g in truth.groupby("target_id"):
            ax.plot(g["east_m"] / 1e3, g["north_m"] / 1e3, color="#bbb", lw=3)
    for _, g in tracks.groupby("track_id"):
        ax.plot(g["east_m"] / 1e3, g["north_m"] / 1e3, lw=1)
    sites = series.get("sites")
    if sites is not None:
        for s in sites:
            ax.plot(s["east_m"] / 1e3, s["north_m"] / 1e3, "k^")
            ax.annotate(s["id"], (s["east_m"] / 1e3, s["north_m"] / 1e3), fontsize=8)
    ax.set_aspect("equal")
    ax.set_xlabel("east, km")
    ax.set_ylabel("north, km")
    ax.set_title("published tracks (colour) over truth (grey)")
    return _png(fig)


def _error_figure(series: dict) -> str:
    curves = series.get("ospa_over_time") or {}
    if not curves:
        return ""
    fig, ax = plt.subplots(figsize=(9, 3.5))
    for label, (t, d) in curves.items():
        ax.plot(t, d, label=label, lw=1.5 if label == "joint" else 1)
    ax.set_xlabel("scenario time, s")
    ax.set_ylabel("OSPA, m")
    ax.set_title("OSPA over time: the joint picture against each partner alone")
    ax.legend()
    return _png(fig)


def _sensor_figure(sensors: list[dict]) -> str:
    if not sensors:
        return ""
    ids = [s["id"] for s in sensors]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    axes[0].bar(ids, [s.get("rate_per_s") or 0 for s in sensors], color="#3b6ea8")
    axes[0].set_title("plot rate per sensor, /s")
    reg = [s.get("registration") or {} for s in sensors]
    axes[1].bar(ids, [r.get("range_bias_m") or 0 for r in reg], color="#a85b3b",
                yerr=[r.get("range_bias_sigma_m") or 0 for r in reg])
    axes[1].set_title("estimated range bias, m (±1σ)")
    return _png(fig)


def _explained(explained: dict) -> str:
    """The joint picture's tracks that were not one target's clean track, its identity
    switches and track breaks (rig.scoring's sticky assignment)."""
    if not explained:
        return ""
    rows = [{"track": t["track_id"], "kind": t["kind"] + (", duplicate" if t["duplicate"] else "")
             if t["kind"] != "true" else "held several targets",
             "from (s)": t["t_first_s"], "to (s)": t["t_last_s"],
             "held": f"{t['held']}/{t['times']}", "targets held": _ids(t["targets"]),
             "beside": _ids(t["beside"]), "partners": _ids(t.get("partners", []))}
            for t in explained.get("tracks_explained", [])]
    switches = [{"t (s)": e["t"], "target": e["target_id"], "from track": e["from_track"],
                 "to track": e["to_track"]} for e in explained.get("switches", [])]
    breaks = [{"t (s)": e["t"], "target": e["target_id"], "track lost": e["track_id"]}
              for e in explained.get("breaks", [])]
    return ("<h3>Tracks that were not one target's</h3>" + _table(rows)
            + "<h3>Identity switches</h3>" + _table(switches)
            + "<h3>Track breaks</h3>" + _table(breaks))


def _truth_check(truth: dict | None) -> str:
    """rig's transport latency and registration against the emulated sensors' truth."""
    if not truth:
        return ""
    band = truth["latency_band_ms"]
    latency = [{"sensor": r["sensor"], "true latency ms": f"{r['true_min_ms']:.0f}–"
                f"{r['true_max_ms']:.0f}", "measured min": r["latency_ms"]["min"],
                "p50": r["latency_ms"]["p50"], "max": r["latency_ms"]["max"],
                "outside": r.get("not_checked") or r["below"] + r["above"]}
               for r in truth["transport_latency"]]
    registration = [{"sensor": r["sensor"], "pairs": r["n_pairs"],
                     **{f"{q} error {r[q]['unit']}": f"{r[q]['error']:+.3g}"
                        + (f" ({r[q]['z']:+.1f}σ)" if r[q]["z"] is not None else "")
                        for q in ("range_bias", "az_bias", "el_bias", "clock_offset")}}
                    for r in truth["registration"]]
    return ("<h2>Against the emulation's truth</h2>"
            f"<p class='muted'>transport latency, corrected by each sensor's true clock error, "
            f"must lie within its true latency −{band['below']:g} / +{band['above']:g} ms; "
            "registration error = estimate − truth (elevation and clock relative to the "
            "sensors' average)</p>" + _table(latency) + _table(registration))


def _ids(values) -> str:
    return ", ".join(str(v) for v in values) or "-"


def write_html(path: str | Path, report: dict, series: dict | None = None, *,
               figures: bool = True) -> None:
    """``report`` is the content of report.json; ``series`` holds the raw arrays behind it
    (latency samples, tracks and truth DataFrames, OSPA curves) for the figures, drawn unless
    ``figures`` is False."""
    series = series or {}

    def figure(draw, data) -> str:
        return draw(data) if figures else ""

    outcome = report.get("outcome", "?")
    platform = report.get("timing_platform") or {}
    timing_rows = [{"measurement": k,
                    **{s: v.get(s) for s in ("count", "min", "p50", "p99", "max", "mean")},
                    **({"platform p50": platform[k]["p50"], "platform p99": platform[k]["p99"],
                        "platform max": platform[k]["max"]} if k in platform else {})}
                   for k, v in (report.get("timing") or {}).items() if isinstance(v, dict)]
    counts = {k: v for k, v in (report.get("timing") or {}).items() if not isinstance(v, dict)}
    counts.update(report.get("counts") or {})
    accuracy = report.get("accuracy") or {}
    acc_rows = [{"picture": name, **{k: v for k, v in sc.items() if not isinstance(v, (list, dict))}}
                for name, sc in (accuracy.get("pictures") or {}).items()]
    parts = [
        f"<h1>rig run: <span class='{ {'pass': 'pass', 'fail': 'fail'}.get(outcome, 'skip')}'>"
        f"{html.escape(outcome)}</span></h1>",
        f"<p class='muted'>{html.escape(str(report.get('config_file', '')))} · mode "
        f"{html.escape(str(report.get('mode', '')))} · {report.get('duration_s', 0):.1f} s · "
        f"started {html.escape(str(report.get('started_utc', '')))}</p>",
        "" if figures else "<p class='muted'>Written in the time a stopped run has to end: "
                           "no figures and no accuracy against truth.</p>",
        "<h2>Limits</h2>", _limits_table(report.get("limits") or []),
        "<h2>Accuracy</h2>",
        _table(acc_rows) if acc_rows else
        f"<p class='muted'>{html.escape(str(accuracy.get('not_measurable', 'not measured')))}</p>",
        _explained(accuracy.get("joint_explained") or {}),
        figure(_error_figure, series), figure(_tracks_figure, series),
        _truth_check(report.get("truth_check")),
        "<h2>Timing</h2>",
        "<p class='muted'>platform: how late the machine itself was at the same moments (the "
        "platform probe's late wake-ups and the loop's waits for a CPU, in the share of CPU "
        "time others than the rig used then), ms</p>" if platform else "",
        _table(timing_rows), _table([counts]) if counts else "",
        figure(_latency_figure, series),
        "<h2>Sensors</h2>",
        _table([{k: v for k, v in s.items() if not isinstance(v, dict)}
                for s in report.get("sensors") or []]),
        figure(_sensor_figure, report.get("sensors") or []),
    ]
    if report.get("faults"):
        parts += ["<h2>Injected faults and what the rig saw</h2>", _table(report["faults"])]
    parts += ["<h2>Environment</h2>",
              f"<pre>{html.escape(json.dumps(report.get('environment', {}), indent=1))}</pre>"]
    doc = (f"<!doctype html><html><head><meta charset='utf-8'><title>rig report</title>"
           f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>\n")
    write_atomic(Path(path), doc)
