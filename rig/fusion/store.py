"""The engine's track arrays (structure of arrays, grown by doubling, compacted in order)."""

from __future__ import annotations

import numpy as np

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
    whenever nothing is marked deleted (the engine compacts after every management run).
    """

    FIELDS = {
        "x": ((N_MODELS, 6), float), "P": ((N_MODELS, 6, 6), float), "mu": ((N_MODELS,), float),
        "t": ((), float), "track_id": ((), np.uint32), "status": ((), np.uint16),
        "n_updates": ((), np.uint32), "partners": ((), np.uint32), "sensors": ((), np.uint64),
        "t_first": ((), float), "t_last": ((), float),
        "partner_t_last": ((MAX_PARTNERS,), float),
    }

    def __init__(self, n_sensors: int, capacity: int = 64):
        self.n_sensors = n_sensors
        self.n = 0
        self._n_deleted = 0                    # rows marked deleted, not yet compacted
        self._alloc(capacity)

    def _fields(self) -> dict:
        S = self.n_sensors
        return dict(self.FIELDS, sensor_t_last=((S,), float), sensor_z_raw=((S, 3), float),
                    sensor_t_raw=((S,), float))

    def _alloc(self, capacity: int) -> None:
        for name, (shape, dtype) in self._fields().items():
            a = np.zeros((capacity, *shape), dtype)
            if name in ("partner_t_last", "sensor_t_last", "sensor_t_raw"):
                a[:] = np.nan
            if self.n:
                a[:self.n] = getattr(self, name)[:self.n]
            setattr(self, name, a)
        self.capacity = capacity
        self._arange = np.arange(capacity, dtype=np.int64)
        self._arange.flags.writeable = False

    def add(self, k: int) -> np.ndarray:
        """Room for ``k`` new rows; returns their indices (zeroed, times NaN)."""
        if self.n + k > self.capacity:
            self._alloc(max(2 * self.capacity, self.n + k))
        a, b = self.n, self.n + k
        for name in self._fields():
            getattr(self, name)[a:b] = 0
        self.partner_t_last[a:b] = np.nan
        self.sensor_t_last[a:b] = np.nan
        self.sensor_t_raw[a:b] = np.nan
        self.n = b
        return np.arange(a, b, dtype=np.int64)

    def delete(self, rows) -> int:
        """Mark ``rows`` deleted (they stay until :meth:`compact`); returns how many were
        alive."""
        rows = np.asarray(rows, np.int64)
        fresh = np.unique(rows[self.status[rows] != TRACK_STATUS_DELETED])
        self.status[fresh] = TRACK_STATUS_DELETED
        self._n_deleted += len(fresh)
        return len(fresh)

    def alive(self) -> np.ndarray:
        """Indices of the live rows, in order (read-only; do not keep across changes)."""
        if not self._n_deleted:
            return self._arange[:self.n]
        return np.flatnonzero(self.status[:self.n] != TRACK_STATUS_DELETED).astype(np.int64)

    def compact(self) -> None:
        """Drop deleted rows, keeping the order of the others."""
        if not self._n_deleted:
            return
        keep = self.alive()
        for name in self._fields():
            a = getattr(self, name)
            a[:len(keep)] = a[keep]
        self.n = len(keep)
        self._n_deleted = 0
