# C mirror of the numpy record dtypes in rig/records.py. Field order, types and alignment must
# match exactly; every codec checks the layout against the dtype when it is imported.
from libc.stdint cimport int64_t, uint16_t, uint32_t


ctypedef struct plot_t:
    double t_sensor          # s, sensor clock
    int64_t t_arrival_ns     # ns, host monotonic clock at the read
    double range_m           # slant range, m
    double az_rad            # azimuth, rad clockwise from true north, [0, 2*pi)
    double el_rad            # elevation, rad
    double range_rate_mps    # m/s, NaN when not measured
    float amplitude_db       # dB
    uint16_t sensor_id       # index into the run's sensor table
    uint16_t flags           # PLOT_FLAG_* bits
    uint32_t seq             # sequence number of the carrying frame


ctypedef struct track_t:
    uint32_t track_id
    uint16_t status
    uint32_t n_updates
    uint32_t partners        # bit mask of partners whose plots updated the track
    double t                 # s, fusion time
    double east
    double north
    double up
    double v_east
    double v_north
    double v_up
    double covariance[36]    # 6x6, row-major, order (e, n, u, ve, vn, vu)
    double partner_t_last[16]  # s, last update by each partner (MAX_PARTNERS); NaN never


# --- the layouts, for rig.records.check_layout at each module's import ------------------------
cdef inline dict plot_offsets():
    cdef plot_t p
    cdef char *base = <char *>&p
    return {
        "t_sensor": <char *>&p.t_sensor - base, "t_arrival_ns": <char *>&p.t_arrival_ns - base,
        "range_m": <char *>&p.range_m - base, "az_rad": <char *>&p.az_rad - base,
        "el_rad": <char *>&p.el_rad - base, "range_rate_mps": <char *>&p.range_rate_mps - base,
        "amplitude_db": <char *>&p.amplitude_db - base, "sensor_id": <char *>&p.sensor_id - base,
        "flags": <char *>&p.flags - base, "seq": <char *>&p.seq - base,
    }


cdef inline dict track_offsets():
    cdef track_t k
    cdef char *base = <char *>&k
    return {
        "track_id": <char *>&k.track_id - base, "status": <char *>&k.status - base,
        "n_updates": <char *>&k.n_updates - base, "partners": <char *>&k.partners - base,
        "t": <char *>&k.t - base, "east": <char *>&k.east - base, "north": <char *>&k.north - base,
        "up": <char *>&k.up - base, "v_east": <char *>&k.v_east - base,
        "v_north": <char *>&k.v_north - base, "v_up": <char *>&k.v_up - base,
        "covariance": <char *>&k.covariance[0] - base,
        "partner_t_last": <char *>&k.partner_t_last[0] - base,
    }
