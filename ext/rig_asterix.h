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

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

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

/* Octets of the FX-extended primary subfield of a compound item at p that a record walk has
 * already bounded (so no end check). */
static inline ptrdiff_t asx_primary_length(const uint8_t *p)
{
    ptrdiff_t k = 1;
    while (p[k - 1] & 1)
        k++;
    return k;
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

/*
 * Walks the data blocks of one datagram, record by record, and counts what it meets: a block
 * of another category is skipped by its LEN; a header cut short, a LEN below 3 or one past the
 * datagram ends the datagram (the rest counted as skipped); a record that cannot be walked
 * loses the rest of its block. The counts are of this datagram only; a decoder adds them to its
 * own counters.
 *
 *     asx_walk_start(&w, p, n, CATEGORY, uap, N_FRN);
 *     while ((rec = asx_next_record(&w, item_at)) != NULL)
 *         ... item_at[k]: offset from rec of FRN k+1's item, -1 when absent ...
 */
typedef struct {
    const uint8_t *p;                   /* the datagram */
    ptrdiff_t n;                        /* its length */
    ptrdiff_t pos;                      /* the next block */
    ptrdiff_t rec;                      /* the next record of the current block */
    ptrdiff_t end;                      /* the end of the current block */
    uint8_t category;
    const asx_field *uap;
    int n_frn;
    unsigned long long blocks_ok;
    unsigned long long records_ok;
    unsigned long long records_bad;
    unsigned long long blocks_other_category;
    unsigned long long blocks_bad_length;
    unsigned long long blocks_truncated;
    unsigned long long bytes_skipped;
} asx_walker;

static inline void asx_walk_start(asx_walker *w, const uint8_t *p, ptrdiff_t n, uint8_t category,
                                  const asx_field *uap, int n_frn)
{
    w->p = p;
    w->n = n;
    w->pos = w->rec = w->end = 0;
    w->category = category;
    w->uap = uap;
    w->n_frn = n_frn;
    w->blocks_ok = w->records_ok = w->records_bad = w->blocks_other_category = 0;
    w->blocks_bad_length = w->blocks_truncated = w->bytes_skipped = 0;
}

/* The next record of the walker's category (fills item_at as asx_walk_record), or NULL when
 * the datagram holds no more. */
static inline const uint8_t *asx_next_record(asx_walker *w, ptrdiff_t *item_at)
{
    for (;;) {
        if (w->rec < w->end) {
            ptrdiff_t rl = asx_walk_record(w->uap, w->n_frn, w->p + w->rec, w->p + w->end,
                                           item_at);
            if (rl >= 0) {
                const uint8_t *r = w->p + w->rec;
                w->records_ok++;
                w->rec += rl;
                return r;
            }
            w->records_bad++;
            w->bytes_skipped += w->end - w->rec;
            w->rec = w->end;
        }
        ptrdiff_t left = w->n - w->pos;
        if (left <= 0)
            return NULL;
        if (left < 3) {
            w->blocks_truncated++;
            w->bytes_skipped += left;
            w->pos = w->n;
            return NULL;
        }
        ptrdiff_t ln = asx_ld16(w->p + w->pos + 1);
        if (ln < 3 || ln > left) {
            if (ln < 3)
                w->blocks_bad_length++;
            else
                w->blocks_truncated++;
            w->bytes_skipped += left;
            w->pos = w->n;
            return NULL;
        }
        if (w->p[w->pos] != w->category) {
            w->blocks_other_category++;
            w->bytes_skipped += ln;
            w->pos += ln;
            continue;
        }
        w->blocks_ok++;
        w->rec = w->pos + 3;
        w->end = w->pos + ln;
        w->pos = w->end;
    }
}

/* Write the FSPEC of the FRNs set in `frns` (bit k = FRN k+1): as many octets as the highest
 * FRN present needs, FX set on all but the last. Returns the number of octets. */
static inline int asx_write_fspec(uint8_t *out, uint64_t frns, int n_frn)
{
    int octets = 1;
    for (int k = 0; k < n_frn; k++)
        if ((frns >> k) & 1)
            octets = k / 7 + 1;
    for (int i = 0; i < octets; i++)
        out[i] = (uint8_t)(i < octets - 1);
    for (int k = 0; k < n_frn; k++)
        if ((frns >> k) & 1)
            out[k / 7] |= (uint8_t)(0x80 >> (k % 7));
    return octets;
}

/* A time of day (s since midnight, wrapping) put onto a continuous time line: a day is added
 * when it wraps; a record more than half a day "ahead" is a late one from the day before. */
typedef struct {
    double day_s;
    double last_tod;
    int have;
} asx_tod_line;

static inline double asx_tod_unwrap(asx_tod_line *u, double tod)
{
    const double day = 86400.0;
    if (!u->have) {
        u->have = 1;
        u->last_tod = tod;
        return u->day_s + tod;
    }
    double d = tod - u->last_tod;
    if (d > day / 2)
        return u->day_s - day + tod;
    if (d < -day / 2)
        u->day_s += day;
    u->last_tod = tod;
    return u->day_s + tod;
}

/* floor(x + 0.5): how the encoders round a value to its wire units. */
static inline double asx_round_half_up(double x) { return floor(x + 0.5); }

/* A finite time (s) as the u24 time of day of I048/140 and I062/070: 1/128 s since midnight,
 * rounded half up, wrapping at 24 h. */
static inline uint32_t asx_tod_units(double t)
{
    const double day = 86400.0, unit = 1.0 / 128.0;
    double tod = fmod(t, day);
    if (tod < 0)
        tod += day;
    double x = asx_round_half_up(tod / unit);
    if (x >= day / unit)
        x -= day / unit;
    return (uint32_t)x;
}

/* Packs records into datagrams of data blocks of one category: a new block when the current
 * one holds max_records_per_block records (0: no limit) or would pass 65535 octets, a new
 * datagram when the record would not fit in max_datagram octets. `buf` must hold every record
 * plus a 3-octet header per record; ends[i] receives the end offset of datagram i. */
typedef struct {
    uint8_t *buf;
    ptrdiff_t *ends;
    ptrdiff_t max_datagram;
    ptrdiff_t max_records_per_block;
    uint8_t category;
    ptrdiff_t cur;
    ptrdiff_t dgram_start;
    ptrdiff_t block_start;      /* -1 before the first block */
    ptrdiff_t in_block;
    ptrdiff_t n_dgram;
} asx_packer;

/* A packer for n records of at most max_record octets: allocates buf and ends. Returns -1 when
 * out of memory; asx_packer_free is due either way. */
static inline int asx_packer_init(asx_packer *pk, ptrdiff_t n, ptrdiff_t max_record,
                                  uint8_t category, ptrdiff_t max_datagram,
                                  ptrdiff_t max_records_per_block)
{
    pk->buf = (uint8_t *)malloc(n * (max_record + 3) + 3);
    pk->ends = (ptrdiff_t *)malloc((n + 1) * sizeof(ptrdiff_t));
    pk->max_datagram = max_datagram;
    pk->max_records_per_block = max_records_per_block;
    pk->category = category;
    pk->cur = pk->dgram_start = pk->in_block = pk->n_dgram = 0;
    pk->block_start = -1;
    return pk->buf != NULL && pk->ends != NULL ? 0 : -1;
}

static inline void asx_packer_free(asx_packer *pk)
{
    free(pk->buf);
    free(pk->ends);
    pk->buf = NULL;
    pk->ends = NULL;
}

static inline void asx_close_block(asx_packer *pk)
{
    if (pk->block_start >= 0)
        asx_st16(pk->buf + pk->block_start + 1, (uint32_t)(pk->cur - pk->block_start));
}

static inline void asx_pack(asx_packer *pk, const uint8_t *rec, ptrdiff_t rl)
{
    int new_block = pk->block_start < 0
        || (pk->max_records_per_block && pk->in_block >= pk->max_records_per_block)
        || pk->cur - pk->block_start + rl > 65535;
    if (pk->cur > pk->dgram_start
            && pk->cur - pk->dgram_start + rl + (new_block ? 3 : 0) > pk->max_datagram) {
        asx_close_block(pk);
        pk->ends[pk->n_dgram++] = pk->cur;
        pk->dgram_start = pk->cur;
        new_block = 1;
    }
    if (new_block) {
        asx_close_block(pk);
        pk->block_start = pk->cur;
        pk->buf[pk->cur] = pk->category;
        pk->cur += 3;
        pk->in_block = 0;
    }
    for (ptrdiff_t i = 0; i < rl; i++)
        pk->buf[pk->cur + i] = rec[i];
    pk->cur += rl;
    pk->in_block++;
}

static inline void asx_pack_finish(asx_packer *pk)
{
    if (pk->block_start >= 0 && pk->cur > pk->dgram_start) {
        asx_close_block(pk);
        pk->ends[pk->n_dgram++] = pk->cur;
    }
}

#endif
