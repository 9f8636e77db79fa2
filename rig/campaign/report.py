"""A campaign's outputs: campaign.json (every run's figures, every aggregate and comparison),
campaign.html (distributions per setting, the aggregate and comparison tables), junit.xml
(one case per setting × limit) and the summary table printed at the end."""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from rich.table import Table  # noqa: E402

from rig import __version__, strict_json  # noqa: E402
from rig.bench.report_figures import embed  # noqa: E402
from rig.campaign.aggregate import METRICS  # noqa: E402
from rig.outfiles import write_atomic  # noqa: E402


def write_outputs(out: Path, result: dict) -> None:
    """campaign.json, campaign.html and junit.xml of ``result`` (see :func:`campaign_json`)."""
    write_atomic(out / "campaign.json", strict_json.dumps(result, indent=1))
    write_atomic(out / "campaign.html", campaign_html(result))
    write_atomic(out / "junit.xml", junit_xml(result))


def _fmt(value, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _ci(m: dict | None) -> str:
    if not m:
        return "–"
    return f"{_fmt(m['mean'])} [{_fmt(m['ci_low'])}, {_fmt(m['ci_high'])}]"


def distribution_figure(result: dict, metric: str):
    """One box per setting of ``metric`` over its seeds, each seed a dot; None without data."""
    groups, names = [], []
    for agg in result["aggregates"]:
        values = [r["figures"][metric] for r in result["runs"]
                  if r["setting"] == agg["setting"] and r.get("figures")
                  and r["figures"].get(metric) is not None]
        groups.append(values)
        names.append(agg["label"])
    if not any(groups):
        return None
    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(groups), 3.2))
    ax.boxplot([g or [float("nan")] for g in groups], showmeans=True)
    for i, g in enumerate(groups, start=1):
        ax.plot([i] * len(g), g, "o", alpha=0.5, markersize=4)
    ax.set_xticks(range(1, len(names) + 1), names, rotation=20, ha="right", fontsize=8)
    ax.set_title(metric)
    ax.grid(alpha=0.3)
    return fig


def campaign_html(result: dict) -> str:
    esc = html.escape
    present = [m for m in METRICS if any(m in a["metrics"] for a in result["aggregates"])]
    head = "".join(f"<th>{esc(m)} mean [95 % CI]</th>" for m in present)
    rows = []
    for a in result["aggregates"]:
        verdicts = ", ".join(f"{k} {v}" for k, v in sorted(a["verdicts"].items()))
        cells = "".join(f"<td>{esc(_ci(a['metrics'].get(m)))}</td>" for m in present)
        rows.append(f"<tr><td>{esc(a['label'])}</td><td>{a['runs']}</td><td>{a['errors']}</td>"
                    f"<td>{esc(verdicts)}</td>{cells}</tr>")
    comparisons = "".join(
        f"<tr><td>{esc(c['b_label'])} vs {esc(c['a_label'])}</td><td>{esc(c['metric'])}</td>"
        f"<td>{c['n']}</td><td>{_fmt(c['mean_difference'])} [{_fmt(c['ci_low'])}, "
        f"{_fmt(c['ci_high'])}]</td><td>{_fmt(c['p_value'], 3)}</td><td>{esc(c['b_is'])}</td>"
        "</tr>" for c in result["comparisons"])
    limits = "".join(
        f"<tr class='{l['outcome']}'><td>{esc(l['label'])}</td><td>{esc(l['metric'])}</td>"
        f"<td>{_fmt(l['limit'])}</td><td>{esc(l['outcome'])}</td><td>{esc(l['reason'])}</td>"
        "</tr>" for l in result["limits"])
    errors = "".join(
        f"<tr><td>{esc(result['labels'][r['setting']])}</td><td>{r['seed']}</td>"
        f"<td>{r['attempts']}</td><td>{esc(str(r['error']))}</td></tr>"
        for r in result["runs"] if r.get("error"))
    figures = "".join(embed(distribution_figure(result, m)) for m in present)
    counts = result["counts"]
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>Campaign {esc(result['name'])}</title><style>
body {{ font-family: sans-serif; margin: 2em; }} table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ border: 1px solid #ccc; padding: 3px 8px; text-align: left; }}
tr.fail td {{ background: #fdd; }} tr.pass td {{ background: #dfd; }} img {{ margin: 4px; }}
</style></head><body>
<h1>Campaign {esc(result['name'])}</h1>
<p>{esc(result['kind'])} runs: {counts['runs']} ({counts['computed']} computed, {counts['cached']}
from the cache, {counts['errors']} errors), {len(result['aggregates'])} settings × seeds
{esc(str(result['seeds']))}; rig {esc(__version__)}; exit code {result['exit_code']}.</p>
<h2>Settings</h2><table><tr><th>setting</th><th>runs</th><th>errors</th><th>verdicts</th>{head}</tr>
{''.join(rows)}</table>
<h2>Distributions over seeds</h2>{figures}
<h2>Paired comparisons with the first setting</h2>
<p>B − A per seed on the seeds both finished; the 95 % CI is a bootstrap of the mean
difference, the p-value a paired sign-flip test. Lower is better for every figure.</p>
<table><tr><th>B vs A</th><th>figure</th><th>seeds</th><th>mean B − A [95 % CI]</th>
<th>p</th><th>B is</th></tr>{comparisons}</table>
<h2>Limits</h2><p>A setting fails a limit when the upper bound of the 95 % CI of its mean is
above the limit.</p>
<table><tr><th>setting</th><th>figure</th><th>limit</th><th>outcome</th><th>why</th></tr>
{limits}</table>
<h2>Runs that failed</h2><table><tr><th>setting</th><th>seed</th><th>attempts</th>
<th>error</th></tr>{errors}</table>
</body></html>
"""


def junit_xml(result: dict) -> str:
    """One test case per setting × limit (``SETTING: ospa_m <= 600``), a failure when the
    setting fails it; one case per setting for its runs, an error when one failed."""
    limits = result["limits"]
    failures = sum(l["outcome"] == "fail" for l in limits)
    errors = sum(1 for a in result["aggregates"] if a["errors"])
    counts = dict(tests=str(len(limits) + len(result["aggregates"])), failures=str(failures),
                  errors=str(errors))
    root = ET.Element("testsuites", name="rig campaign", **counts)
    suite = ET.SubElement(root, "testsuite", name=result["name"], **counts)
    for a in result["aggregates"]:
        case = ET.SubElement(suite, "testcase", classname=f"rig.campaign.{result['name']}",
                             name=f"{a['label']}: runs")
        if a["errors"]:
            ET.SubElement(case, "error", type="RunFailed",
                          message=f"{a['errors']} of {a['runs']} runs failed")
    for l in limits:
        case = ET.SubElement(suite, "testcase", classname=f"rig.campaign.{result['name']}",
                             name=f"{l['label']}: {l['metric']} <= {l['limit']:g}")
        if l["outcome"] == "fail":
            ET.SubElement(case, "failure", message=l["reason"], type="LimitFailed")
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def summary_table(result: dict) -> Table:
    present = [m for m in METRICS if any(m in a["metrics"] for a in result["aggregates"])]
    table = Table(title=f"campaign {result['name']}: mean [95 % CI] over seeds")
    for column in ("setting", "runs", "errors", *present, "limits"):
        table.add_column(column)
    for a in result["aggregates"]:
        mine = [l for l in result["limits"] if l["setting"] == a["setting"]]
        failed = [l["metric"] for l in mine if l["outcome"] == "fail"]
        verdict = ("fail: " + ", ".join(failed)) if failed else ("pass" if mine else "–")
        table.add_row(a["label"], str(a["runs"]), str(a["errors"]),
                      *(_ci(a["metrics"].get(m)) for m in present), verdict)
    return table


def comparison_table(result: dict) -> Table:
    table = Table(title="paired with the first setting (B − A, lower is better)")
    for column in ("B vs A", "figure", "mean B − A [95 % CI]", "p", "B is"):
        table.add_column(column)
    for c in result["comparisons"]:
        table.add_row(f"{c['b_label']} vs {c['a_label']}", c["metric"],
                      f"{_fmt(c['mean_difference'])} [{_fmt(c['ci_low'])}, "
                      f"{_fmt(c['ci_high'])}]", _fmt(c["p_value"], 3), c["b_is"])
    return table
