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

Plots alone cannot tell a clock offset common to every sensor from a picture that is late as a
whole, and a common elevation bias is barely observable (it would show only through the small
differences of range between sensors). These two common modes are held at zero: after each
update the mean clock offset and the mean elevation bias over the sensors are removed. The
estimates are therefore relative to the sensors' average clock and elevation reference.
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

    def update(self, sensor, t_s: float, nu, S, zdot) -> None:
        """Fold in residuals ``ν (n,3)`` of sensors ``sensor (n,)`` with innovation
        covariances ``S (n,3,3)`` (which include the registration terms the engine added) and
        ``ż (n,3)``; every sensor with residuals is updated at time ``t_s``."""
        if len(nu) == 0:
            return
        ids = np.unique(sensor)
        dt = np.where(np.isnan(self.t_last[ids]), 0.0, np.maximum(t_s - self.t_last[ids], 0.0))
        self.P[ids] += dt[:, None, None] * np.diag(self.walk)[None]
        self.t_last[ids] = t_s
        var = np.diagonal(self.P, axis1=1, axis2=2)[sensor]    # (n,4)
        n = len(nu)
        G = np.zeros((n, 3, 4))
        G[:, [0, 1, 2], [0, 1, 2]] = 1.0
        G[:, :, 3] = -zdot
        S_w = S - var[:, 3, None, None] * zdot[:, :, None] * zdot[:, None, :]
        S_w[:, [0, 1, 2], [0, 1, 2]] -= var[:, :3]
        y = nu + np.einsum("nij,nj->ni", G, self.b[sensor])   # y = ν + G b̂
        W = np.linalg.solve(S_w, G)                            # S_w⁻¹ G
        Y = np.zeros((len(self.b), 4, 4))
        eta = np.zeros((len(self.b), 4))
        np.add.at(Y, sensor, np.einsum("nij,nik->njk", G, W))  # Y = Σ Gᵀ S_w⁻¹ G
        np.add.at(eta, sensor, np.einsum("nij,ni->nj", W, y))  # η = Σ Gᵀ S_w⁻¹ y
        P, b = self.P[ids], self.b[ids]
        A = np.eye(4) + P @ Y[ids]                             # A = I + P Y
        rhs = np.einsum("sij,sj->si", P, eta[ids] - np.einsum("sij,sj->si", Y[ids], b))
        self.b[ids] = b + np.linalg.solve(A, rhs[..., None])[..., 0]
        Pn = np.linalg.solve(A, P)                             # P⁺ = A⁻¹ P
        self.P[ids] = 0.5 * (Pn + Pn.transpose(0, 2, 1))
        self.n_residuals += np.bincount(sensor, minlength=len(self.b))
        self.b[:, 2:] -= self.b[:, 2:].mean(axis=0)          # the unobservable common modes

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
