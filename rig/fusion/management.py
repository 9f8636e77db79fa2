"""Track management of the fusion engine: initiation, confirmation, deletion and merging.

- initiation: every unassigned plot starts a tentative track at its Cartesian position, with
  velocity 0 ± ``v_initial_sigma_mps`` (two-point initiation: the second plot is gated by the
  speed that prior allows);
- confirmation: a tentative track is confirmed at its ``confirm_updates``-th update;
- deletion: a tentative track after ``tentative_gap_scans`` revisit periods without an
  update, a confirmed one after ``coast_scans``, where a track's revisit period is the
  shortest scan period of the sensors that updated it within their last 2.5 scans (the
  longest scan period of all if none did); any track whose position sigma exceeds
  ``max_position_sigma_m``; of two tracks that hold one target (states within ``merge_d2``
  for ``merge_checks`` windows in a row, and never updated by one sensor in the same scan) the
  younger one is deleted (the confirmed one is kept if only one is).
"""

from __future__ import annotations

import numpy as np

from rig.fusion.models import enu_jacobian
from rig.records import TRACK_STATUS_DELETED, TRACK_STATUS_TENTATIVE


class TrackManagement:
    """The track-management half of :class:`rig.fusion.engine.FusionEngine` (which owns
    ``store``, ``params``, ``sensors``, ``reg``, ``k``, ``model`` and ``counters``)."""

    def _initiate(self, z, t, s, pc, R_diag) -> None:
        st, p = self.store, self.params
        rows = st.add(len(z))
        J, enu = enu_jacobian(z[:, :3])              # ∂enu/∂(r, az, el)
        A = self.sensors.M[s] @ J                    # origin ENU from (r, az, el)
        P0 = np.zeros((len(z), 6, 6))
        P0[:, :3, :3] = (A * R_diag[:, None, :3]) @ A.transpose(0, 2, 1)   # A R Aᵀ
        P0[:, [3, 4], [3, 4]] = p.v_initial_sigma_mps ** 2
        P0[:, 5, 5] = p.v_up_initial_sigma_mps ** 2
        x0 = np.zeros((len(z), 6))
        x0[:, :3] = pc
        # a range rate fixes the velocity along the line of sight u:
        # v = ṙ u,  P_v = (I − u uᵀ) P_v (I − u uᵀ) + σ_ṙ² u uᵀ
        rate = np.isfinite(z[:, 3])
        if rate.any():
            u = np.einsum("nij,nj->ni", self.sensors.M[s[rate]], enu[rate])
            u /= np.linalg.norm(u, axis=1)[:, None]
            x0[rate, 3:] = z[rate, 3, None] * u
            Q = np.eye(3) - u[:, :, None] * u[:, None, :]
            P0[rate, 3:, 3:] = (Q @ P0[rate, 3:, 3:] @ Q
                                + R_diag[rate, 3, None, None] * u[:, :, None] * u[:, None, :])
        st.x[rows] = x0[:, None, :]
        st.P[rows] = P0[:, None, :, :]
        st.mu[rows] = p.mu_initial
        st.t[rows] = t
        st.t_first[rows] = t
        st.t_last[rows] = t
        st.track_id[rows] = np.arange(self._next_id, self._next_id + len(z))
        self._next_id += len(z)
        st.status[rows] = TRACK_STATUS_TENTATIVE
        st.n_updates[rows] = 1
        partner = self.sensors.partner[s]
        st.sensors[rows] = np.left_shift(np.uint64(1), s.astype(np.uint64))
        st.partners[rows] = np.left_shift(np.uint32(1), partner.astype(np.uint32))
        st.sensor_t_last[rows, s] = t
        st.sensor_z_raw[rows, s] = z[:, :3] + self.reg.b[s, :3]
        st.sensor_t_raw[rows, s] = t + self.reg.b[s, 3]
        st.partner_t_last[rows, partner] = t
        self.counters.tracks_initiated += len(z)

    # --- deletion and merging --------------------------------------------------------------
    def _manage(self, t_s: float) -> None:
        st, p = self.store, self.params
        rows = st.alive()
        if not len(rows):
            return
        gap = t_s - st.t_last[rows]
        period = self.sensors.scan_period_s
        with np.errstate(invalid="ignore"):
            recent = (t_s - st.sensor_t_last[rows]) < 2.5 * period
        revisit = np.min(np.where(recent, period, np.inf), axis=1, initial=np.inf)
        revisit = np.where(np.isfinite(revisit), revisit, self._max_scan_s)
        tentative = st.status[rows] == TRACK_STATUS_TENTATIVE
        mu = st.mu[rows]
        var_pos = np.einsum("nk,nkii->n", mu, st.P[rows, :, :3, :3])
        var_vel = np.einsum("nk,nkii->n", mu, st.P[rows, :, 3:, 3:])
        dt = np.maximum(t_s - st.t[rows], 0.0)
        sigma = np.sqrt(var_pos + dt * dt * var_vel)
        drop = np.where(tentative, gap > p.tentative_gap_scans * revisit,
                        gap > p.coast_scans * revisit)
        drop |= ~tentative & (sigma > p.max_position_sigma_m)
        st.status[rows[drop]] = TRACK_STATUS_DELETED
        self.counters.tracks_deleted += int(drop.sum())
        self._merge(t_s)
        st.compact()

    def _merge(self, t_s: float) -> None:
        st, p = self.store, self.params
        rows = st.alive()
        seen = {}
        if len(rows) >= 2:
            xs, Ps = self.k.predict(st.x, st.P, st.mu, st.t, rows, t_s, self.model)
            a, b, _ = self.k.close_pairs(xs, Ps, p.coarse_gate_m, p.merge_d2)
            if len(a):
                ra, rb = rows[a], rows[b]
                ta, tb = st.sensor_t_last[ra], st.sensor_t_last[rb]
                with np.errstate(invalid="ignore"):
                    same_scan = np.any(np.abs(ta - tb) < 0.5 * self.sensors.scan_period_s,
                                       axis=1)
                for i, j in zip(ra[~same_scan], rb[~same_scan]):
                    key = (int(st.track_id[i]), int(st.track_id[j]))
                    seen[key] = self._merge_seen.get(key, 0) + 1
                    if seen[key] < p.merge_checks:
                        continue
                    if st.status[i] == TRACK_STATUS_DELETED or st.status[j] == TRACK_STATUS_DELETED:
                        continue
                    drop = j                         # the younger one
                    if st.status[i] == TRACK_STATUS_TENTATIVE and st.status[j] != TRACK_STATUS_TENTATIVE:
                        drop = i
                    st.status[drop] = TRACK_STATUS_DELETED
                    self.counters.tracks_merged += 1
                    self.counters.tracks_deleted += 1
        self._merge_seen = seen
