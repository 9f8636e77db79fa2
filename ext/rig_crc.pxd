# Declarations of the CRCs in rig_crc.h (see there for the exact algorithms).
from libc.stdint cimport uint16_t, uint32_t


cdef extern from "rig_crc.h" nogil:
    void rig_crc_init()
    uint32_t rig_crc32(uint32_t crc, const unsigned char *p, size_t n)
    uint16_t rig_crc16_ccitt(const unsigned char *p, size_t n)
    uint16_t rig_crc16_x25(const unsigned char *p, size_t n)
