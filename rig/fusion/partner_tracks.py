"""A track-level partner's tracks fused into the engine's picture.

A partner that shares tracks instead of plots sends its own estimates (validated by
:class:`rig.fusion.track_input.TrackInput`). Its errors are correlated with ours: both filters
share the targets' process noise, each partner track carries the partner's own past reports,
and since the centre gives its picture back to every partner the partner's tracks may hold our
plots too. Two rules, by what is known of the correlation:

- **First contact** (a partner track not yet fused into this system track): covariance
  intersection (:func:`rig.fusion.intersection.covariance_intersection`), consistent whatever
  the cross-covariance.
- **Afterwards: information de-correlation.** Only what the partner learnt since its previous
  report of the same track is added: the information of its new report less that of its
  previous one predicted to the same time (constant velocity, the engine's ``q_cv``,
  ``q_vertical``), kept to its positive part, weighs the partner's current estimate
  (:func:`decorrelated_update`). The partner's own past contribution is then never counted
  twice, and a report no newer than the one already taken (a picture sent again) is
  skipped. The estimate itself, not the difference of the two reports' means, is what is
  weighed: an IMM partner predicts
  its tracks with models we do not share, and the difference of means multiplies that
  mismatch by the partner's whole information (on a training scenario it pulled fused
  tracks hundreds of metres off in height). With trackers of one linear model on both
  sides this comes within a few per cent of what the partner's plots would have given
  (tests/test_partner_tracks.py). The common process noise is not removed (both trackers
  absorb the same manoeuvres): only ``partner_track_information_share`` (half) of the
  increment is taken, and even so the tracks both partners fed are somewhat overconfident
  (benchmarks/bench_contributions.py: 4 % of their NEES samples beyond the chi² 99 %
  quantile, against under 1 % on the partner's plots).
- **A track only this partner feeds** (no plot, no other partner) takes the partner's
  estimate as it is: the partner's picture is all we know of it, and weighing increments
  into our own prediction would only make it lag.

Each partner track is taken at the later of its own time and the system track's last update
(the older of the two predicted there); every model of the system track's IMM takes it, as it
would a plot (model probabilities predicted, not re-weighted). Partner track numbers stay bound
to the system track they were fused into while both live and still gate
(``partner_track_gate_d2``); the others are associated afresh by global nearest neighbour
(:func:`rig.fusion.intersection.associate_tracks`). A partner track no system track takes
starts one, confirmed if the partner's track is. The partner's bit joins the track's
provenance (``partners``, ``partner_t_last``).
"""

from __future__ import annotations

import numpy as np

from rig.fusion.intersection import associate_tracks, covariance_intersection
from rig.fusion.models import process_noise
from rig.records import TRACK_STATUS_CONFIRMED, TRACK_STATUS_TENTATIVE


def cv_predict(x: np.ndarray, P: np.ndarray, dt: np.ndarray, q_h: float, q_up: float):
    """Constant-velocity prediction of states ``x (n,6)``, ``P (n,6,6)`` over ``dt (n,)``."""
    F = np.tile(np.eye(6), (len(x), 1, 1))
    F[:, [0, 1, 2], [3, 4, 5]] = dt[:, None]
    Q = np.array([process_noise(q_h, q_up, d) for d in dt]).reshape(len(x), 6, 6)
    return (np.einsum("nij,nj->ni", F, x),
            np.einsum("nij,njk,nlk->nil", F, P, F) + Q)


def decorrelated_update(x_s, P_s, x_p, P_p, P_0, share: float = 1.0):
    """The system estimates ``x_s, P_s`` updated with a partner's track ``x_p, P_p`` weighted
    by what it learnt since its previous report (covariance ``P_0``, predicted to the same
    time): ``share`` of the information increment ``P_p⁻¹ − P_0⁻¹``, kept to its positive
    part, is ``ΔY``; ``P = (P_s⁻¹ + ΔY)⁻¹``, ``x = P (P_s⁻¹ x_s + ΔY x_p)``. All ``(n, 6)``
    and ``(n, 6, 6)``."""
    with np.errstate(all="ignore"):
        return _decorrelated(x_s, P_s, x_p, P_p, P_0, share)


def _information(P):
    """``P⁻¹`` of covariances (the pseudo-inverse where one is singular)."""
    try:
        return np.linalg.inv(P)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(P, hermitian=True)


def _decorrelated(x_s, P_s, x_p, P_p, P_0, share):
    Y_s, Y_p, Y_0 = (_information(P) for P in (P_s, P_p, P_0))
    dY = Y_p - Y_0
    lam, V = np.linalg.eigh(0.5 * (dY + dY.transpose(0, 2, 1)))
    dY = np.einsum("nij,nj,nkj->nik", V, share * np.maximum(lam, 0.0), V)
    P = _information(Y_s + dY)
    P = 0.5 * (P + P.transpose(0, 2, 1))
    x = np.einsum("nij,nj->ni", P, np.einsum("nij,nj->ni", Y_s, x_s)
                  + np.einsum("nij,nj->ni", dY, x_p))
    return x, P


class PartnerTrackFusion:
    """Binds partner tracks to the engine's tracks and fuses them (one per engine)."""

    def __init__(self, engine):
        self.engine = engine
        self.bound: dict[tuple[int, int], int] = {}     # (partner, track number) -> track_id
        #: (partner, track number) -> (track_id fused into, t, state, covariance) of the last
        #: report taken
        self.last: dict[tuple[int, int], tuple] = {}
        self.counters = {"partner_tracks_fused": 0, "partner_tracks_started": 0,
                         "partner_tracks_ungated": 0, "partner_tracks_decorrelated": 0,
                         "partner_tracks_dropped": 0, "partner_tracks_repeated": 0}

    def take(self, tracks: np.ndarray) -> None:
        """Fuse validated partner tracks (PARTNER_TRACK_DTYPE), one time or several."""
        for t in np.unique(tracks["t"]):
            self._take_at(tracks[tracks["t"] == t], float(t))
        if len(tracks):
            self._expire(float(tracks["t"].max()))

    def _expire(self, t: float) -> None:
        """Forget partner tracks not reported for ``partner_track_timeout_s`` and delete the
        system tracks only they fed (the partner dropped its track)."""
        st, timeout = self.engine.store, self.engine.params.partner_track_timeout_s
        gone = [key for key, last in self.last.items() if t - last[1] > timeout]
        if not gone:
            return
        row_of = {int(st.track_id[r]): int(r) for r in st.alive()}
        drop = []
        for partner, number in gone:
            track_id = self.last.pop((partner, number))[0]
            self.bound.pop((partner, number), None)
            row = row_of.get(track_id)
            if row is not None and st.sensors[row] == 0 and st.partners[row] == 1 << partner:
                drop.append(row)
        if drop:
            self.engine.counters.tracks_deleted += st.delete(np.unique(drop))
            self.counters["partner_tracks_dropped"] += len(drop)

    def _take_at(self, tracks, t: float) -> None:
        e, st = self.engine, self.engine.store
        rows = st.alive()
        row_of = {int(st.track_id[r]): int(r) for r in rows}
        # bound tracks first, then the others by assignment
        keys = [(int(p), int(n)) for p, n in zip(tracks["partner"], tracks["track_number"])]
        pair_track, pair_row, free, restarted = [], [], [], []
        for i, key in enumerate(keys):
            row = row_of.get(self.bound.get(key, -1))
            if row is None or row in pair_row:      # one partner track per system track
                free.append(i)
            else:
                pair_track.append(i)
                pair_row.append(row)
        x_sys, P_sys = self._system_at(rows, t)
        if pair_track:
            where = np.searchsorted(rows, pair_row)
            d = tracks["state"][pair_track] - x_sys[where]
            S = tracks["covariance"][pair_track] + P_sys[where]
            ok = np.einsum("ni,ni->n", d, np.linalg.solve(S, d[..., None])[..., 0]) \
                <= e.params.partner_track_gate_d2
            self.counters["partner_tracks_ungated"] += int((~ok).sum())
            # a track only this partner fed follows the partner's track wherever it went;
            # another partner's data is not given up for it: the pair is made afresh
            own = np.array([int(st.partners[r]) == 1 << int(tracks["partner"][i])
                            for i, r in zip(pair_track, pair_row)], bool)
            reset = ~ok & own
            if reset.any():
                restarted = list(np.array(pair_row)[reset])
                self._restart(np.array(restarted), tracks[np.array(pair_track)[reset]], t)
            free += [pair_track[i] for i in np.flatnonzero(~ok & ~own)]
            pair_track = [p for p, good in zip(pair_track, ok) if good]
            pair_row = [r for r, good in zip(pair_row, ok) if good]
        taken_rows = set(pair_row) | set(restarted)
        if free:
            open_rows = np.array([r for r in rows if int(r) not in taken_rows], np.int64)
            where = np.searchsorted(rows, open_rows)
            free = np.array(free)
            pairs = associate_tracks(x_sys[where], P_sys[where], tracks["state"][free],
                                     tracks["covariance"][free])
            pair_track += [int(free[j]) for j in pairs[:, 1]]
            pair_row += [int(open_rows[i]) for i in pairs[:, 0]]
            started = np.setdiff1d(free, free[pairs[:, 1]])
            if len(started):
                self._start(tracks[started], t)
        if pair_track:
            self._fuse(np.array(pair_row, np.int64), tracks[pair_track], t)

    def _system_at(self, rows, t: float):
        """The system tracks ``rows`` predicted to ``t`` (moment-matched IMM)."""
        e = self.engine
        st = e.store
        if not len(rows):
            return np.zeros((0, 6)), np.zeros((0, 6, 6))
        return e.k.predict(st.x, st.P, st.mu, st.t, np.ascontiguousarray(rows, np.int64), t,
                           e.model)

    def _fuse(self, rows: np.ndarray, tracks: np.ndarray, t: float) -> None:
        e, st, p = self.engine, self.engine.store, self.engine.params
        again = self._taken_already(rows, tracks)
        if again.any():                     # a picture sent again adds nothing
            self.counters["partner_tracks_repeated"] += int(again.sum())
            rows, tracks = rows[~again], tracks[~again]
            if not len(rows):
                return
        # at the later of the two times: a partner track older than the system track's last
        # update is carried forward to it
        t_fuse = np.maximum(t, st.t[rows])
        x_p, P_p = cv_predict(tracks["state"], tracks["covariance"], t_fuse - t,
                              p.q_cv, p.q_vertical)
        # every model of the IMM takes the partner's estimate, as it would a plot
        n, K = len(rows), st.x.shape[1]
        x_s, P_s, cbar = e.k.predict_models(st.x, st.P, st.mu, rows, t_fuse - st.t[rows],
                                            e.model)
        prior = self._previous(rows, tracks, t_fuse)
        known = np.repeat(prior["known"], K)
        flat = lambda a: a.reshape(n * K, *a.shape[2:])          # noqa: E731
        each = lambda a: np.repeat(a, K, axis=0)                 # noqa: E731
        xs, Ps, xp, Pp = flat(x_s), flat(P_s), each(x_p), each(P_p)
        x, P = np.empty_like(xs), np.empty_like(Ps)
        if (~known).any():                  # first contact: the correlation is unknown
            x[~known], P[~known], _ = covariance_intersection(xs[~known], Ps[~known],
                                                              xp[~known], Pp[~known])
        if known.any():                     # only what the partner learnt since its last report
            x[known], P[known] = decorrelated_update(xs[known], Ps[known], xp[known],
                                                     Pp[known], each(prior["P"])[known],
                                                     p.partner_track_information_share)
            bad = known & ~(np.isfinite(x).all(axis=1) & np.isfinite(P).all(axis=(1, 2)))
            if bad.any():                   # an increment beyond numbers: intersect instead
                x[bad], P[bad], _ = covariance_intersection(xs[bad], Ps[bad], xp[bad], Pp[bad])
            self.counters["partner_tracks_decorrelated"] += int(prior["known"].sum())
        alone = np.repeat((st.sensors[rows] == 0) & (st.partners[rows] == np.left_shift(
            np.uint32(1), tracks["partner"].astype(np.uint32))), K)
        x[alone], P[alone] = xp[alone], Pp[alone]    # all we know of it is the partner's
        st.x[rows] = x.reshape(n, K, 6)
        st.P[rows] = P.reshape(n, K, 6, 6)
        mu = np.maximum(cbar, 1e-6)
        st.mu[rows] = mu / mu.sum(axis=1, keepdims=True)
        st.t[rows] = t_fuse
        self._record(rows, tracks, t_fuse)
        self.counters["partner_tracks_fused"] += len(rows)

    def _taken_already(self, rows, tracks) -> np.ndarray:
        """Per pair: the partner's report is no newer than the one of the same partner track
        already fused into the same system track."""
        st = self.engine.store
        out = np.zeros(len(rows), bool)
        for i, (r, partner, number) in enumerate(zip(rows, tracks["partner"],
                                                     tracks["track_number"])):
            last = self.last.get((int(partner), int(number)))
            out[i] = (last is not None and last[0] == int(st.track_id[r])
                      and not last[1] < tracks["t"][i])
        return out

    def _previous(self, rows, tracks, t_fuse) -> dict:
        """Per pair: whether the partner's previous report of the track was fused into the
        same system track (``known``), and that report's covariance predicted to ``t_fuse``."""
        st, p = self.engine.store, self.engine.params
        n = len(rows)
        known = np.zeros(n, bool)
        x0, P0, dt = np.zeros((n, 6)), np.tile(np.eye(6), (n, 1, 1)), np.zeros(n)
        for i, (r, partner, number) in enumerate(zip(rows, tracks["partner"],
                                                     tracks["track_number"])):
            last = self.last.get((int(partner), int(number)))
            if last is None or last[0] != int(st.track_id[r]):
                continue
            known[i] = True
            _, t_last, x0[i], P0[i] = last
            dt[i] = t_fuse[i] - t_last
        _, P0 = cv_predict(x0, P0, dt, p.q_cv, p.q_vertical)
        return {"known": known, "P": P0}

    def _start(self, tracks: np.ndarray, t: float) -> None:
        e, st = self.engine, self.engine.store
        rows = st.add(len(tracks))
        st.track_id[rows] = np.arange(e.manager.next_id, e.manager.next_id + len(rows))
        e.manager.next_id += len(rows)
        st.t_first[rows] = t
        st.status[rows] = TRACK_STATUS_TENTATIVE
        e.counters.tracks_initiated += len(rows)
        self._restart(rows, tracks, t)
        self.counters["partner_tracks_started"] += len(rows)

    def _restart(self, rows: np.ndarray, tracks: np.ndarray, t: float) -> None:
        """Tracks ``rows`` take the partner's estimates as they are (new tracks, and tracks
        only this partner fed whose partner track went beyond the gate)."""
        e, st = self.engine, self.engine.store
        st.x[rows] = tracks["state"][:, None, :]
        st.P[rows] = tracks["covariance"][:, None, :, :]
        mu = np.maximum(e.manager.mu_initial, 1e-6)      # as after an update: no model at 0
        st.mu[rows] = mu / mu.sum()
        st.t[rows] = t
        self._record(rows, tracks, np.full(len(rows), t))

    def _record(self, rows, tracks, t) -> None:
        """Provenance, update count and confirmation of tracks fused with partner tracks."""
        e, st = self.engine, self.engine.store
        partner = tracks["partner"].astype(np.int64)
        st.n_updates[rows] += 1
        st.n_ranged[rows] += 1
        st.t_last[rows] = np.fmax(st.t_last[rows], t)
        st.partners[rows] |= np.left_shift(np.uint32(1), partner.astype(np.uint32))
        st.partner_t_last[rows, partner] = np.fmax(st.partner_t_last[rows, partner], t)
        confirmed = (tracks["status"] != TRACK_STATUS_TENTATIVE) \
            & (st.status[rows] == TRACK_STATUS_TENTATIVE)
        st.status[rows[confirmed]] = TRACK_STATUS_CONFIRMED
        e.counters.tracks_confirmed += int(confirmed.sum())
        for r, p, n, tr in zip(rows, partner, tracks["track_number"], tracks):
            self.bound[(int(p), int(n))] = int(st.track_id[r])
            self.last[(int(p), int(n))] = (int(st.track_id[r]), float(tr["t"]),
                                           tr["state"].copy(), tr["covariance"].copy())
