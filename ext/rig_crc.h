/*
 * CRCs used by rig's wire formats, in plain C so that decoders can run them without the GIL.
 *
 * rig_crc32: CRC-32 of IEEE 802.3 (reflected polynomial 0xEDB88320, init and final XOR
 *            0xFFFFFFFF), the same value as Python's zlib.crc32. Slicing-by-8.
 * rig_crc16_ccitt: CRC-16/CCITT-FALSE (polynomial 0x1021, init 0xFFFF, no reflection, no
 *            final XOR), the same value as binascii.crc_hqx(data, 0xFFFF).
 * rig_crc16_x25: CRC-16/X-25 as used by HDLC framing (reflected 0x8408, init and final XOR
 *            0xFFFF).
 *
 * Call rig_crc_init() once before use (module import does it).
 */
#ifndef RIG_CRC_H
#define RIG_CRC_H

#include <stddef.h>
#include <stdint.h>

static uint32_t rig_crc32_table[8][256];
static uint16_t rig_crc16_ccitt_table[256];
static uint16_t rig_crc16_x25_table[256];
static int rig_crc_ready = 0;

static void rig_crc_init(void)
{
    if (rig_crc_ready)
        return;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
        rig_crc32_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = rig_crc32_table[0][i];
        for (int t = 1; t < 8; t++) {
            c = rig_crc32_table[0][c & 0xFF] ^ (c >> 8);
            rig_crc32_table[t][i] = c;
        }
    }
    for (uint32_t i = 0; i < 256; i++) {
        uint16_t c = (uint16_t)(i << 8);
        for (int k = 0; k < 8; k++)
            c = (c & 0x8000) ? (uint16_t)((c << 1) ^ 0x1021) : (uint16_t)(c << 1);
        rig_crc16_ccitt_table[i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        uint16_t c = (uint16_t)i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (uint16_t)((c >> 1) ^ 0x8408) : (uint16_t)(c >> 1);
        rig_crc16_x25_table[i] = c;
    }
    rig_crc_ready = 1;
}

/* Continue a CRC-32: pass 0 to start, pass the previous result to extend. */
static inline uint32_t rig_crc32(uint32_t crc, const unsigned char *p, size_t n)
{
    uint32_t c = ~crc;
    while (n >= 8) {
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                           (uint32_t)p[3] << 24);
        uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
                      (uint32_t)p[7] << 24;
        c = rig_crc32_table[7][lo & 0xFF] ^ rig_crc32_table[6][(lo >> 8) & 0xFF] ^
            rig_crc32_table[5][(lo >> 16) & 0xFF] ^ rig_crc32_table[4][lo >> 24] ^
            rig_crc32_table[3][hi & 0xFF] ^ rig_crc32_table[2][(hi >> 8) & 0xFF] ^
            rig_crc32_table[1][(hi >> 16) & 0xFF] ^ rig_crc32_table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        c = rig_crc32_table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
    return ~c;
}

static inline uint16_t rig_crc16_ccitt(const unsigned char *p, size_t n)
{
    uint16_t c = 0xFFFF;
    while (n--)
        c = (uint16_t)((c << 8) ^ rig_crc16_ccitt_table[((c >> 8) ^ *p++) & 0xFF]);
    return c;
}

static inline uint16_t rig_crc16_x25(const unsigned char *p, size_t n)
{
    uint16_t c = 0xFFFF;
    while (n--)
        c = (uint16_t)((c >> 8) ^ rig_crc16_x25_table[(c ^ *p++) & 0xFF]);
    return (uint16_t)~c;
}

#endif
