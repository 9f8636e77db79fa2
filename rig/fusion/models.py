"""Motion models of the IMM and the radar measurement model, as NumPy reference code.

State ``x = (e, n, u, ve, vn, vu)`` in the origin's ENU frame (m, m/s). Four models:

0. constant velocity (CV)             x' = F x,         F = [[I, dt I], [0, I]]
1. coordinated turn, +ω (left)        horizontal velocity rotates by ω dt, vertical CV
2. coordinated turn, −ω (right)
3. ballistic: gravity only            x' = F x + [½ g dt²; g dt], g towards the earth's centre

Process noise of every model is continuous white-noise acceleration (m²/s³) per axis:
Q = [[|dt|³/3 D, dt|dt|/2 D], [dt|dt|/2 D, |dt| D]] with D = diag(q, q, q_up)  (valid for
negative dt too, so a plot slightly older than a track's state is handled by retrodiction).
The manoeuvre models (CV, turns) have a small vertical density ``q_up`` (aircraft mostly fly
level, and radar elevation is the weakest measurement); the ballistic model has ``q`` on all
three axes.

The measurement of a radar at a site with ``p_origin = M p_site + t_site`` is
``z = h(x) = (range, azimuth, elevation)`` of ``l = Mᵀ (p − t_site)`` in the site's own
tangent plane: the filter updates in the radar's polar space (EKF), never on converted
Cartesian plots.

The Cython kernels in ``ext/fusion_kernels.pyx`` implement exactly these equations; tests hold
them to this module.
"""

from __future__ import annotations

import numpy as np

N_MODELS = 4
CV, TURN_LEFT, TURN_RIGHT, BALLISTIC = range(N_MODELS)
TWO_PI = 2.0 * np.pi
LOG_2PI = float(np.log(2.0 * np.pi))

#: Layout of the model constant vector shared with the Cython kernels.
MODEL_FIELDS = ("turn_rate_rad_s", "q_cv", "q_left", "q_right", "q_ballistic",
                "switch_rate_per_s", "gravity_mps2", "earth_centre_m",
                "switch_to_ballistic_per_s", "q_vertical")
#: where each constant sits in the model vector (the compiled kernels read it as a struct,
#: ``model_t``, whose layout they check against MODEL_FIELDS at import)
#: the model vector as a record, the layout ``model_t`` of the compiled kernels must have
MODEL_DTYPE = np.dtype([(name, "f8") for name in MODEL_FIELDS])
(TURN_RATE, Q_CV, Q_LEFT, Q_RIGHT, Q_BALLISTIC, SWITCH_RATE, GRAVITY, EARTH_CENTRE,
 TO_BALLISTIC, Q_VERTICAL) = range(len(MODEL_FIELDS))


def model_vector(params, origin_alt_m: float) -> np.ndarray:
    """The constants of the motion models as the float vector the kernels take."""
    from rig.geodesy import EARTH_RADIUS_M

    values = {"turn_rate_rad_s": params.turn_rate_rad_s, "q_cv": params.q_cv,
              "q_left": params.q_turn, "q_right": params.q_turn,
              "q_ballistic": params.q_ballistic, "switch_rate_per_s": params.switch_rate_per_s,
              "gravity_mps2": params.gravity_mps2, "earth_centre_m": EARTH_RADIUS_M + origin_alt_m,
              "switch_to_ballistic_per_s": params.switch_to_ballistic_per_s,
              "q_vertical": params.q_vertical}
    return np.array([values[name] for name in MODEL_FIELDS], dtype=float)


def transition(j: int, dt: float, x: np.ndarray, model: np.ndarray):
    """``(F, u)`` of model ``j`` over ``dt``: ``x' = F x + u``."""
    F = np.eye(6)
    u = np.zeros(6)
    if j in (TURN_LEFT, TURN_RIGHT):
        w = model[TURN_RATE] if j == TURN_LEFT else -model[TURN_RATE]
        s, c = np.sin(w * dt), np.cos(w * dt)
        F[0, 3], F[0, 4] = s / w, -(1.0 - c) / w
        F[1, 3], F[1, 4] = (1.0 - c) / w, s / w
        F[3, 3], F[3, 4] = c, -s
        F[4, 3], F[4, 4] = s, c
        F[2, 5] = dt
    else:
        F[0, 3] = F[1, 4] = F[2, 5] = dt
    if j == BALLISTIC:
        # g points from the target to the earth's centre at (0, 0, -earth_centre_m)
        d = np.array([x[0], x[1], x[2] + model[EARTH_CENTRE]])
        g = -model[GRAVITY] * d / np.sqrt(d @ d)
        u[:3] = 0.5 * g * dt * dt
        u[3:] = g * dt
    return F, u


def process_noise(q_h: float, q_up: float, dt: float) -> np.ndarray:
    """``Q = [[|dt|³/3 D, dt|dt|/2 D], [dt|dt|/2 D, |dt| D]]``, ``D = diag(q, q, q_up)``."""
    a = abs(dt)
    Q = np.zeros((6, 6))
    for i in range(3):
        q = q_up if i == 2 else q_h
        Q[i, i] = q * a * a * a / 3.0
        Q[i, i + 3] = Q[i + 3, i] = q * dt * a / 2.0
        Q[i + 3, i + 3] = q * a
    return Q


def markov(dt: float, model: np.ndarray) -> np.ndarray:
    """Model switching probabilities ``Π[i, j] = P(model j at t+dt | model i at t)``.

    Between the three manoeuvre models (CV, turns) at rate λ; into the ballistic model at the
    much lower rate λ_b (so that it does not drag aircraft tracks down); out of it at λ.
    """
    leave = 1.0 - np.exp(-model[SWITCH_RATE] * abs(dt))
    to_ballistic = 1.0 - np.exp(-model[TO_BALLISTIC] * abs(dt))
    Pi = np.zeros((N_MODELS, N_MODELS))
    for i in range(N_MODELS):
        for j in range(N_MODELS):
            if i == BALLISTIC:
                Pi[i, j] = 1.0 - leave if j == i else leave / 3.0
            elif j == BALLISTIC:
                Pi[i, j] = to_ballistic
            elif j != i:
                Pi[i, j] = leave / 2.0
        if i != BALLISTIC:
            Pi[i, i] = 1.0 - to_ballistic - leave
    return Pi


def imm_predict(x, P, mu, dt, model):
    """IMM mixing and per-model prediction: ``(x⁻ (K,6), P⁻ (K,6,6), c̄ (K))``.

    c̄_j = Σ_i Π_ij μ_i;  μ_i|j = Π_ij μ_i / c̄_j;  x0_j = Σ_i μ_i|j x_i;
    P0_j = Σ_i μ_i|j (P_i + (x_i − x0_j)(x_i − x0_j)ᵀ);  x⁻_j = F_j x0_j + u_j;
    P⁻_j = F_j P0_j F_jᵀ + Q_j.
    """
    Pi = markov(dt, model)
    cbar = Pi.T @ mu                                   # c̄_j = Σ_i Π_ij μ_i
    xp = np.empty((N_MODELS, 6))
    Pp = np.empty((N_MODELS, 6, 6))
    for j in range(N_MODELS):
        w = Pi[:, j] * mu / cbar[j]                    # μ_i|j
        x0 = w @ x                                     # x0_j = Σ μ_i|j x_i
        P0 = np.zeros((6, 6))
        for i in range(N_MODELS):
            d = x[i] - x0
            P0 += w[i] * (P[i] + np.outer(d, d))
        F, u = transition(j, dt, x0, model)
        xp[j] = F @ x0 + u                             # x⁻ = F x0 + u
        q_up = model[Q_CV + j] if j == BALLISTIC else model[Q_VERTICAL]
        Pp[j] = F @ P0 @ F.T + process_noise(model[Q_CV + j], q_up, dt)   # P⁻ = F P0 Fᵀ + Q
    return xp, Pp, cbar


def combine(x, P, w):
    """Moment-matched mixture: ``x = Σ w_j x_j``, ``P = Σ w_j (P_j + d_j d_jᵀ)``."""
    xc = w @ x
    Pc = np.zeros((6, 6))
    for j in range(len(w)):
        d = x[j] - xc
        Pc += w[j] * (P[j] + np.outer(d, d))
    return xc, Pc


def measure(x, M, t_site, m: int = 3):
    """``(ẑ, H, ż)``: predicted measurement (range, az, el and, with ``m = 4``, range rate),
    its Jacobian (m x 6), and dẑ/dt at constant velocity.

    With ``l = Mᵀ (p − t_site)`` and ``w = Mᵀ v`` (site frame): ``ṙ = l·w / r``,
    ``∂ṙ/∂l = w/r − ṙ l/r²``, ``∂ṙ/∂w = l/r``, ``dṙ/dt = (|w|² − ṙ²)/r``.
    """
    l = M.T @ (x[:3] - t_site)                        # l = Mᵀ (p − t_site)
    w = M.T @ x[3:]                                   # w = Mᵀ v
    e, n, u = l
    g2 = e * e + n * n
    g = np.sqrt(g2)
    r2 = g2 + u * u
    r = np.sqrt(r2)
    J = np.array([[e / r, n / r, u / r],
                  [n / g2, -e / g2, 0.0],
                  [-e * u / (r2 * g), -n * u / (r2 * g), g / r2]])
    H = np.zeros((m, 6))
    H[:3, :3] = J @ M.T
    zdot = np.zeros(m)
    zdot[:3] = H[:3, :3] @ x[3:]
    z = np.array([r, np.arctan2(e, n), np.arctan2(u, g), 0.0][:m])
    if m == 4:
        rr = (l @ w) / r
        z[3] = rr
        H[3, :3] = (w / r - rr * l / r2) @ M.T
        H[3, 3:] = (l / r) @ M.T
        zdot[3] = (w @ w - rr * rr) / r
    return z, H, zdot


def enu_jacobian(z):
    """``(∂enu/∂(range, az, el) (n,3,3), enu (n,3))`` of polar plots ``z (n,3)`` in their
    site's tangent plane."""
    r, az, el = z[:, 0], z[:, 1], z[:, 2]
    ce, se, ca, sa = np.cos(el), np.sin(el), np.cos(az), np.sin(az)
    J = np.zeros((len(z), 3, 3))
    J[:, 0] = np.stack([ce * sa, r * ce * ca, -r * se * sa], 1)
    J[:, 1] = np.stack([ce * ca, -r * ce * sa, -r * se * ca], 1)
    J[:, 2] = np.stack([se, np.zeros_like(r), r * ce], 1)
    return J, np.stack([r * ce * sa, r * ce * ca, r * se], 1)


def wrap_pi(a):
    """Angle to [-π, π)."""
    return a - TWO_PI * np.floor((a + np.pi) / TWO_PI)
