/*
 * CAT048 (monoradar target reports) user application profile, edition 1.31: one descriptor
 * per FRN, used to find the length of every item, including the ones rig does not read.
 */
#ifndef RIG_ASTERIX048_UAP_H
#define RIG_ASTERIX048_UAP_H

#include "rig_asterix.h"

#define CAT048_N_FRN 28

/* I048/130 radar plot characteristics: SRL SRR SAM PRL PAM RPD APD, one octet each */
static const asx_field cat048_130_sub[7] = {
    {ASX_FIXED, 1, 0, NULL}, {ASX_FIXED, 1, 0, NULL}, {ASX_FIXED, 1, 0, NULL},
    {ASX_FIXED, 1, 0, NULL}, {ASX_FIXED, 1, 0, NULL}, {ASX_FIXED, 1, 0, NULL},
    {ASX_FIXED, 1, 0, NULL},
};

/* I048/120 radial Doppler speed: CAL (2 octets), RDS (REP x 6 octets) */
static const asx_field cat048_120_sub[2] = {
    {ASX_FIXED, 2, 0, NULL}, {ASX_REPETITIVE, 6, 0, NULL},
};

static const asx_field cat048_uap[CAT048_N_FRN] = {
    {ASX_FIXED, 2, 0, NULL},             /*  1 I048/010 data source identifier */
    {ASX_FIXED, 3, 0, NULL},             /*  2 I048/140 time of day */
    {ASX_EXTENDED, 1, 0, NULL},          /*  3 I048/020 target report descriptor */
    {ASX_FIXED, 4, 0, NULL},             /*  4 I048/040 measured position, slant polar */
    {ASX_FIXED, 2, 0, NULL},             /*  5 I048/070 mode-3/A code */
    {ASX_FIXED, 2, 0, NULL},             /*  6 I048/090 flight level */
    {ASX_COMPOUND, 0, 7, cat048_130_sub},/*  7 I048/130 radar plot characteristics */
    {ASX_FIXED, 3, 0, NULL},             /*  8 I048/220 aircraft address */
    {ASX_FIXED, 6, 0, NULL},             /*  9 I048/240 aircraft identification */
    {ASX_REPETITIVE, 8, 0, NULL},        /* 10 I048/250 BDS register data */
    {ASX_FIXED, 2, 0, NULL},             /* 11 I048/161 track number */
    {ASX_FIXED, 4, 0, NULL},             /* 12 I048/042 calculated position, cartesian */
    {ASX_FIXED, 4, 0, NULL},             /* 13 I048/200 calculated track velocity, polar */
    {ASX_EXTENDED, 1, 0, NULL},          /* 14 I048/170 track status */
    {ASX_FIXED, 4, 0, NULL},             /* 15 I048/210 track quality */
    {ASX_EXTENDED, 1, 0, NULL},          /* 16 I048/030 warning/error conditions */
    {ASX_FIXED, 2, 0, NULL},             /* 17 I048/080 mode-3/A code confidence */
    {ASX_FIXED, 4, 0, NULL},             /* 18 I048/100 mode-C code and confidence */
    {ASX_FIXED, 2, 0, NULL},             /* 19 I048/110 height measured by a 3D radar */
    {ASX_COMPOUND, 0, 2, cat048_120_sub},/* 20 I048/120 radial Doppler speed */
    {ASX_FIXED, 2, 0, NULL},             /* 21 I048/230 communications/ACAS capability */
    {ASX_FIXED, 7, 0, NULL},             /* 22 I048/260 ACAS resolution advisory */
    {ASX_FIXED, 1, 0, NULL},             /* 23 I048/055 mode-1 code */
    {ASX_FIXED, 2, 0, NULL},             /* 24 I048/050 mode-2 code */
    {ASX_FIXED, 1, 0, NULL},             /* 25 I048/065 mode-1 code confidence */
    {ASX_FIXED, 2, 0, NULL},             /* 26 I048/060 mode-2 code confidence */
    {ASX_EXPLICIT, 0, 0, NULL},          /* 27 SP special purpose field */
    {ASX_EXPLICIT, 0, 0, NULL},          /* 28 RE reserved expansion field */
};

#endif
