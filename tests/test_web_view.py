"""The live air picture in a real browser: ``rig run --web`` and ``rig view``.

Headless Chromium (Debian's ``chromium``, driven by Playwright through ``executable_path``)
opens the page of a real run: emulators in their own processes, one of them unplugged by
fault injection for a while. CI installs the browser (.ci/run); elsewhere the browser tests
skip without it, unless RIG_REQUIRE_BROWSER is set.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pymap3d
import pytest

from rig.records import empty_plots, empty_tracks
from rig.web.feed import plots_message, tracks_message
from rig.web.geometry import PictureGeometry

CONFIG = Path(__file__).parent / "data" / "bench" / "web.yaml"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
URL_LINE = re.compile(r"(?:web view at|at) (http://\S+/)")


def browser_or_skip():
    playwright = pytest.importorskip("playwright.sync_api") if not os.environ.get(
        "RIG_REQUIRE_BROWSER") else __import__("playwright.sync_api").sync_api
    if CHROMIUM is None:
        if os.environ.get("RIG_REQUIRE_BROWSER"):
            pytest.fail("RIG_REQUIRE_BROWSER is set and there is no chromium")
        pytest.skip("no chromium (apt install chromium)")
    return playwright


def wait_for_url(proc: subprocess.Popen, timeout_s: float = 60.0) -> str:
    """The page's address, from the command's stderr (which the caller then drains)."""
    end = time.monotonic() + timeout_s
    seen = []
    while time.monotonic() < end:
        ready, _, _ = select.select([proc.stderr], [], [], 0.5)
        if ready:
            line = proc.stderr.readline()
            seen.append(line)
            found = URL_LINE.search(line)
            if found:
                return found.group(1)
        if proc.poll() is not None:
            break
    raise AssertionError(f"no web view address; stderr: {''.join(seen)[-2000:]}")


# --- the geometry, against pymap3d directly ------------------------------------------------
SETUP = {"origin": {"lat": 52.0, "lon": 21.0, "alt": 100.0}, "partners": ["A", "B"],
         "sensors": [{"id": "A1", "lat": 51.1, "lon": 17.9, "alt": 150.0},
                     {"id": "B1", "lat": 51.6, "lon": 24.3, "alt": 160.0}]}


def test_tracks_are_placed_where_their_enu_position_is():
    tracks = empty_tracks(2)
    tracks["track_id"] = [7, 9]
    tracks["status"] = [1, 2]
    tracks["partners"] = [0b11, 0b10]
    tracks["east"], tracks["north"], tracks["up"] = [10e3, -50e3], [20e3, 80e3], [3e3, 9e3]
    tracks["v_east"], tracks["v_north"] = [100.0, 0.0], [0.0, -200.0]
    out = PictureGeometry(SETUP).tracks(tracks_message(tracks))
    lat, lon, alt = pymap3d.enu2geodetic(-50e3, 80e3, 9e3, 52.0, 21.0, 100.0)
    assert out[1]["id"] == 9 and out[1]["status"] == "coasting"
    assert out[1]["lat"] == pytest.approx(lat, abs=1e-5)
    assert out[1]["lon"] == pytest.approx(lon, abs=1e-5)
    assert out[1]["alt"] == pytest.approx(alt, abs=1)
    assert out[1]["speed"] == 200.0 and out[1]["heading"] == 180
    assert out[0]["heading"] == 90 and out[0]["partners"] == ["A", "B"]
    assert out[1]["partners"] == ["B"]


def test_plots_are_placed_from_their_own_sensor_site():
    plots = empty_plots(2)
    plots["sensor_id"] = [0, 1]
    plots["range_m"] = [100e3, 100e3]
    plots["az_rad"] = [0.0, np.pi / 2]
    out = PictureGeometry(SETUP).plots(plots_message(plots))
    assert out[0][0] == 0 and out[0][1] == pytest.approx(51.1 + 0.899, abs=0.01)
    assert out[0][2] == pytest.approx(17.9, abs=1e-3)        # due north of A1
    assert out[1][1] == pytest.approx(51.6, abs=0.02)         # due east of B1
    assert out[1][2] > 24.3 + 1.3


# --- the page in a browser, during a real run -------------------------------------------
@pytest.fixture(scope="module")
def web_run(tmp_path_factory):
    browser_or_skip()
    out = tmp_path_factory.mktemp("web")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rig", "run", str(CONFIG), "--out", str(out), "--no-live",
         "--web", "--web-port", "0", "--record", "web.rigrec"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        url = wait_for_url(proc)
        yield proc, url, out
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        proc.stderr.read()
        proc.wait(timeout=60)


def track_positions(page) -> dict[int, tuple[float, float]]:
    return {int(r["id"]): (float(r["lat"]), float(r["lon"])) for r in page.eval_on_selector_all(
        "#tracks tbody tr", "rows => rows.map(r => r.dataset.track && "
        "({id: r.dataset.track, lat: r.dataset.lat, lon: r.dataset.lon})).filter(Boolean)")}


@pytest.mark.slow                # a whole emulated run: CI runs it with -m slow
def test_the_page_shows_tracks_moving_an_unplugged_sensor_and_survives_a_reload(web_run):
    playwright = browser_or_skip()
    proc, url, out = web_run
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 850})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        # the sites and their coverage come first, then tracks
        page.wait_for_selector("#sensors tr[data-sensor='A1']", timeout=30_000)
        assert page.locator("#legend").inner_text().count("partner") == 2
        page.wait_for_selector("#tracks tr[data-track]", timeout=30_000)
        first = track_positions(page)
        page.wait_for_timeout(2500)
        later = track_positions(page)
        common = set(first) & set(later)
        assert common, (first, later)
        moved = [i for i in common if first[i] != later[i]]
        assert len(moved) >= len(common) // 2 + 1, (first, later)
        # A1 is unplugged from 7 s to 16 s: its row turns red, the others stay green
        page.wait_for_selector("#sensors tr[data-sensor='A1'][data-health='bad']",
                               timeout=20_000)
        red = page.eval_on_selector("#sensors tr[data-sensor='A1'] td.state",
                                    "td => getComputedStyle(td).color")
        assert red == "rgb(248, 81, 73)"
        assert page.get_attribute("#sensors tr[data-sensor='A2']", "data-health") == "ok"
        page.screenshot(path=str(out / "web-view.png"))
        # a reload gets the history back and goes on live
        states_before = page.evaluate("window.rigView.states.length")
        page.reload()
        page.wait_for_selector("#tracks tr[data-track]", timeout=10_000)
        assert page.evaluate("window.rigView.states.length") >= states_before
        assert page.get_attribute("#status", "data-status") == "live"
        t0 = page.evaluate("window.rigView.states.at(-1).t")
        page.wait_for_function(f"window.rigView.states.at(-1).t > {t0} + 1", timeout=10_000)
        # scrubbing back shows an earlier picture and says so
        page.locator("#time").fill("2")
        page.locator("#time").dispatch_event("input")
        assert page.get_attribute("#status", "data-status") == "history"
        assert page.evaluate("window.rigView.shown") == 2
        page.click("#live")
        assert page.get_attribute("#status", "data-status") == "live"
        browser.close()
    assert not errors, errors
    assert proc.wait(timeout=60) in (0, 1, 5)


@pytest.mark.slow                # a whole emulated run: CI runs it with -m slow
def test_rig_view_plays_the_recording_of_that_run(web_run):
    playwright = browser_or_skip()
    proc, _url, out = web_run
    proc.wait(timeout=60)
    view = subprocess.Popen([sys.executable, "-m", "rig", "view", str(out / "web.rigrec"),
                             "--web-port", "0", "--speed", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        url = wait_for_url(view, 30)
        with urllib.request.urlopen(url + "api/latest", timeout=10) as r:
            latest = json.load(r)
        assert [s["id"] for s in latest["setup"]["sensors"]] == ["A1", "A2", "B2"]
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(url)
            page.wait_for_function("document.querySelector('#status').dataset.status == "
                                   "'ended'", timeout=30_000)
            n = page.evaluate("window.rigView.states.length")
            t_last = page.evaluate("window.rigView.states.at(-1).t")
            assert n >= 30 and t_last > 20           # a state every 0.5 s of a 24 s run
            assert page.locator("#tracks tr[data-track]").count() >= 1
            # the recorded counters show the unplugged sensor in the middle of the run
            middle = page.evaluate("window.rigView.states.findIndex(s => s.t > 12)")
            page.locator("#time").fill(str(middle))
            page.locator("#time").dispatch_event("input")
            assert page.get_attribute("#sensors tr[data-sensor='A1']", "data-health") == "bad"
            browser.close()
    finally:
        view.send_signal(signal.SIGINT)
        assert view.wait(timeout=10) == 0


def test_rig_view_of_a_file_that_is_not_a_recording_exits_2(tmp_path):
    bad = tmp_path / "not.rigrec"
    bad.write_bytes(b"hello")
    proc = subprocess.run([sys.executable, "-m", "rig", "view", str(bad), "--web-port", "0"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "not.rigrec" in proc.stderr


def test_web_port_out_of_range_is_a_usage_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "rig", "run", str(CONFIG), "--web",
                           "--web-port", "70000", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--web-port" in proc.stderr


# --- the pipe the loop writes without waiting ---------------------------------------------
def test_a_view_that_does_not_read_never_blocks_the_writer_and_one_that_dies_is_dropped():
    from rig.bench.view_pipe import ViewPipe

    proc = subprocess.Popen(["sleep", "30"], stdin=subprocess.PIPE)
    pipe = ViewPipe(proc, "test view")
    line = b"x" * 100_000 + b"\n"
    for _ in range(20):                  # 2 MB into a pipe of 64 kB that nobody reads
        pipe.send(line)
    assert pipe.alive and pipe._pending  # the rest waits, no call blocked or raised
    proc.kill()
    proc.wait()
    pipe.send(line)                      # the reader is gone: dropped, the writer goes on
    pipe.send(line)
    assert not pipe.alive


def test_a_recording_becomes_the_setup_then_states_of_the_published_picture(
        short_recorded_run):
    from rig.publish.cat062 import decode_tracks
    from rig.publish.codec import Cat062Decoder
    from rig.record import Kind, read_recording
    from rig.web.recording import recording_messages

    messages = list(recording_messages(short_recorded_run / "run.rigrec"))
    setup, states = messages[0], messages[1:]
    assert setup["type"] == "setup" and [s["id"] for s in setup["sensors"]] == ["A1", "A2", "B1"]
    assert states and all(m["type"] == "state" for m in states)
    times = [m["t"] for m in states]
    assert times == sorted(times) and times[-1] - times[0] > 2
    # every track id shown was published in CAT062, and every plot fused is shown once
    records, _ = read_recording(short_recorded_run / "run.rigrec")
    decoder, published = Cat062Decoder(), set()
    origin = PictureGeometry(setup).origin
    for rec in records:
        if rec.kind == Kind.OUTPUT:
            tracks, _ = decode_tracks(decoder, rec.data, origin)
            published.update(int(i) for i in tracks["track_id"])
    shown = {i for m in states for i in m["tracks"]["id"]}
    assert shown and shown <= published
    fused = sum(len(r.data) for r in records if r.kind == Kind.PLOTS) // empty_plots(0).itemsize
    assert sum(len(m["plots"]["sensor"]) for m in states) <= fused
    assert states[-1]["plots_in"] == fused
    assert {row[3] for m in states for row in m["sensors"]} <= {"streaming", "open"}
