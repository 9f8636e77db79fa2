"""The tables of report.html, as HTML text, from the content of report.json."""

from __future__ import annotations

import html
import os
from pathlib import Path


def fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.4g}"
    return html.escape(str(v))


def table(rows: list[dict], columns: list[str] | None = None, *, table_id: str = "") -> str:
    if not rows:
        return '<p class="muted">none</p>'
    columns = columns or list(rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{fmt(r.get(c))}</td>" for c in columns) + "</tr>"
                   for r in rows)
    ident = f" id='{table_id}'" if table_id else ""
    return f"<table{ident}><tr>{head}</tr>{body}</table>"


#: the station section of a bench config: key -> label
STATION_FIELDS = {"name": "station", "operator": "operator",
                  "device_under_test": "device under test", "notes": "notes"}


def station_table(station: dict | None) -> str:
    """Station, operator, device under test and notes, as far as the config gives them."""
    given = {k: v for k, v in (station or {}).items() if v not in (None, "")}
    if not given:
        return ("<p class='muted' id='station'>no station in the config (its "
                "<code>station:</code> section names the station, operator and device under "
                "test)</p>")
    rows = "".join(f"<tr><th>{STATION_FIELDS.get(k, k)}</th><td class='text'>{fmt(v)}</td></tr>"
                   for k, v in given.items())
    return f"<table id='station' class='station'>{rows}</table>"


def limits_table(limits: list[dict]) -> str:
    if not limits:
        return '<p class="muted">no limits configured</p>'
    rows = []
    for r in limits:
        cls = {"pass": "pass", "fail": "fail", "no data": "fail"}.get(r["outcome"], "skip")
        value = "–" if r["value"] is None else f"{r['value']:.4g} {r['unit']}"
        rows.append(f"<tr><td>{html.escape(r['name'])} {html.escape(r['unit'])}</td>"
                    f"<td>{value}</td><td class='{cls}'>{html.escape(r['outcome'])}</td>"
                    f"<td>{html.escape(r.get('reason') or '')}</td></tr>")
    return ("<table id='limits'><tr><th>limit</th><th>measured</th><th>outcome</th>"
            "<th>why</th></tr>" + "".join(rows) + "</table>")


#: the accuracy figures shown at a glance: key of a picture's score -> column title
ACCURACY_KEY_COLUMNS = {
    "ospa_mean_m": "OSPA mean m", "ospa_p95_m": "OSPA p95 m", "gospa_mean_m": "GOSPA mean m",
    "position_rmse_m": "position RMSE m", "false_tracks": "false tracks",
    "missed_targets": "missed targets", "identity_switches": "identity switches",
    "track_breaks": "track breaks", "time_to_first_track_mean_s": "first track mean s",
    "coverage": "coverage",
}


def accuracy_tables(accuracy: dict) -> str:
    """Each picture's key scores, and every score behind a toggle (``<details>``)."""
    pictures = accuracy.get("pictures") or {}
    if not pictures:
        why = accuracy.get("not_measurable", "not measured")
        return f"<p class='muted'>{html.escape(str(why))}</p>"
    compact = [{"picture": name, **{title: sc.get(key)
                                    for key, title in ACCURACY_KEY_COLUMNS.items()}}
               for name, sc in pictures.items()]
    full = [{"picture": name, **{k: v for k, v in sc.items()
                                 if not isinstance(v, (list, dict))}}
            for name, sc in pictures.items()]
    ratio = accuracy.get("joint_vs_best_partner_ospa_ratio")
    note = (f"<p class='muted'>joint OSPA over the best partner's alone: {ratio:.3g}</p>"
            if isinstance(ratio, (int, float)) else "")
    return (table(compact, table_id="accuracy") + note
            + "<details id='accuracy-all'><summary>every accuracy figure</summary>"
            + table(full, table_id="accuracy-full") + "</details>")


#: registration quantity (truth_check's) -> (estimate field in report.json's registration,
#: its sigma field, scale to the unit shown, unit, title)
REGISTRATION_COLUMNS = {
    "range_bias": ("range_bias_m", "range_bias_sigma_m", 1.0, "m", "range bias"),
    "az_bias": ("az_bias_rad", "az_bias_sigma_rad", 1e3, "mrad", "azimuth bias"),
    "el_bias": ("el_bias_rad", "el_bias_sigma_rad", 1e3, "mrad", "elevation bias"),
    "clock_offset": ("clock_offset_s", "clock_offset_sigma_s", 1e3, "ms", "clock offset"),
}


def registration_table(registration: list[dict], truth: list[dict] | None,
                       sensors: list[dict]) -> str:
    """Per sensor: each bias and the clock offset as estimated, with its sigma and, when the
    truth is known (emulation), the true value and the error over sigma."""
    if not registration:
        return '<p class="muted">no registration estimates</p>'
    true_of = {r["sensor"]: r for r in truth or []}
    partner_of = {s.get("id"): s.get("partner") for s in sensors}
    subs = ["estimate", "σ", "true", "error"] if true_of else ["estimate", "σ"]
    head1 = "<tr><th rowspan='2'>sensor</th><th rowspan='2'>partner</th>" \
            "<th rowspan='2'>plot pairs</th>" + "".join(
                f"<th colspan='{len(subs)}'>{title}, {unit}</th>"
                for _, _, _, unit, title in REGISTRATION_COLUMNS.values()) + "</tr>"
    head2 = "<tr>" + "".join(f"<th>{s}</th>" for _ in REGISTRATION_COLUMNS for s in subs) \
        + "</tr>"
    body = []
    for reg in registration:
        name = reg["sensor"]
        cells = [fmt(name), fmt(partner_of.get(name)), fmt(reg.get("n_pairs"))]
        for quantity, (field, sigma, scale, _, _) in REGISTRATION_COLUMNS.items():
            cells += [signed(reg[field] * scale), f"{reg[sigma] * scale:.3g}"]
            if true_of:
                t = (true_of.get(name) or {}).get(quantity)
                cells += ["–", "–"] if t is None else [
                    signed(t["truth"]), signed(t["error"], 3)
                    + (f" ({t['z']:+.1f}σ)" if t["z"] is not None else "")]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    note = ("<p class='muted'>Range and azimuth bias are absolute; elevation bias and clock "
            "offset are relative to the sensors' average (plots cannot show their common "
            "part)" + ("; true: the emulated radar's, taken the same way; error = estimate − "
                       "true, over its σ" if true_of else "") + ".</p>")
    return (f"<table id='registration'>{head1}{head2}{''.join(body)}</table>" + note)


def signed(v: float, digits: int = 4) -> str:
    """``v`` with its sign (``+74.34``, ``-0.2102``; zero as ``0``)."""
    return "0" if v == 0 else f"{v:+.{digits}g}"


def latency_truth_table(truth: dict | None) -> str:
    """rig's transport latency against the emulated sensors' true latency."""
    if not truth:
        return ""
    band = truth["latency_band_ms"]
    rows = [{"sensor": r["sensor"], "true latency ms": f"{r['true_min_ms']:.0f}–"
             f"{r['true_max_ms']:.0f}", "measured min": r["latency_ms"]["min"],
             "p50": r["latency_ms"]["p50"], "max": r["latency_ms"]["max"],
             "outside": r.get("not_checked") or r["below"] + r["above"]}
            for r in truth["transport_latency"]]
    return (f"<p class='muted'>transport latency, corrected by each sensor's true clock "
            f"error, must lie within its true latency −{band['below']:g} / "
            f"+{band['above']:g} ms</p>" + table(rows, table_id="latency-truth"))


def explained_tables(explained: dict) -> str:
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
    return ("<h3>Tracks that were not one target's</h3>" + table(rows)
            + "<h3>Identity switches</h3>" + table(switches)
            + "<h3>Track breaks</h3>" + table(breaks))


def _ids(values) -> str:
    return ", ".join(str(v) for v in values) or "-"


#: what each file a run leaves holds, by name or by suffix
FILE_KINDS = {
    "report.json": "the report's data (rig/schemas/report.schema.json)",
    "junit.xml": "one test case per sensor and per limit",
    "tracks.csv": "every published track update",
    "truth.csv": "the scenario's targets (emulation)",
    "scenario.yaml": "the scenario as the emulators built it",
    "timing-samples.npz": "every timing sample behind the limits (numpy)",
    "platform-probe.npz": "how late the machine itself was (numpy)",
    ".rigrec": "recording of every byte stream, for rig replay",
    ".log": "log",
}


def output_files(folder: Path, report: dict, *, exclude: tuple[str, ...] = ()) -> list[dict]:
    """Every file of the run folder (hidden and ``exclude`` ones left out), and the
    recording's files wherever they are: name, link relative to the folder, size, kind."""
    folder = Path(folder)
    paths = [p for p in sorted(folder.rglob("*")) if p.is_file()
             and not any(part.startswith(".") for part in p.relative_to(folder).parts)
             and p.name not in exclude]
    for recorded in ((report.get("recording") or {}).get("files") or []):
        path = Path(recorded)
        path = path if path.is_absolute() else folder / path
        if path.is_file() and all(path.resolve() != p.resolve() for p in paths):
            paths.append(path)
    rows = []
    for path in paths:
        href = Path(os.path.relpath(path.resolve(), folder.resolve())).as_posix()
        kind = FILE_KINDS.get(path.name) or FILE_KINDS.get(path.suffix, "")
        rows.append({"name": href, "href": href, "bytes": path.stat().st_size, "kind": kind})
    return rows


def files_table(rows: list[dict]) -> str:
    """Links to the run's files with their sizes."""
    if not rows:
        return '<p class="muted">none</p>'
    body = "".join(
        f"<tr><td><a href='{html.escape(r['href'], quote=True)}'>{html.escape(r['name'])}</a>"
        f"</td><td>{human_size(r['bytes'])}</td><td class='text'>{html.escape(r['kind'])}</td>"
        "</tr>" for r in rows)
    return ("<table id='files'><tr><th>file</th><th>size</th><th>holds</th></tr>"
            f"{body}</table>")


def human_size(n: int) -> str:
    if n < 1000:
        return f"{n} B"
    for unit in ("kB", "MB", "GB", "TB"):
        n /= 1000
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}"
