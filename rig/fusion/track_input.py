"""Tracks from a track-level partner: decoded CAT062 turned into validated partner tracks.

A partner that shares tracks instead of plots sends CAT062 (the codec rig publishes with,
:mod:`rig.publish.cat062`). :class:`TrackInput` takes what the decoder gives for each datagram
(TRACK_DTYPE rows and their CAT062_INFO_DTYPE info, as from ``Cat062Decoder.feed`` or
:func:`rig.publish.cat062.decode_tracks`) and returns PARTNER_TRACK_DTYPE rows: the state in
rig's ENU frame, a covariance built from I062/500, the partner's track number (I062/040), the
time of applicability (I062/070) and the partner's index. Every record is either taken or
rejected for one reason, counted in :attr:`TrackInput.counters`, and never passed on:

==================  ==========================================================================
reason              the record
==================  ==========================================================================
non_finite_state    has a non-finite time, lacks what the state needs (I062/105 position,
                    I062/130 altitude, I062/185 velocity, I062/220 rate of climb), or has a
                    latitude beyond ±90° or a longitude beyond ±180°
missing_accuracy    has no I062/500, or no APC or no ATV in it
bad_accuracy        has an accuracy that is zero, negative or NaN, or an XY covariance that
                    makes the horizontal block not positive definite
accuracy_saturated  has APC, COV or ATV at its field's maximum ("this or more": no bound)
time_ahead          is further ahead of the partner's stream than ``max_ahead_s``
time_backwards      is further behind the partner's stream than ``max_behind_s``, or older
                    than what was already taken for the same track number
repeated            carries the same track number and time of applicability as a record
                    already taken: the partner re-sent the same picture (not an error)
==================  ==========================================================================

The partner's stream time is the median of the times of the last ``stream_window`` records
received from it (the record's own batch when there are none yet), so one wild time is
rejected while a partner that restarts, or whose clock steps, is followed again after half a
window.

Frames. Position comes from I062/105 and I062/130 (WGS-84, exact in any frame). I062/100,
I062/185 and the cartesian accuracies are in the partner's system plane: the ENU plane at its
system reference point (``partner_origins``, rig's own origin by default), the way rig itself
sends them. The vertical: AGA and ARC are along the local vertical at the track; ``up`` and
``v_up`` in a flat ENU frame follow from altitude, rate of climb and the horizontal terms
(``v_up = (rocd − u_e v_e − u_n v_n) / u_u``, ``u`` the local vertical in the plane's axes), and
the covariance is carried through the same linear map, then rotated into rig's axes.
Where AGA or ARC is absent or saturated, ``default_sd_alt_m`` and ``default_sd_rocd_mps`` stand
in. CAT062 carries no position-velocity or vx-vy covariance: those terms are zero.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from rig.publish import cat062_format as F
from rig.publish.cat062 import Origin, _frame, _origin, _up_axes
from rig.records_asterix import ITEM_062_500

#: One validated partner track, in rig's ENU frame at the configuration's origin.
PARTNER_TRACK_DTYPE = np.dtype(
    [
        ("t", "f8"),                    # s, time of applicability (I062/070, decoder's line)
        ("state", "f8", (6,)),          # east, north, up, v_east, v_north, v_up (m, m/s)
        ("covariance", "f8", (6, 6)),   # of state, from I062/500
        ("track_number", "u2"),         # the partner's I062/040
        ("status", "u2"),               # rig.records.TRACK_STATUS_*, from I062/080
        ("partner", "u2"),              # partner index
    ],
    align=True,
)

REASONS = ("non_finite_state", "missing_accuracy", "bad_accuracy", "accuracy_saturated",
           "time_ahead", "time_backwards", "repeated")

SD_XY_MAX_M = F.SD_XY_MAX * F.SD_XY_SCALE_M
COV_MAX_M2 = (F.COV_MAX * F.SD_XY_SCALE_M) ** 2
SD_V_MAX_MPS = F.SD_OCTET_MAX * F.SD_V_SCALE_MPS
SD_ALT_MAX_M = F.SD_OCTET_MAX * F.ALTITUDE_SCALE_M
SD_ROCD_MAX_MPS = F.SD_OCTET_MAX * F.ROCD_SCALE_MPS
SAME_TIME_S = F.TOD_SCALE_S / 2                 # two wire times closer than this are one


class TrackInput:
    """Validates the tracks partners send: :meth:`take` one decoded datagram at a time.

    ``origin``: rig's reference point (``lat_deg, lon_deg, alt_m``). ``partner_origins``:
    partner index -> that partner's system reference point, where it differs from ``origin``.
    Limits: ``max_ahead_s``, ``max_behind_s`` against the partner's stream; ``stream_window``
    records make the stream's time; a track number's last time is forgotten ``forget_s`` after
    the stream has moved past it.
    """

    def __init__(self, origin, partner_origins=None, *, max_ahead_s: float = 15.0,
                 max_behind_s: float = 60.0, stream_window: int = 32,
                 default_sd_alt_m: float = 1000.0, default_sd_rocd_mps: float = 15.0,
                 forget_s: float = 600.0):
        self.origin: Origin = _origin(origin)
        self.frame = _frame(self.origin)
        self.partner_origins = {int(p): _origin(o) for p, o in (partner_origins or {}).items()}
        self.max_ahead_s = float(max_ahead_s)
        self.max_behind_s = float(max_behind_s)
        self.stream_window = int(stream_window)
        self.default_sd_alt_m = float(default_sd_alt_m)
        self.default_sd_rocd_mps = float(default_sd_rocd_mps)
        self.forget_s = float(forget_s)
        self.counters: dict[str, int] = {"received": 0, "taken": 0, **{r: 0 for r in REASONS}}
        self._recent: dict[int, deque] = {}            # partner -> recent record times
        self._last_t: dict[int, dict[int, float]] = {}  # partner -> track number -> last t

    # --- the one entry point --------------------------------------------------------------
    def take(self, tracks: np.ndarray, info: np.ndarray, partner: int) -> np.ndarray:
        """The records of one decoded datagram from ``partner`` that pass every check, as
        PARTNER_TRACK_DTYPE rows (in their order); the others are counted by reason."""
        partner = int(partner)
        n = len(tracks)
        self.counters["received"] += n
        reason = np.full(n, -1)
        t = np.asarray(tracks["t"], float)

        def reject(mask, name):
            fresh = mask & (reason < 0)
            reason[fresh] = REASONS.index(name)

        state, covariance, ok_state = self._state(tracks, info, partner)
        reject(~np.isfinite(t) | ~ok_state, "non_finite_state")
        reject(self._missing(info), "missing_accuracy")
        reject(self._bad(info), "bad_accuracy")
        reject(self._saturated(info), "accuracy_saturated")
        reject(~self._positive_definite(covariance), "bad_accuracy")
        ref = self._stream_time(partner, t)
        reject(t > ref + self.max_ahead_s, "time_ahead")
        reject(t < ref - self.max_behind_s, "time_backwards")

        last = self._last_t.setdefault(partner, {})
        self._forget(partner, ref)
        numbers = np.asarray(tracks["track_id"]) & 0xFFFF
        for i in np.flatnonzero(reason < 0):           # one look-up per record: the edge
            k, ti = int(numbers[i]), float(t[i])
            before = last.get(k)
            if before is not None and abs(ti - before) <= SAME_TIME_S:
                reason[i] = REASONS.index("repeated")
            elif before is not None and ti < before:
                reason[i] = REASONS.index("time_backwards")
            else:
                last[k] = ti

        for j, name in enumerate(REASONS):
            self.counters[name] += int(np.count_nonzero(reason == j))
        keep = reason < 0
        out = np.zeros(int(keep.sum()), PARTNER_TRACK_DTYPE)
        out["t"] = t[keep]
        out["state"] = state[keep]
        out["covariance"] = covariance[keep]
        out["track_number"] = numbers[keep]
        out["status"] = tracks["status"][keep]
        out["partner"] = partner
        self.counters["taken"] += len(out)
        return out

    # --- checks -----------------------------------------------------------------------------
    @staticmethod
    def _missing(info: np.ndarray) -> np.ndarray:
        no_item = (info["present"] & ITEM_062_500) == 0
        return no_item | np.isnan(info["sd_x_m"]) | np.isnan(info["sd_vx_mps"])

    @staticmethod
    def _bad(info: np.ndarray) -> np.ndarray:
        sds = np.stack([info["sd_x_m"], info["sd_y_m"], info["sd_vx_mps"], info["sd_vy_mps"]])
        bad = np.any(~(sds > 0) | ~np.isfinite(sds), axis=0)
        for name in ("sd_alt_m", "sd_rocd_mps"):                     # optional, but if sent
            v = info[name]
            bad |= ~np.isnan(v) & ~((v > 0) & np.isfinite(v))
        c = info["cov_xy_m2"]
        has_c = ~np.isnan(c)
        bad |= has_c & ~np.isfinite(c)
        with np.errstate(invalid="ignore"):
            bad |= has_c & ~(c * c < (info["sd_x_m"] * info["sd_y_m"]) ** 2)
        return bad

    @staticmethod
    def _saturated(info: np.ndarray) -> np.ndarray:
        return ((info["sd_x_m"] >= SD_XY_MAX_M) | (info["sd_y_m"] >= SD_XY_MAX_M)
                | (np.abs(info["cov_xy_m2"]) >= COV_MAX_M2)
                | (info["sd_vx_mps"] >= SD_V_MAX_MPS) | (info["sd_vy_mps"] >= SD_V_MAX_MPS))

    @staticmethod
    def _positive_definite(P: np.ndarray) -> np.ndarray:
        ok = np.all(np.isfinite(P), axis=(1, 2))
        if ok.any():
            ok[ok] = np.linalg.eigvalsh(P[ok])[:, 0] > 0
        return ok

    def _stream_time(self, partner: int, t: np.ndarray) -> float:
        """The partner's stream time before this batch (this batch's median when there is no
        history); the batch's finite times join the window."""
        recent = self._recent.setdefault(partner, deque(maxlen=self.stream_window))
        finite = t[np.isfinite(t)]
        ref = float(np.median(recent)) if recent else (
            float(np.median(finite)) if len(finite) else math.nan)
        recent.extend(finite.tolist())
        return ref

    def _forget(self, partner: int, ref: float) -> None:
        """Drop track numbers the stream has left behind by ``forget_s``, or that lie beyond
        where it is now (a clock that stepped back)."""
        last = self._last_t[partner]
        if not math.isfinite(ref):
            return
        stale = [k for k, tk in last.items()
                 if tk < ref - self.forget_s or tk > ref + self.max_ahead_s]
        for k in stale:
            del last[k]

    # --- state and covariance in rig's frame ---------------------------------------------------
    def _state(self, tracks: np.ndarray, info: np.ndarray, partner: int):
        """``(state (n,6), covariance (n,6,6), finite (n,))`` in rig's ENU frame."""
        n = len(tracks)
        lat, lon, alt = info["lat_deg"], info["lon_deg"], info["alt_m"]
        impossible = ~((np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0))
        lat, lon = np.where(impossible, np.nan, lat), np.where(impossible, np.nan, lon)
        p = self.frame.enu_from_geodetic(lat, lon, alt).reshape(n, 3)

        o = self.partner_origins.get(partner, self.origin)
        R = self.frame.rotation @ _frame(o).rotation.T          # partner ENU -> rig ENU
        u = _up_axes(o, lat, lon)                       # local vertical, partner ENU axes
        with np.errstate(invalid="ignore", divide="ignore"):
            # v_up in the partner's plane: rocd = u · v
            vx, vy = tracks["v_east"], tracks["v_north"]
            vz = (info["rocd_mps"] - u[:, 0] * vx - u[:, 1] * vy) / u[:, 2]
        v = np.stack([vx, vy, vz], -1) @ R.T
        state = np.concatenate([p, v], axis=1)
        finite = np.all(np.isfinite(state), axis=1)

        # z = (x, y, alt, vx, vy, rocd) with the accuracies of I062/500
        sd_alt = np.where(np.isnan(info["sd_alt_m"]) | (info["sd_alt_m"] >= SD_ALT_MAX_M),
                          self.default_sd_alt_m, info["sd_alt_m"])
        sd_rocd = np.where(np.isnan(info["sd_rocd_mps"])
                           | (info["sd_rocd_mps"] >= SD_ROCD_MAX_MPS),
                           self.default_sd_rocd_mps, info["sd_rocd_mps"])
        Pz = np.zeros((n, 6, 6))
        Pz[:, 0, 0] = info["sd_x_m"] ** 2
        Pz[:, 1, 1] = info["sd_y_m"] ** 2
        Pz[:, 0, 1] = Pz[:, 1, 0] = np.nan_to_num(info["cov_xy_m2"], nan=0.0)
        Pz[:, 2, 2] = sd_alt ** 2
        Pz[:, 3, 3] = info["sd_vx_mps"] ** 2
        Pz[:, 4, 4] = info["sd_vy_mps"] ** 2
        Pz[:, 5, 5] = sd_rocd ** 2
        # partner ENU from z: up = (alt − u_e x − u_n y) / u_u, the same for the velocity
        J = np.zeros((n, 6, 6))
        with np.errstate(invalid="ignore", divide="ignore"):
            for a in (0, 3):
                J[:, a, a] = J[:, a + 1, a + 1] = 1.0
                J[:, a + 2, a] = -u[:, 0] / u[:, 2]
                J[:, a + 2, a + 1] = -u[:, 1] / u[:, 2]
                J[:, a + 2, a + 2] = 1.0 / u[:, 2]
        T = np.zeros((6, 6))
        T[:3, :3] = T[3:, 3:] = R                                       # partner -> rig axes
        M = T @ J                                                        # (n, 6, 6)
        with np.errstate(invalid="ignore", over="ignore"):              # refused further on
            covariance = M @ Pz @ np.swapaxes(M, 1, 2)                   # P = M Pz Mᵀ
            covariance = 0.5 * (covariance + np.swapaxes(covariance, 1, 2))
        return state, covariance, finite
