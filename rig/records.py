"""The numpy record types that cross the Cython boundary (docs/architecture.md, "Records").

Plots and tracks travel as numpy structured arrays, never as one Python object each. The C
structs in ``ext/rig_records.pxd`` mirror these dtypes field for field; the codecs check at import
that the layouts agree.
"""

from __future__ import annotations

import numpy as np

#: One radar plot. Angles in the sensor site's local tangent plane; ``t_sensor`` on the
#: sensor's own clock (seconds since its epoch); ``t_arrival_ns`` on the host's monotonic clock.
PLOT_DTYPE = np.dtype(
    [
        ("t_sensor", "f8"),         # s, sensor clock
        ("t_arrival_ns", "i8"),     # ns, host time.monotonic_ns() at the read
        ("range_m", "f8"),          # slant range, m
        ("az_rad", "f8"),           # azimuth, rad clockwise from true north, [0, 2*pi)
        ("el_rad", "f8"),           # elevation above the local horizontal, rad
        ("range_rate_mps", "f8"),   # m/s, NaN when the sensor does not measure it
        ("amplitude_db", "f4"),     # dB
        ("sensor_id", "u2"),        # index into the run's sensor table
        ("flags", "u2"),            # PLOT_FLAG_* bits
        ("seq", "u4"),              # sequence number of the frame that carried the plot
    ],
    align=True,
)

# Plot flag bits (shared by every wire format that carries them).
PLOT_FLAG_CLUTTER_MAP = 0x0001    # plot in a clutter-map cell
PLOT_FLAG_SIMULATED = 0x0002      # test target injected by the sensor
PLOT_FLAG_SATURATED = 0x0004      # receiver saturated


#: Most partners a fusion run distinguishes (bits of ``partners``, rows of ``partner_t_last``).
MAX_PARTNERS = 16

#: One fused track state, ENU metres and m/s at the configuration's origin.
TRACK_DTYPE = np.dtype(
    [
        ("track_id", "u4"),
        ("status", "u2"),           # TRACK_STATUS_*
        ("n_updates", "u4"),
        ("partners", "u4"),         # bit mask of partners whose plots updated the track
        ("t", "f8"),                # s, fusion time
        ("east", "f8"),
        ("north", "f8"),
        ("up", "f8"),
        ("v_east", "f8"),
        ("v_north", "f8"),
        ("v_up", "f8"),
        ("covariance", "f8", (6, 6)),   # of (east, north, up, v_east, v_north, v_up)
        ("partner_t_last", "f8", (MAX_PARTNERS,)),  # s, last update by each partner; NaN never
    ],
    align=True,
)

TRACK_STATUS_TENTATIVE = 0
TRACK_STATUS_CONFIRMED = 1
TRACK_STATUS_COASTING = 2
TRACK_STATUS_DELETED = 3


def check_layout(struct: str, size: int, offsets: dict[str, int], dtype: np.dtype) -> None:
    """Raise ImportError unless a C struct (its ``sizeof`` and the byte offsets of its fields)
    lays out exactly as ``dtype``; every compiled module checks its structs with this at import."""
    wrong = [name for name, offset in offsets.items()
             if name not in dtype.fields or dtype.fields[name][1] != offset]
    missing = sorted(set(dtype.names) - set(offsets))
    if size != dtype.itemsize or wrong or missing:
        raise ImportError(
            f"C struct {struct} does not match its numpy dtype: size {size} vs {dtype.itemsize}"
            + (f", fields at other offsets: {wrong}" if wrong else "")
            + (f", fields not in the struct: {missing}" if missing else ""))


def empty_plots(n: int = 0) -> np.ndarray:
    """A zero-filled plot array of length ``n`` (range rate NaN, as for "not measured")."""
    plots = np.zeros(n, dtype=PLOT_DTYPE)
    plots["range_rate_mps"] = np.nan
    return plots


def empty_tracks(n: int = 0) -> np.ndarray:
    """A zero-filled track array of length ``n`` (no partner has updated it yet)."""
    tracks = np.zeros(n, dtype=TRACK_DTYPE)
    tracks["partner_t_last"] = np.nan
    return tracks
