"""The live view's drawing and figures, and the picture rows the loop writes at every tick."""

import io
import json

import numpy as np
import pandas as pd
from rich.console import Console

from rig.bench import live_render
from rig.bench.live import recent_percentiles
from rig.bench.loop import SampleBuffer
from rig.interchange import PICTURE_COLUMNS, picture_csv_rows, pictures_table
from rig.interchange import FLOAT_FORMAT
from rig.records import TRACK_DTYPE


def a_state(**changes):
    state = {"name": "bench-x", "t": 12.5, "duration_s": 45, "tracks": 17, "plots_in": 321,
             "plots_rejected": 4, "processing_ms": [1.25, 3.5], "transport_ms": [None, None],
             "lateness_p99_ms": 0.04, "deadline_misses": 0, "at_risk": [],
             "sensors": [["A1", "A", "serial-sensor", "streaming", 200, 16, 0, 1, 0],
                         ["B7", "B", "scpi-sensor", "stale", 9, 1, 3, 0, 0]]}
    state.update(changes)
    return state


def test_the_view_process_draws_every_state_and_skips_a_broken_line():
    out = io.StringIO()
    console = Console(file=out, width=160, force_terminal=False)
    lines = [json.dumps(a_state()), '{"name": "trunc', json.dumps(a_state(t=13.0, tracks=18))]
    assert live_render.main(io.StringIO("\n".join(lines) + "\n"), console) == 0
    text = out.getvalue()
    assert "rig run: bench-x" in text and "13.0 / 45 s" in text
    assert "B7" in text and "stale" in text and "1.25 / 3.50" in text


def test_the_log_line_names_every_sensor_and_the_latency():
    line = live_render.log_line(a_state(at_risk=["x"]))
    assert line.startswith("t=12.5 tracks=17 plots_in=321 plots_rejected=4 "
                           "processing_p50_ms=1.25 processing_p99_ms=3.50")
    assert "sensor.A1=streaming:200" in line and "sensor.B7=stale:9" in line


def test_recent_percentiles_are_nearest_rank_over_the_latest_samples(rng):
    buffer = SampleBuffer(16)
    assert recent_percentiles(buffer, (50, 99)) == [None, None]
    old = np.full(10_000, 1e6)                 # beyond the recent window: never seen
    recent = rng.exponential(2.0, 4096)
    buffer.extend(old)
    buffer.extend(recent)
    ours = recent_percentiles(buffer, (50, 99, 100))
    expected = np.percentile(recent, (50, 99, 100), method="inverted_cdf")
    np.testing.assert_array_equal(ours, expected)


def test_picture_rows_are_what_pandas_writes(rng):
    """tracks.csv rows, written at every tick without pandas, are pandas' rows exactly:
    NaN as an empty cell, -0, infinities, tiny and huge values, 32-bit ids."""
    tracks = np.zeros(64, TRACK_DTYPE)
    for name in ("t", "east", "north", "up", "v_east", "v_north", "v_up"):
        tracks[name] = rng.normal(0, 1e5, 64) * rng.choice([1.0, 1e-9, 0.0, 1e12], 64)
    tracks["track_id"] = rng.integers(0, 2**32 - 1, 64)
    tracks["n_updates"] = rng.integers(0, 2**32 - 1, 64)
    tracks["partners"] = rng.integers(0, 2**16, 64)
    tracks["status"] = rng.integers(0, 4, 64)
    tracks["v_up"][3] = np.nan
    tracks["east"][0] = np.nan
    tracks["north"][63] = np.nan
    tracks["up"][4] = -0.0
    tracks["north"][5] = np.inf
    expected = io.StringIO()
    pictures_table([tracks]).to_csv(expected, index=False, float_format=FLOAT_FORMAT)
    header = ",".join(name for name, _, _ in PICTURE_COLUMNS) + "\n"
    assert header + picture_csv_rows(tracks) == expected.getvalue()
    assert picture_csv_rows(tracks[:0]) == ""
    back = pd.read_csv(io.StringIO(header + picture_csv_rows(tracks)))
    assert np.isnan(back["east_m"][0]) and back["track_id"].tolist() == tracks["track_id"].tolist()


def test_sample_buffers_keep_structured_records_across_growth(rng):
    from rig.records import empty_plots

    buffer = SampleBuffer(16, empty_plots(0).dtype)
    batches = []
    for n in rng.integers(0, 9, 40):
        batch = empty_plots(int(n))
        batch["range_m"] = rng.uniform(0, 1e5, n)
        batch["sensor_id"] = rng.integers(0, 8, n)
        batches.append(batch)
        buffer.extend(batch)
    kept, expected = buffer.values(), np.concatenate(batches)
    assert kept.dtype == expected.dtype and len(kept) == len(expected) > 16
    for name in expected.dtype.names:
        assert kept[name].tobytes() == expected[name].tobytes(), name


def test_limits_at_risk_are_every_limit_of_the_config():
    from types import SimpleNamespace

    from rig.bench.live import LiveView

    config = SimpleNamespace(name="x", duration_s=10, limits={
        "tick_jitter_ms": {"p95": 2}, "processing_latency_ms": {"p99": 5},
        "decoder_errors": {"max": 0}, "tracks_published": {"min": {">=": 3}},
        "ospa_m": {"mean": 600}})
    view = LiveView([], None, config, live=False, console=Console(file=io.StringIO()))
    loop = SimpleNamespace(processing=SampleBuffer(), transport=SampleBuffer(),
                           lateness=SampleBuffer(), jitter=SampleBuffer(),
                           cycle=SampleBuffer(), depth=SampleBuffer(), deadline_misses=0,
                           pictures=SimpleNamespace(last=[1, 2, 3, 4]))
    loop.jitter.extend(np.r_[np.full(90, 0.2), np.full(10, 3.0)])   # p95 3 ms: at risk
    loop.processing.extend(np.full(100, 1.0))                        # far from 5 ms
    rows = [["A1", "A", "serial-sensor", "streaming", 100, 10, 2, 0, 0]]   # 2 decoder errors
    risky = view._at_risk(loop, rows)
    assert risky == ["tick_jitter_ms p95 3 (limit <= 2)", "decoder_errors max 2 (limit <= 0)"]
    loop.pictures.last = [1]
    assert "tracks_published min 1 (limit >= 3)" in view._at_risk(loop, rows)
