"""report.html of a real short run: station, links, registration, accuracy, limit lines on the
histograms, the partners' coverage map; read back with an HTML parser."""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.lines import Line2D
from matplotlib.patches import Circle

from rig.bench.config import load_bench_config
from rig.bench.report import site_rows
from rig.bench.report_figures import LATENCY_SERIES, coverage_map, latency_figure
from rig.bench.report_html import write_html
from rig.bench.report_tables import human_size, registration_table, signed
from rig.bench.run import sensor_table
from rig.errors import ConfigError

DATA = Path(__file__).parent / "data" / "bench"
STATION = {"name": "lab-3 bench 2", "operator": "J. Kowalska",
           "device_under_test": "SR-200 s/n 0042, firmware 3.1.4",
           "notes": "A2 <on the spare> antenna & cable"}


class _Tree(HTMLParser):
    """An HTML page as an ElementTree (void elements closed at once)."""

    VOID = {"img", "meta", "br", "hr", "link", "input"}

    def __init__(self):
        super().__init__()
        self.builder = ET.TreeBuilder()
        self.builder.start("root", {})

    def handle_starttag(self, tag, attrs):
        self.builder.start(tag, {k: v or "" for k, v in attrs})
        if tag in self.VOID:
            self.builder.end(tag)

    def handle_endtag(self, tag):
        if tag not in self.VOID:
            self.builder.end(tag)

    def handle_data(self, data):
        self.builder.data(data)


def parse(page: str) -> ET.Element:
    tree = _Tree()
    tree.feed(page)
    tree.close()
    tree.builder.end("root")
    return tree.builder.close()


def text(element) -> str:
    return "".join(element.itertext()).strip()


def rows(table) -> list[list[str]]:
    return [[text(cell) for cell in tr] for tr in table.iter("tr")]


def by_id(root, ident):
    found = root.find(f".//*[@id='{ident}']")
    assert found is not None, f"no element with id {ident}"
    return found


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One short emulated run of biased radars, with a station section and a recording."""
    tmp = tmp_path_factory.mktemp("report")
    config = yaml.safe_load((DATA / "short.yaml").read_text())
    config["station"] = STATION
    config["scenario"]["biased"] = True
    config["outputs"]["feeds"] = []
    path = tmp / "bench.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp / "out"
    done = subprocess.run([sys.executable, "-m", "rig", "run", str(path), "--out", str(out),
                           "--record", "run.rigrec", "--no-live"],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 1, done.stderr        # short.yaml has a limit that must fail
    report = json.loads((out / "report.json").read_text())
    page = (out / "report.html").read_text()
    return {"out": out, "config": path, "report": report, "page": page, "root": parse(page)}


def series_of(run) -> dict:
    """What write_reports drew the figures from, read back from the run's files."""
    samples = np.load(run["out"] / "timing-samples.npz")
    series = {name: samples[name] for name in LATENCY_SERIES}
    series["tracks"] = pd.read_csv(run["out"] / "tracks.csv")
    series["truth"] = pd.read_csv(run["out"] / "truth.csv")
    series["sites"] = site_rows(sensor_table(load_bench_config(run["config"])))
    return series


def test_station_is_at_the_top_of_the_page_and_in_report_json(run):
    assert run["report"]["station"] == STATION
    assert run["report"]["config"]["station"] == STATION
    root = run["root"]
    station = by_id(root, "station")
    shown = {r[0]: r[1] for r in rows(station)}
    assert shown == {"station": STATION["name"], "operator": STATION["operator"],
                     "device under test": STATION["device_under_test"],
                     "notes": STATION["notes"]}
    body = root.find(".//body")
    first_h2 = next(i for i, e in enumerate(body) if e.tag == "h2")
    assert list(body).index(station) < first_h2           # before the limits


def test_links_point_to_every_file_of_the_run_folder_with_sizes(run):
    out = run["out"]
    files = by_id(run["root"], "files")
    links = {}
    for tr in list(files.iter("tr"))[1:]:
        a = tr.find(".//a")
        links[a.get("href")] = text(list(tr)[1])
    on_disk = {p.name for p in out.iterdir() if p.is_file() and not p.name.startswith(".")}
    assert set(links) == on_disk - {"report.html"}
    for name in ("report.json", "junit.xml", "tracks.csv", "truth.csv", "run.rigrec"):
        assert name in links
    for href, size in links.items():
        assert (out / href).is_file(), href
        assert size == human_size((out / href).stat().st_size), href


def test_registration_table_has_every_sensor_with_estimate_sigma_and_truth(run):
    report = run["report"]
    table = by_id(run["root"], "registration")
    head, subs, *body = rows(table)
    groups = head[3:]
    assert [g.split(",")[0] for g in groups] == ["range bias", "azimuth bias",
                                                  "elevation bias", "clock offset"]
    assert subs == ["estimate", "σ", "true", "error"] * 4
    assert [r[0] for r in body] == [s["id"] for s in report["sensors"]]
    scenario = yaml.safe_load((run["out"] / "scenario.yaml").read_text())
    radars = {s["id"]: s for s in scenario["sensors"]}
    truth = {r["sensor"]: r for r in report["truth_check"]["registration"]}
    for row in body:
        sensor = row[0]
        cells = dict(zip(["range", "az", "el", "clock"],
                         [row[3 + 4 * k: 7 + 4 * k] for k in range(4)]))
        reg = next(r for r in report["registration"] if r["sensor"] == sensor)
        assert cells["range"][0] == signed(reg["range_bias_m"])
        assert cells["range"][1] == f"{reg['range_bias_sigma_m']:.3g}"
        assert cells["clock"][0] == signed(reg["clock_offset_s"] * 1e3)
        # range and azimuth are absolute: the emulated radar's own bias
        assert cells["range"][2] == signed(radars[sensor]["range_bias_m"])
        assert cells["az"][2] == signed(radars[sensor]["az_bias_rad"] * 1e3)
        assert cells["el"][2] == signed(truth[sensor]["el_bias"]["truth"])
        assert cells["clock"][2] == signed(truth[sensor]["clock_offset"]["truth"])
    assert any(radars[r[0]]["range_bias_m"] != 0 for r in body)      # a biased scenario


def test_registration_table_without_truth_has_no_true_column(run):
    report = run["report"]
    root = parse(registration_table(report["registration"], None, report["sensors"]))
    head, subs, *body = rows(root.find(".//table"))
    assert subs == ["estimate", "σ"] * 4
    assert len(body) == len(report["sensors"])


def test_accuracy_shows_key_columns_and_keeps_the_rest_behind_a_toggle(run):
    root = run["root"]
    compact = rows(by_id(root, "accuracy"))
    assert compact[0] == ["picture", "OSPA mean m", "OSPA p95 m", "GOSPA mean m",
                          "position RMSE m", "false tracks", "missed targets",
                          "identity switches", "track breaks", "first track mean s",
                          "coverage"]
    pictures = run["report"]["accuracy"]["pictures"]
    assert [r[0] for r in compact[1:]] == list(pictures)
    joint = pictures["joint"]
    assert compact[1][1] == f"{joint['ospa_mean_m']:.4g}"
    assert compact[1][5] == str(joint["false_tracks"])
    details = by_id(root, "accuracy-all")
    assert details.tag == "details" and details.find("summary") is not None
    full = rows(details.find(".//table"))
    scalar = [k for k, v in joint.items() if not isinstance(v, (list, dict))]
    assert full[0] == ["picture", *scalar]
    assert {"ospa_localisation_m", "velocity_rmse_mps", "duplicate_tracks"} <= set(full[0])


def test_latency_histograms_have_a_line_at_each_limit_red_when_failed(run):
    limits = run["report"]["limits"]
    fig = latency_figure(series_of(run), limits)
    axes = {ax.get_title(): ax for ax in fig.axes}
    checked = 0
    for lim in limits:
        if lim["measurement"] not in axes:
            continue
        ax = axes[lim["measurement"]]
        lines = [ln for ln in ax.get_lines() if isinstance(ln, Line2D)
                 and list(ln.get_xdata()) == [lim["bound"], lim["bound"]]
                 and f"{lim['statistic']} {lim['op']} {lim['bound']:g}" in ln.get_label()]
        assert len(lines) == 1, lim["name"]
        red = lines[0].get_color() == "#c00000"
        assert red == (lim["outcome"] == "fail"), lim["name"]
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert lines[0].get_label() in legend
        checked += 1
    outcomes = {lim["measurement"]: lim["outcome"] for lim in limits}
    assert outcomes["processing_latency_ms"] == "fail"     # p50 <= 1 ns: impossible
    assert checked == 2                      # processing latency and tick lateness


def test_map_shows_one_coverage_circle_per_radar_with_a_legend(run):
    series = series_of(run)
    fig = coverage_map(series)
    ax = fig.axes[0]
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    loaded = load_bench_config(run["config"])
    assert sorted(c.get_gid() for c in circles) == sorted(f"coverage {r.id}"
                                                         for r in loaded.radars)
    for radar in loaded.radars:
        circle = next(c for c in circles if c.get_gid() == f"coverage {radar.id}")
        assert circle.get_radius() == pytest.approx(radar.range_max_m / 1e3)
    legend = {t.get_text() for t in ax.get_legend().get_texts()}
    assert legend == {"truth", "published tracks", "partner A sites", "partner A coverage",
                      "partner B sites", "partner B coverage"}


def test_the_page_embeds_its_figures_and_a_stopped_run_writes_it_without(run, tmp_path):
    root = run["root"]
    images = root.findall(".//img")
    assert len(images) == 4            # OSPA over time, coverage map, latencies, sensors
    assert all(img.get("src").startswith("data:image/png;base64,") for img in images)
    write_html(tmp_path / "report.html", run["report"], series_of(run), figures=False)
    quick = parse((tmp_path / "report.html").read_text())
    assert quick.findall(".//img") == []
    assert rows(by_id(quick, "station"))[0] == ["station", STATION["name"]]
    assert len(rows(by_id(quick, "registration"))) == 2 + len(run["report"]["sensors"])


def test_a_config_without_station_says_so(run, tmp_path):
    report = {**run["report"], "station": None}
    write_html(tmp_path / "report.html", report, figures=False)
    station = by_id(parse((tmp_path / "report.html").read_text()), "station")
    assert station.tag == "p" and "station:" in text(station)


def test_station_section_is_checked(tmp_path):
    config = yaml.safe_load((DATA / "short.yaml").read_text())
    config["station"] = {"name": 7, "device_under_test": 12345}
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(config))
    assert load_bench_config(path).config.station.device_under_test == "12345"
    config["station"] = {"operatr": "me"}
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError) as e:
        load_bench_config(path)
    assert "operatr" in str(e.value) and "station" in str(e.value)
