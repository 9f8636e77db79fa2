"""The run's side of the web view: start the server process, send it the picture.

:class:`WebView` is a view of a :class:`rig.bench.run.Bench` like the terminal's
:class:`rig.bench.live.LiveView` (``start``, ``update(loop)`` from the loop's tick,
``close``). It sends one ``setup`` message (the sites, the sensors, the limits), then at most
every ``refresh_s`` one ``state``: the terminal view's figures, the published tracks in the
origin's ENU frame and the plots fused since the last state in each sensor's own polar
coordinates. Turning those into latitudes and longitudes is the server's work, not the loop's.
"""

from __future__ import annotations

import json
import logging
import select
import subprocess
import sys
import time

import numpy as np

from rig.bench.live import LiveView
from rig.bench.view_pipe import ViewPipe, view_process_setup
from rig.errors import UsageError
from rig.launch import module_command

log = logging.getLogger(__name__)

#: Seconds the server has to say where it listens (the run's clock has not started yet).
SERVER_START_TIMEOUT_S = 15.0
#: Most plots one state carries (a burst beyond it is thinned: the page shows a sample).
MAX_PLOTS_PER_STATE = 5000
TRACK_FIELDS = {"id": "track_id", "status": "status", "e": "east", "n": "north", "u": "up",
                "ve": "v_east", "vn": "v_north", "partners": "partners"}


def setup_message(name: str, duration_s: float, origin, radars, sensors, partners,
                  period_s: float, limits: list[str]) -> dict:
    """What the page draws once: the origin, each sensor's site and coverage, the limits.
    ``partners``: the partner names in the order of the bits of a track's ``partners``."""
    return {
        "type": "setup", "name": name, "duration_s": duration_s, "period_s": period_s,
        "origin": {"lat": origin.lat_deg, "lon": origin.lon_deg, "alt": origin.alt_m},
        "sensors": [{"id": s["id"], "partner": r.partner, "family": s["family"],
                     "transport": s["transport"], "lat": r.site.lat_deg, "lon": r.site.lon_deg,
                     "alt": r.site.alt_m, "range_max_m": r.range_max_m}
                    for s, r in zip(sensors, radars)],
        "partners": list(partners),
        "limits": limits,
    }


def tracks_message(tracks: np.ndarray) -> dict:
    """A picture's tracks as columns (metres rounded to 1 m, speeds to 0.1 m/s)."""
    out = {}
    for key, field in TRACK_FIELDS.items():
        column = tracks[field]
        if column.dtype.kind == "f":
            column = column.round(1 if key.startswith("v") else 0)
        out[key] = column.tolist()
    return out


def plots_message(plots: np.ndarray) -> dict:
    """Plots as columns: sensor index, slant range (m), azimuth and elevation (rad)."""
    if len(plots) > MAX_PLOTS_PER_STATE:
        plots = plots[np.linspace(0, len(plots) - 1, MAX_PLOTS_PER_STATE).astype(int)]
    return {"sensor": plots["sensor_id"].tolist(), "range": plots["range_m"].round(0).tolist(),
            "az": plots["az_rad"].round(5).tolist(), "el": plots["el_rad"].round(5).tolist()}


class WebView:
    """The web server process of a run, fed from the loop without ever waiting on it."""

    def __init__(self, bench, *, host: str = "127.0.0.1", port: int = 8765,
                 refresh_s: float = 0.5, history_s: float = 600.0,
                 figures: LiveView | None = None):
        self.bench = bench
        self.host, self.port = host, port
        self.refresh_s = refresh_s
        self.history_s = history_s
        # the terminal view's figures (its own view of them when given: gathered once a tick)
        self.figures = figures or LiveView.of_bench(bench, live=False)
        self.url: str | None = None
        self._pipe: ViewPipe | None = None
        self._last = 0.0
        self._plots_sent = 0
        self.states_sent = 0
        self.feed_ns = 0            # time the loop spent gathering and sending states

    @classmethod
    def of_bench(cls, bench, **options) -> "WebView":
        return cls(bench, **options)

    def start(self) -> None:
        """Start the server and wait until it listens (before the run's clock starts)."""
        cmd = [*module_command("rig.web.server"), "--host", self.host, "--port",
               str(self.port), "--history-s", str(self.history_s)]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                preexec_fn=view_process_setup)
        self.url = read_url(proc, SERVER_START_TIMEOUT_S)
        self._pipe = ViewPipe(proc, "web view")
        bench = self.bench
        cfg = bench.cfg
        self._pipe.send(json.dumps(setup_message(
            cfg.name, cfg.duration_s, bench.origin, bench.loaded.radars,
            [{"id": s.id, "family": s.family, "transport": s.entry.transport}
             for s in bench.sensors], bench.table.partner_names,
            cfg.outputs.period_s, sorted(cfg.limits))).encode() + b"\n")
        print(f"rig run: web view at {self.url}", file=sys.stderr, flush=True)

    def update(self, loop) -> None:
        now = time.monotonic()
        if self._pipe is None or not self._pipe.alive or now - self._last < self.refresh_s:
            return
        self._last = now
        t_start = time.perf_counter_ns()
        state = dict(self.figures.state(loop))
        plots, self._plots_sent = loop.plots_since(self._plots_sent)
        state.update(type="state", tracks=tracks_message(loop.pictures.last),
                     plots=plots_message(plots))
        self._pipe.send(json.dumps(state).encode() + b"\n")
        self.states_sent += 1
        self.feed_ns += time.perf_counter_ns() - t_start

    def close(self) -> None:
        if self.states_sent:
            log.info("web view: %d states sent, %.3f ms each in the loop", self.states_sent,
                     self.feed_ns / self.states_sent * 1e-6)
        if self._pipe is not None:
            self._pipe.close()
            self._pipe = None


def read_url(proc: subprocess.Popen, timeout_s: float) -> str:
    """The address a starting server prints as its first line (``{"url": ...}``)."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    line = proc.stdout.readline() if ready else b""
    try:
        return json.loads(line)["url"]
    except (ValueError, KeyError, TypeError):
        proc.kill()
        proc.wait()
        raise UsageError(f"the web view did not start (it said {line[:200]!r}); is the "
                         f"port taken? (--web-port)") from None
