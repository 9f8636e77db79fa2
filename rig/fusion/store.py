"""The engine's track arrays (structure of arrays, grown by doubling, compacted in order)."""

from __future__ import annotations

import numpy as np

from rig.fusion import kernels as fusion_kernels
from rig.fusion.models import N_MODELS
from rig.records import MAX_PARTNERS, TRACK_STATUS_DELETED


class TrackStore:
    """Every live track's IMM state and bookkeeping, one row per track.

    ``x (N,K,6)``, ``P (N,K,6,6)``, ``mu (N,K)``: each model's state at time ``t`` (the time of
    the last update). Per sensor: the time of its last update (``sensor_t_last``) and its last
    plot as measured (``sensor_z_raw``, ``sensor_t_raw`` on the sensor's clock), for
    registration. Rows are in order of initiation, so iteration order is deterministic.

    Rows leave only through :meth:`delete` (marked) and :meth:`compact` (dropped), so the
    live rows are known without a scan: ``alive()`` is a slice of a preallocated ``arange``
    whenever nothing is marked deleted (the engine compacts once deleted rows pile up).
    ``kernels``: the fusion kernels whose ``compact_rows`` moves the rows
    (:func:`rig.fusion.kernels.default` when not given).
    """

    FIELDS = {
        "x": ((N_MODELS, 6), float), "P": ((N_MODELS, 6, 6), float), "mu": ((N_MODELS,), float),
        "t": ((), float), "track_id": ((), np.uint32), "status": ((), np.uint16),
        "n_updates": ((), np.uint32), "partners": ((), np.uint32), "sensors": ((), np.uint64),
        "t_first": ((), float), "t_last": ((), float),
        "partner_t_last": ((MAX_PARTNERS,), float),
        "n_seen": ((), np.uint32),       # n_updates when tracks_updated last looked
        "score": ((), float),            # log likelihood ratio, target against clutter
        "n_ranged": ((), np.uint32),     # updates by plots that measured range (or partner
                                         # tracks): what a passive sensor's bearing is not
    }

    #: Fields whose fresh value is NaN ("never"); every other field starts at 0.
    NAN_FIELDS = ("partner_t_last", "sensor_t_last", "sensor_t_raw")

    def __init__(self, n_sensors: int, capacity: int = 64, *, kernels=None):
        self.n_sensors = n_sensors
        self.n = 0
        self._n_deleted = 0                    # rows marked deleted, not yet compacted
        self._alive = None                     # the live rows while some are marked deleted
        self._compact_rows = (kernels or fusion_kernels.default()).compact_rows
        self._alloc(capacity)

    def _fields(self) -> dict:
        S = self.n_sensors
        return dict(self.FIELDS, sensor_t_last=((S,), float), sensor_z_raw=((S, 3), float),
                    sensor_t_raw=((S,), float))

    def _alloc(self, capacity: int) -> None:
        """Arrays of ``capacity`` rows: the first ``n`` as they were, the rest fresh (rows
        past ``n`` are always fresh, so :meth:`add` has nothing to clear)."""
        for name, (shape, dtype) in self._fields().items():
            a = np.zeros((capacity, *shape), dtype)
            if name in self.NAN_FIELDS:
                a[:] = np.nan
            if self.n:
                a[:self.n] = getattr(self, name)[:self.n]
            setattr(self, name, a)
        self.capacity = capacity
        self._arange = np.arange(capacity, dtype=np.int64)
        self._arange.flags.writeable = False
        self._arrays = [getattr(self, name) for name in self._fields()]
        self._nan_fill = [name in self.NAN_FIELDS for name in self._fields()]

    def add(self, k: int) -> np.ndarray:
        """Room for ``k`` new rows; returns their indices (zeroed, times NaN)."""
        if self.n + k > self.capacity:
            self._alloc(max(2 * self.capacity, self.n + k))
        a, self.n = self.n, self.n + k
        self._alive = None
        return self._arange[a:self.n]

    def delete(self, rows) -> int:
        """Mark distinct ``rows`` deleted (they stay until :meth:`compact`); returns how
        many were alive."""
        rows = np.asarray(rows, np.int64)
        rows = rows[self.status[rows] != TRACK_STATUS_DELETED]
        self.status[rows] = TRACK_STATUS_DELETED
        self._n_deleted += len(rows)
        self._alive = None
        return len(rows)

    def alive(self) -> np.ndarray:
        """Indices of the live rows, in order (read-only; do not keep across changes)."""
        if not self._n_deleted:
            return self._arange[:self.n]
        if self._alive is None:
            self._alive = np.flatnonzero(self.status[:self.n] != TRACK_STATUS_DELETED)
            self._alive = self._alive.astype(np.int64, copy=False)
            self._alive.flags.writeable = False
        return self._alive

    def compact(self, lazy: bool = False) -> None:
        """Drop deleted rows, keeping the order of the others; the rows freed are fresh.
        ``lazy``: only once a quarter of the rows (at least 32) are deleted; until then
        :meth:`alive` skips them."""
        if not self._n_deleted or (lazy and self._n_deleted < max(32, self.n // 4)):
            return
        keep = self.alive()
        self._compact_rows(self._arrays, self._nan_fill, keep, self.n)
        self.n = len(keep)
        self._n_deleted = 0
        self._alive = None
