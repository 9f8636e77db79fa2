"""Online sensor registration: each sensor's range, azimuth and elevation bias and its clock
offset, estimated from its residuals against tracks that other sensors also hold.

For a plot of sensor s associated with a track, the innovation against the track's prediction
is, to first order, ``ν = δb_r e_r + δb_az e_az + δb_el e_el − ż δc + w`` where δ is the error
of the current estimate and ``ż`` the rate of change of the predicted measurement (a clock
that reads late by δc makes the plot look δc older). With ``G = [I₃ | −ż]`` the raw residual
``y = ν + G b̂`` measures ``b = (b_r, b_az, b_el, c)`` with noise ``S_w`` (the innovation
covariance without the registration terms). A batch of residuals of one sensor updates its
Gaussian in information form, with Cholesky/LU solves only:

    Y = Σ Gᵀ S_w⁻¹ G,   η = Σ Gᵀ S_w⁻¹ y,   A = I + P Y,
    b⁺ = b + A⁻¹ P (η − Y b),   P⁺ = A⁻¹ P.

Between batches each component follows a slow random walk (``bias_walk_per_s``). The track
itself carries some of the sensor's own bias, so each batch removes part of the error; the
estimate converges over many overlaps.
"""

from __future__ import annotations

import numpy as np


REGISTRATION_DTYPE = np.dtype([
    ("sensor", "U32"),
    ("range_bias_m", "f8"), ("range_bias_sigma_m", "f8"),
    ("az_bias_rad", "f8"), ("az_bias_sigma_rad", "f8"),
    ("el_bias_rad", "f8"), ("el_bias_sigma_rad", "f8"),
    ("clock_offset_s", "f8"), ("clock_offset_sigma_s", "f8"),
    ("n_residuals", "i8"),
])


class Registration:
    """Per-sensor estimate ``b (S,4)`` = (range m, az rad, el rad, clock s), covariance
    ``P (S,4,4)``."""

    def __init__(self, n_sensors: int, params):
        sig = np.array([params.range_bias_sigma_m, params.az_bias_sigma_rad,
                        params.el_bias_sigma_rad, params.clock_offset_sigma_s])
        self.b = np.zeros((n_sensors, 4))
        self.P = np.tile(np.diag(sig ** 2), (n_sensors, 1, 1))
        self.walk = np.asarray(params.bias_walk_per_s, float)
        self.t_last = np.full(n_sensors, np.nan)
        self.n_residuals = np.zeros(n_sensors, np.int64)

    @property
    def var(self) -> np.ndarray:
        """(S,4) variances of the estimates (the diagonal of P)."""
        return np.ascontiguousarray(np.diagonal(self.P, axis1=1, axis2=2))

    def update(self, s: int, t_s: float, nu, S, zdot) -> None:
        """Fold in residuals ``ν (n,3)`` with innovation covariances ``S (n,3,3)`` (which
        include the registration terms the engine added) and ``ż (n,3)`` of sensor ``s``."""
        if not np.isnan(self.t_last[s]) and t_s > self.t_last[s]:
            self.P[s] += np.diag(self.walk * (t_s - self.t_last[s]))
        self.t_last[s] = t_s
        n = len(nu)
        if n == 0:
            return
        var = np.diagonal(self.P[s])
        G = np.zeros((n, 3, 4))
        G[:, [0, 1, 2], [0, 1, 2]] = 1.0
        G[:, :, 3] = -zdot
        S_w = S - var[3] * zdot[:, :, None] * zdot[:, None, :]
        S_w[:, [0, 1, 2], [0, 1, 2]] -= var[:3]
        y = nu + G @ self.b[s]                                 # y = ν + G b̂
        W = np.linalg.solve(S_w, G)                            # S_w⁻¹ G
        Y = np.einsum("nij,nik->jk", G, W)                     # Y = Σ Gᵀ S_w⁻¹ G
        eta = np.einsum("nij,ni->j", W, y)                     # η = Σ Gᵀ S_w⁻¹ y
        A = np.eye(4) + self.P[s] @ Y                          # A = I + P Y
        self.b[s] = self.b[s] + np.linalg.solve(A, self.P[s] @ (eta - Y @ self.b[s]))
        Pn = np.linalg.solve(A, self.P[s])                     # P⁺ = A⁻¹ P
        self.P[s] = 0.5 * (Pn + Pn.T)
        self.n_residuals[s] += n

    def table(self, names) -> np.ndarray:
        out = np.zeros(len(self.b), REGISTRATION_DTYPE)
        out["sensor"] = list(names)
        sd = np.sqrt(self.var)
        for j, (a, b) in enumerate((("range_bias_m", "range_bias_sigma_m"),
                                    ("az_bias_rad", "az_bias_sigma_rad"),
                                    ("el_bias_rad", "el_bias_sigma_rad"),
                                    ("clock_offset_s", "clock_offset_sigma_s"))):
            out[a] = self.b[:, j]
            out[b] = sd[:, j]
        out["n_residuals"] = self.n_residuals
        return out
