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
  for ``merge_checks`` checks in a row, and never updated by one sensor in the same scan) the
  younger one is deleted (the confirmed one is kept if only one is).

Deletion and merging run after a window once ``manage_period_s`` of fusion time has passed
since they last ran (after every window when windows are that long, as offline), so a track
is deleted at most that much later than it is due and merge checks are that far apart.
"""

from __future__ import annotations

import numpy as np

from rig.records import TRACK_STATUS_DELETED, TRACK_STATUS_TENTATIVE


class TrackManagement:
    """The track-management half of :class:`rig.fusion.engine.FusionEngine` (which owns
    ``store``, ``params``, ``sensors``, ``reg``, ``k``, ``model`` and ``counters``)."""

    def _initiate(self, z, t, s, pc, R_diag) -> None:
        st, p = self.store, self.params
        rows = st.add(len(z))
        self.k.initiate(st, int(rows[0]), z, t, s, pc, R_diag, self.sensors.M, self._partner,
                        self.reg.b, self._mu_initial, self._next_id, p.v_initial_sigma_mps,
                        p.v_up_initial_sigma_mps)
        self._next_id += len(z)
        self.counters.tracks_initiated += len(z)

    # --- deletion and merging --------------------------------------------------------------
    def _manage(self, t_s: float) -> None:
        st, p = self.store, self.params
        rows = st.alive()
        if not len(rows):
            return
        drop = self.k.stale(st, rows, t_s, self._scan_period_s, self._max_scan_s,
                            p.tentative_gap_scans, p.coast_scans, p.max_position_sigma_m)
        if drop.any():
            self.counters.tracks_deleted += st.delete(rows[drop.astype(bool)])
        self._merge(t_s)
        st.compact()

    def _merge(self, t_s: float) -> None:
        st, p = self.store, self.params
        rows = st.alive()
        seen = {}
        if len(rows) >= 2:
            a, b, _ = self.k.close_tracks(st, rows, t_s, self.model, p.coarse_gate_m,
                                          p.merge_d2)
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
                    st.delete([drop])
                    self.counters.tracks_merged += 1
                    self.counters.tracks_deleted += 1
        self._merge_seen = seen
