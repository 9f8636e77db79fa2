"""Online sensor registration: every sensor's range, azimuth and elevation bias and its clock
offset, estimated jointly from pairs of plots that two sensors made of one target.

When a plot of sensor s updates a track that sensor r measured shortly before, the two plots,
each corrected by its sensor's current estimate ``b = (b_r, b_az, b_el, c)`` and taken to the
origin's frame, must agree once moved to a common time by the track's velocity:

    y = p_s(z_s − b_s) − p_r(z_r − b_r) − v ((t_s − c_s) − (t_r − c_r)) ≈ 0.

Linearised, ``y(b) ≈ y(b̂) + H_s (b_s − b̂_s) + H_r (b_r − b̂_r)`` with ``H_s = [−A_s | v]``,
``H_r = [A_r | −v]`` (``A = M ∂enu/∂(r, az, el)``), so ``z = H b̂ − y(b̂)`` measures ``H b``
with noise ``N = A_s R_s A_sᵀ + A_r R_r A_rᵀ + dt² P_v + (a dt²/2)² I``. No track estimate
enters the difference, so a biased sensor cannot drag the reference it is measured against.
A batch of pairs updates the joint Gaussian of all sensors' biases (``4S`` values) in
information form, with linear solves only:

    Y = Σ Hᵀ N⁻¹ H,   η = Σ Hᵀ N⁻¹ z,   A = I + P Y,   b⁺ = b + A⁻¹ P (η − Y b),   P⁺ = A⁻¹ P.

Between batches each value follows a slow random walk (``bias_walk_per_s``), so a drifting
clock is followed. Plots cannot tell a clock offset common to every sensor from a picture that
is late as a whole, nor (but weakly) a common elevation bias from a common height error: these
two common modes are held at zero (the mean over sensors is removed from the estimate and from
its covariance after each update), so clock offsets and elevation biases, and their sigmas,
are relative to the sensors' average.
"""

from __future__ import annotations

import numpy as np

from rig.fusion import kernels as fusion_kernels

REGISTRATION_DTYPE = np.dtype([
    ("sensor", "U32"),
    ("range_bias_m", "f8"), ("range_bias_sigma_m", "f8"),
    ("az_bias_rad", "f8"), ("az_bias_sigma_rad", "f8"),
    ("el_bias_rad", "f8"), ("el_bias_sigma_rad", "f8"),
    ("clock_offset_s", "f8"), ("clock_offset_sigma_s", "f8"),
    ("n_pairs", "i8"),
])


class Registration:
    """Joint estimate ``b (S,4)`` = (range m, az rad, el rad, clock s) per sensor with
    covariance ``P (4S,4S)``."""

    def __init__(self, M, t_site, R_diag, params, *, kernels=None):
        S = len(M)
        self.k = kernels or fusion_kernels.default()
        self.M = np.ascontiguousarray(M, float)
        self.t_site = np.ascontiguousarray(t_site, float)
        self.R_diag = np.ascontiguousarray(R_diag, float)
        self._var = None
        sig = np.array([params.range_bias_sigma_m, params.az_bias_sigma_rad,
                        params.el_bias_sigma_rad, params.clock_offset_sigma_s])
        self.b = np.zeros((S, 4))
        self.P = np.diag(np.tile(sig ** 2, S))
        self.walk = np.tile(np.asarray(params.bias_walk_per_s, float), S)
        self.accel = params.register_accel_mps2
        self.gate_d2 = params.register_gate_d2
        self.t_last = np.nan
        self.n_pairs = np.zeros(S, np.int64)
        self._Y = self._eta = None        # information taken in since the last solve
        # Π: removes the mean over sensors of elevation bias and clock offset (the common
        # modes that plots cannot see); b = Π b, P = Π P Πᵀ after every update
        self.gauge = np.eye(4 * S)
        for j in (2, 3):
            idx = np.arange(j, 4 * S, 4)
            self.gauge[np.ix_(idx, idx)] -= 1.0 / S

    @property
    def var(self) -> np.ndarray:
        """(S,4) variances of the estimates (read-only; kept until the next update)."""
        if self._var is None:
            self._var = np.diag(self.P).reshape(-1, 4).copy()
            self._var.flags.writeable = False
        return self._var

    def accumulate(self, s, r, z_s, z_r, t_s, t_r, v, P_v) -> None:
        """Take in plot pairs: sensors ``s, r (m,)``, raw plots ``z (m,3)`` and raw times
        ``t (m,)`` of each, the track's velocity ``v (m,3)`` and its covariance ``P_v``
        (the fusion kernels' ``registration_terms``), linearised at the current estimate.
        Called as pairs come (each fusion window), so that the work is spread over the
        windows; :meth:`solve` then folds what was taken in into the estimate."""
        if len(s) == 0:
            return
        Y, eta, ok = self.k.registration_terms(s, r, z_s, z_r, t_s, t_r, v, P_v, self.b, self.P,
                                               self.M, self.t_site, self.R_diag, self.accel,
                                               self.gate_d2)
        ok = ok.astype(bool)
        if not ok.any():
            return
        if self._Y is None:
            self._Y, self._eta = Y, eta
        else:
            self._Y += Y
            self._eta += eta
        np.add.at(self.n_pairs, s[ok], 1)
        np.add.at(self.n_pairs, r[ok], 1)

    def solve(self, t_now) -> None:
        """Let the estimate walk to ``t_now`` and fold in the pairs taken in since the last
        solve (the fusion kernels' ``registration_step``)."""
        self._var = None
        if not np.isnan(self.t_last) and t_now > self.t_last:
            self.P[np.diag_indices_from(self.P)] += self.walk * (t_now - self.t_last)
        self.t_last = t_now if np.isnan(self.t_last) else max(self.t_last, t_now)
        if self._Y is None:
            return
        Y, eta, self._Y, self._eta = self._Y, self._eta, None, None
        self.b, self.P = self.k.registration_step(self.P, Y, eta, self.b, self.gauge)

    def update(self, t_now, s, r, z_s, z_r, t_s, t_r, v, P_v) -> None:
        """:meth:`accumulate` these pairs, then :meth:`solve`."""
        self.accumulate(s, r, z_s, z_r, t_s, t_r, v, P_v)
        self.solve(t_now)

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
        out["n_pairs"] = self.n_pairs
        return out
