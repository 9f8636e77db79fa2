# C mirror of the numpy record dtypes in rig/records_asterix.py: the ASTERIX items that the plot
# and track records do not hold. Field order, types and alignment must match exactly; the
# codecs check the layouts against the dtypes when they are imported (rig.records.check_layout).
from libc.stdint cimport uint8_t, uint16_t, uint32_t


ctypedef struct cat048_items_t:           # CAT048_ITEMS_DTYPE, one row per plot
    double height_m                       # I048/110 3D height above mean sea level, NaN absent
    double ground_speed_mps               # I048/200, NaN absent
    double heading_rad                    # I048/200, clockwise from north, NaN absent
    double flight_level                   # I048/090, in flight levels (100 ft), NaN absent
    uint32_t aircraft_address             # I048/220, 24 bits
    uint32_t present                      # ITEM_048_* bits
    uint16_t mode3a                       # I048/070 code, 12 bits (4 octal digits)
    uint8_t sac                           # I048/010
    uint8_t sic
    uint8_t typ                           # I048/020 TYP (1 = single PSR detection)
    uint8_t mode3a_flags                  # I048/070 V, G, L as bits 2, 1, 0
    uint8_t fl_flags                      # I048/090 V, G as bits 1, 0
    char callsign[8]                      # I048/240, A-Z 0-9 and space


ctypedef struct cat062_info_t:            # CAT062_INFO_DTYPE, one row per track
    double lat_deg                        # I062/105, NaN absent
    double lon_deg
    double alt_m                          # I062/130 geometric altitude (WGS-84), NaN absent
    double rocd_mps                       # I062/220 rate of climb/descent, NaN absent
    double psr_age_s                      # I062/290 PSR age, NaN absent
    double flight_level                   # I062/136, NaN absent
    double sd_x_m                         # I062/500 APC: sd of X (east), m, NaN absent
    double sd_y_m                         # I062/500 APC: sd of Y (north), m, NaN absent
    double cov_xy_m2                      # I062/500 COV: XY covariance, m^2, NaN absent
    double sd_alt_m                       # I062/500 AGA: sd of the geometric altitude, NaN absent
    double sd_vx_mps                      # I062/500 ATV: sd of Vx, m/s, NaN absent
    double sd_vy_mps                      # I062/500 ATV: sd of Vy, m/s, NaN absent
    double sd_rocd_mps                    # I062/500 ARC: sd of the rate of climb, NaN absent
    uint32_t present                      # ITEM_062_* bits
    uint32_t status_bits                  # I062/080 first four octets, FX bits cleared
    uint8_t sac                           # I062/010 of the system that sent the track
    uint8_t sic
    uint8_t service_id                    # I062/015
    uint8_t last_sac                      # I062/340 SID: the sensor that last measured it
    uint8_t last_sic


# --- the layouts, for rig.records.check_layout at each codec's import -------------------------
cdef inline dict cat048_items_offsets():
    cdef cat048_items_t i
    cdef char *base = <char *>&i
    return {
        "height_m": <char *>&i.height_m - base,
        "ground_speed_mps": <char *>&i.ground_speed_mps - base,
        "heading_rad": <char *>&i.heading_rad - base,
        "flight_level": <char *>&i.flight_level - base,
        "aircraft_address": <char *>&i.aircraft_address - base,
        "present": <char *>&i.present - base, "mode3a": <char *>&i.mode3a - base,
        "sac": <char *>&i.sac - base, "sic": <char *>&i.sic - base, "typ": <char *>&i.typ - base,
        "mode3a_flags": <char *>&i.mode3a_flags - base, "fl_flags": <char *>&i.fl_flags - base,
        "callsign": <char *>&i.callsign[0] - base,
    }


cdef inline dict cat062_info_offsets():
    cdef cat062_info_t i
    cdef char *base = <char *>&i
    return {
        "lat_deg": <char *>&i.lat_deg - base, "lon_deg": <char *>&i.lon_deg - base,
        "alt_m": <char *>&i.alt_m - base, "rocd_mps": <char *>&i.rocd_mps - base,
        "psr_age_s": <char *>&i.psr_age_s - base, "flight_level": <char *>&i.flight_level - base,
        "sd_x_m": <char *>&i.sd_x_m - base, "sd_y_m": <char *>&i.sd_y_m - base,
        "cov_xy_m2": <char *>&i.cov_xy_m2 - base, "sd_alt_m": <char *>&i.sd_alt_m - base,
        "sd_vx_mps": <char *>&i.sd_vx_mps - base, "sd_vy_mps": <char *>&i.sd_vy_mps - base,
        "sd_rocd_mps": <char *>&i.sd_rocd_mps - base,
        "present": <char *>&i.present - base, "status_bits": <char *>&i.status_bits - base,
        "sac": <char *>&i.sac - base, "sic": <char *>&i.sic - base,
        "service_id": <char *>&i.service_id - base, "last_sac": <char *>&i.last_sac - base,
        "last_sic": <char *>&i.last_sic - base,
    }
