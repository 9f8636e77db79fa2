/*
 * ASTERIX building blocks shared by the category codecs, in plain C so they run without the GIL.
 *
 * ASTERIX (EUROCONTROL-SPEC-0149) is big-endian throughout. A datagram holds data blocks
 * [CAT u8][LEN u16, counting these 3 octets][records...]; a record starts with its FSPEC, one
 * bit per field reference number (FRN) of the category's user application profile (UAP),
 * 7 FRNs per octet, the last bit of each octet (FX) saying another octet follows. The items
 * present follow in FRN order. Item formats and how their length is found:
 *
 *   ASX_FIXED       `size` octets
 *   ASX_EXTENDED    groups of `size` octets while the last bit of a group (FX) is set
 *   ASX_REPETITIVE  one octet REP, then REP elements of `size` octets
 *   ASX_EXPLICIT    one octet LEN counting itself, then LEN - 1 octets (SP and RE fields)
 *   ASX_COMPOUND    a primary subfield (FX-extended octets, 7 subfield bits each), then the
 *                   subfields present, each described by its own descriptor
 *   ASX_NONE        spare or undefined: a record that uses it cannot be walked
 *
 * Every length function checks against `end` and returns -1 when an item would run past it,
 * so no read ever leaves the buffer however the bytes lie.
 */
#ifndef RIG_ASTERIX_H
#define RIG_ASTERIX_H

#include <stddef.h>
#include <stdint.h>

enum { ASX_NONE = 0, ASX_FIXED, ASX_EXTENDED, ASX_REPETITIVE, ASX_EXPLICIT, ASX_COMPOUND };

typedef struct asx_field {
    uint8_t kind;
    uint8_t size;
    uint8_t n_sub;                 /* ASX_COMPOUND: number of subfield slots in `sub` */
    const struct asx_field *sub;   /* ASX_COMPOUND: descriptors by subfield bit, in order */
} asx_field;

/* --- big-endian loads and stores -------------------------------------------------------- */
static inline uint16_t asx_ld16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t asx_ld24(const uint8_t *p)
{
    return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
}
static inline uint32_t asx_ld32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline int32_t asx_ld24s(const uint8_t *p)
{
    uint32_t v = asx_ld24(p);
    return (int32_t)(v & 0x800000u ? v | 0xFF000000u : v);
}
static inline void asx_st16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void asx_st24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16); p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)v;
}
static inline void asx_st32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Octets of an FX-extended run of `group`-octet groups starting at p, or -1. */
static inline ptrdiff_t asx_extended_length(const uint8_t *p, const uint8_t *end, int group)
{
    const uint8_t *q = p;
    for (;;) {
        if (end - q < group)
            return -1;
        q += group;
        if (!(q[-1] & 1))
            return q - p;
    }
}

/*
 * Read an FSPEC of at most `max_octets` octets into `bits` (bit k set = FRN k+1 present).
 * Returns the FSPEC length in octets, or -1 when it runs past `end` or past `max_octets`
 * (an FSPEC that never ends).
 */
static inline int asx_read_fspec(const uint8_t *p, const uint8_t *end, int max_octets,
                                 uint64_t *bits)
{
    uint64_t b = 0;
    for (int i = 0; i < max_octets; i++) {
        if (p + i >= end)
            return -1;
        uint8_t o = p[i];
        for (int k = 0; k < 7; k++)
            if (o & (0x80 >> k))
                b |= (uint64_t)1 << (7 * i + k);
        if (!(o & 1)) {
            *bits = b;
            return i + 1;
        }
    }
    return -1;
}

/* Length in octets of the item at p described by f, or -1. */
static ptrdiff_t asx_item_length(const asx_field *f, const uint8_t *p, const uint8_t *end)
{
    switch (f->kind) {
    case ASX_FIXED:
        return end - p >= f->size ? (ptrdiff_t)f->size : -1;
    case ASX_EXTENDED:
        return asx_extended_length(p, end, f->size);
    case ASX_REPETITIVE: {
        if (p >= end)
            return -1;
        ptrdiff_t n = 1 + (ptrdiff_t)p[0] * f->size;
        return end - p >= n ? n : -1;
    }
    case ASX_EXPLICIT: {
        if (p >= end || p[0] == 0)
            return -1;
        return end - p >= p[0] ? (ptrdiff_t)p[0] : -1;
    }
    case ASX_COMPOUND: {
        ptrdiff_t prim = asx_extended_length(p, end, 1);
        if (prim < 0)
            return -1;
        const uint8_t *q = p + prim;
        for (ptrdiff_t i = 0; i < prim; i++) {
            for (int k = 0; k < 7; k++) {
                if (!(p[i] & (0x80 >> k)))
                    continue;
                ptrdiff_t slot = 7 * i + k;
                if (slot >= f->n_sub || f->sub[slot].kind == ASX_NONE)
                    return -1;
                ptrdiff_t n = asx_item_length(&f->sub[slot], q, end);
                if (n < 0)
                    return -1;
                q += n;
            }
        }
        return q - p;
    }
    default:
        return -1;
    }
}

/*
 * Walk one record at p (not past end) against a UAP of `n_frn` descriptors (uap[k] is FRN
 * k+1). On success returns the record length and fills item_at[k] with the offset of FRN
 * k+1's item from p (-1 when absent); returns -1 when the FSPEC never ends, names an FRN the
 * UAP does not define, or an item runs past end.
 */
static ptrdiff_t asx_walk_record(const asx_field *uap, int n_frn, const uint8_t *p,
                                 const uint8_t *end, ptrdiff_t *item_at)
{
    uint64_t bits;
    int max_octets = (n_frn + 6) / 7;
    int n_fspec = asx_read_fspec(p, end, max_octets, &bits);
    if (n_fspec < 0)
        return -1;
    if (n_frn < 64 && (bits >> n_frn))
        return -1;
    const uint8_t *q = p + n_fspec;
    for (int k = 0; k < n_frn; k++) {
        item_at[k] = -1;
        if (!(bits & ((uint64_t)1 << k)))
            continue;
        if (uap[k].kind == ASX_NONE)
            return -1;
        ptrdiff_t n = asx_item_length(&uap[k], q, end);
        if (n < 0)
            return -1;
        item_at[k] = q - p;
        q += n;
    }
    return q - p;
}

#endif
