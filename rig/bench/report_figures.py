"""The figures of report.html: each function returns a matplotlib Figure (None when it has
nothing to show); :func:`embed` turns one into an inline PNG."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402

#: the histograms of timing samples, in the order they are drawn
LATENCY_SERIES = ("processing_latency_ms", "transport_latency_ms", "tick_lateness_ms",
                  "tick_jitter_ms")
#: colour of a limit line by the limit's outcome (any other outcome: grey)
LIMIT_COLOURS = {"fail": "#c00000", "no data": "#c00000", "pass": "#1a7f1a",
                 "inconclusive": "#d98200"}


def embed(fig: Figure | None) -> str:
    """``fig`` as an ``<img>`` holding its PNG (closes it); empty for None."""
    if fig is None:
        return ""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return f'<img src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def latency_figure(series: dict, limits: list[dict] = ()) -> Figure | None:
    """A histogram per timing measurement with samples, its p50 and p99, and a vertical line
    at the bound of each limit on that measurement (red when it failed)."""
    samples = {}
    for name in LATENCY_SERIES:
        x = np.asarray(series.get(name, ()), float)
        x = x[np.isfinite(x)]
        if len(x):
            samples[name] = x
    if not samples:
        return None
    fig, axes = plt.subplots(1, len(samples), figsize=(4.2 * len(samples), 3.4), squeeze=False)
    for ax, (name, x) in zip(axes[0], samples.items()):
        counts, edges = np.histogram(x, bins=60)
        ax.stairs(counts, edges, fill=True, color="#3b6ea8", label="samples")
        for q, style in ((50, "--"), (99, ":")):
            ax.axvline(np.percentile(x, q), color="k", ls=style, lw=1, label=f"p{q}")
        for lim in limits:
            if lim.get("measurement") == name and lim.get("bound") is not None:
                ax.axvline(lim["bound"], color=LIMIT_COLOURS.get(lim.get("outcome"), "#888"),
                           lw=1.8, label=limit_label(lim), gid=f"limit {lim.get('name')}")
        ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("ms")
        ax.legend(fontsize=7)
    return fig


def limit_label(lim: dict) -> str:
    """``p95 <= 5 ms: fail`` for limit ``processing_latency_ms.p95 <= 5``."""
    return (f"limit {lim.get('statistic')} {lim.get('op')} {lim['bound']:g} "
            f"{lim.get('unit', '')}: {lim.get('outcome')}")


def coverage_map(series: dict) -> Figure | None:
    """Every radar's site and its coverage circle (maximum range) in its partner's colour,
    with the published tracks over the truth."""
    tracks, truth = series.get("tracks"), series.get("truth")
    sites = series.get("sites") or []
    has_tracks = tracks is not None and len(tracks)
    if not has_tracks and not sites:
        return None
    fig, ax = plt.subplots(figsize=(9, 8))
    if truth is not None and len(truth):
        east, north = _joined(truth, "target_id")
        ax.plot(east, north, color="#bbb", lw=3, label="truth", solid_capstyle="round")
    if has_tracks:
        east, north = _joined(tracks, "track_id")
        ax.plot(east, north, color="#222", lw=0.9, label="published tracks")
    partners = list(dict.fromkeys(str(s.get("partner", "?")) for s in sites))
    colour = {p: f"C{i % 10}" for i, p in enumerate(partners)}
    labelled = set()
    for s in sites:
        partner = str(s.get("partner", "?"))
        x, y = s["east_m"] / 1e3, s["north_m"] / 1e3
        ax.plot(x, y, "^", color=colour[partner], ms=9, mec="k",
                label=_once(labelled, f"partner {partner} sites"))
        ax.annotate(s["id"], (x, y), xytext=(4, 4), textcoords="offset points", fontsize=8)
        reach = s.get("range_max_m")
        if reach is not None and np.isfinite(reach):
            ax.add_patch(Circle((x, y), reach / 1e3, facecolor=to_rgba(colour[partner], 0.07),
                                edgecolor=colour[partner], lw=1.2, ls="--",
                                label=_once(labelled, f"partner {partner} coverage"),
                                gid=f"coverage {s['id']}"))
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.set_xlabel("east, km")
    ax.set_ylabel("north, km")
    ax.set_title("partners' coverage (maximum range), published tracks over truth")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def _once(labelled: set, label: str) -> str | None:
    """``label`` the first time, None after (one legend entry per partner)."""
    if label in labelled:
        return None
    labelled.add(label)
    return label


def _joined(frame, key: str) -> tuple[np.ndarray, np.ndarray]:
    """East and north (km) of every group of ``frame`` by ``key``, as one line broken by NaN
    between groups."""
    east, north = [], []
    for _, g in frame.groupby(key, sort=False):
        east += [g["east_m"].to_numpy(float) / 1e3, [np.nan]]
        north += [g["north_m"].to_numpy(float) / 1e3, [np.nan]]
    return np.concatenate(east), np.concatenate(north)


def error_figure(series: dict) -> Figure | None:
    """OSPA over time of the joint picture and of each partner's alone."""
    curves = series.get("ospa_over_time") or {}
    if not curves:
        return None
    fig, ax = plt.subplots(figsize=(9, 3.5))
    for label, (t, d) in curves.items():
        ax.plot(t, d, label=label, lw=1.5 if label == "joint" else 1)
    ax.set_xlabel("scenario time, s")
    ax.set_ylabel("OSPA, m")
    ax.set_title("OSPA over time: the joint picture against each partner alone")
    ax.legend()
    return fig


def sensor_figure(sensors: list[dict]) -> Figure | None:
    """Plot rate and estimated range bias (±1σ) per sensor."""
    if not sensors:
        return None
    ids = [s["id"] for s in sensors]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    axes[0].bar(ids, [s.get("rate_per_s") or 0 for s in sensors], color="#3b6ea8")
    axes[0].set_title("plot rate per sensor, /s")
    reg = [s.get("registration") or {} for s in sensors]
    axes[1].bar(ids, [r.get("range_bias_m") or 0 for r in reg], color="#a85b3b",
                yerr=[r.get("range_bias_sigma_m") or 0 for r in reg])
    axes[1].set_title("estimated range bias, m (±1σ)")
    return fig
