# cython: language_level=3
"""Plots into a fusion window: screening, the next window's end, registration of
its plots to the common frame.

Twin: :mod:`rig.fusion.reference.prepare` (same arguments, the equations written out)."""

import numpy as np

from fusion_maths cimport *
from rig_records cimport plot_t, plot_offsets

from rig.records import PLOT_DTYPE, check_layout

cnp.import_array()
check_shared_layouts()
check_layout("plot_t", sizeof(plot_t), plot_offsets(), PLOT_DTYPE)

__all__ = ("screen", "next_window", "prepare")


def screen(cnp.ndarray plots, const double[:] clock, const unsigned char[:] ranged,
           double oldest_s, double newest_s):
    """Per plot a reason code (0: use it) and the latest registered time of the plots kept
    (twin screen)."""
    if plots.dtype != PLOT_DTYPE:
        raise TypeError(f"plots must have dtype rig.records.PLOT_DTYPE, not {plots.dtype}")
    plots = np.ascontiguousarray(plots)
    cdef Py_ssize_t n = plots.shape[0], i, S = clock.shape[0]
    if ranged.shape[0] != S:
        raise ValueError("screen: ranged and clock differ in length")
    code_a = np.zeros(n, np.uint8)
    cdef unsigned char[::1] code = code_a
    cdef const plot_t *src = <const plot_t *>cnp.PyArray_DATA(plots)
    cdef double t, t_max = -INFINITY
    cdef bint has_range
    with nogil:
        for i in range(n):
            if src[i].sensor_id >= S:
                code[i] = 1
                continue
            has_range = ranged[src[i].sensor_id] != 0
            if not (isfinite(src[i].t_sensor) and isfinite(src[i].az_rad)
                    and isfinite(src[i].el_rad)) \
                    or (has_range and (not isfinite(src[i].range_m)
                                       or isinf(src[i].range_rate_mps))):
                code[i] = 2
            elif has_range and src[i].range_m < 0:
                code[i] = 3
            elif fabs(src[i].el_rad) > M_PI / 2:
                code[i] = 4
            elif src[i].az_rad < 0 or src[i].az_rad > 2 * M_PI:
                code[i] = 7
            else:
                t = src[i].t_sensor - clock[src[i].sensor_id]
                if t < oldest_s:
                    code[i] = 5
                elif t > newest_s:
                    code[i] = 6
                elif t > t_max:
                    t_max = t
    return code_a, t_max


def next_window(cnp.ndarray pending, const double[:] clock, double window_s,
                double horizon_s):
    """The next window of the time-sorted pending plots: ``(end, cut, inside, n_inside)``
    (twin next_window). Reads only the plots up to the window's end."""
    if pending.dtype != PLOT_DTYPE:
        raise TypeError(f"pending must have dtype rig.records.PLOT_DTYPE, not {pending.dtype}")
    pending = np.ascontiguousarray(pending)
    cdef const plot_t *src = <const plot_t *>cnp.PyArray_DATA(pending)
    cdef Py_ssize_t n = pending.shape[0], S = clock.shape[0], i, cut = 0, n_in = 0
    if n == 0 or S == 0:
        raise ValueError("next_window: no plots or no sensors")
    cdef double c_lo = clock[0], c_hi = clock[0], limit, first = INFINITY, t, end
    for i in range(1, S):
        if clock[i] < c_lo:
            c_lo = clock[i]
        if clock[i] > c_hi:
            c_hi = clock[i]
    with nogil:
        limit = src[0].t_sensor + (c_hi - c_lo)
        i = 0
        while i < n and src[i].t_sensor <= limit:
            t = src[i].t_sensor - clock[src[i].sensor_id]
            if t < first or i == 0:
                first = t
            i += 1
        end = floor(first / window_s) * window_s + window_s
        if isfinite(horizon_s) and horizon_s + window_s > end:
            end = horizon_s + window_s
        limit = end + c_hi
        while cut < n and src[cut].t_sensor <= limit:
            cut += 1
    inside_a = np.empty(cut, np.uint8)
    cdef unsigned char[::1] inside = inside_a
    with nogil:
        for i in range(cut):
            inside[i] = src[i].t_sensor - clock[src[i].sensor_id] < end
            n_in += inside[i]
    return end, cut, inside_a, n_in


def prepare(cnp.ndarray plots, const double[:, ::1] bias, const double[:, ::1] bias_var,
            const double[:, ::1] sensor_R_diag, const unsigned char[:] ranged,
            const double[:, :, ::1] M, const double[:, ::1] t_site, double coarse_gate_m):
    """Registered plots of a PLOT_DTYPE array; ``sensor_R_diag (S,4)``, ``ranged (S,)``
    (twin prepare)."""
    if plots.dtype != PLOT_DTYPE:
        raise TypeError(f"plots must have dtype rig.records.PLOT_DTYPE, not {plots.dtype}")
    plots = np.ascontiguousarray(plots)
    cdef Py_ssize_t n = plots.shape[0], i
    z_a = np.empty((n, 4))
    t_a = np.empty(n)
    s_a = np.empty(n, np.int64)
    p_a = np.empty((n, 3))
    rad_a = np.empty(n)
    rd_a = np.empty((n, 4))
    vc_a = np.empty(n)
    cdef double[:, ::1] z = z_a, p = p_a, rd = rd_a
    cdef double[::1] t = t_a, rad = rad_a, vc = vc_a
    cdef long long[::1] s = s_a
    cdef const plot_t *src = <const plot_t *>cnp.PyArray_DATA(plots)
    cdef int k, a
    cdef double r, az, el, m
    cdef double loc[3]
    with nogil:
        for i in range(n):
            k = src[i].sensor_id
            s[i] = k
            r = src[i].range_m - bias[k, 0]
            az = src[i].az_rad - bias[k, 1]
            el = src[i].el_rad - bias[k, 2]
            z[i, 0] = r
            z[i, 1] = az
            z[i, 2] = el
            z[i, 3] = src[i].range_rate_mps
            t[i] = src[i].t_sensor - bias[k, 3]
            for a in range(3):
                rd[i, a] = sensor_R_diag[k, a] + bias_var[k, a]
            rd[i, 3] = sensor_R_diag[k, 3]
            vc[i] = bias_var[k, 3]
            if not ranged[k]:                       # angle-only: a bearing from the site
                z[i, 0] = NAN
                z[i, 3] = NAN
                for a in range(3):
                    p[i, a] = t_site[k, a]
                rad[i] = INFINITY
                continue
            loc[0] = r * cos(el) * sin(az)
            loc[1] = r * cos(el) * cos(az)
            loc[2] = r * sin(el)
            for a in range(3):
                p[i, a] = (M[k, a, 0] * loc[0] + M[k, a, 1] * loc[1]) + M[k, a, 2] * loc[2] \
                    + t_site[k, a]
            m = sqrt(rd[i, 0])
            if r * sqrt(rd[i, 1]) > m:
                m = r * sqrt(rd[i, 1])
            if r * sqrt(rd[i, 2]) > m:
                m = r * sqrt(rd[i, 2])
            rad[i] = coarse_gate_m + 4.0 * m
    return z_a, t_a, s_a, p_a, rad_a, rd_a, vc_a
