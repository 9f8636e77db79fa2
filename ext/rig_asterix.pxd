# Declarations of the ASTERIX building blocks in rig_asterix.h (see there for the formats).
from libc.stdint cimport int32_t, uint8_t, uint16_t, uint32_t, uint64_t


cdef extern from "rig_asterix.h" nogil:
    enum:
        ASX_NONE
        ASX_FIXED
        ASX_EXTENDED
        ASX_REPETITIVE
        ASX_EXPLICIT
        ASX_COMPOUND

    ctypedef struct asx_field:
        uint8_t kind
        uint8_t size
        uint8_t n_sub
        const asx_field *sub

    uint16_t asx_ld16(const uint8_t *p)
    uint32_t asx_ld24(const uint8_t *p)
    uint32_t asx_ld32(const uint8_t *p)
    int32_t asx_ld24s(const uint8_t *p)
    void asx_st16(uint8_t *p, uint32_t v)
    void asx_st24(uint8_t *p, uint32_t v)
    void asx_st32(uint8_t *p, uint32_t v)
    Py_ssize_t asx_extended_length(const uint8_t *p, const uint8_t *end, int group)
    Py_ssize_t asx_primary_length(const uint8_t *p)
    int asx_read_fspec(const uint8_t *p, const uint8_t *end, int max_octets, uint64_t *bits)
    Py_ssize_t asx_item_length(const asx_field *f, const uint8_t *p, const uint8_t *end)
    Py_ssize_t asx_walk_record(const asx_field *uap, int n_frn, const uint8_t *p,
                               const uint8_t *end, Py_ssize_t *item_at)
    int asx_write_fspec(uint8_t *out, uint64_t frns, int n_frn)

    ctypedef struct asx_walker:
        unsigned long long blocks_ok
        unsigned long long records_ok
        unsigned long long records_bad
        unsigned long long blocks_other_category
        unsigned long long blocks_bad_length
        unsigned long long blocks_truncated
        unsigned long long bytes_skipped

    void asx_walk_start(asx_walker *w, const uint8_t *p, Py_ssize_t n, uint8_t category,
                        const asx_field *uap, int n_frn)
    const uint8_t *asx_next_record(asx_walker *w, Py_ssize_t *item_at)

    ctypedef struct asx_tod_line:
        double day_s
        double last_tod
        int have

    double asx_tod_unwrap(asx_tod_line *u, double tod)
    double asx_round_half_up(double x)
    uint32_t asx_tod_units(double t)

    ctypedef struct asx_packer:
        uint8_t *buf
        Py_ssize_t *ends
        Py_ssize_t max_datagram
        Py_ssize_t max_records_per_block
        uint8_t category
        Py_ssize_t cur
        Py_ssize_t dgram_start
        Py_ssize_t block_start
        Py_ssize_t in_block
        Py_ssize_t n_dgram

    int asx_packer_init(asx_packer *pk, Py_ssize_t n, Py_ssize_t max_record, uint8_t category,
                        Py_ssize_t max_datagram, Py_ssize_t max_records_per_block)
    void asx_packer_free(asx_packer *pk)
    void asx_pack(asx_packer *pk, const uint8_t *rec, Py_ssize_t rl)
    void asx_pack_finish(asx_packer *pk)


cdef inline list asx_datagrams(const asx_packer *pk):
    """The datagrams a packer has finished, as a list of bytes."""
    cdef list out = []
    cdef Py_ssize_t k, start = 0
    for k in range(pk.n_dgram):
        out.append((<char *>pk.buf)[start:pk.ends[k]])
        start = pk.ends[k]
    return out
